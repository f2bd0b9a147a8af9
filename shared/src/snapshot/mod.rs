//! Snapshots: their stored form and the table that holds them.

pub mod codec;
mod store;

pub use codec::{
    NewSnapshot, Snapshot, SnapshotEncodeError, SnapshotMetadata, SnapshotSummary, StateEncoding, Unusable,
};
pub use store::{
    CLEANUP_CURSOR_ID, Cursor, KeysPage, Latest, Skipped, SnapshotPage, SnapshotStore, SnapshotStoreError,
};
