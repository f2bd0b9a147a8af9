//! The snapshot service (the seed's OrderSnapshotService): turns a batch of event-store
//! stream records into at most one conditional snapshot write per order, as the strategies
//! say. Lambda-agnostic: the stream function adapts its event into [`StreamChange`]s.
//!
//! Policy for records it cannot understand (invariant 5): a record that is not a decodable
//! INSERT of a known event is *reported as failed*. Lambda then retries from it, bisects,
//! and after the bounded retries sends it to the on-failure destination, so it is logged,
//! counted, kept for an operator, and never blocks the shard for longer than the retry
//! policy allows. It never yields a snapshot: the order's history holds the same bad event,
//! and a fold refuses it.

use crate::clock::Clock;
use crate::config::SnapshotSettings;
use crate::domain::{Order, RecordedEvent};
use crate::dynamo::Item;
use crate::event_store::{EventRecordError, event_from_item};
use crate::order_id::validate_order_id;
use crate::repository::{LoadCost, OrderRepository, RepositoryError, SnapshotRef};
use crate::snapshot::{NewSnapshot, SnapshotEncodeError, SnapshotMetadata, SnapshotStoreError};
use crate::strategy::{self, Decision, SnapshotFacts};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use thiserror::Error;
use tracing::{Instrument, error, info, info_span, warn};

/// Orders processed at once within a batch, by default.
pub const ORDER_CONCURRENCY: usize = 16;
/// Order states kept between batches in a warm container.
pub const DEFAULT_CACHE_CAPACITY: usize = 2048;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Insert,
    Modify,
    Remove,
}

/// A stream record, separated from its Lambda envelope.
#[derive(Clone, Debug)]
pub struct StreamChange {
    /// The record's `SequenceNumber`: what a partial-batch failure names.
    pub position: String,
    /// `Err`: the record itself could not be parsed (the reason).
    pub body: Result<ChangeBody, String>,
}

#[derive(Clone, Debug)]
pub struct ChangeBody {
    pub kind: ChangeKind,
    pub new_image: Option<Item>,
}

#[derive(Debug, Error)]
pub enum SnapshotServiceError {
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    #[error(transparent)]
    Snapshots(#[from] SnapshotStoreError),
    #[error("order {order_id} has no events up to {upto} in the store although the stream has them")]
    EventsMissing { order_id: String, upto: u64 },
}

impl From<crate::event_store::EventStoreError> for SnapshotServiceError {
    fn from(e: crate::event_store::EventStoreError) -> Self {
        SnapshotServiceError::Repository(e.into())
    }
}

/// What one batch did; also its metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub records: u64,
    pub inserts: u64,
    /// MODIFY and REMOVE records (TTL deletions included): not ours to act on.
    pub ignored: u64,
    /// Records that cannot be understood (reported as failed).
    pub poison: u64,
    pub orders: u64,
    pub snapshots_written: u64,
    /// Snapshots that already existed (redelivery, or another handler got there first).
    pub snapshots_existing: u64,
    /// Snapshots that cannot fit in an item: skipped, logged at ERROR.
    pub snapshots_too_large: u64,
    pub orders_failed: u64,
    /// Orders left for the retry because an earlier record of the batch failed.
    pub orders_deferred: u64,
    /// Orders served from the warm-container cache without reading storage.
    pub cache_hits: u64,
    pub storage_reads: u64,
    pub storage_writes: u64,
}

impl BatchReport {
    pub fn metrics(&self) -> [(&'static str, u64); 13] {
        [
            ("Records", self.records),
            ("Inserts", self.inserts),
            ("RecordsIgnored", self.ignored),
            ("RecordsPoison", self.poison),
            ("Orders", self.orders),
            ("SnapshotsWritten", self.snapshots_written),
            ("SnapshotsExisting", self.snapshots_existing),
            ("SnapshotsTooLarge", self.snapshots_too_large),
            ("OrdersFailed", self.orders_failed),
            ("OrdersDeferred", self.orders_deferred),
            ("CacheHits", self.cache_hits),
            ("StorageReads", self.storage_reads),
            ("StorageWrites", self.storage_writes),
        ]
    }
}

#[derive(Clone, Debug, Default)]
pub struct BatchOutcome {
    /// Position of the earliest record to retry from (Lambda restarts there).
    pub first_failure: Option<String>,
    pub report: BatchReport,
}

/// What happened to one order of a batch.
#[derive(Debug, Default)]
struct OrderOutcome {
    written: bool,
    existing: bool,
    too_large: bool,
    cache_hit: bool,
    reads: u32,
    writes: u32,
}

/// An order's state as of its last processed event, and its latest snapshot as far as this
/// container knows. Events are immutable, so a stale entry can only cost a redundant
/// conditional write, never a wrong snapshot.
#[derive(Clone, Debug)]
struct Cached {
    state: Order,
    snapshot: Option<SnapshotRef>,
}

/// A small LRU of order states for warm containers.
#[derive(Debug)]
struct StateCache {
    capacity: usize,
    tick: u64,
    entries: HashMap<String, (u64, Cached)>,
}

impl StateCache {
    fn take(&mut self, order_id: &str) -> Option<Cached> {
        self.entries.remove(order_id).map(|(_, c)| c)
    }

