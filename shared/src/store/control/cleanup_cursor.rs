//! Where the last cleanup run stopped: a control item, so the next run resumes there.

use super::{ControlStore, json_text};
use crate::store::StoreError;
use crate::store::snapshots::Cursor;
use serde::{Deserialize, Serialize};

/// The control item's id.
pub const CLEANUP_CURSOR_ID: &str = "_cleanup-cursor";

#[derive(Serialize, Deserialize)]
struct CursorItem {
    #[serde(with = "json_text")]
    cursor: Cursor,
}

#[derive(Clone, Debug)]
pub struct SavedCursor {
    control: ControlStore,
}

impl SavedCursor {
    pub fn new(control: ControlStore) -> Self {
        SavedCursor { control }
    }

    /// The saved cursor, if a run stopped before the end.
    pub async fn load(&self) -> Result<Option<Cursor>, StoreError> {
        Ok(self.control.get_as::<CursorItem>(CLEANUP_CURSOR_ID).await?.map(|item| item.cursor))
    }

    /// Saves (`Some`) or clears (`None`) the cursor.
    pub async fn save(&self, cursor: Option<&Cursor>) -> Result<(), StoreError> {
        match cursor {
            Some(cursor) => {
                self.control.put_as(CLEANUP_CURSOR_ID, &CursorItem { cursor: cursor.clone() }).await
            }
            None => self.control.delete(CLEANUP_CURSOR_ID).await,
        }
    }
}
