//! The cleanup function's adapter: an EventBridge scheduled event (or the admin API's async
//! invocation) in, a retention run bounded by the Lambda deadline, a JSON summary out.

use serde_json::{Value, json};
use shared::cleanup::CleanupService;
use shared::metrics::Metrics;
use shared::order_id::{InvalidOrderId, validate_order_id};
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
    #[error(transparent)]
    InvalidOrderId(#[from] InvalidOrderId),
    #[error("cleanup failed")]
    Storage(#[from] SnapshotStoreError),
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

/// What to clean: everything (the schedule), or one order (`{"orderId": "…"}`).
#[derive(Debug, PartialEq, Eq)]
pub enum CleanupRequest {
    All,
    Order(String),
}

pub fn parse_request(input: &Value) -> Result<CleanupRequest, HandlerError> {
    let object = input.as_object().ok_or(HandlerError::NotAnObject)?;
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

/// The handler: one order's retention, or a run over the table that stops at `stop_at`,
/// with its metrics emitted.
pub async fn handle(
    service: &CleanupService,
    metrics: &Metrics,
    input: Value,
    stop_at: Instant,
) -> Result<Value, HandlerError> {
    match parse_request(&input)? {
        CleanupRequest::Order(order_id) => {
            let done = service.clean_order(&order_id).await?;
            info!(order_id, deleted = done.deleted.len(), "order cleanup");
            Ok(serde_json::to_value(done).expect("summary serializes"))
        }
        CleanupRequest::All => {
            let report = service.run(stop_at).await?;
            metrics.emit(&report.metrics());
            info!(
                orders_examined = report.orders_examined,
                snapshots_deleted = report.snapshots_deleted,
                finished = report.finished,
                resume_from = ?report.resume_from,
                "cleanup run"
            );
            Ok(json!(report))
        }
    }
}
