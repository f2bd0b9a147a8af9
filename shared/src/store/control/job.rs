//! The rebuild job's state: one control item (`_rebuild-job`) holding the scope, who asked,
//! the resume point, the counts, and the lease of the turn working on it. A turn claims the
//! job with a lease in one conditional update (a turn that finds a live lease leaves at once;
//! a dead turn's lease expires), and only the lease holder saves progress, under a condition
//! on its lease: the resume point never moves back, and nothing is counted twice.

use super::rebuild_scope::{JobCursor, RebuildScope};

use super::{ControlStore, json_text, undecodable};
use crate::store::StoreError;
use crate::store::dynamo::{n, s};
use crate::store::expression::Update;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

/// The control item's `orderId`.
pub const REBUILD_JOB_ID: &str = "_rebuild-job";

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildJob {
    pub job_id: String,
    pub scope: RebuildScope,
    pub requested_by: String,
    pub started_at: i64,
    pub updated_at: i64,
    /// Where the next turn resumes (`None` before the first page, or when finished).
    pub resume_from: Option<JobCursor>,
    #[serde(flatten)]
    pub progress: Progress,
    pub runs: u64,
    pub finished: bool,
    /// Until when (ms) a turn holds the job; none between turns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leased_until: Option<i64>,
}

/// Counts: of one turn's saves, or of the whole job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub examined: u64,
    pub rebuilt: u64,
    pub skipped: u64,
    pub failed: u64,
    /// `failed`, by reason.
    pub failures: Failures,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failures {
    /// Ids the scan found that no order can have.
    pub invalid_order_id: u64,
    /// Histories holding an event this code cannot read.
    pub history_unreadable: u64,
    /// States larger than a DynamoDB item.
    pub state_too_large: u64,
}

impl Progress {
    pub fn add(&mut self, other: &Progress) {
        self.examined += other.examined;
        self.rebuilt += other.rebuilt;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.failures.invalid_order_id += other.failures.invalid_order_id;
        self.failures.history_unreadable += other.failures.history_unreadable;
        self.failures.state_too_large += other.failures.state_too_large;
    }

    /// The counters as stored, with the update placeholder of each.
    fn counters(&self) -> [(&'static str, &'static str, u64); 7] {
        [
            ("examined", ":e", self.examined),
            ("rebuilt", ":r", self.rebuilt),
            ("skipped", ":s", self.skipped),
            ("failed", ":f", self.failed),
            ("failedInvalidOrderId", ":fi", self.failures.invalid_order_id),
            ("failedHistoryUnreadable", ":fh", self.failures.history_unreadable),
            ("failedStateTooLarge", ":ft", self.failures.state_too_large),
        ]
    }
}

/// The job as stored: the counters at the top (a turn adds to them in place), the scope and
/// the resume point as JSON text.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobItem {
    job_id: String,
    #[serde(with = "json_text")]
    scope: RebuildScope,
    requested_by: String,
    started_at: i64,
    updated_at: i64,
    #[serde(
        default,
        rename = "cursor",
        with = "json_text::optional",
        skip_serializing_if = "Option::is_none"
    )]
    resume_from: Option<JobCursor>,
    examined: u64,
    rebuilt: u64,
    skipped: u64,
    failed: u64,
    // A job started before these counters existed has none: zero.
    #[serde(default)]
    failed_invalid_order_id: u64,
    #[serde(default)]
    failed_history_unreadable: u64,
    #[serde(default)]
    failed_state_too_large: u64,
    runs: u64,
    #[serde(default)]
    finished: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease_until: Option<i64>,
}

impl From<JobItem> for RebuildJob {
    fn from(item: JobItem) -> Self {
        RebuildJob {
            job_id: item.job_id,
            scope: item.scope,
            requested_by: item.requested_by,
            started_at: item.started_at,
            updated_at: item.updated_at,
            resume_from: item.resume_from,
            progress: Progress {
                examined: item.examined,
                rebuilt: item.rebuilt,
                skipped: item.skipped,
                failed: item.failed,
                failures: Failures {
                    invalid_order_id: item.failed_invalid_order_id,
                    history_unreadable: item.failed_history_unreadable,
                    state_too_large: item.failed_state_too_large,
                },
            },
            runs: item.runs,
            finished: item.finished,
            leased_until: item.lease_until,
        }
    }
}

/// What a turn's claim found.
#[derive(Debug)]
pub enum Claim {
    /// The job is this turn's until its lease ends.
    Claimed(RebuildJob),
    /// Another turn holds a live lease on it: this one leaves.
    Leased { job_id: String, until: i64 },
    /// No job is unfinished.
    Nothing,
}

