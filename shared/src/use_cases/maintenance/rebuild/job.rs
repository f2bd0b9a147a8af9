//! The rebuild job's state: one control item (`_rebuild-job`) holding the scope, who asked,
//! the resume point, the counts, and the lease of the turn working on it. A turn claims the
//! job with a lease in one conditional update (a turn that finds a live lease leaves at once;
//! a dead turn's lease expires), and only the lease holder saves progress, under a condition
//! on its lease: the resume point never moves back, and nothing is counted twice.

use super::scope::{JobCursor, RebuildScope};
use crate::store::control::{ControlError, ControlStore, undecodable};
use crate::store::dynamo::{Item, get_n, get_s, n, s};
use crate::store::expression::Update;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

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

    pub async fn load(&self) -> Result<Option<RebuildJob>, ControlError> {
        self.control.get(REBUILD_JOB_ID).await?.as_ref().map(decode).transpose()
    }

    /// Starts `job` in one conditional write: only when no job is unfinished, unless
    /// `replace`. `false` when another job is still running (nothing changed), so of two
    /// starts at once exactly one wins.
    pub async fn start(&self, job: &RebuildJob, replace: bool) -> Result<bool, ControlError> {
        let scope = serde_json::to_string(&job.scope).expect("scopes serialize");
        let mut item = Item::from([
            ("jobId".to_owned(), s(&job.job_id)),
            ("scope".to_owned(), s(scope)),
            ("requestedBy".to_owned(), s(&job.requested_by)),
            ("startedAt".to_owned(), n(job.started_at)),
            ("updatedAt".to_owned(), n(job.updated_at)),
            ("runs".to_owned(), n(0)),
            ("finished".to_owned(), AttributeValue::Bool(false)),
        ]);
        item.extend(Progress::default().counters().map(|(name, _, value)| (name.to_owned(), n(value))));
        if replace {
            return self.control.put(REBUILD_JOB_ID, item).await.map(|_| true);
        }
        let none_running = Update::only_when("attribute_not_exists(jobId) OR finished = :done")
            .value(":done", AttributeValue::Bool(true));
        self.control.put_if(REBUILD_JOB_ID, item, none_running).await
    }

    /// Claims the unfinished job for a turn, with the turn counted, in one request: the lease
    /// `lease` holds until `until` (ms), unless another turn's lease is still live at `now`.
    pub async fn claim(&self, lease: &str, now: i64, until: i64) -> Result<Claim, ControlError> {
        let update = Update::new("SET leaseId = :lease, leaseUntil = :until ADD runs :one")
            .when("attribute_exists(jobId) AND finished = :open AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)")
            .value(":lease", s(lease))
            .value(":until", n(until))
            .value(":now", n(now))
            .value(":one", n(1))
            .value(":open", AttributeValue::Bool(false));
        if let Some(item) = self.control.update(REBUILD_JOB_ID, update).await? {
            return decode(&item).map(Claim::Claimed);
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
    ) -> Result<bool, ControlError> {
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
    pub async fn release(&self, job_id: &str, lease: &str) -> Result<(), ControlError> {
        let update = Update::new("REMOVE leaseId, leaseUntil");
        self.control.update(REBUILD_JOB_ID, held(update, job_id, lease)).await.map(|_| ())
    }
}

/// `update`, holding only while the job is `job_id` under `lease`.
fn held(update: Update, job_id: &str, lease: &str) -> Update {
    update.when("jobId = :job AND leaseId = :mine").value(":job", s(job_id)).value(":mine", s(lease))
}

fn json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ControlError> {
    serde_json::from_str(text).map_err(|e| undecodable(REBUILD_JOB_ID, e))
}

fn decode(item: &Item) -> Result<RebuildJob, ControlError> {
    let attr = |e: crate::store::dynamo::AttributeError| undecodable(REBUILD_JOB_ID, e);
    let resume_from = match item.get("cursor") {
        Some(_) => Some(json(get_s(item, "cursor").map_err(attr)?)?),
        None => None,
    };
    // Counters a job started before they existed does not have count zero.
    let count = |name: &'static str| match item.get(name) {
        None => Ok(0),
        Some(_) => get_n(item, name).map_err(attr),
    };
    Ok(RebuildJob {
        job_id: get_s(item, "jobId").map_err(attr)?.to_owned(),
        scope: json(get_s(item, "scope").map_err(attr)?)?,
        requested_by: get_s(item, "requestedBy").map_err(attr)?.to_owned(),
        started_at: get_n(item, "startedAt").map_err(attr)?,
        updated_at: get_n(item, "updatedAt").map_err(attr)?,
        resume_from,
        progress: Progress {
            examined: get_n(item, "examined").map_err(attr)?,
            rebuilt: get_n(item, "rebuilt").map_err(attr)?,
            skipped: get_n(item, "skipped").map_err(attr)?,
            failed: get_n(item, "failed").map_err(attr)?,
            failures: Failures {
                invalid_order_id: count("failedInvalidOrderId")?,
                history_unreadable: count("failedHistoryUnreadable")?,
                state_too_large: count("failedStateTooLarge")?,
            },
        },
        runs: get_n(item, "runs").map_err(attr)?,
        finished: matches!(item.get("finished"), Some(AttributeValue::Bool(true))),
        leased_until: match item.get("leaseUntil") {
            None => None,
            Some(_) => Some(get_n(item, "leaseUntil").map_err(attr)?),
        },
    })
}
