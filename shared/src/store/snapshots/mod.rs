//! Snapshots: their shapes, their stored form, and the table that holds them.

pub mod codec;
mod condition;
pub mod contract;
mod keys;
mod store;
mod types;

pub use keys::{Cursor, KeysPage, OrderKeys, SnapshotKeys};
pub use store::{SnapshotLookup, SnapshotPage, SnapshotStore, UnusableSnapshot, Written};
pub use types::{
    ANCHOR_MISMATCH, NewSnapshot, Snapshot, SnapshotEncodeError, SnapshotMetadata, SnapshotSummary,
    StateEncoding, Unusable,
};
