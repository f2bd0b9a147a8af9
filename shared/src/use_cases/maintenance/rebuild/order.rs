//! One order of a rebuild job: skipped, renewed by a full replay, or a failure of that order
//! alone, and how each is counted.

use super::RebuildError;
use crate::domain::OrderId;
use crate::store::StoreError;
use crate::store::control::job::{Progress, RebuildJob};
use crate::store::control::rebuild_scope::RebuildScope;
use crate::store::repository::OrderRepository;
use crate::store::snapshots::NewSnapshot;
use crate::use_cases::clock::Clock;
use tracing::warn;

/// What became of one order.
pub(super) enum OrderOutcome {
    Rebuilt,
    Skipped,
    Failed(Failure),
}

pub(super) enum Failure {
    InvalidOrderId,
    HistoryUnreadable,
    StateTooLarge,
}

impl OrderOutcome {
    pub(super) fn count_in(&self, progress: &mut Progress) {
        progress.examined += 1;
        match self {
            OrderOutcome::Rebuilt => progress.rebuilt += 1,
            OrderOutcome::Skipped => progress.skipped += 1,
            OrderOutcome::Failed(why) => {
                progress.failed += 1;
                match why {
                    Failure::InvalidOrderId => progress.failures.invalid_order_id += 1,
                    Failure::HistoryUnreadable => progress.failures.history_unreadable += 1,
                    Failure::StateTooLarge => progress.failures.state_too_large += 1,
                }
            }
        }
    }
}

/// One order: skipped when the scope only wants orders without a usable snapshot and it
/// has one; else a snapshot of the full replay at the order's newest event. An id no order
/// can have, a history this code cannot read and a state too large to store are failures
/// of that order alone: logged, counted, and the turn moves on.
pub(super) async fn rebuild(
    repository: &OrderRepository,
    clock: &dyn Clock,
    job: &RebuildJob,
    id: &str,
) -> Result<OrderOutcome, RebuildError> {
    let order_id = match OrderId::parse(id) {
        Ok(order_id) => order_id,
        Err(invalid) => {
            warn!(job = %job.job_id, order_id = ?id, error = %invalid, "rebuild: not an order id; skipped");
            return Ok(OrderOutcome::Failed(Failure::InvalidOrderId));
        }
    };
    let order_id = &order_id;
    if matches!(job.scope, RebuildScope::Stale | RebuildScope::MinEvents { .. }) {
        match repository.newest_snapshot(order_id).await {
            Ok(Some((_, Ok(_)))) => return Ok(OrderOutcome::Skipped),
            // no snapshot, an unusable one, or one whose item cannot be read: renew it
            Ok(_) | Err(StoreError::CorruptSnapshot { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    let state = match repository.load_by_replay(order_id).await {
        Ok(Some(loaded)) => loaded.order,
        Ok(None) => return Ok(OrderOutcome::Skipped),
        Err(StoreError::Unreadable(history)) => {
            warn!(job = %job.job_id, %order_id, error = %history, "rebuild: history unreadable");
            return Ok(OrderOutcome::Failed(Failure::HistoryUnreadable));
        }
        Err(other) => return Err(other.into()),
    };
    let snapshot = NewSnapshot {
        state,
        timestamp: clock.now_ms(),
        created_by: format!("rebuild:{}", job.requested_by),
        reason: format!("rebuild job {} ({:?})", job.job_id, job.scope),
        strategy: None,
        rule: None,
    };
    match repository.put_snapshot(&snapshot).await {
        Ok(_) => Ok(OrderOutcome::Rebuilt),
        Err(StoreError::SnapshotExists { .. }) => {
            // a usable snapshot already covers the newest event
            Ok(OrderOutcome::Skipped)
        }
        Err(error) if error.is_too_large() => {
            warn!(job = %job.job_id, %order_id, %error, "rebuild: state too large for a snapshot");
            Ok(OrderOutcome::Failed(Failure::StateTooLarge))
        }
        Err(other) => Err(other.into()),
    }
}
