//! Snapshots: their shapes, their stored form, and the table that holds them.

pub mod codec;
mod keys;
mod store;
mod types;

pub use keys::{Cursor, KeysPage};
pub use store::{SnapshotLookup, SnapshotPage, SnapshotStore, SnapshotStoreError, UnusableSnapshot};
pub use types::{
    NewSnapshot, Snapshot, SnapshotEncodeError, SnapshotMetadata, SnapshotSummary, StateEncoding, Unusable,
};
