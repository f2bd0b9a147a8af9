//! The order repository: load = newest usable snapshot + the events after it, falling back to
//! full replay when the snapshot cannot be used (`load`: both read at once). Reads stay reads:
//! only the stream function, the admin and the rebuild write snapshots, through
//! [`OrderRepository::put_snapshot`]. It is the use cases' one way to storage: each operation
//! they need is a method here (the loads in `load.rs`), and every storage failure reaches them
//! as a [`StoreError`] kind.

mod distance;
mod load;
mod plan;

pub use distance::READ_AHEAD_BYTE_BUDGET;
pub use load::{LoadCost, Loaded};

use crate::domain::{DomainError, Order, OrderCommand, OrderEvent, RecordedEvent};
use crate::store::StoreError;
use crate::store::control::ControlStore;
use crate::store::events::{EventKey, OrdersPage};
use crate::store::events::{EventStore, EventStoreError};
use crate::store::snapshots::{Cursor, KeysPage, OrderKeys, Snapshot, SnapshotPage, Unusable};
use crate::store::snapshots::{NewSnapshot, SnapshotStore, SnapshotStoreError, Written};
use crate::use_cases::unreadable::HistoryUnreadable;
use distance::Distances;
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// Newest events a load reads beside the snapshot by default: the default snapshot threshold
/// (10), a margin of 10 for a lagging stream, and the snapshot's own event.
pub const DEFAULT_READ_AHEAD: u32 = 10 + 10 + 1;

