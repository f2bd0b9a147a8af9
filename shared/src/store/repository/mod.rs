//! The order repository: load = newest usable snapshot + the events after it, falling back to
//! full replay when the snapshot cannot be used (`load`: both read at once). Reads stay reads:
//! only the stream function, the admin and the rebuild write snapshots, through
//! [`OrderRepository::put_snapshot`]. It is the use cases' one way to storage: each operation
//! they need is a method here (the load's algorithm in `load.rs`), and every storage failure reaches them
//! as the one [`StoreError`].

mod load;
mod plan;
mod read_ahead;

pub use load::{LoadCost, Loaded};
pub use read_ahead::READ_AHEAD_BYTE_BUDGET;

use crate::domain::OrderId;
use crate::domain::folded_order::FoldedOrder;
use crate::domain::{DomainError, Order, OrderCommand, OrderEvent, RecordedEvent};
use crate::store::StoreError;
use crate::store::control::ControlStore;
use crate::store::events::{EventKey, EventScan, EventStore, OrdersPage};
use crate::store::snapshots::{Cursor, KeysPage, NewSnapshot, OrderKeys, Snapshot, SnapshotPage};
use crate::store::snapshots::{SnapshotKeys, SnapshotStore, Unusable, Written};
use crate::store::unreadable::HistoryUnreadable;
use read_ahead::ReadAheadMemory;
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// Newest events a load reads beside the snapshot by default: the default snapshot threshold
/// (10), a margin of 10 for a lagging stream, and the snapshot's own event.
pub const DEFAULT_READ_AHEAD: u32 = 10 + 10 + 1;

/// Why a command (load, decide, append) was not done.
#[derive(Debug, Error)]
pub enum CommandError {
    #[error("order {0} does not exist")]
    NotFound(String),
    /// The order's rules refuse the command in its current state.
    #[error(transparent)]
    Rejected(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone, Debug)]
pub struct OrderRepository {
    events: EventStore,
    snapshots: SnapshotStore,
    keys: SnapshotKeys,
    /// Newest events a load reads at the same time as the snapshot (`None`: none; it reads
    /// the snapshot, then the events after it).
    read_ahead: Option<u32>,
    /// How far behind its snapshot each order was on its last load in this container.
    read_ahead_memory: Arc<Mutex<ReadAheadMemory>>,
}

