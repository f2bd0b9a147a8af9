//! Rebuild and backfill: an operated, resumable bulk job that renews snapshots by full replay
//! (never from an existing snapshot). Scopes: every order, orders whose newest snapshot is
//! unusable (another fold's, an older schema, damaged), orders with at least N events and no
//! usable snapshot (the backfill at rollout, when the stream starts only 24 h back), or a list
//! of ids. A run works page by page until its deadline, saves the resume point and the counts
//! after each page (`job.rs`), and keeps to a rate limit so it cannot starve the order service
//! of table capacity. Rebuilding an order twice, or from two runs at once, is harmless: the
//! snapshot write is conditional and replaces only an unusable snapshot.
//!
//! Finding orders at scale: the event table is scanned once with a filter on `sequence` (1
//! for every order, N for orders with at least N events), which returns one item per order but
//! is charged for every event read: ½ RCU per 4 KB of events (see the README's cost model).
//! The stale scope reads the snapshot keys index, as cleanup does, and one item per order.

mod job;
mod scope;

pub use job::{JobStore, Progress, REBUILD_JOB_ID, RebuildJob};
pub use scope::{JobCursor, RebuildScope};

use crate::domain::order_id::validate_order_id;
use crate::store::StoreError;
use crate::store::control::ControlError;
use crate::store::snapshots::NewSnapshot;
use crate::use_cases::clock::Clock;
use crate::use_cases::repository::{OrderRepository, RepositoryError};
use futures_util::StreamExt;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::{info, warn};

/// Orders examined per page by default (one progress save each).
pub const PAGE: u16 = 100;
/// Orders rebuilt per second at most, by default.
pub const ORDERS_PER_SECOND: u32 = 25;
/// Orders of a page rebuilt at once.
const ORDER_CONCURRENCY: usize = 4;

