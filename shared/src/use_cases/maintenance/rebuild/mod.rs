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
//! is charged for every event read: ½ RCU per 4 KB of events (see docs/maintenance-function.md, "Cost model").
//! The stale scope reads the snapshot keys index, as cleanup does, and one item per order.

mod job;
mod scope;

pub use job::{Claim, Failures, JobStore, Progress, REBUILD_JOB_ID, RebuildJob};
pub use scope::{JobCursor, RebuildScope};

use crate::domain::order_id::validate_order_id;
use crate::store::StoreError;
use crate::store::control::ControlError;
use crate::store::snapshots::NewSnapshot;
use crate::use_cases::clock::Clock;
use crate::use_cases::repository::{OrderRepository, RepositoryError};
use futures_util::StreamExt;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::{info, warn};

/// Most ids an `orders` scope lists: 200 of the longest allowed id fit in the admin API's
/// 16 KB body with room to spare.
pub const MAX_ORDERS_IN_SCOPE: usize = 200;
/// Orders examined per page by default (one progress save each).
pub const PAGE: u16 = 100;
/// Orders rebuilt per second at most, by default.
pub const ORDERS_PER_SECOND: u32 = 25;
/// Orders of a page rebuilt at once.
const ORDER_CONCURRENCY: usize = 4;
/// How long past its deadline a turn's lease lasts: a turn that died (a Lambda timeout) holds
/// the job no longer than this after the moment it was meant to stop.
pub const LEASE_SLACK: Duration = Duration::from_secs(15);

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

/// What one turn did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildRun {
    pub job_id: String,
    pub pages: u64,
    #[serde(flatten)]
    pub progress: Progress,
    /// The job is done (this turn reached the end).
    pub finished: bool,
    /// The job was replaced, or this turn's lease taken over, while it worked: it stopped.
    pub superseded: bool,
    /// Another turn held the job: this one did nothing.
    pub leased_elsewhere: bool,
    /// The turn stopped before its deadline with orders left (it saves where it stopped).
    pub stopped_at_deadline: bool,
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

/// What became of one order.
enum Outcome {
    Rebuilt,
    Skipped,
    Failed(Failure),
}

enum Failure {
    InvalidOrderId,
    HistoryUnreadable,
    StateTooLarge,
}

