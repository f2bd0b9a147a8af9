//! The maintenance run: the one entry point of everything the maintenance function does, so the
//! Lambda handler and the local job starter run exactly the same work.
//!
//! - [`Job::CleanupAndCanary`] (the nightly schedule, `POST /admin/order-snapshots/cleanup`): a
//!   retention cleanup pass over the snapshot table, then the drift canary on the sample that
//!   pass picked, within a time budget of its own;
//! - [`Job::CleanupOrder`]: one order's retention;
//! - [`Job::Rebuild`] (every 5 minutes, and when a rebuild job starts): a renewal job started
//!   if a deploy changed the fold fingerprint, then a turn of the unfinished rebuild job.

pub mod canary;
pub mod cleanup;
pub mod rebuild;
pub mod renewal;

use crate::domain::OrderId;
use crate::policy::settings::{MaintenanceSettings, RetentionSettings};
use crate::store::StoreError;
use crate::store::repository::OrderRepository;
use crate::use_cases::clock::Clock;
use canary::CanaryReport;
use cleanup::{CleanupReport, CleanupService, OrderCleanup};
use rebuild::{RebuildError, RebuildRun, RebuildService};
use renewal::{FoldWatch, Renewal};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::info;

/// What a maintenance run does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    /// Retention over the whole table, then the drift canary.
    CleanupAndCanary,
    /// One order's retention.
    CleanupOrder(OrderId),
    /// A turn of the unfinished rebuild job.
    Rebuild,
}

#[derive(Debug, Error)]
pub enum MaintenanceError {
    #[error("cleanup failed")]
    Cleanup(#[source] StoreError),
    #[error("rebuild failed")]
    Rebuild(#[from] RebuildError),
}

/// What a run did (its JSON is the maintenance function's answer).
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    CleanupAndCanary {
        #[serde(flatten)]
        cleanup: CleanupReport,
        canary: CanaryReport,
    },
    CleanupOrder(OrderCleanup),
    Rebuild {
        #[serde(flatten)]
        run: RebuildRun,
        #[serde(flatten)]
        renewal: Renewal,
    },
    NoRebuildJob {
        /// Always "no unfinished job".
        rebuild: &'static str,
        #[serde(flatten)]
        renewal: Renewal,
    },
}

impl Outcome {
    /// The run's CloudWatch metrics.
    pub fn metrics(&self) -> Vec<(&'static str, u64)> {
        match self {
            Outcome::CleanupAndCanary { cleanup, canary } => {
                cleanup.metrics().into_iter().chain(canary.metrics()).collect()
            }
            Outcome::Rebuild { run, .. } => run.metrics().to_vec(),
            Outcome::CleanupOrder(_) | Outcome::NoRebuildJob { .. } => Vec::new(),
        }
    }
}

/// The canary's share of a nightly run: this fraction of the time left, at least
/// [`CANARY_MIN_BUDGET`] (a long cleanup pass cannot leave it nothing).
const CANARY_SHARE: u32 = 5;
pub const CANARY_MIN_BUDGET: Duration = Duration::from_secs(20);

pub struct Maintenance {
    repository: OrderRepository,
    cleanup: CleanupService,
    rebuild: RebuildService,
    fold: FoldWatch,
}

impl Maintenance {
    pub fn new(
        repository: OrderRepository,
        retention: RetentionSettings,
        settings: &MaintenanceSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let cleanup = CleanupService::new(repository.clone(), retention, clock.clone())
            .with_canary_sample(settings.canary_orders as usize);
        let rebuild =
            RebuildService::new(repository.clone(), clock).with_rate(settings.rebuild_orders_per_second);
        let fold = FoldWatch::new(repository.control_items());
        Maintenance { repository, cleanup, rebuild, fold }
    }

    /// The rebuild jobs: start one, read its status (the admin API).
    pub fn rebuild(&self) -> &RebuildService {
        &self.rebuild
    }

    /// Runs `job` until it is done or `deadline` passes.
    pub async fn run(&self, job: Job, deadline: Instant) -> Result<Outcome, MaintenanceError> {
        match job {
            Job::CleanupOrder(order_id) => {
                let done = self.cleanup.clean_order(&order_id).await.map_err(MaintenanceError::Cleanup)?;
                info!(%order_id, deleted = done.deleted.len(), "order cleanup");
                Ok(Outcome::CleanupOrder(done))
            }
            Job::CleanupAndCanary => {
                let left = deadline.saturating_duration_since(Instant::now());
                let canary_budget = (left / CANARY_SHARE).max(CANARY_MIN_BUDGET).min(left);
                let cleanup_deadline = deadline - canary_budget;
                let cleanup = self.cleanup.run(cleanup_deadline).await.map_err(MaintenanceError::Cleanup)?;
                info!(
                    orders_examined = cleanup.orders_examined,
                    snapshots_deleted = cleanup.snapshots_deleted,
                    finished = cleanup.finished,
                    resume_from = ?cleanup.resume_from,
                    "cleanup run"
                );
                let canary = canary::check(&self.repository, &cleanup.canary_sample, deadline).await;
                info!(checked = canary.checked, drifted = canary.drifted.len(), "drift canary");
                Ok(Outcome::CleanupAndCanary { cleanup, canary })
            }
            Job::Rebuild => {
                let renewal = self.fold.check(&self.rebuild).await?;
                match self.rebuild.run(deadline).await? {
                    Some(run) => Ok(Outcome::Rebuild { run, renewal }),
                    None => Ok(Outcome::NoRebuildJob { rebuild: "no unfinished job", renewal }),
                }
            }
        }
    }

    /// One order's retention, inline (the admin API's `cleanup?orderId=`).
    pub async fn clean_order(&self, order_id: &OrderId) -> Result<OrderCleanup, StoreError> {
        self.cleanup.clean_order(order_id).await
    }
}
