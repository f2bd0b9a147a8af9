//! The order repository: load = latest usable snapshot + the events after it, falling back to
//! full replay when the snapshot cannot be used. Reads stay reads (seed defect 5 fixed): only
//! the stream function and the admin API write snapshots.

use crate::domain::{DomainError, FoldError, Order, OrderCommand, OrderEvent, RecordedEvent};
use crate::dynamo::ReadCost;
use crate::event_store::{EventStore, EventStoreError};
use crate::snapshot::{SnapshotStore, SnapshotStoreError};
use serde::Serialize;
use thiserror::Error;
use tracing::{debug, warn};

#[derive(Debug, Error)]
pub enum RepositoryError {
    #[error(transparent)]
    Events(#[from] EventStoreError),
    #[error(transparent)]
    Snapshots(#[from] SnapshotStoreError),
    #[error("history of order {order_id} cannot be folded")]
    Fold {
        order_id: String,
        #[source]
        source: FoldError,
    },
    #[error("order {0} does not exist")]
    NotFound(String),
    #[error(transparent)]
    Rejected(#[from] DomainError),
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

/// The snapshot a load started from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotRef {
    pub version: u64,
    /// When it was taken (ms).
    pub timestamp: i64,
}

/// A load's pieces: `current` is `base` with `tail` folded onto it.
#[derive(Clone, Debug)]
pub struct Parts {
    /// The snapshot's state, or the empty order.
    pub base: Order,
    pub current: Order,
    pub snapshot: Option<SnapshotRef>,
    pub tail: Vec<RecordedEvent>,
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

    /// The current state: latest usable snapshot + the events after it. Two round trips when
    /// the newest snapshot is usable. `None` when the order has no events.
    pub async fn load(&self, order_id: &str) -> Result<Option<Loaded>, RepositoryError> {
        Ok(self.load_parts(order_id, None).await?.map(|p| Loaded { order: p.current, cost: p.cost }))
    }

    /// Full replay from the first event, ignoring snapshots (verification, fallback).
    pub async fn load_by_replay(&self, order_id: &str) -> Result<Option<Loaded>, RepositoryError> {
        let parts = self.replay_parts(order_id, None, LoadCost::default()).await?;
        Ok(parts.map(|p| Loaded { order: p.current, cost: p.cost }))
    }

    /// A load up to `upto` (inclusive; `None`: everything), keeping its pieces: the state it
    /// started from, the snapshot that was, and the events folded onto it.
    pub async fn load_parts(
        &self,
        order_id: &str,
        upto: Option<u64>,
    ) -> Result<Option<Parts>, RepositoryError> {
        let latest = self.snapshots.latest_usable(order_id).await?;
        let mut cost = LoadCost { unusable_snapshots: latest.skipped.len() as u32, ..LoadCost::default() };
        cost.read(latest.cost);
        if let Some(first) = latest.skipped.first() {
            cost.fallback = Some(format!("snapshot {:?} unusable: {}", first.version, first.reason));
        }
        let Some(snapshot) = latest.snapshot.filter(|s| upto.is_none_or(|u| s.last_event_sequence <= u))
        else {
            return self.replay_parts(order_id, upto, cost).await;
        };
        // Read from the snapshot's own last event: one extra item proves the history the
        // snapshot was folded from is still the stored one.
        let (mut events, read) = self.events.read_range(order_id, snapshot.last_event_sequence, upto).await?;
        cost.read(read);
        let anchored = events.first().is_some_and(|first| {
            first.sequence == snapshot.last_event_sequence
                && Some(&first.event_id) == snapshot.state.last_event_id.as_ref()
        });
        let base = snapshot.state;
        let folded = if anchored {
            events.remove(0);
            let mut current = base.clone();
            current.apply_all(&events).map(|()| current).map_err(|e| e.to_string())
        } else {
            Err(format!("event {} is not the one it was folded from", snapshot.last_event_sequence))
        };
        match folded {
            Ok(current) => {
                cost.snapshot_version = Some(snapshot.version);
                cost.events_replayed = events.len() as u64;
                cost.fallback = None;
                debug!(order_id, snapshot = snapshot.version, tail = events.len(), "loaded from snapshot");
                let snapshot = Some(SnapshotRef { version: snapshot.version, timestamp: snapshot.timestamp });
                Ok(Some(Parts { base, current, snapshot, tail: events, cost }))
            }
            Err(error) => {
                // The snapshot does not line up with the stored events: trust the events.
                warn!(order_id, snapshot = snapshot.version, %error, "snapshot does not fit the stored events; replaying");
                cost.unusable_snapshots += 1;
                cost.fallback =
                    Some(format!("snapshot {} does not fit the stored events: {error}", snapshot.version));
                self.replay_parts(order_id, upto, cost).await
            }
        }
    }

    async fn replay_parts(
        &self,
        order_id: &str,
        upto: Option<u64>,
        mut cost: LoadCost,
    ) -> Result<Option<Parts>, RepositoryError> {
        let (events, read) = self.events.read_range(order_id, 1, upto).await?;
        cost.read(read);
        if events.is_empty() {
            return Ok(None);
        }
        let current = Order::replay(order_id, &events)
            .map_err(|source| RepositoryError::Fold { order_id: order_id.to_owned(), source })?;
        cost.events_replayed = events.len() as u64;
        Ok(Some(Parts { base: Order::empty(order_id), current, snapshot: None, tail: events, cost }))
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
        order
            .apply_all(&recorded)
            .map_err(|source| RepositoryError::Fold { order_id: order_id.to_owned(), source })?;
        Ok(order)
    }
}
