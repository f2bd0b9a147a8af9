//! One error taxonomy for storage. The stores keep their own precise errors (a store test
//! asks for `SnapshotStoreError::Conflict`); everything above the repository sees these few
//! kinds, each keeping the store's error as its source, and maps them once.

use super::control::ControlError;
use super::dynamo::DynamoError;
use super::events::EventStoreError;
use super::snapshots::{SnapshotEncodeError, SnapshotStoreError};
use thiserror::Error;

type Source = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A write's condition did not hold: another writer was first.
    #[error(transparent)]
    Conflict(Source),
    /// What the request names is not stored.
    #[error(transparent)]
    NotFound(Source),
    /// Refused before any request: the input can never be stored (an invalid order id, too
    /// many events for one append).
    #[error(transparent)]
    Invalid(Source),
    /// The item would be larger than DynamoDB allows.
    #[error(transparent)]
    TooLarge(Source),
    /// A stored item this code cannot read.
    #[error(transparent)]
    Undecodable(Source),
    /// Throttled, timed out or unreachable after the SDK's retries: the same request may
    /// succeed later.
    #[error("{0}")]
    Unavailable(#[source] Source),
    /// Anything else the database answered (a missing table, a refused permission).
    #[error("{0}")]
    Other(#[source] Source),
}

impl From<DynamoError> for StoreError {
    fn from(e: DynamoError) -> Self {
        if e.transient { StoreError::Unavailable(Box::new(e)) } else { StoreError::Other(Box::new(e)) }
    }
}

impl From<SnapshotStoreError> for StoreError {
    fn from(e: SnapshotStoreError) -> Self {
        match e {
            SnapshotStoreError::Dynamo(dynamo) => dynamo.into(),
            SnapshotStoreError::Conflict { .. } => StoreError::Conflict(Box::new(e)),
            SnapshotStoreError::NotFound { .. } => StoreError::NotFound(Box::new(e)),
            SnapshotStoreError::InvalidOrderId(_) => StoreError::Invalid(Box::new(e)),
            SnapshotStoreError::Encode(SnapshotEncodeError::TooLarge { .. }) => {
                StoreError::TooLarge(Box::new(e))
            }
            SnapshotStoreError::Encode(_) => StoreError::Invalid(Box::new(e)),
            SnapshotStoreError::Corrupt { .. } => StoreError::Undecodable(Box::new(e)),
            // BatchWriteItem's form of throttling, after our own retries.
            SnapshotStoreError::Unprocessed { .. } => StoreError::Unavailable(Box::new(e)),
        }
    }
}

impl From<EventStoreError> for StoreError {
    fn from(e: EventStoreError) -> Self {
        match e {
            EventStoreError::Dynamo(dynamo) => dynamo.into(),
            EventStoreError::Conflict { .. } => StoreError::Conflict(Box::new(e)),
            EventStoreError::InvalidOrderId(_) | EventStoreError::TooManyEvents(_) => {
                StoreError::Invalid(Box::new(e))
            }
            EventStoreError::Corrupt { .. } => StoreError::Undecodable(Box::new(e)),
        }
    }
}

impl From<ControlError> for StoreError {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::Dynamo(dynamo) => dynamo.into(),
            ControlError::Undecodable { .. } => StoreError::Undecodable(Box::new(e)),
        }
    }
}

impl StoreError {
    /// Whether the same request may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_store_error_has_one_kind() {
        let conflict = SnapshotStoreError::Conflict { order_id: "o-1".into(), version: 3 };
        assert!(matches!(StoreError::from(conflict), StoreError::Conflict(_)));
        let gone = SnapshotStoreError::NotFound { order_id: "o-1".into(), version: 3 };
        assert!(matches!(StoreError::from(gone), StoreError::NotFound(_)));
        let unprocessed =
            SnapshotStoreError::Unprocessed { order_id: "o-1".into(), remaining: 1, attempts: 8 };
        assert!(StoreError::from(unprocessed).is_transient());
        let appended = EventStoreError::Conflict { order_id: "o-1".into(), expected_version: 2 };
        let kind = StoreError::from(appended);
        assert!(matches!(kind, StoreError::Conflict(_)));
        assert!(kind.to_string().contains("another writer"), "the store's words are kept: {kind}");
        assert!(matches!(StoreError::from(EventStoreError::TooManyEvents(101)), StoreError::Invalid(_)));
        let control = ControlError::Undecodable { id: "_job".into(), reason: "no scope".into() };
        assert!(matches!(StoreError::from(control), StoreError::Undecodable(_)));
    }
}
