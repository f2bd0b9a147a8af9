//! The order repository (the seed's OrderRepository): load = newest usable snapshot + the
//! events after it, falling back to full replay when the snapshot cannot be used. Reads stay
//! reads (the seed's defect 5, see docs/invariants.md): only the stream function and the admin
//! use cases write snapshots, through [`OrderRepository::put_snapshot`].

use crate::domain::{DomainError, Order, OrderCommand, OrderEvent, RecordedEvent};
use crate::dynamo::ReadCost;
use crate::event_store::{EventStore, EventStoreError};
use crate::folded_order::{FoldedOrder, SnapshotRef};
use crate::snapshot::{NewSnapshot, SnapshotStore, SnapshotStoreError, Written};
use crate::unreadable::HistoryUnreadable;
use serde::Serialize;
use thiserror::Error;
use tracing::{debug, warn};

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
    pub round_trips: u32,
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
    fn read(&mut self, cost: ReadCost) {
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
}

impl OrderRepository {
    pub fn new(events: EventStore, snapshots: SnapshotStore) -> Self {
        OrderRepository { events, snapshots }
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

    /// The current state: newest usable snapshot + the events after it. Two round trips when
    /// the newest snapshot is usable. `None` when the order has no events.
    pub async fn load(&self, order_id: &str) -> Result<Option<Loaded>, RepositoryError> {
        let loaded = self.load_folded(order_id, None).await?;
        Ok(loaded.map(|(folded, cost)| Loaded { order: folded.into_current(), cost }))
    }

    /// Full replay from the first event, ignoring snapshots (verification, repair).
    pub async fn load_by_replay(&self, order_id: &str) -> Result<Option<Loaded>, RepositoryError> {
        let loaded = self.replay(order_id, None, LoadCost::default()).await?;
        Ok(loaded.map(|(folded, cost)| Loaded { order: folded.into_current(), cost }))
    }

    /// A load up to `upto` (inclusive; `None`: everything) that keeps how the state was
    /// reached, so the caller can ask for the state at any sequence since the snapshot.
    pub async fn load_folded(
        &self,
        order_id: &str,
        upto: Option<u64>,
    ) -> Result<Option<(FoldedOrder, LoadCost)>, RepositoryError> {
        let lookup = match self.snapshots.latest_usable(order_id).await {
            Ok(lookup) => lookup,
            // Snapshots are a cache: when their table cannot be reached, the events still can.
            // A throttled table is reached and busy: a replay would only add load elsewhere.
            Err(SnapshotStoreError::Dynamo(error)) if !error.is_throttling() => {
                warn!(order_id, %error, "snapshot table unreachable; replaying");
                let fallback = format!("snapshot table unreachable: {error}");
                let cost =
                    LoadCost { snapshots_unreachable: true, fallback: Some(fallback), ..LoadCost::default() };
                return self.replay(order_id, upto, cost).await;
            }
            Err(other) => return Err(other.into()),
        };
        let mut cost =
            LoadCost { unusable_snapshots: lookup.passed_over.len() as u32, ..LoadCost::default() };
        cost.read(lookup.cost);
        if let Some(first) = lookup.passed_over.first() {
            cost.fallback = Some(format!("snapshot {:?} unusable: {}", first.version, first.reason));
        }
        let Some(snapshot) = lookup.snapshot.filter(|s| upto.is_none_or(|u| s.last_event_sequence <= u))
        else {
            return self.replay(order_id, upto, cost).await;
        };
        // Read from the snapshot's own last event: one extra item proves the history the
        // snapshot was folded from is still the stored one.
        let (mut events, read) = self.events.read_range(order_id, snapshot.last_event_sequence, upto).await?;
        cost.read(read);
        let anchored = events.first().is_some_and(|first| {
            first.sequence == snapshot.last_event_sequence
                && Some(&first.event_id) == snapshot.state.last_event_id.as_ref()
        });
        let version = snapshot.version;
        let folded = if anchored {
            events.remove(0);
            let from = SnapshotRef { version, timestamp: snapshot.timestamp };
            FoldedOrder::fold(snapshot.state, Some(from), events).map_err(|e| e.to_string())
        } else {
            Err(format!("event {} is not the one it was folded from", snapshot.last_event_sequence))
        };
        match folded {
            Ok(folded) => {
                cost.snapshot_version = Some(version);
                cost.events_replayed = folded.events_folded() as u64;
                cost.fallback = None;
                debug!(order_id, snapshot = version, tail = folded.events_folded(), "loaded from snapshot");
                Ok(Some((folded, cost)))
            }
            Err(error) => {
                // The snapshot does not line up with the stored events: trust the events.
                let message = "snapshot does not fit the stored events; replaying";
                warn!(order_id, snapshot = version, %error, "{message}");
                cost.unusable_snapshots += 1;
                cost.fallback = Some(format!("snapshot {version} does not fit the stored events: {error}"));
                self.replay(order_id, upto, cost).await
            }
        }
    }

    async fn replay(
        &self,
        order_id: &str,
        upto: Option<u64>,
        mut cost: LoadCost,
    ) -> Result<Option<(FoldedOrder, LoadCost)>, RepositoryError> {
        let (events, read) = self.events.read_range(order_id, 1, upto).await?;
        cost.read(read);
        if events.is_empty() {
            return Ok(None);
        }
        cost.events_replayed = events.len() as u64;
        let folded = FoldedOrder::replay(order_id, events)
            .map_err(|source| HistoryUnreadable::folding(order_id, source))?;
        Ok(Some((folded, cost)))
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
