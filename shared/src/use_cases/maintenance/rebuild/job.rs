//! The rebuild job's state: one control item (`_rebuild-job`) holding the scope, who asked,
//! the resume point and the counts. Runs add to the counts atomically and only while the job
//! is still theirs, so a run of a replaced job stops at its next save.

use super::scope::{JobCursor, RebuildScope};
use crate::store::control::{ControlError, ControlStore, Update, undecodable};
use crate::store::dynamo::{Item, get_n, get_s, n, s};
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
    /// Where the next run resumes (`None` before the first page, or when finished).
    pub resume_from: Option<JobCursor>,
    pub examined: u64,
    pub rebuilt: u64,
    pub skipped: u64,
    pub failed: u64,
    pub runs: u64,
    pub finished: bool,
}

/// Counts of one page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub examined: u64,
    pub rebuilt: u64,
    pub skipped: u64,
    pub failed: u64,
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
        let item = Item::from([
            ("jobId".to_owned(), s(&job.job_id)),
            ("scope".to_owned(), s(scope)),
            ("requestedBy".to_owned(), s(&job.requested_by)),
            ("startedAt".to_owned(), n(job.started_at)),
            ("updatedAt".to_owned(), n(job.updated_at)),
            ("examined".to_owned(), n(0)),
            ("rebuilt".to_owned(), n(0)),
            ("skipped".to_owned(), n(0)),
            ("failed".to_owned(), n(0)),
            ("runs".to_owned(), n(0)),
            ("finished".to_owned(), AttributeValue::Bool(false)),
        ]);
        if replace {
            return self.control.put(REBUILD_JOB_ID, item).await.map(|_| true);
        }
        let none_running = Update::default()
            .when("attribute_not_exists(jobId) OR finished = :done")
            .value(":done", AttributeValue::Bool(true));
        self.control.put_if(REBUILD_JOB_ID, item, none_running).await
    }

    /// Saves a page's progress and the resume point; `false` when the job is no longer
    /// `job_id` (it was replaced: the run stops).
    pub async fn record(
        &self,
        job_id: &str,
        resume_from: Option<&JobCursor>,
        progress: &Progress,
        now: i64,
    ) -> Result<bool, ControlError> {
        let counts = "ADD examined :e, rebuilt :r, skipped :s, failed :f";
        let update = match resume_from {
            Some(cursor) => Update::new(format!("SET updatedAt = :now, #cursor = :cursor {counts}"))
                .value(":cursor", s(serde_json::to_string(cursor).expect("cursors serialize"))),
            None => Update::new(format!("SET updatedAt = :now, finished = :done REMOVE #cursor {counts}"))
                .value(":done", AttributeValue::Bool(true)),
        };
        let update = update
            .name("#cursor", "cursor")
            .value(":now", n(now))
            .value(":e", n(progress.examined))
            .value(":r", n(progress.rebuilt))
            .value(":s", n(progress.skipped))
            .value(":f", n(progress.failed));
        Ok(self.control.update(REBUILD_JOB_ID, of_job(update, job_id)).await?.is_some())
    }

    /// The unfinished job, with this turn counted, in one request; `None` when no job is
    /// unfinished.
    pub async fn claim_turn(&self) -> Result<Option<RebuildJob>, ControlError> {
        let update = Update::new("ADD runs :one")
            .when("attribute_exists(jobId) AND finished = :open")
            .value(":one", n(1))
            .value(":open", AttributeValue::Bool(false));
        self.control.update(REBUILD_JOB_ID, update).await?.as_ref().map(decode).transpose()
    }
}

/// `update`, holding only while the job is still `job_id`.
fn of_job(update: Update, job_id: &str) -> Update {
    update.when("jobId = :job").value(":job", s(job_id))
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
    Ok(RebuildJob {
        job_id: get_s(item, "jobId").map_err(attr)?.to_owned(),
        scope: json(get_s(item, "scope").map_err(attr)?)?,
        requested_by: get_s(item, "requestedBy").map_err(attr)?.to_owned(),
        started_at: get_n(item, "startedAt").map_err(attr)?,
        updated_at: get_n(item, "updatedAt").map_err(attr)?,
        resume_from,
        examined: get_n(item, "examined").map_err(attr)?,
        rebuilt: get_n(item, "rebuilt").map_err(attr)?,
        skipped: get_n(item, "skipped").map_err(attr)?,
        failed: get_n(item, "failed").map_err(attr)?,
        runs: get_n(item, "runs").map_err(attr)?,
        finished: matches!(item.get("finished"), Some(AttributeValue::Bool(true))),
    })
}
