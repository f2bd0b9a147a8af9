//! The one storage error. Every store and the repository return it; each use case and each
//! function maps it once (the admin to HTTP statuses, the stream function to batch-item
//! failures). The variants keep what a caller branches on (which write lost, what is missing)
//! and their sources.

use super::dynamo::DynamoError;
use super::snapshots::{SnapshotEncodeError, Unusable};
use super::unreadable::HistoryUnreadable;
use crate::domain::InvalidOrderId;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// Refused before any request: the id can never be stored.
    #[error(transparent)]
    InvalidOrderId(#[from] InvalidOrderId),
    /// Refused before any request: more events than one transaction holds.
    #[error("{count} events in one append; at most {max} fit in a transaction")]
    TooManyEvents { count: usize, max: usize },
    /// An append's condition did not hold: another writer appended first.
    #[error("order {order_id} is no longer at version {expected_version}: another writer appended first")]
    AppendConflict { order_id: String, expected_version: u64 },
    /// A snapshot put's condition did not hold: a usable snapshot of that version is stored.
    #[error("order {order_id} already has snapshot version {version}")]
    SnapshotExists { order_id: String, version: u64 },
    #[error("order {order_id} has no snapshot version {version}")]
    SnapshotNotFound { order_id: String, version: u64 },
    /// The snapshot cannot be written (too large for an item, an empty order).
    #[error(transparent)]
    Encode(#[from] SnapshotEncodeError),
    /// The order's stored events cannot be decoded or folded: the data's fault, permanent
    /// until code or data change.
    #[error(transparent)]
    Unreadable(#[from] HistoryUnreadable),
    /// A stored snapshot's key attributes cannot be read, so it cannot even be listed.
    #[error("stored snapshot of order {order_id} cannot be listed")]
    CorruptSnapshot {
        order_id: String,
        #[source]
        source: Unusable,
    },
    /// A maintenance job's control item cannot be read.
    #[error("control item {id} cannot be read: {reason}")]
    CorruptControl { id: String, reason: String },
    /// BatchWriteItem's form of throttling, after our own retries.
    #[error("{remaining} deletes of order {order_id} still unprocessed after {attempts} attempts")]
    Unprocessed { order_id: String, remaining: usize, attempts: u32 },
    /// Anything DynamoDB answered other than a condition we asked for. Not transparent:
    /// `dynamo::is_transient` finds the DynamoError in the source chain.
    #[error("{0}")]
    Dynamo(#[from] DynamoError),
}

impl StoreError {
    /// Whether the same request may succeed later: throttled, timed out or unreachable after
    /// the SDK's retries.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Dynamo(e) => e.transient,
            StoreError::Unprocessed { .. } => true,
            _ => false,
        }
    }

    /// Whether the snapshot is larger than one item can hold.
    pub fn is_too_large(&self) -> bool {
        matches!(self, StoreError::Encode(SnapshotEncodeError::TooLarge { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_callers_branch_on() {
        let lost = StoreError::SnapshotExists { order_id: "o-1".into(), version: 3 };
        assert!(!lost.is_transient() && !lost.is_too_large());
        let appended = StoreError::AppendConflict { order_id: "o-1".into(), expected_version: 2 };
        assert!(appended.to_string().contains("another writer"), "{appended}");
        let unprocessed = StoreError::Unprocessed { order_id: "o-1".into(), remaining: 1, attempts: 8 };
        assert!(unprocessed.is_transient());
        let large =
            StoreError::from(SnapshotEncodeError::TooLarge { order_id: "o-1".into(), bytes: 500_000 });
        assert!(large.is_too_large() && !large.is_transient());
        assert!(!StoreError::from(SnapshotEncodeError::EmptyOrder("o-1".into())).is_too_large());
    }
}
