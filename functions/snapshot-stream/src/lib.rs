//! The stream function's adapter: Lambda's DynamoDB stream event in, `SnapshotService` call,
//! partial-batch response out. Records are parsed one by one so that one malformed record
//! is isolated (reported as failed) instead of failing the whole event's deserialization.

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_json::Value;
use shared::dynamo::Item;
use shared::metrics::emf_line;
use shared::snapshot_service::{
    BatchOutcome, BatchReport, ChangeBody, ChangeKind, SnapshotService, StreamChange,
};
use thiserror::Error;

pub const FUNCTION: &str = "snapshot-stream";

/// The invocation cannot be processed at all; Lambda retries (and bisects) the whole batch.
#[derive(Debug, Error)]
pub enum HandlerError {
    #[error("not a DynamoDB stream event: no Records list")]
    NotAStreamEvent,
    #[error("record {index} has no dynamodb.SequenceNumber, so it cannot be reported or retried alone")]
    NoSequenceNumber { index: usize },
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        lambda_runtime::Diagnostic { error_type: "HandlerError".into(), error_message: error.to_string() }
    }
}

/// The Lambda handler: [`process`], then the batch's metrics as an EMF line.
pub async fn handle(service: &SnapshotService, event: Value) -> Result<DynamoDbEventResponse, HandlerError> {
    let (response, report) = process(service, event).await?;
    emit_metrics(&report);
    Ok(response)
}

/// [`handle`] without the EMF line, for the local runner's console.
pub async fn handle_quietly(
    service: &SnapshotService,
    event: Value,
) -> Result<DynamoDbEventResponse, HandlerError> {
    process(service, event).await.map(|(response, _)| response)
}

/// Processes one stream event; returns the partial-batch response and what the batch did.
pub async fn process(
    service: &SnapshotService,
    event: Value,
) -> Result<(DynamoDbEventResponse, BatchReport), HandlerError> {
    let changes = parse_event(&event)?;
    let outcome = service.process_batch(&changes).await;
    let report = outcome.report.clone();
    Ok((response(outcome), report))
}

/// Splits the event into changes; a record that does not parse becomes a change with an error
/// body rather than failing its neighbours.
pub fn parse_event(event: &Value) -> Result<Vec<StreamChange>, HandlerError> {
    let records = event.get("Records").and_then(Value::as_array).ok_or(HandlerError::NotAStreamEvent)?;
    records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            let position = record
                .pointer("/dynamodb/SequenceNumber")
                .and_then(Value::as_str)
                .ok_or(HandlerError::NoSequenceNumber { index })?
                .to_owned();
            Ok(StreamChange { position, body: parse_record(record) })
        })
        .collect()
}

fn parse_record(record: &Value) -> Result<ChangeBody, String> {
    let record: EventRecord =
        serde_json::from_value(record.clone()).map_err(|e| format!("malformed record: {e}"))?;
    let kind = match record.event_name.as_str() {
        "INSERT" => ChangeKind::Insert,
        "MODIFY" => ChangeKind::Modify,
        "REMOVE" => ChangeKind::Remove,
        other => return Err(format!("unknown eventName {other:?}")),
    };
    let image = record.change.new_image;
    let new_image = (!image.is_empty()).then(|| Item::from(image));
    Ok(ChangeBody { kind, new_image })
}

fn response(outcome: BatchOutcome) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    if let Some(position) = outcome.first_failure {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(position);
        response.batch_item_failures.push(failure);
    }
    response
}

fn emit_metrics(report: &BatchReport) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    // EMF must be a line of its own on stdout, not inside a tracing record.
    println!("{}", emf_line(FUNCTION, now, &report.metrics()));
}
