//! The rebuild job's state: one control item in the snapshot table (`_rebuild-job`, an id no
//! order can have) holding the scope, who asked, the resume point and the counts. Runs add
//! to the counts atomically and only while the job is still theirs, so a run of a replaced
//! job stops at its next save, and two runs of one job are harmless.

use super::RebuildScope;
use crate::dynamo::{DynamoError, Item, get_n, get_s, n, s};
use crate::event_store::EventKey;
use crate::snapshot::{Cursor, SnapshotStore, SnapshotStoreError, Unusable};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

/// The control item's `orderId`.
pub const REBUILD_JOB_ID: &str = "_rebuild-job";

/// Where a job's scan stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JobCursor {
    /// In the event table (scopes that find orders by their events).
    Events(EventKey),
    /// In the snapshot keys index (the stale scope).
    Keys(Cursor),
    /// In the list of ids.
    Index(usize),
}

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
    client: Client,
    table: String,
}

impl JobStore {
    pub fn in_table_of(snapshots: &SnapshotStore) -> Self {
        JobStore { client: snapshots.client().clone(), table: snapshots.table().to_owned() }
    }

    pub async fn load(&self) -> Result<Option<RebuildJob>, SnapshotStoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("orderId", s(REBUILD_JOB_ID))
            .key("version", n(0))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| DynamoError::new("GetItem", &self.table, e))?;
        out.item.as_ref().map(decode).transpose()
    }

    /// Starts `job`, replacing whatever job was there.
    pub async fn start(&self, job: &RebuildJob) -> Result<(), SnapshotStoreError> {
        let count = |v: u64| n(v);
        self.client
            .put_item()
            .table_name(&self.table)
            .item("orderId", s(REBUILD_JOB_ID))
            .item("version", n(0))
            .item("jobId", s(&job.job_id))
            .item("scope", s(serde_json::to_string(&job.scope).expect("scopes serialize")))
            .item("requestedBy", s(&job.requested_by))
            .item("startedAt", n(job.started_at))
            .item("updatedAt", n(job.updated_at))
            .item("examined", count(0))
            .item("rebuilt", count(0))
            .item("skipped", count(0))
            .item("failed", count(0))
            .item("runs", count(0))
            .item("finished", AttributeValue::Bool(false))
            .send()
            .await
            .map_err(|e| DynamoError::new("PutItem", &self.table, e))?;
        Ok(())
    }

    /// Saves a page's progress and the resume point; `false` when the job is no longer
    /// `job_id` (it was replaced: the run stops).
    pub async fn record(
        &self,
        job_id: &str,
        resume_from: Option<&JobCursor>,
        progress: &Progress,
        now: i64,
    ) -> Result<bool, SnapshotStoreError> {
        let mut update = self
            .update_of(job_id)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":e", n(progress.examined))
            .expression_attribute_values(":r", n(progress.rebuilt))
            .expression_attribute_values(":s", n(progress.skipped))
            .expression_attribute_values(":f", n(progress.failed));
        let counts = "ADD examined :e, rebuilt :r, skipped :s, failed :f";
        update = match resume_from {
            Some(cursor) => update
                .update_expression(format!("SET updatedAt = :now, #cursor = :cursor {counts}"))
                .expression_attribute_names("#cursor", "cursor")
                .expression_attribute_values(
                    ":cursor",
                    s(serde_json::to_string(cursor).expect("cursors serialize")),
                ),
            None => update
                .update_expression(format!("SET updatedAt = :now, finished = :done REMOVE #cursor {counts}"))
                .expression_attribute_names("#cursor", "cursor")
                .expression_attribute_values(":done", AttributeValue::Bool(true)),
        };
        self.send(update).await
    }

    /// Counts a run of `job_id` (whatever it then does).
    pub async fn count_run(&self, job_id: &str) -> Result<(), SnapshotStoreError> {
        let update = self.update_of(job_id).update_expression("ADD runs :one");
        self.send(update.expression_attribute_values(":one", n(1))).await.map(|_| ())
    }

    /// An update of the job item that holds only while the job is still `job_id`.
    fn update_of(&self, job_id: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("orderId", s(REBUILD_JOB_ID))
            .key("version", n(0))
            .condition_expression("jobId = :job")
            .expression_attribute_values(":job", s(job_id))
    }

    /// `false` when the job is no longer the one the update names.
    async fn send(&self, update: UpdateItemFluentBuilder) -> Result<bool, SnapshotStoreError> {
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(false)
            }
            Err(e) => Err(DynamoError::new("UpdateItem", &self.table, e).into()),
        }
    }
}

fn json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, SnapshotStoreError> {
    serde_json::from_str(text).map_err(|e| SnapshotStoreError::Corrupt {
        order_id: REBUILD_JOB_ID.to_owned(),
        source: Unusable::BadMetadata(e.to_string()),
    })
}

fn decode(item: &Item) -> Result<RebuildJob, SnapshotStoreError> {
    let attr = |e: crate::dynamo::AttributeError| SnapshotStoreError::Corrupt {
        order_id: REBUILD_JOB_ID.to_owned(),
        source: e.into(),
    };
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
