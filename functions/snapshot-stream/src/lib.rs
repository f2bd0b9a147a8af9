//! The stream function's adapter: Lambda's DynamoDB stream event in, a call into
//! `shared::use_cases::stream_snapshots`, the partial-batch response and the batch's metrics out.
//!
//! Records are parsed one by one so that one malformed record is isolated (reported as
//! failed) instead of failing the whole event's deserialization: the runtime hands over each
//! record as raw JSON ([`RawStreamEvent`]), so even a string serde cannot decode (a lone
//! UTF-16 surrogate escape) poisons only its own record.

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use shared::runtime::metrics::Metrics;
use shared::store::dynamo::Item;
use shared::use_cases::stream_snapshots::{
    BatchOutcome, ChangeBody, ChangeKind, StreamChange, StreamSnapshotter,
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
    /// Reported as a batch item failure, the record would come back first in a batch of the
    /// same records until the retries are spent, and the good records after it would be
    /// discarded with it. Failing the invocation lets Lambda bisect down to the record alone.
    #[error(
        "the batch's first record ({position}) cannot be understood; failing the batch so Lambda bisects it away from the rest"
    )]
    PoisonFirst { position: String },
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        lambda_runtime::Diagnostic { error_type: "HandlerError".into(), error_message: error.to_string() }
    }
}

/// The event as the runtime deserializes it: the records stay raw JSON until parsed one by
/// one. Only bytes that are not JSON at all (never sent by Lambda) fail the invocation.
#[derive(Debug, Deserialize)]
pub struct RawStreamEvent {
    #[serde(rename = "Records")]
    pub records: Vec<Box<RawValue>>,
}

impl RawStreamEvent {
    /// An event built as a JSON value (the local runner, tests), as Lambda would send it.
    pub fn from_json(event: &Value) -> Result<Self, HandlerError> {
        serde_json::from_str(&event.to_string()).map_err(|_| HandlerError::NotAStreamEvent)
    }
}

/// The handler: the records parsed, the batch processed, its metrics emitted.
pub async fn handle(
    service: &StreamSnapshotter,
    metrics: &Metrics,
    event: RawStreamEvent,
) -> Result<DynamoDbEventResponse, HandlerError> {
    let changes = parse(&event)?;
    let BatchOutcome { first_failure, poison_first, report } = service.process_batch(&changes).await;
    metrics.emit(&report.metrics());
    match first_failure {
        Some(position) if poison_first && changes.len() > 1 => Err(HandlerError::PoisonFirst { position }),
        first_failure => Ok(response(first_failure)),
    }
}

/// Splits the event into changes; a record that does not parse (even one that is not a JSON
/// value at all) becomes a change with an error body rather than failing its neighbours.
pub fn parse(event: &RawStreamEvent) -> Result<Vec<StreamChange>, HandlerError> {
    event
        .records
        .iter()
        .enumerate()
        .map(|(index, raw)| match serde_json::from_str::<Value>(raw.get()) {
            Ok(record) => change(index, record),
            Err(e) => {
                let position = position_only(raw.get()).ok_or(HandlerError::NoSequenceNumber { index })?;
                Ok(StreamChange { position, body: Err(format!("malformed record: {e}")) })
            }
        })
        .collect()
}

fn change(index: usize, record: Value) -> Result<StreamChange, HandlerError> {
    let position = record
        .pointer("/dynamodb/SequenceNumber")
        .and_then(Value::as_str)
        .ok_or(HandlerError::NoSequenceNumber { index })?
        .to_owned();
    Ok(StreamChange { position, body: parse_record(record) })
}

/// Just the SequenceNumber; serde skips every other field without decoding its strings.
fn position_only(raw: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Record {
        dynamodb: Change,
    }
    #[derive(Deserialize)]
    struct Change {
        #[serde(rename = "SequenceNumber")]
        sequence_number: String,
    }
    serde_json::from_str::<Record>(raw).ok().map(|r| r.dynamodb.sequence_number)
}

/// Reads only what the service uses (eventName, the order id in dynamodb.Keys,
/// dynamodb.NewImage), so fields it never looks at cannot poison a record.
fn parse_record(mut record: Value) -> Result<ChangeBody, String> {
    let kind = match record.get("eventName") {
        Some(Value::String(name)) if name == "INSERT" => ChangeKind::Insert,
        Some(Value::String(name)) if name == "MODIFY" => ChangeKind::Modify,
        Some(Value::String(name)) if name == "REMOVE" => ChangeKind::Remove,
        Some(other) => return Err(format!("unknown eventName {other}")),
        None => return Err("no eventName".into()),
    };
    let order_id = record.pointer("/dynamodb/Keys/orderId/S").and_then(Value::as_str).map(str::to_owned);
    if kind != ChangeKind::Insert {
        return Ok(ChangeBody { kind, order_id, new_image: None });
    }
    // The record is ours: the image is taken out, not copied.
    let new_image = match record.pointer_mut("/dynamodb/NewImage").map(Value::take) {
        None | Some(Value::Null) => None,
        Some(image) => {
            let image: serde_dynamo::Item =
                serde_json::from_value(image).map_err(|e| format!("malformed NewImage: {e}"))?;
            (!image.is_empty()).then(|| Item::from(image))
        }
    };
    Ok(ChangeBody { kind, order_id, new_image })
}

fn response(first_failure: Option<String>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    if let Some(position) = first_failure {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(position);
        response.batch_item_failures.push(failure);
    }
    response
}
