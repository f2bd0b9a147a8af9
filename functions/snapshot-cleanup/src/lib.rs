//! The maintenance function's adapter (the cleanup function): an EventBridge schedule (or the
//! admin API's async invocation) in, a run bounded by the Lambda deadline, a JSON summary out.
//! Inputs: the nightly schedule runs retention over the table and then the drift canary on a
//! sample of what it scanned; `{"orderId": "…"}` applies one order's retention;
//! `{"job": "rebuild"}` (every 5 minutes, and when the admin API starts a job) works on the
//! rebuild job, if one is unfinished.

use serde_json::{Value, json};
use shared::admin::SnapshotAdmin;
use shared::canary;
use shared::cleanup::CleanupService;
use shared::metrics::Metrics;
use shared::order_id::{InvalidOrderId, validate_order_id};
use shared::rebuild::{RebuildError, RebuildService};
use shared::snapshot::SnapshotStoreError;
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::info;

pub const FUNCTION: &str = "snapshot-cleanup";
/// Stop this long before the Lambda deadline: one more page must fit, and the summary.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

#[derive(Debug, Error)]
pub enum HandlerError {
    #[error("the cleanup input must be a JSON object")]
    NotAnObject,
    #[error("orderId must be a string")]
    OrderIdNotAString,
    #[error("job must be \"rebuild\"")]
    UnknownJob,
    #[error(transparent)]
    InvalidOrderId(#[from] InvalidOrderId),
    #[error("cleanup failed")]
    Storage(#[from] SnapshotStoreError),
    #[error("rebuild failed")]
    Rebuild(#[from] RebuildError),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let mut message = error.to_string();
        if let Some(source) = std::error::Error::source(&error) {
            message = format!("{message}: {source}");
        }
        lambda_runtime::Diagnostic { error_type: "CleanupError".into(), error_message: message }
    }
}

/// What the function works with.
pub struct Maintenance {
    pub cleanup: CleanupService,
    pub rebuild: RebuildService,
    /// Verifies snapshots for the drift canary.
    pub admin: SnapshotAdmin,
}

/// What to do: everything (the schedule), one order (`{"orderId": "…"}`), or the rebuild job
/// (`{"job": "rebuild"}`).
#[derive(Debug, PartialEq, Eq)]
pub enum CleanupRequest {
    All,
    Order(String),
    Rebuild,
}

pub fn parse_request(input: &Value) -> Result<CleanupRequest, HandlerError> {
    let object = input.as_object().ok_or(HandlerError::NotAnObject)?;
    if let Some(job) = object.get("job") {
        return match job.as_str() {
            Some("rebuild") => Ok(CleanupRequest::Rebuild),
            _ => Err(HandlerError::UnknownJob),
        };
    }
    match object.get("orderId") {
        None => Ok(CleanupRequest::All),
        Some(Value::String(id)) => {
            validate_order_id(id)?;
            Ok(CleanupRequest::Order(id.clone()))
        }
        Some(_) => Err(HandlerError::OrderIdNotAString),
    }
}

/// The Lambda deadline (ms since the epoch) as an `Instant`, less the margin.
pub fn stop_at(deadline_ms: u64, now_ms: u64) -> Instant {
    let remaining = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    Instant::now() + remaining.saturating_sub(DEADLINE_MARGIN)
}

/// The handler: the request run until `stop_at`, its metrics emitted.
pub async fn handle(
    work: &Maintenance,
    metrics: &Metrics,
    input: Value,
    stop_at: Instant,
) -> Result<Value, HandlerError> {
    match parse_request(&input)? {
        CleanupRequest::Order(order_id) => {
            let done = work.cleanup.clean_order(&order_id).await?;
            info!(order_id, deleted = done.deleted.len(), "order cleanup");
            Ok(serde_json::to_value(done).expect("summary serializes"))
        }
        CleanupRequest::All => {
            let report = work.cleanup.run(stop_at).await?;
            metrics.emit(&report.metrics());
            info!(
                orders_examined = report.orders_examined,
                snapshots_deleted = report.snapshots_deleted,
                finished = report.finished,
                resume_from = ?report.resume_from,
                "cleanup run"
            );
            let canary = canary::check(&work.admin, &report.canary_sample, stop_at).await;
            metrics.emit(&canary.metrics());
            info!(checked = canary.checked, drifted = canary.drifted.len(), "drift canary");
            let mut summary = json!(report);
            summary["canary"] = json!(canary);
            Ok(summary)
        }
        CleanupRequest::Rebuild => match work.rebuild.run(stop_at).await? {
            Some(run) => {
                metrics.emit(&run.metrics());
                Ok(json!(run))
            }
            None => Ok(json!({ "rebuild": "no unfinished job" })),
        },
    }
}
