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

mod order;
mod pacer;
mod scope;

use crate::domain::OrderId;
use crate::store::StoreError;
use crate::store::control::job::{Claim, JobStore, Progress, RebuildJob};
use crate::store::control::rebuild_scope::RebuildScope;
use crate::store::repository::OrderRepository;
use crate::use_cases::clock::Clock;
use futures_util::StreamExt;
use order::OrderOutcome;
use pacer::Pacer;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
    Store(#[from] StoreError),
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

pub struct RebuildService {
    repository: OrderRepository,
    jobs: JobStore,
    clock: Arc<dyn Clock>,
    page_size: u16,
    /// The rate limit: when the next order may start.
    pacer: Pacer,
}

impl RebuildService {
    pub fn new(repository: OrderRepository, clock: Arc<dyn Clock>) -> Self {
        let jobs = JobStore::new(repository.control_items());
        let pacer = Pacer::new(ORDERS_PER_SECOND);
        RebuildService { repository, jobs, clock, page_size: PAGE, pacer }
    }

    /// Orders rebuilt per second at most (0: no limit).
    pub fn with_rate(mut self, orders_per_second: u32) -> Self {
        self.pacer = Pacer::new(orders_per_second);
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
                    OrderId::parse(id.as_str())
                        .map_err(|e| RebuildError::InvalidScope(format!("{id:?}: {e}")))?;
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
            let results: Vec<Option<Result<OrderOutcome, RebuildError>>> =
                futures_util::stream::iter(ids.into_iter().enumerate())
                    .map(|(i, order_id)| async move {
                        // every turn renews at least one order, so every turn makes progress
                        let margin = Duration::from_millis(slowest.load(Ordering::SeqCst));
                        let in_time = self.pacer.wait(deadline, margin).await || (first_of_turn && i == 0);
                        if !in_time {
                            return None;
                        }
                        let started = Instant::now();
                        let outcome = order::rebuild(&self.repository, &*self.clock, job, &order_id).await;
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
                        outcome.count_in(&mut progress);
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
}