#[derive(Debug, Error)]
pub enum RepositoryError {
    /// Storage failed, in one of the few kinds every use case maps.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored history cannot be read: the data's fault, permanent until code or data change.
    #[error(transparent)]
    Unreadable(#[from] HistoryUnreadable),
    #[error("order {0} does not exist")]
    NotFound(String),
    #[error(transparent)]
    Rejected(#[from] DomainError),
}

impl From<EventStoreError> for RepositoryError {
    fn from(e: EventStoreError) -> Self {
        match e {
            EventStoreError::Corrupt { order_id, sequence, source } => {
                HistoryUnreadable::decoding(&order_id, sequence, source).into()
            }
            other => RepositoryError::Store(other.into()),
        }
    }
}

impl From<SnapshotStoreError> for RepositoryError {
    fn from(e: SnapshotStoreError) -> Self {
        RepositoryError::Store(e.into())
    }
}

impl From<crate::store::control::ControlError> for RepositoryError {
    fn from(e: crate::store::control::ControlError) -> Self {
        RepositoryError::Store(e.into())
    }
}

impl RepositoryError {
    /// The storage kind, when storage failed.
    pub fn store(&self) -> Option<&StoreError> {
        match self {
            RepositoryError::Store(e) => Some(e),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct OrderRepository {
    events: EventStore,
    snapshots: SnapshotStore,
    /// Newest events a load reads at the same time as the snapshot (`None`: none; it reads
    /// the snapshot, then the events after it).
    read_ahead: Option<u32>,
    /// How far behind its snapshot each order was on its last load in this container.
    distances: Arc<Mutex<Distances>>,
}

impl OrderRepository {
    pub fn new(events: EventStore, snapshots: SnapshotStore) -> Self {
        OrderRepository { events, snapshots, read_ahead: Some(DEFAULT_READ_AHEAD), distances: Arc::default() }
    }

    /// How many of the newest events a load reads beside the snapshot; `None` turns the
    /// read-ahead off.
    pub fn with_read_ahead(mut self, events: Option<u32>) -> Self {
        self.read_ahead = events.filter(|&n| n > 0);
        self
    }

    /// Both stores on the configured tables, sharing one client.
    pub fn for_tables(client: aws_sdk_dynamodb::Client, tables: &crate::store::tables::TableNames) -> Self {
        OrderRepository::new(
            EventStore::new(client.clone(), &tables.events),
            SnapshotStore::new(client, &tables.snapshots),
        )
    }

    /// The maintenance jobs' control items, kept in the snapshot table.
    pub fn control_items(&self) -> ControlStore {
        ControlStore::new(self.snapshots.client().clone(), self.snapshots.table())
    }

    /// Writes a snapshot if its (order, version) is free or holds an unusable one: a usable
    /// snapshot is never overwritten.
    pub async fn put_snapshot(&self, new: &NewSnapshot) -> Result<Written, RepositoryError> {
        Ok(self.snapshots.put(new).await?)
    }

    /// Appends events decided against `expected_version`.
    pub async fn save(
        &self,
        order_id: &str,
        expected_version: u64,
        events: &[OrderEvent],
        now: i64,
    ) -> Result<Vec<RecordedEvent>, RepositoryError> {
        Ok(self.events.append(order_id, expected_version, events, now).await?)
    }

    /// Load, decide, append: how the order service changes an order. A `Create` on an order
    /// with no events starts from the empty order.
    pub async fn execute(
        &self,
        order_id: &str,
        command: OrderCommand,
        now: i64,
    ) -> Result<Order, RepositoryError> {
        let order = match self.load(order_id).await? {
            Some(loaded) => loaded.order,
            None if matches!(command, OrderCommand::Create { .. }) => Order::empty(order_id),
            None => return Err(RepositoryError::NotFound(order_id.to_owned())),
        };
        let events = order.decide(command)?;
        let recorded = self.save(order_id, order.version, &events, now).await?;
        let mut order = order;
        order.apply_all(&recorded).map_err(|source| HistoryUnreadable::folding(order_id, source))?;
        Ok(order)
    }
}

/// What the admin and maintenance use cases need beyond a load: listings, single snapshots,
/// deletes and table-wide scans, each one store call in the repository's terms.
impl OrderRepository {
    /// Whether the order has any event.
    pub async fn exists(&self, order_id: &str) -> Result<bool, RepositoryError> {
        Ok(self.events.exists(order_id).await?)
    }

    /// The order's newest sequence (`None`: no events).
    pub async fn last_sequence(&self, order_id: &str) -> Result<Option<u64>, RepositoryError> {
        Ok(self.events.last_sequence(order_id).await?)
    }

    /// Every event of the order, decoded, from sequence 1 (verification).
    pub async fn history(&self, order_id: &str) -> Result<Vec<RecordedEvent>, RepositoryError> {
        Ok(self.events.read_from(order_id, 1).await?.0)
    }

    /// A page of the order's snapshots, newest first, without states.
    pub async fn list_snapshots(
        &self,
        order_id: &str,
        limit: u16,
        before: Option<u64>,
    ) -> Result<SnapshotPage, RepositoryError> {
        Ok(self.snapshots.list(order_id, limit, before).await?)
    }

    /// One snapshot with its state, usable or not.
    pub async fn snapshot(
        &self,
        order_id: &str,
        version: u64,
    ) -> Result<Option<Result<Snapshot, Unusable>>, RepositoryError> {
        Ok(self.snapshots.get(order_id, version).await?)
    }

    /// The newest snapshot's version and state, usable or not.
    pub async fn newest_snapshot(
        &self,
        order_id: &str,
    ) -> Result<Option<(u64, Result<Snapshot, Unusable>)>, RepositoryError> {
        Ok(self.snapshots.newest(order_id).await?)
    }

    /// Deletes one snapshot; `StoreError::NotFound` when there is no such version.
    pub async fn delete_snapshot(&self, order_id: &str, version: u64) -> Result<(), RepositoryError> {
        Ok(self.snapshots.delete(order_id, version).await?)
    }

    /// Every version stored for the order, whatever the items hold (strongly consistent).
    pub async fn snapshot_versions(&self, order_id: &str) -> Result<Vec<u64>, RepositoryError> {
        Ok(self.snapshots.versions(order_id).await?)
    }

    /// Deletes these versions in batches (a version already gone is no error); the number of
    /// requests it took.
    pub async fn delete_snapshots(&self, order_id: &str, versions: &[u64]) -> Result<u32, RepositoryError> {
        Ok(self.snapshots.delete_versions(order_id, versions).await?)
    }

    /// The order's snapshot keys, from the keys index (never a state).
    pub async fn snapshot_keys(&self, order_id: &str) -> Result<OrderKeys, RepositoryError> {
        Ok(self.snapshots.keys(order_id).await?)
    }

    /// One page of every order's snapshot keys, from `after` on.
    pub async fn scan_snapshot_keys(
        &self,
        after: Option<&Cursor>,
        limit: u16,
    ) -> Result<KeysPage, RepositoryError> {
        Ok(self.snapshots.scan_keys(after, limit).await?)
    }

    /// The orders with an event at `sequence`, among the next `limit` events after `after`.
    pub async fn scan_orders_with(
        &self,
        sequence: u64,
        after: Option<&EventKey>,
        limit: u16,
    ) -> Result<OrdersPage, RepositoryError> {
        Ok(self.events.scan_orders_with(sequence, after, limit).await?)
    }
}