#[derive(Clone, Debug)]
pub struct JobStore {
    control: ControlStore,
}

impl JobStore {
    pub fn new(control: ControlStore) -> Self {
        JobStore { control }
    }

    pub async fn load(&self) -> Result<Option<RebuildJob>, StoreError> {
        Ok(self.control.get_as::<JobItem>(REBUILD_JOB_ID).await?.map(RebuildJob::from))
    }

    /// Starts `job` in one conditional write: only when no job is unfinished, unless
    /// `replace`. `false` when another job is still running (nothing changed), so of two
    /// starts at once exactly one wins.
    pub async fn start(&self, job: &RebuildJob, replace: bool) -> Result<bool, StoreError> {
        let item = JobItem {
            job_id: job.job_id.clone(),
            scope: job.scope.clone(),
            requested_by: job.requested_by.clone(),
            started_at: job.started_at,
            updated_at: job.updated_at,
            resume_from: None,
            examined: 0,
            rebuilt: 0,
            skipped: 0,
            failed: 0,
            failed_invalid_order_id: 0,
            failed_history_unreadable: 0,
            failed_state_too_large: 0,
            runs: 0,
            finished: false,
            lease_until: None,
        };
        if replace {
            return self.control.put_as(REBUILD_JOB_ID, &item).await.map(|_| true);
        }
        let none_running = Update::only_when("attribute_not_exists(jobId) OR finished = :done")
            .value(":done", AttributeValue::Bool(true));
        self.control.put_as_if(REBUILD_JOB_ID, &item, none_running).await
    }

    /// Claims the unfinished job for a turn, with the turn counted, in one request: the lease
    /// `lease` holds until `until` (ms), unless another turn's lease is still live at `now`.
    pub async fn claim(&self, lease: &str, now: i64, until: i64) -> Result<Claim, StoreError> {
        let update = Update::new("SET leaseId = :lease, leaseUntil = :until ADD runs :one")
            .when("attribute_exists(jobId) AND finished = :open AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)")
            .value(":lease", s(lease))
            .value(":until", n(until))
            .value(":now", n(now))
            .value(":one", n(1))
            .value(":open", AttributeValue::Bool(false));
        if let Some(item) = self.control.update(REBUILD_JOB_ID, update).await? {
            let job: JobItem = serde_dynamo::from_item(item).map_err(|e| undecodable(REBUILD_JOB_ID, e))?;
            return Ok(Claim::Claimed(job.into()));
        }
        Ok(match self.load().await? {
            Some(RebuildJob { job_id, finished: false, leased_until: Some(until), .. }) => {
                Claim::Leased { job_id, until }
            }
            _ => Claim::Nothing,
        })
    }

    /// Saves a turn's progress since its last save and the resume point (`None`: the job is
    /// done); `false` when the job is no longer `job_id` under `lease` (replaced, or the lease
    /// ran out and another turn claimed it): nothing is saved and the turn stops.
    pub async fn record(
        &self,
        job_id: &str,
        lease: &str,
        resume_from: Option<&JobCursor>,
        progress: &Progress,
        now: i64,
    ) -> Result<bool, StoreError> {
        let counts: Vec<String> =
            progress.counters().iter().map(|(name, key, _)| format!("{name} {key}")).collect();
        let counts = format!("ADD {}", counts.join(", "));
        let update = match resume_from {
            Some(cursor) => Update::new(format!("SET updatedAt = :now, #cursor = :cursor {counts}"))
                .value(":cursor", s(serde_json::to_string(cursor).expect("cursors serialize"))),
            None => Update::new(format!(
                "SET updatedAt = :now, finished = :done REMOVE #cursor, leaseId, leaseUntil {counts}"
            ))
            .value(":done", AttributeValue::Bool(true)),
        };
        let mut update = update.name("#cursor", "cursor").value(":now", n(now));
        for (_, key, value) in progress.counters() {
            update = update.value(key, n(value));
        }
        Ok(self.control.update(REBUILD_JOB_ID, held(update, job_id, lease)).await?.is_some())
    }

    /// Gives the lease back at the end of a turn, so the next one need not wait for it.
    pub async fn release(&self, job_id: &str, lease: &str) -> Result<(), StoreError> {
        let update = Update::new("REMOVE leaseId, leaseUntil");
        self.control.update(REBUILD_JOB_ID, held(update, job_id, lease)).await.map(|_| ())
    }
}

/// `update`, holding only while the job is `job_id` under `lease`.
fn held(update: Update, job_id: &str, lease: &str) -> Update {
    update.when("jobId = :job AND leaseId = :mine").value(":job", s(job_id)).value(":mine", s(lease))
}