impl OrderRepository {
    pub fn new(events: EventStore, snapshots: SnapshotStore) -> Self {
        let keys = SnapshotKeys::of(&snapshots);
        OrderRepository {
            events,
            snapshots,
            keys,
            read_ahead: Some(DEFAULT_READ_AHEAD),
            read_ahead_memory: Arc::default(),
        }
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

    /// The current state: newest usable snapshot + the events after it (`load.rs`). One round
    /// trip of latency when the snapshot is within the read-ahead of the newest event. `None`
    /// when the order has no events.
    pub async fn load(&self, order_id: &OrderId) -> Result<Option<Loaded>, StoreError> {
        let loaded = load::folded(self, order_id, None, 0).await?;
        Ok(loaded.map(|(folded, cost)| Loaded { order: folded.into_current(), cost }))
    }

    /// Full replay from the first event, ignoring snapshots (verification, repair).
    pub async fn load_by_replay(&self, order_id: &OrderId) -> Result<Option<Loaded>, StoreError> {
        let loaded = load::by_replay(self, order_id).await?;
        Ok(loaded.map(|(folded, cost)| Loaded { order: folded.into_current(), cost }))
    }

    /// A load up to `upto` (inclusive; `None`: everything) that keeps how the state was
    /// reached, so the caller can ask for the state at any sequence since the snapshot.
    /// `arriving`: events the caller knows were appended lately (a stream batch's), which
    /// widen the read-ahead so it still reaches the snapshot.
    pub async fn load_folded(
        &self,
        order_id: &OrderId,
        upto: Option<u64>,
        arriving: u64,
    ) -> Result<Option<(FoldedOrder, LoadCost)>, StoreError> {
        load::folded(self, order_id, upto, arriving).await
    }

    /// Writes a snapshot if its (order, version) is free or holds an unusable one: a usable
    /// snapshot is never overwritten.
    pub async fn put_snapshot(&self, snapshot: &NewSnapshot) -> Result<Written, StoreError> {
        self.snapshots.put(snapshot).await
    }

    /// Appends events decided against `expected_version`.
    pub async fn save(
        &self,
        order_id: &OrderId,
        expected_version: u64,
        events: &[OrderEvent],
        now: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.events.append(order_id, expected_version, events, now).await
    }

    /// Load, decide, append: how the order service changes an order (the local stack, the soak
    /// and the tests act as the order service through it). A `Create` on an order with no
    /// events starts from the empty order; any other command needs the order to exist.
    pub async fn execute(
        &self,
        order_id: &OrderId,
        command: OrderCommand,
        now: i64,
    ) -> Result<Order, CommandError> {
        let order = match self.load(order_id).await? {
            Some(loaded) => loaded.order,
            None if matches!(command, OrderCommand::Create { .. }) => Order::empty(order_id),
            None => return Err(CommandError::NotFound(order_id.to_string())),
        };
        let events = order.decide(command)?;
        let recorded = self.save(order_id, order.version, &events, now).await?;
        let mut order = order;
        order
            .apply_all(&recorded)
            .map_err(|source| StoreError::from(HistoryUnreadable::folding(order_id, source)))?;
        Ok(order)
    }

    // What the admin and maintenance use cases need beyond a load: listings, single
    // snapshots, deletes and table-wide scans, each one store call in the repository's terms.

    /// Whether the order has any event.
    pub async fn exists(&self, order_id: &OrderId) -> Result<bool, StoreError> {
        self.events.exists(order_id).await
    }

    /// The order's newest sequence (`None`: no events).
    pub async fn last_sequence(&self, order_id: &OrderId) -> Result<Option<u64>, StoreError> {
        self.events.last_sequence(order_id).await
    }

    /// Every event of the order, decoded, from sequence 1 (verification).
    pub async fn history(&self, order_id: &OrderId) -> Result<Vec<RecordedEvent>, StoreError> {
        Ok(self.events.read_from(order_id, 1).await?.0)
    }

    /// A page of the order's snapshots, newest first, without states.
    pub async fn list_snapshots(
        &self,
        order_id: &OrderId,
        limit: u16,
        before: Option<u64>,
    ) -> Result<SnapshotPage, StoreError> {
        self.snapshots.list(order_id, limit, before).await
    }

    /// One snapshot with its state, usable or not.
    pub async fn snapshot(
        &self,
        order_id: &OrderId,
        version: u64,
    ) -> Result<Option<Result<Snapshot, Unusable>>, StoreError> {
        self.snapshots.get(order_id, version).await
    }

    /// The newest snapshot's version and state, usable or not.
    pub async fn newest_snapshot(
        &self,
        order_id: &OrderId,
    ) -> Result<Option<(u64, Result<Snapshot, Unusable>)>, StoreError> {
        self.snapshots.newest(order_id).await
    }

    /// Deletes one snapshot; `StoreError::SnapshotNotFound` when there is no such version.
    pub async fn delete_snapshot(&self, order_id: &OrderId, version: u64) -> Result<(), StoreError> {
        self.snapshots.delete(order_id, version).await
    }

    /// Every version stored for the order, whatever the items hold (strongly consistent).
    pub async fn snapshot_versions(&self, order_id: &OrderId) -> Result<Vec<u64>, StoreError> {
        self.snapshots.versions(order_id).await
    }

    /// Deletes these versions in batches (a version already gone is no error); the number of
    /// requests it took.
    pub async fn delete_snapshots(&self, order_id: &OrderId, versions: &[u64]) -> Result<u32, StoreError> {
        self.keys.delete_versions(order_id, versions).await
    }

    /// The order's snapshot keys, from the keys index (never a state).
    pub async fn snapshot_keys(&self, order_id: &OrderId) -> Result<OrderKeys, StoreError> {
        self.keys.keys(order_id).await
    }

    /// One page of every order's snapshot keys, from `after` on.
    pub async fn scan_snapshot_keys(
        &self,
        after: Option<&Cursor>,
        limit: u16,
    ) -> Result<KeysPage, StoreError> {
        self.keys.scan_keys(after, limit).await
    }

    /// The orders with an event at `sequence`, among the next `limit` events after `after`.
    pub async fn scan_orders_with(
        &self,
        sequence: u64,
        after: Option<&EventKey>,
        limit: u16,
    ) -> Result<OrdersPage, StoreError> {
        EventScan::of(&self.events).orders_with(sequence, after, limit).await
    }
}
