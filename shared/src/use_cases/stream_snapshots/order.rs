//! One order of a batch: fold its new events (onto the warm container's state, or onto a
//! load), ask the strategy, and write at most one conditional snapshot. An order whose history
//! cannot be read is not a failure: its records are acknowledged and counted (retrying cannot
//! help, and the event store keeps everything), and the container remembers it.

use super::cache::{CachedOrder, StateCache};
use super::report::{OrderOutcome, Unreadable};
use crate::domain::OrderId;
use crate::domain::folded_order::{FoldedOrder, SnapshotRef};
use crate::domain::{FoldError, Order, RecordedEvent};
use crate::policy::settings::StrategySettings;
use crate::policy::strategy::{self, Decision, SnapshotFacts};
use crate::store::StoreError;
use crate::store::repository::OrderRepository;
use crate::store::snapshots::NewSnapshot;

use crate::store::unreadable::HistoryUnreadable;
use crate::use_cases::clock::Clock;
use std::sync::{Arc, Mutex};
use thiserror::Error;
use tracing::{error, info};

#[derive(Debug, Error)]
pub enum StreamSnapshotError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("order {order_id} has no events up to {upto} in the store although the stream has them")]
    EventsMissing { order_id: String, upto: u64 },
}

/// What folding an order's new events gave.
enum Fold {
    Ready(Box<FoldedOrder>),
    /// The history cannot be read: nothing to snapshot until it can.
    Unreadable {
        sequence: Option<u64>,
        reason: String,
    },
}

/// One order of a batch: fold its new events, decide, write at most one snapshot.
pub(super) struct OrderSnapshotter {
    pub(super) repository: OrderRepository,
    pub(super) settings: StrategySettings,
    pub(super) clock: Arc<dyn Clock>,
    /// What the warm container remembers of orders between batches.
    pub(super) cache: Mutex<StateCache>,
    /// How long an order remembered as unreadable is not read again.
    pub(super) unreadable_recheck_ms: i64,
}

impl OrderSnapshotter {
    pub(super) async fn snapshot_order(
        &self,
        order_id: &OrderId,
        mut events: Vec<RecordedEvent>,
        outcome: &mut OrderOutcome,
    ) -> Result<(), StreamSnapshotError> {
        let records = events.len() as u64;
        events.sort_by_key(|e| e.sequence);
        events.dedup_by_key(|e| e.sequence);
        let now = self.clock.now_ms();
        let folded = match self.fold(order_id, &events, now, outcome).await? {
            Fold::Ready(folded) => *folded,
            Fold::Unreadable { sequence, reason } => {
                let remembered =
                    CachedOrder::Unreadable { sequence, reason: reason.clone(), checked_at: now };
                self.cache.lock().expect("cache lock").put(order_id.to_string(), remembered);
                outcome.unreadable = Some(Unreadable { sequence, reason, records });
                return Ok(());
            }
        };
        let current = folded.current();
        let snapshot = folded.snapshot();

        let facts = SnapshotFacts {
            last_sequence: current.version,
            snapshot_sequence: snapshot.map_or(0, |s| s.version),
            snapshot_at: snapshot.map(|s| s.timestamp),
            now,
        };
        let decision = strategy::decide(current, &facts, &self.settings);
        let mut newest_snapshot = snapshot;
        if decision.trigger.is_some() {
            let state = self.state_at(order_id, &folded, decision.at_sequence, outcome).await?;
            outcome.writes += 1;
            if self.write(state, &decision, facts.now, outcome).await? {
                newest_snapshot = Some(SnapshotRef { version: decision.at_sequence, timestamp: facts.now });
            }
        }
        let current = folded.into_current();
        self.cache.lock().expect("cache lock").put_folded(order_id.to_string(), current, newest_snapshot);
        Ok(())
    }