impl Progress {
    fn count(&mut self, outcome: &Outcome) {
        self.examined += 1;
        match outcome {
            Outcome::Rebuilt => self.rebuilt += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Failed(why) => {
                self.failed += 1;
                match why {
                    Failure::InvalidOrderId => self.failures.invalid_order_id += 1,
                    Failure::HistoryUnreadable => self.failures.history_unreadable += 1,
                    Failure::StateTooLarge => self.failures.state_too_large += 1,
                }
            }
        }
    }
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
            RebuildScope::Orders { order_ids }
                if order_ids.is_empty() || order_ids.len() > MAX_ORDERS_IN_SCOPE =>
            {
                let message = format!("orderIds must list 1 to {MAX_ORDERS_IN_SCOPE} orders");
                return Err(RebuildError::InvalidScope(message));
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
            progress: Progress::default(),
            runs: 0,
            finished: false,
            leased_until: None,
        };
        if !self.jobs.start(&job, replace).await? {
            // Refused: another job is unfinished. Name it (it may have finished since).
            let running = self.jobs.load().await?;
            let (job_id, examined) = running.map_or((String::new(), 0), |j| (j.job_id, j.progress.examined));
            return Err(RebuildError::Running { job_id, examined });
        }
        info!(job = %job.job_id, scope = ?job.scope, requested_by, "rebuild job started");
        Ok(job)
    }

    /// The current (or last) job.
    pub async fn status(&self) -> Result<Option<RebuildJob>, RebuildError> {
        Ok(self.jobs.load().await?)
    }

    /// A turn: claims the unfinished job with a lease, then renews its orders until the job is
    /// done or the next order might not finish before `deadline` (the margin is the slowest
    /// order this turn has seen), saving progress and the position after the last finished
    /// order after every page and wherever it stops. `None` when no job is unfinished.
    pub async fn run(&self, deadline: Instant) -> Result<Option<RebuildRun>, RebuildError> {
        let lease = uuid::Uuid::new_v4().simple().to_string();
        let now = self.clock.now_ms();
        let remaining = deadline.saturating_duration_since(Instant::now());
        let until = now + remaining.as_millis() as i64 + LEASE_SLACK.as_millis() as i64;
        let job = match self.jobs.claim(&lease, now, until).await? {
            Claim::Claimed(job) => job,
            Claim::Nothing => return Ok(None),
            Claim::Leased { job_id, until } => {
                info!(job = %job_id, leased_until = until, "rebuild job held by another turn; this one leaves");
                return Ok(Some(RebuildRun { job_id, leased_elsewhere: true, ..RebuildRun::default() }));
            }
        };
        let mut run = RebuildRun { job_id: job.job_id.clone(), ..RebuildRun::default() };
        let result = self.turn(&job, &lease, deadline, &mut run).await;
        if !run.finished && !run.superseded {
            // the next turn need not wait for this lease to run out
            self.jobs.release(&job.job_id, &lease).await?;
        }
        result?;
        let (pages, rebuilt, finished) = (run.pages, run.progress.rebuilt, run.finished);
        info!(job = %run.job_id, pages, rebuilt, finished, "rebuild run");
        Ok(Some(run))
    }

    async fn turn(
        &self,
        job: &RebuildJob,
        lease: &str,
        deadline: Instant,
        run: &mut RebuildRun,
    ) -> Result<(), RebuildError> {
        // the slowest order so far, in ms: the margin kept before the deadline
        let slowest = AtomicU64::new(0);
        let mut cursor = job.resume_from.clone();
        loop {
            let margin = Duration::from_millis(slowest.load(Ordering::SeqCst));
            if run.pages > 0 && Instant::now() + margin >= deadline {
                run.stopped_at_deadline = true;
                return Ok(());
            }
            let page = scope::page(&self.repository, &job.scope, cursor.as_ref(), self.page_size).await?;
            run.pages += 1;
            let first_of_turn = run.progress.examined == 0;
            let slowest = &slowest;
            // owned ids: a stream over borrowed ones is not provably Send in a spawned task
            let ids: Vec<String> = page.orders.iter().map(|(id, _)| id.clone()).collect();
            let results: Vec<Option<Result<Outcome, RebuildError>>> =
                futures_util::stream::iter(ids.into_iter().enumerate())
                    .map(|(i, order_id)| async move {
                        // every turn renews at least one order, so every turn makes progress
                        let margin = Duration::from_millis(slowest.load(Ordering::SeqCst));
                        let in_time = self.pace(deadline, margin).await || (first_of_turn && i == 0);
                        if !in_time {
                            return None;
                        }
                        let started = Instant::now();
                        let outcome = self.rebuild(job, &order_id).await;
                        slowest.fetch_max(started.elapsed().as_millis() as u64, Ordering::SeqCst);
                        Some(outcome)
                    })
                    .buffered(ORDER_CONCURRENCY)
                    .collect()
                    .await;
            // The finished orders are a prefix: what came after was not started.
            let mut progress = Progress::default();
            let mut position = cursor.clone();
            let mut failure = None;
            let mut all_done = true;
            for (result, (_, after)) in results.into_iter().zip(&page.orders) {
                match result {
                    Some(Ok(outcome)) => {
                        progress.count(&outcome);
                        position = Some(after.clone());
                    }
                    Some(Err(e)) => {
                        failure = Some(e);
                        all_done = false;
                        break;
                    }
                    None => {
                        all_done = false;
                        break;
                    }
                }
            }
            if all_done {
                position = page.next.clone();
            }
            let finished = all_done && page.next.is_none();
            // Nothing done and nothing passed: there is nothing to save.
            if finished || position != cursor {
                let resume = if finished { None } else { position.as_ref() };
                let now = self.clock.now_ms();
                if !self.jobs.record(&job.job_id, lease, resume, &progress, now).await? {
                    warn!(job = %job.job_id, "rebuild job replaced, or this turn's lease taken over; this turn stops");
                    run.superseded = true;
                    return Ok(());
                }
                run.progress.add(&progress);
            }
            if let Some(error) = failure {
                return Err(error);
            }
            if finished {
                run.finished = true;
                return Ok(());
            }
            if !all_done {
                run.stopped_at_deadline = true;
                return Ok(());
            }
            cursor = position;
        }
    }

    /// One order: skipped when the scope only wants orders without a usable snapshot and it
    /// has one; else a snapshot of the full replay at the order's newest event. An id no order
    /// can have, a history this code cannot read and a state too large to store are failures
    /// of that order alone: logged, counted, and the turn moves on.
    async fn rebuild(&self, job: &RebuildJob, order_id: &str) -> Result<Outcome, RebuildError> {
        if let Err(invalid) = validate_order_id(order_id) {
            warn!(job = %job.job_id, ?order_id, error = %invalid, "rebuild: not an order id; skipped");
            return Ok(Outcome::Failed(Failure::InvalidOrderId));
        }
        if matches!(job.scope, RebuildScope::Stale | RebuildScope::MinEvents { .. }) {
            match self.repository.newest_snapshot(order_id).await {
                Ok(Some((_, Ok(_)))) => return Ok(Outcome::Skipped),
                // no snapshot, an unusable one, or one whose item cannot be read: renew it
                Ok(_) | Err(RepositoryError::Store(StoreError::Undecodable(_))) => {}
                Err(other) => return Err(other.into()),
            }
        }
        let state = match self.repository.load_by_replay(order_id).await {
            Ok(Some(loaded)) => loaded.order,
            Ok(None) => return Ok(Outcome::Skipped),
            Err(RepositoryError::Unreadable(history)) => {
                warn!(job = %job.job_id, order_id, error = %history, "rebuild: history unreadable");
                return Ok(Outcome::Failed(Failure::HistoryUnreadable));
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
                Ok(Outcome::Failed(Failure::StateTooLarge))
            }
            Err(other) => Err(other.into()),
        }
    }
}

impl RebuildService {
    /// Waits for this order's slot (orders start at most one per `pause`, however many run
    /// at once); `false`, at once, when an order starting then and taking `margin` would end
    /// past `deadline`.
    async fn pace(&self, deadline: Instant, margin: Duration) -> bool {
        let slot = {
            let mut next = self.next_slot.lock().expect("pacer lock");
            let slot = (*next).max(Instant::now());
            if slot + margin > deadline {
                return false;
            }
            *next = slot + self.pause;
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
        true
    }
}
