//! The order repository (the seed's OrderRepository): load = newest usable snapshot + the
//! events after it, falling back to full replay when the snapshot cannot be used (`load`:
//! both read at once). Reads stay reads (the seed's defect 5, see docs/invariants.md): only
//! the stream function and the admin use cases write snapshots, through
//! [`OrderRepository::put_snapshot`].

mod load;
mod plan;

use crate::domain::{DomainError, Order, OrderCommand, OrderEvent, RecordedEvent};
use crate::dynamo::ReadCost;
use crate::event_store::{EventStore, EventStoreError, StoredEvents};
use crate::snapshot::{NewSnapshot, SnapshotStore, SnapshotStoreError, Written};
use crate::unreadable::HistoryUnreadable;
use serde::Serialize;
use thiserror::Error;

/// Newest events a load reads beside the snapshot by default: the seed's snapshot threshold
/// (10), a margin of 10 for a lagging stream, and the snapshot's own event.
pub const DEFAULT_READ_AHEAD: u32 = 10 + 10 + 1;

#[derive(Debug, Error)]
pub enum RepositoryError {
    #[error(transparent)]
    Events(EventStoreError),
    #[error(transparent)]
    Snapshots(#[from] SnapshotStoreError),
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
            other => RepositoryError::Events(other),
        }
    }
}

/// What a load cost and how it was served.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadCost {
    /// Snapshot the load started from (`None`: full replay).
    pub snapshot_version: Option<u64>,
    pub events_replayed: u64,
    /// Requests sent.
    pub round_trips: u32,
    /// Requests the load waited for one after another: the latency it paid. Reads sent
    /// together count once.
    pub critical_round_trips: u32,
    pub items_read: u64,
    pub bytes_read: u64,
    pub read_units: f64,
    /// Snapshots passed over as unusable (corrupt, older schema, checksum mismatch).
    pub unusable_snapshots: u32,
    /// The snapshot table could not be reached: the load replayed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub snapshots_unreachable: bool,
    /// Why the load replayed from the start although a snapshot existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

impl LoadCost {
    /// A read the load waited for after the previous ones.
    fn read(&mut self, cost: ReadCost) {
        self.add(cost);
        self.critical_round_trips += cost.round_trips;
    }

    /// Reads sent at the same time: the load waits for the longer of them.
    fn read_together(&mut self, first: ReadCost, second: ReadCost) {
        self.add(first);
        self.add(second);
        self.critical_round_trips += first.round_trips.max(second.round_trips);
    }

    fn add(&mut self, cost: ReadCost) {
        self.round_trips += cost.round_trips;
        self.items_read += cost.items;
        self.bytes_read += cost.bytes;
        self.read_units += cost.read_units;
    }
}

#[derive(Clone, Debug)]
pub struct Loaded {
    pub order: Order,
    pub cost: LoadCost,
}

#[derive(Clone, Debug)]
pub struct OrderRepository {
    events: EventStore,
    snapshots: SnapshotStore,
    /// Newest events a load reads at the same time as the snapshot (`None`: none; it reads
    /// the snapshot, then the events after it).
    read_ahead: Option<u32>,
}

impl OrderRepository {
    pub fn new(events: EventStore, snapshots: SnapshotStore) -> Self {
        OrderRepository { events, snapshots, read_ahead: Some(DEFAULT_READ_AHEAD) }
    }

    /// The repository the configuration describes: its tables and its read-ahead.
    pub fn from_config(client: aws_sdk_dynamodb::Client, config: &crate::config::Config) -> Self {
        Self::for_tables(client, &config.tables).with_read_ahead(config.read_ahead())
    }

    /// How many of the newest events a load reads beside the snapshot; `None` turns the
    /// read-ahead off.
    pub fn with_read_ahead(mut self, events: Option<u32>) -> Self {
        self.read_ahead = events.filter(|&n| n > 0);
        self
    }

    /// Both stores on the configured tables, sharing one client.
    pub fn for_tables(client: aws_sdk_dynamodb::Client, tables: &crate::config::TableNames) -> Self {
        OrderRepository::new(
            EventStore::new(client.clone(), &tables.events),
            SnapshotStore::new(client, &tables.snapshots),
        )
    }

    pub fn events(&self) -> &EventStore {
        &self.events
    }

    pub fn snapshots(&self) -> &SnapshotStore {
        &self.snapshots
    }

    /// The current state: newest usable snapshot + the events after it. One round trip of
    /// latency when the snapshot is within the read-ahead of the newest event. `None` when the
    /// order has no events.
    pub async fn load(&self, order_id: &str) -> Result<Option<Loaded>, RepositoryError> {
        let loaded = self.load_folded(order_id, None, 0).await?;
        Ok(loaded.map(|(folded, cost)| Loaded { order: folded.into_current(), cost }))
    }

    /// Full replay from the first event, ignoring snapshots (verification, repair).
    pub async fn load_by_replay(&self, order_id: &str) -> Result<Option<Loaded>, RepositoryError> {
        let nothing = StoredEvents::none(order_id);
        let loaded = self.replay(order_id, None, nothing, LoadCost::default()).await?;
        Ok(loaded.map(|(folded, cost)| Loaded { order: folded.into_current(), cost }))
    }

    /// Writes a snapshot if its (order, version) is free or holds an unusable one: a usable
    /// snapshot is never overwritten.
    pub async fn put_snapshot(&self, new: &NewSnapshot) -> Result<Written, SnapshotStoreError> {
        self.snapshots.put(new).await
    }

    /// Appends events decided against `expected_version` (the seed's `save`).
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