    /// The order with `events` folded in: onto the warm container's state when the batch
    /// continues exactly where it left off (no reads), else onto a load up to the batch's end.
    /// An order remembered as unreadable is not read again until the recheck interval passed
    /// (or one of its events changed in place).
    async fn fold(
        &self,
        order_id: &OrderId,
        events: &[RecordedEvent],
        now: i64,
        outcome: &mut OrderOutcome,
    ) -> Result<Fold, StreamSnapshotError> {
        let remembered = self.cache.lock().expect("cache lock").take(order_id);
        match remembered {
            Some(CachedOrder::Folded(cached)) => match (*cached).continue_with(events) {
                Ok(Some(folded)) => {
                    outcome.cache_hit = true;
                    return Ok(Fold::Ready(Box::new(folded)));
                }
                Ok(None) => {}
                Err(fold) => return Ok(unreadable(HistoryUnreadable::folding(order_id, fold))),
            },
            Some(CachedOrder::Unreadable { sequence, reason, checked_at })
                if now.saturating_sub(checked_at) < self.unreadable_recheck_ms =>
            {
                outcome.cache_hit = true;
                let remembered = CachedOrder::Unreadable { sequence, reason: reason.clone(), checked_at };
                self.cache.lock().expect("cache lock").put(order_id.to_string(), remembered);
                return Ok(Fold::Unreadable { sequence, reason });
            }
            Some(CachedOrder::Unreadable { .. }) | None => {}
        }
        let upto = events.last().map_or(0, |e| e.sequence);
        // The batch's own events lie between the newest snapshot and `upto`: read that many more.
        let arriving = events.len() as u64;
        match self.repository.load_folded(order_id, Some(upto), arriving).await {
            Ok(Some((folded, cost))) => {
                outcome.reads += cost.round_trips;
                outcome.load_fallback = cost.fallback.is_some();
                Ok(Fold::Ready(Box::new(folded)))
            }
            Ok(None) => Err(StreamSnapshotError::EventsMissing { order_id: order_id.to_string(), upto }),
            Err(StoreError::Unreadable(history)) => {
                outcome.reads += 1;
                Ok(unreadable(history))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The state at `at`: from the fold when `at` lies within it, else (rarely: the strategy
    /// changed and points before the cached state) a fresh load.
    async fn state_at(
        &self,
        order_id: &OrderId,
        folded: &FoldedOrder,
        at: u64,
        outcome: &mut OrderOutcome,
    ) -> Result<Order, StreamSnapshotError> {
        if let Some(state) = folded.state_at_sequence(at).map_err(|e| fold_error(order_id, e))? {
            return Ok(state);
        }
        let missing = || StreamSnapshotError::EventsMissing { order_id: order_id.to_string(), upto: at };
        let (loaded, cost) = self.repository.load_folded(order_id, Some(at), 0).await?.ok_or_else(missing)?;
        outcome.reads += cost.round_trips;
        Ok(loaded.into_current())
    }

    /// Writes the snapshot; `Ok(true)` when it now exists (written, or already there).
    async fn write(
        &self,
        state: Order,
        decision: &Decision,
        now: i64,
        outcome: &mut OrderOutcome,
    ) -> Result<bool, StreamSnapshotError> {
        let snapshot = NewSnapshot {
            state,
            timestamp: now,
            created_by: "stream".into(),
            reason: decision.trigger.map(|t| t.to_string()).unwrap_or_default(),
            strategy: Some(decision.strategy),
            rule: Some(decision.rule),
        };
        let version = decision.at_sequence;
        match self.repository.put_snapshot(&snapshot).await {
            Ok(written) => {
                outcome.written = true;
                outcome.replaced = written.replaced.is_some();
                let (strategy, rule) = (decision.strategy, decision.rule);
                info!(version, %strategy, ?rule, trigger = %snapshot.reason, "snapshot written");
                Ok(true)
            }
            Err(StoreError::SnapshotExists { .. }) => {
                outcome.existing = true;
                info!(version, "snapshot already exists");
                Ok(true)
            }
            Err(error) if error.is_too_large() => {
                outcome.too_large = true;
                error!(version, %error, "state too large for a snapshot; loads replay this order");
                Ok(false)
            }
            Err(other) => Err(other.into()),
        }
    }
}

fn unreadable(history: HistoryUnreadable) -> Fold {
    Fold::Unreadable { sequence: history.sequence, reason: history.reason() }
}

fn fold_error(order_id: &OrderId, source: FoldError) -> StreamSnapshotError {
    StoreError::from(HistoryUnreadable::folding(order_id, source)).into()
}