    fn put(&mut self, order_id: String, cached: Cached) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&order_id) {
            let oldest = self.entries.iter().min_by_key(|(_, (t, _))| *t).map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.tick += 1;
        self.entries.insert(order_id, (self.tick, cached));
    }
}

/// Outcome of a manual snapshot.
#[derive(Clone, Debug)]
pub struct Created {
    pub version: u64,
    pub metadata: SnapshotMetadata,
    pub cost: LoadCost,
}

pub struct SnapshotService {
    repository: OrderRepository,
    settings: SnapshotSettings,
    clock: Arc<dyn Clock>,
    cache: Mutex<StateCache>,
    concurrency: usize,
}

impl SnapshotService {
    pub fn new(repository: OrderRepository, settings: SnapshotSettings, clock: Arc<dyn Clock>) -> Self {
        let cache = StateCache { capacity: DEFAULT_CACHE_CAPACITY, tick: 0, entries: HashMap::new() };
        SnapshotService {
            repository,
            settings,
            clock,
            cache: Mutex::new(cache),
            concurrency: ORDER_CONCURRENCY,
        }
    }

    /// Order states kept between batches; 0 turns the warm-container cache off.
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache.get_mut().expect("cache lock").capacity = capacity;
        self
    }

    /// Orders processed at once within a batch (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    pub fn repository(&self) -> &OrderRepository {
        &self.repository
    }

    /// Processes one stream batch. Never fails as a whole: what must be retried is named by
    /// `first_failure`.
    pub async fn process_batch(&self, changes: &[StreamChange]) -> BatchOutcome {
        let mut report = BatchReport { records: changes.len() as u64, ..BatchReport::default() };
        let mut first_failure: Option<usize> = None;
        // Records of each order in stream order, with the index of the order's first record.
        let mut orders: Vec<(String, usize, Vec<RecordedEvent>)> = Vec::new();
        let mut index_of: HashMap<String, usize> = HashMap::new();
        for (i, change) in changes.iter().enumerate() {
            match decode(change) {
                Decoded::Ignored => report.ignored += 1,
                Decoded::Poison(reason) => {
                    report.poison += 1;
                    error!(position = %change.position, %reason, "stream record cannot be understood; reporting it as failed");
                    // Lambda restarts at the first failure; later records come again.
                    first_failure = Some(i);
                    break;
                }
                Decoded::Event(event) => {
                    report.inserts += 1;
                    let slot = *index_of.entry(event.order_id.clone()).or_insert_with(|| {
                        orders.push((event.order_id.clone(), i, Vec::new()));
                        orders.len() - 1
                    });
                    orders[slot].2.push(event);
                }
            }
        }
        report.orders = orders.len() as u64;

        // Once an order fails, Lambda will redeliver everything from its first record: orders
        // that start later would be done twice, so they are left for the retry.
        let earliest_failure = AtomicUsize::new(first_failure.unwrap_or(usize::MAX));
        let earliest_failure = &earliest_failure;
        let results: Vec<_> = futures_util::stream::iter(orders)
            .map(|(order_id, first_index, events)| async move {
                if first_index > earliest_failure.load(Ordering::SeqCst) {
                    return (order_id, first_index, None);
                }
                let span = info_span!("order", order_id = %order_id);
                let result = self.process_order(&order_id, events).instrument(span).await;
                if result.is_err() {
                    earliest_failure.fetch_min(first_index, Ordering::SeqCst);
                }
                (order_id, first_index, Some(result))
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;

        for (order_id, first_index, result) in results {
            match result {
                None => report.orders_deferred += 1,
                Some(Ok(o)) => {
                    report.snapshots_written += u64::from(o.written);
                    report.snapshots_existing += u64::from(o.existing);
                    report.snapshots_too_large += u64::from(o.too_large);
                    report.cache_hits += u64::from(o.cache_hit);
                    report.storage_reads += u64::from(o.reads);
                    report.storage_writes += u64::from(o.writes);
                }
                Some(Err(err)) => {
                    report.orders_failed += 1;
                    error!(order_id, error = %err, source = ?std::error::Error::source(&err), "order failed; its records will be retried");
                    first_failure = Some(first_failure.map_or(first_index, |f| f.min(first_index)));
                }
            }
        }
        let first_failure = first_failure.map(|i| changes[i].position.clone());
        info!(
            records = report.records,
            orders = report.orders,
            written = report.snapshots_written,
            existing = report.snapshots_existing,
            poison = report.poison,
            failed = report.orders_failed,
            first_failure = first_failure.as_deref(),
            "batch processed"
        );
        BatchOutcome { first_failure, report }
    }

    async fn process_order(
        &self,
        order_id: &str,
        mut events: Vec<RecordedEvent>,
    ) -> Result<OrderOutcome, SnapshotServiceError> {
        events.sort_by_key(|e| e.sequence);
        events.dedup_by_key(|e| e.sequence);
        let upto = events.last().map_or(0, |e| e.sequence);
        let mut outcome = OrderOutcome::default();
        let cached = self.cache.lock().expect("cache lock").take(order_id);

        // Start from the cache when the batch continues exactly where it left off.
        let from_cache = cached.and_then(|c| {
            let newer: Vec<RecordedEvent> =
                events.iter().filter(|e| e.sequence > c.state.version).cloned().collect();
            let contiguous = newer.iter().zip(c.state.version + 1..).all(|(e, s)| e.sequence == s);
            contiguous.then_some((c, newer))
        });
        let (base, tail, snapshot, current) = match from_cache {
            Some((c, newer)) => {
                outcome.cache_hit = true;
                let mut current = c.state.clone();
                current
                    .apply_all(&newer)
                    .map_err(|source| RepositoryError::Fold { order_id: order_id.to_owned(), source })?;
                (c.state, newer, c.snapshot, current)
            }
            None => {
                // The load already folded the tail onto its base: use its `current`.
                let parts = self.repository.load_parts(order_id, Some(upto)).await?;
                let parts = parts.ok_or_else(|| SnapshotServiceError::EventsMissing {
                    order_id: order_id.to_owned(),
                    upto,
                })?;
                outcome.reads += parts.cost.round_trips;
                (parts.base, parts.tail, parts.snapshot, parts.current)
            }
        };

        let facts = SnapshotFacts {
            last_sequence: current.version,
            snapshot_sequence: snapshot.map_or(0, |s| s.version),
            snapshot_at: snapshot.map(|s| s.timestamp),
            now: self.clock.now_ms(),
        };
        let decision = strategy::decide(&current, &facts, &self.settings);
        let mut snapshot_after = snapshot;
        if let Some(trigger) = decision.trigger {
            let state =
                self.state_at(order_id, &base, &tail, &current, decision.at_sequence, &mut outcome).await?;
            outcome.writes += 1;
            match self.write(state, &decision, facts.now).await {
                Ok(()) => {
                    outcome.written = true;
                    info!(version = decision.at_sequence, strategy = %decision.strategy, rule = ?decision.rule, %trigger, "snapshot written");
                }
                Err(SnapshotStoreError::Conflict { .. }) => {
                    outcome.existing = true;
                    info!(version = decision.at_sequence, "snapshot already exists");
                }
                Err(SnapshotStoreError::Encode(SnapshotEncodeError::TooLarge { bytes, .. })) => {
                    outcome.too_large = true;
                    error!(
                        version = decision.at_sequence,
                        bytes, "state too large for a snapshot; loads replay this order"
                    );
                }
                Err(other) => return Err(other.into()),
            }
            if outcome.written || outcome.existing {
                snapshot_after = Some(SnapshotRef { version: decision.at_sequence, timestamp: facts.now });
            }
        }
        self.cache
            .lock()
            .expect("cache lock")
            .put(order_id.to_owned(), Cached { state: current, snapshot: snapshot_after });
        Ok(outcome)
    }

    /// The state at `at`: the current one, `base` folded with part of `tail`, or (rarely,
    /// when `at` lies before `base`) a fresh load.
    async fn state_at(
        &self,
        order_id: &str,
        base: &Order,
        tail: &[RecordedEvent],
        current: &Order,
        at: u64,
        outcome: &mut OrderOutcome,
    ) -> Result<Order, SnapshotServiceError> {
        if at == current.version {
            return Ok(current.clone());
        }
        if at >= base.version {
            let mut state = base.clone();
            state
                .apply_all(tail.iter().take_while(|e| e.sequence <= at))
                .map_err(|source| RepositoryError::Fold { order_id: order_id.to_owned(), source })?;
            return Ok(state);
        }
        let parts = self.repository.load_parts(order_id, Some(at)).await?;
        outcome.reads += parts.as_ref().map_or(0, |p| p.cost.round_trips);
        parts
            .map(|p| p.current)
            .ok_or(SnapshotServiceError::EventsMissing { order_id: order_id.to_owned(), upto: at })
    }

    async fn write(&self, state: Order, decision: &Decision, now: i64) -> Result<(), SnapshotStoreError> {
        let reason = decision.trigger.map(|t| t.to_string()).unwrap_or_default();
        let new = NewSnapshot {
            state,
            timestamp: now,
            created_by: "stream".into(),
            reason,
            strategy: Some(decision.strategy),
            rule: Some(decision.rule),
        };
        self.repository.snapshots().put(&new).await.map(|_| ())
    }

    /// A snapshot of the order's current state, now (the admin API's `create`). `Conflict`
    /// when one already covers the newest event.
    pub async fn create_snapshot(
        &self,
        order_id: &str,
        created_by: &str,
        reason: &str,
    ) -> Result<Created, SnapshotServiceError> {
        let loaded = self
            .repository
            .load(order_id)
            .await?
            .ok_or_else(|| RepositoryError::NotFound(order_id.to_owned()))?;
        let new = NewSnapshot {
            state: loaded.order,
            timestamp: self.clock.now_ms(),
            created_by: created_by.to_owned(),
            reason: reason.to_owned(),
            strategy: None,
            rule: None,
        };
        let version = new.state.version;
        let metadata = self.repository.snapshots().put(&new).await?;
        Ok(Created { version, metadata, cost: loaded.cost })
    }
}

/// What a stream record is to the snapshot service.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// MODIFY or REMOVE: not ours to act on.
    Ignored,
    /// Cannot be understood: reported as failed, never snapshotted.
    Poison(String),
    Event(RecordedEvent),
}

