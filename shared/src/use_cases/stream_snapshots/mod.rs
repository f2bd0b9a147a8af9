//! Stream snapshots: a batch of event-store
//! stream records becomes at most one conditional snapshot write per order, as the
//! strategies say. Lambda-agnostic: the stream function adapts its event into
//! [`StreamChange`]s.
//!
//! - `change`: what a record is (event, ignored, poison);
//! - `batch` (here): group by order, run orders concurrently, name the first failure;
//! - `order`: one order: fold (warm cache or load), decide, write;
//! - `cache`: the warm container's order states (public: the capacity simulation holds it);
//! - `report`: what the batch did, as metrics.
//!
//! Records it cannot understand (invariant 5 in docs/invariants.md) are *reported as
//! failed*: Lambda retries from them, bisects, and after the bounded retries sends them to the
//! on-failure destination, so each is logged, counted, kept for an operator, and blocks the
//! shard no longer than the retry policy allows. They never yield a snapshot: the order's
//! history holds the same bad event, and a fold refuses it. Later records of such an order are
//! *acknowledged*, not retried: retrying cannot make the history readable, and nothing is lost
//! (the next snapshot is built from the event store). They are counted (`RecordsUnreadable`),
//! logged once per batch with the order and sequence, and the container remembers the order so
//! they cost no reads; it reads the order again after [`UNREADABLE_RECHECK`], when one of its
//! events changes in place (a repair), or in a new container (a deploy).

pub mod cache;
mod change;
mod order;
mod report;

pub use cache::DEFAULT_CACHE_CAPACITY;
pub use change::{ChangeBody, ChangeKind, Decoded, StreamChange, decode};
use order::OrderSnapshotter;
pub use order::StreamSnapshotError;
pub use report::{BatchOutcome, BatchReport};

use crate::domain::{OrderId, RecordedEvent};
use crate::policy::settings::StrategySettings;
use crate::store::repository::OrderRepository;
use crate::use_cases::clock::Clock;
use cache::StateCache;
use futures_util::StreamExt;
use report::OrderOutcome;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{Instrument, error, info, info_span, warn};

/// Orders processed at once within a batch, by default.
pub const ORDER_CONCURRENCY: usize = 16;
/// How long a warm container trusts that an order's history is unreadable before reading it
/// again.
pub const UNREADABLE_RECHECK: Duration = Duration::from_secs(300);

pub struct StreamSnapshotter {
    /// What is done to each order of a batch.
    orders: OrderSnapshotter,
    concurrency: usize,
}

impl StreamSnapshotter {
    pub fn new(repository: OrderRepository, settings: StrategySettings, clock: Arc<dyn Clock>) -> Self {
        let orders = OrderSnapshotter {
            repository,
            settings,
            clock,
            cache: Mutex::new(StateCache::new(DEFAULT_CACHE_CAPACITY)),
            unreadable_recheck_ms: UNREADABLE_RECHECK.as_millis() as i64,
        };
        StreamSnapshotter { orders, concurrency: ORDER_CONCURRENCY }
    }

    /// How long an order remembered as unreadable is not read again.
    pub fn with_unreadable_recheck(mut self, after: Duration) -> Self {
        self.orders.unreadable_recheck_ms = after.as_millis() as i64;
        self
    }

    /// Order states kept between batches; 0 turns the warm-container cache off.
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.orders.cache.get_mut().expect("cache lock").set_capacity(capacity);
        self
    }

    /// Orders processed at once within a batch (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    pub fn repository(&self) -> &OrderRepository {
        &self.orders.repository
    }

    /// Processes one stream batch. Never fails as a whole: what must be retried is named by
    /// `first_failure`.
    pub async fn process_batch(&self, changes: &[StreamChange]) -> BatchOutcome {
        let mut report = BatchReport { records: changes.len() as u64, ..BatchReport::default() };
        let (orders, poison_at, changed_in_place) = group_by_order(changes, &mut report);
        report.orders = orders.len() as u64;
        {
            let mut cache = self.orders.cache.lock().expect("cache lock");
            changed_in_place.iter().for_each(|order_id| cache.forget(order_id));
        }

        // Once an order fails, Lambda will redeliver everything from its first record: orders
        // that start later would be done twice, so they are left for the retry.
        let earliest_failure = AtomicUsize::new(poison_at.unwrap_or(usize::MAX));
        let earliest_failure = &earliest_failure;
        let results: Vec<_> = futures_util::stream::iter(orders)
            .map(|OrderRecords { order_id, first_index, events }| async move {
                if first_index > earliest_failure.load(Ordering::SeqCst) {
                    return (order_id, first_index, None);
                }
                let span = info_span!("order", order_id = %order_id);
                let mut done = OrderOutcome::default();
                let result = self.orders.snapshot_order(&order_id, events, &mut done).instrument(span).await;
                if result.is_err() {
                    earliest_failure.fetch_min(first_index, Ordering::SeqCst);
                }
                (order_id, first_index, Some((done, result)))
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;

        let mut first_failure = poison_at;
        for (order_id, first_index, result) in results {
            match result {
                None => report.orders_deferred += 1,
                Some((done, Ok(()))) => {
                    if let Some(u) = &done.unreadable {
                        let (sequence, reason, records) = (u.sequence, &u.reason, u.records);
                        warn!(%order_id, sequence, %reason, records, "history unreadable; records acknowledged, no snapshot");
                    }
                    report.add(&done);
                }
                Some((done, Err(err))) => {
                    // what it read before failing still counts
                    report.add(&done);
                    report.orders_failed += 1;
                    let source = std::error::Error::source(&err);
                    error!(%order_id, error = %err, ?source, "order failed; its records will be retried");
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
            unreadable = report.records_unreadable,
            failed = report.orders_failed,
            first_failure = first_failure.as_deref(),
            "batch processed"
        );
        BatchOutcome { first_failure, poison_first: poison_at == Some(0), report }
    }
}

/// One order's records of a batch, in stream order.
struct OrderRecords {
    order_id: OrderId,
    /// Index of the order's first record in the batch.
    first_index: usize,
    events: Vec<RecordedEvent>,
}

/// Groups the batch's events by order, up to the first poison record (Lambda restarts there,
/// so later records come again); returns the groups, the poison record's index, and the
/// orders whose events were changed in place (MODIFY, REMOVE).
fn group_by_order(
    changes: &[StreamChange],
    report: &mut BatchReport,
) -> (Vec<OrderRecords>, Option<usize>, HashSet<String>) {
    let mut orders: Vec<OrderRecords> = Vec::new();
    let mut index_of: HashMap<OrderId, usize> = HashMap::new();
    let mut changed_in_place = HashSet::new();
    for (i, change) in changes.iter().enumerate() {
        match decode(change) {
            Decoded::Ignored => {
                report.ignored += 1;
                if let Some(order_id) = change.body.as_ref().ok().and_then(|b| b.order_id.clone()) {
                    changed_in_place.insert(order_id);
                }
            }
            Decoded::Poison(reason) => {
                report.poison += 1;
                let position = &change.position;
                error!(%position, %reason, "stream record cannot be understood; reporting it as failed");
                return (orders, Some(i), changed_in_place);
            }
            Decoded::Event(order_id, event) => {
                report.inserts += 1;
                let slot = *index_of.entry(order_id.clone()).or_insert_with(|| {
                    orders.push(OrderRecords { order_id, first_index: i, events: Vec::new() });
                    orders.len() - 1
                });
                orders[slot].events.push(event);
            }
        }
    }
    (orders, None, changed_in_place)
}
