//! Where the last cleanup run stopped: a control item, so the next run resumes there.

use crate::store::control::{ControlError, ControlStore, undecodable};
use crate::store::dynamo::{get_s, s};
use crate::store::snapshots::Cursor;

/// The control item's id.
pub const CLEANUP_CURSOR_ID: &str = "_cleanup-cursor";

#[derive(Clone, Debug)]
pub struct SavedCursor {
    control: ControlStore,
}

impl SavedCursor {
    pub fn new(control: ControlStore) -> Self {
        SavedCursor { control }
    }

    /// The saved cursor, if a run stopped before the end.
    pub async fn load(&self) -> Result<Option<Cursor>, ControlError> {
        let Some(item) = self.control.get(CLEANUP_CURSOR_ID).await? else { return Ok(None) };
        let text = get_s(&item, "cursor").map_err(|e| undecodable(CLEANUP_CURSOR_ID, e))?;
        serde_json::from_str(text).map(Some).map_err(|e| undecodable(CLEANUP_CURSOR_ID, e))
    }

    /// Saves (`Some`) or clears (`None`) the cursor.
    pub async fn save(&self, cursor: Option<&Cursor>) -> Result<(), ControlError> {
        match cursor {
            Some(c) => {
                let text = serde_json::to_string(c).expect("cursor serializes");
                self.control.put(CLEANUP_CURSOR_ID, [("cursor".to_owned(), s(text))].into()).await
            }
            None => self.control.delete(CLEANUP_CURSOR_ID).await,
        }
    }
}
