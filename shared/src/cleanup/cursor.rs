//! Where the last cleanup run stopped: a control item in the snapshot table, so the next run
//! resumes there. Its id can never be an order's (order ids start with a letter or digit).

use crate::dynamo::{DynamoError, get_s, n, s};
use crate::snapshot::{Cursor, SnapshotStore, SnapshotStoreError, Unusable};
use aws_sdk_dynamodb::Client;

/// The control item's `orderId`.
pub const CLEANUP_CURSOR_ID: &str = "_cleanup-cursor";

#[derive(Clone, Debug)]
pub struct SavedCursor {
    client: Client,
    table: String,
}

impl SavedCursor {
    /// The cursor kept in `snapshots`' table.
    pub fn in_table_of(snapshots: &SnapshotStore) -> Self {
        SavedCursor { client: snapshots.client().clone(), table: snapshots.table().to_owned() }
    }

    /// The saved cursor, if a run stopped before the end.
    pub async fn load(&self) -> Result<Option<Cursor>, SnapshotStoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("orderId", s(CLEANUP_CURSOR_ID))
            .key("version", n(0))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| DynamoError::new("GetItem", &self.table, e))?;
        let Some(item) = out.item else { return Ok(None) };
        let cursor = get_s(&item, "cursor").map_err(|e| corrupt_cursor(e.into()))?;
        serde_json::from_str(cursor)
            .map(Some)
            .map_err(|e| corrupt_cursor(Unusable::BadMetadata(e.to_string())))
    }

    /// Saves (`Some`) or clears (`None`) the cursor.
    pub async fn save(&self, cursor: Option<&Cursor>) -> Result<(), SnapshotStoreError> {
        let result = match cursor {
            Some(c) => self
                .client
                .put_item()
                .table_name(&self.table)
                .item("orderId", s(CLEANUP_CURSOR_ID))
                .item("version", n(0))
                .item("cursor", s(serde_json::to_string(c).expect("cursor serializes")))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| DynamoError::new("PutItem", &self.table, e)),
            None => self
                .client
                .delete_item()
                .table_name(&self.table)
                .key("orderId", s(CLEANUP_CURSOR_ID))
                .key("version", n(0))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| DynamoError::new("DeleteItem", &self.table, e)),
        };
        Ok(result?)
    }
}

fn corrupt_cursor(source: Unusable) -> SnapshotStoreError {
    SnapshotStoreError::Corrupt { order_id: CLEANUP_CURSOR_ID.to_owned(), source }
}