#[derive(Debug, Error)]
pub enum RebuildError {
    #[error("rebuild job {job_id} is still running ({examined} orders examined); pass replace to start over")]
    Running { job_id: String, examined: u64 },
    #[error("invalid scope: {0}")]
    InvalidScope(String),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl From<ControlError> for RebuildError {
    fn from(e: ControlError) -> Self {
        RebuildError::Repository(e.into())
    }
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildRun {
    pub job_id: String,
    pub pages: u64,
    #[serde(flatten)]
    pub progress: Progress,
    /// The job is done (this run reached the end).
    pub finished: bool,
    /// The job was replaced by another while this run worked.
    pub superseded: bool,
}

impl RebuildRun {
    pub fn metrics(&self) -> [(&'static str, u64); 4] {
        [
            ("RebuildExamined", self.progress.examined),
            ("RebuildRebuilt", self.progress.rebuilt),
            ("RebuildSkipped", self.progress.skipped),
            ("RebuildFailed", self.progress.failed),
        ]
    }
}

enum Outcome {
    Rebuilt,
    Skipped,
    Failed,
}

pub struct RebuildService {
    repository: OrderRepository,
    jobs: JobStore,
    clock: Arc<dyn Clock>,
    page_size: u16,
    /// Time between two orders' rebuilds (the rate limit), and when the next may start.
    pause: Duration,
    next_slot: Mutex<Instant>,
}

impl RebuildService {
    pub fn new(repository: OrderRepository, clock: Arc<dyn Clock>) -> Self {
        let jobs = JobStore::new(repository.control_items());
        let next_slot = Mutex::new(Instant::now());
        RebuildService { repository, jobs, clock, page_size: PAGE, pause: Duration::ZERO, next_slot }
            .with_rate(ORDERS_PER_SECOND)
    }

    /// Orders rebuilt per second at most (0: no limit).
    pub fn with_rate(mut self, orders_per_second: u32) -> Self {
        self.pause = match orders_per_second {
            0 => Duration::ZERO,
            n => Duration::from_secs(1) / n,
        };
        self
    }

    /// Items per scan page, orders per list page.
    pub fn with_page_size(mut self, page_size: u16) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Starts a job. While one is unfinished, another is refused (`Running`) unless
    /// `replace`; of two starts at once, exactly one wins.
    pub async fn start(
        &self,
        scope: RebuildScope,
        requested_by: &str,
        replace: bool,
    ) -> Result<RebuildJob, RebuildError> {
        match &scope {
            RebuildScope::MinEvents { events: 0 } => {
                return Err(RebuildError::InvalidScope("events must be at least 1".into()));
            }
            RebuildScope::Orders { order_ids } if order_ids.is_empty() || order_ids.len() > 1000 => {
                return Err(RebuildError::InvalidScope("orderIds must list 1 to 1000 orders".into()));
            }
            RebuildScope::Orders { order_ids } => {
                for id in order_ids {
                    validate_order_id(id).map_err(|e| RebuildError::InvalidScope(format!("{id:?}: {e}")))?;
                }
            }
            _ => {}
        }
        let now = self.clock.now_ms();
        let job = RebuildJob {
            job_id: uuid::Uuid::new_v4().simple().to_string(),
            scope,
            requested_by: requested_by.to_owned(),
            started_at: now,
            updated_at: now,
            resume_from: None,
            examined: 0,
            rebuilt: 0,
            skipped: 0,
            failed: 0,
            runs: 0,
            finished: false,
        };
        if !self.jobs.start(&job, replace).await? {
            // Refused: another job is unfinished. Name it (it may have finished since).
            let running = self.jobs.load().await?;
            let (job_id, examined) = running.map_or((String::new(), 0), |j| (j.job_id, j.examined));
            return Err(RebuildError::Running { job_id, examined });
        }
        info!(job = %job.job_id, scope = ?job.scope, requested_by, "rebuild job started");
        Ok(job)
    }

    /// The current (or last) job.
    pub async fn status(&self) -> Result<Option<RebuildJob>, RebuildError> {
        Ok(self.jobs.load().await?)
    }

    /// Works on the unfinished job until it is done or `deadline` passes (checked between
    /// pages; at least one page per run). `None` when there is no unfinished job.
    pub async fn run(&self, deadline: Instant) -> Result<Option<RebuildRun>, RebuildError> {
        let Some(job) = self.jobs.claim_turn().await? else { return Ok(None) };
        let mut run = RebuildRun { job_id: job.job_id.clone(), ..RebuildRun::default() };
        let mut cursor = job.resume_from.clone();
        while run.pages == 0 || Instant::now() < deadline {
            let (orders, next) =
                scope::page(&self.repository, &job.scope, cursor.as_ref(), self.page_size).await?;
            run.pages += 1;
            let mut progress = Progress::default();
            let job = &job;
            let outcomes: Vec<_> = futures_util::stream::iter(orders)
                .map(|order_id| async move { self.rebuild(job, &order_id).await })
                .buffer_unordered(ORDER_CONCURRENCY)
                .collect()
                .await;
            for outcome in outcomes {
                progress.examined += 1;
                match outcome? {
                    Outcome::Rebuilt => progress.rebuilt += 1,
                    Outcome::Skipped => progress.skipped += 1,
                    Outcome::Failed => progress.failed += 1,
                }
            }
            cursor = next;
            let saved =
                self.jobs.record(&job.job_id, cursor.as_ref(), &progress, self.clock.now_ms()).await?;
            add(&mut run.progress, &progress);
            if !saved {
                warn!(job = %job.job_id, "rebuild job replaced by another; this run stops");
                run.superseded = true;
                return Ok(Some(run));
            }
            if cursor.is_none() {
                run.finished = true;
                break;
            }
        }
        info!(job = %run.job_id, pages = run.pages, rebuilt = run.progress.rebuilt, finished = run.finished, "rebuild run");
        Ok(Some(run))
    }

    /// One order: skipped when the scope only wants orders without a usable snapshot and it
    /// has one; else a snapshot of the full replay at the order's newest event.
    async fn rebuild(&self, job: &RebuildJob, order_id: &str) -> Result<Outcome, RebuildError> {
        if matches!(job.scope, RebuildScope::Stale | RebuildScope::MinEvents { .. })
            && matches!(self.repository.newest_snapshot(order_id).await?, Some((_, Ok(_))))
        {
            return Ok(Outcome::Skipped);
        }
        self.pace().await;
        let state = match self.repository.load_by_replay(order_id).await {
            Ok(Some(loaded)) => loaded.order,
            Ok(None) => return Ok(Outcome::Skipped),
            Err(RepositoryError::Unreadable(history)) => {
                warn!(job = %job.job_id, order_id, error = %history, "rebuild: history unreadable");
                return Ok(Outcome::Failed);
            }
            Err(other) => return Err(other.into()),
        };
        let new = NewSnapshot {
            state,
            timestamp: self.clock.now_ms(),
            created_by: format!("rebuild:{}", job.requested_by),
            reason: format!("rebuild job {} ({:?})", job.job_id, job.scope),
            strategy: None,
            rule: None,
        };
        match self.repository.put_snapshot(&new).await {
            Ok(_) => Ok(Outcome::Rebuilt),
            Err(RepositoryError::Store(StoreError::Conflict(_))) => {
                // a usable snapshot already covers the newest event
                Ok(Outcome::Skipped)
            }
            Err(RepositoryError::Store(StoreError::TooLarge(error))) => {
                warn!(job = %job.job_id, order_id, %error, "rebuild: state too large for a snapshot");
                Ok(Outcome::Failed)
            }
            Err(other) => Err(other.into()),
        }
    }
}

impl RebuildService {
    /// Waits for this order's slot: orders start at most one per `pause`, however many run at
    /// once.
    async fn pace(&self) {
        if self.pause.is_zero() {
            return;
        }
        let slot = {
            let mut next = self.next_slot.lock().expect("pacer lock");
            let slot = (*next).max(Instant::now());
            *next = slot + self.pause;
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

fn add(total: &mut Progress, page: &Progress) {
    total.examined += page.examined;
    total.rebuilt += page.rebuilt;
    total.skipped += page.skipped;
    total.failed += page.failed;
}