/// Classifies one record strictly: every attribute present with its type, a known event
/// type and schema version, a valid order id and a positive sequence.
pub fn decode(change: &StreamChange) -> Decoded {
    let body = match &change.body {
        Ok(body) => body,
        Err(reason) => return Decoded::Poison(reason.clone()),
    };
    if body.kind != ChangeKind::Insert {
        return Decoded::Ignored;
    }
    let Some(image) = &body.new_image else {
        return Decoded::Poison("INSERT without a NewImage (stream view type must be NEW_IMAGE)".into());
    };
    match event_from_item(image) {
        Ok(event) => match validate_order_id(&event.order_id) {
            Ok(()) if event.sequence > 0 => Decoded::Event(event),
            Ok(()) => Decoded::Poison("sequence 0".into()),
            Err(e) => Decoded::Poison(e.to_string()),
        },
        Err(EventRecordError::Attribute(e)) => Decoded::Poison(e.to_string()),
        Err(EventRecordError::Event(e)) => {
            warn!(position = %change.position, error = %e, "event cannot be decoded");
            Decoded::Poison(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(version: u64) -> Cached {
        let mut state = Order::empty("o");
        state.version = version;
        Cached { state, snapshot: None }
    }

    #[test]
    fn the_cache_evicts_the_least_recently_stored() {
        let mut cache = StateCache { capacity: 2, tick: 0, entries: HashMap::new() };
        cache.put("a".into(), cached(1));
        cache.put("b".into(), cached(2));
        cache.put("c".into(), cached(3));
        assert!(cache.take("a").is_none());
        assert_eq!(cache.take("b").map(|c| c.state.version), Some(2));
        assert_eq!(cache.take("c").map(|c| c.state.version), Some(3));
    }

    #[test]
    fn a_zero_capacity_cache_holds_nothing() {
        let mut cache = StateCache { capacity: 0, tick: 0, entries: HashMap::new() };
        cache.put("a".into(), cached(1));
        assert!(cache.take("a").is_none());
    }

    #[test]
    fn only_decodable_inserts_are_events() {
        use crate::domain::OrderEvent;
        use crate::domain::samples::recorded;
        let good = crate::event_store::event_to_item(&recorded("o-1", 1, OrderEvent::OrderConfirmed {}));
        let change = |kind, image: Option<Item>| StreamChange {
            position: "1".into(),
            body: Ok(ChangeBody { kind, new_image: image }),
        };
        assert!(matches!(decode(&change(ChangeKind::Insert, Some(good.clone()))), Decoded::Event(_)));
        assert!(matches!(decode(&change(ChangeKind::Modify, Some(good.clone()))), Decoded::Ignored));
        assert!(matches!(decode(&change(ChangeKind::Remove, None)), Decoded::Ignored));
        assert!(matches!(decode(&change(ChangeKind::Insert, None)), Decoded::Poison(_)));
        let mut bad_id = good.clone();
        bad_id.insert("orderId".into(), crate::dynamo::s("../x"));
        assert!(matches!(decode(&change(ChangeKind::Insert, Some(bad_id))), Decoded::Poison(_)));
        let mut unknown = good;
        unknown.insert("eventType".into(), crate::dynamo::s("Nope"));
        assert!(matches!(decode(&change(ChangeKind::Insert, Some(unknown))), Decoded::Poison(_)));
        let unparsable = StreamChange { position: "9".into(), body: Err("bad JSON".into()) };
        assert!(matches!(decode(&unparsable), Decoded::Poison(_)));
    }
}
