//! The maintenance function's adapter: an EventBridge schedule (or the admin API's async
//! invocation) in, one call of `shared::use_cases::maintenance::Maintenance::run` bounded by
//! the Lambda deadline, a JSON summary and its metrics out. Inputs: `{}` or a scheduled event
//! runs the nightly job (retention, then the drift canary); `{"orderId": "…"}` one order's
//! retention; `{"job": "rebuild"}` a turn of the rebuild job.

use serde_json::Value;
use shared::domain::{InvalidOrderId, OrderId};
use shared::runtime::metrics::Metrics;
use shared::use_cases::maintenance::{Job, Maintenance, MaintenanceError};
use std::time::{Duration, Instant};
use thiserror::Error;

pub const FUNCTION: &str = "snapshot-maintenance";
/// Stop this long before the Lambda deadline: one more page must fit, and the summary.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

#[derive(Debug, Error)]
pub enum HandlerError {
    #[error("the maintenance input must be a JSON object")]
    NotAnObject,
    #[error("orderId must be a string")]
    OrderIdNotAString,
    #[error("job must be \"rebuild\"")]
    UnknownJob,
    #[error(transparent)]
    InvalidOrderId(#[from] InvalidOrderId),
    #[error(transparent)]
    Maintenance(#[from] MaintenanceError),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let mut message = error.to_string();
        if let Some(source) = std::error::Error::source(&error) {
            message = format!("{message}: {source}");
        }
        lambda_runtime::Diagnostic { error_type: "MaintenanceError".into(), error_message: message }
    }
}

/// The job an input asks for.
pub fn parse_request(input: &Value) -> Result<Job, HandlerError> {
    let object = input.as_object().ok_or(HandlerError::NotAnObject)?;
    if let Some(job) = object.get("job") {
        return match job.as_str() {
            Some("rebuild") => Ok(Job::Rebuild),
            _ => Err(HandlerError::UnknownJob),
        };
    }
    match object.get("orderId") {
        None => Ok(Job::CleanupAndCanary),
        Some(Value::String(id)) => Ok(Job::CleanupOrder(OrderId::parse(id.as_str())?)),
        Some(_) => Err(HandlerError::OrderIdNotAString),
    }
}

/// The Lambda deadline (ms since the epoch) as an `Instant`, less the margin.
pub fn stop_at(deadline_ms: u64, now_ms: u64) -> Instant {
    let remaining = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    Instant::now() + remaining.saturating_sub(DEADLINE_MARGIN)
}

/// The handler: the input's job run until `stop_at`, its metrics emitted.
pub async fn handle(
    maintenance: &Maintenance,
    metrics: &Metrics,
    input: Value,
    stop_at: Instant,
) -> Result<Value, HandlerError> {
    let outcome = maintenance.run(parse_request(&input)?, stop_at).await?;
    let measured = outcome.metrics();
    if !measured.is_empty() {
        metrics.emit(&measured);
    }
    Ok(serde_json::to_value(outcome).expect("outcomes serialize"))
}
