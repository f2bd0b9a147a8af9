//! Lambda DynamoDB stream events built from events, in exactly the shape Lambda sends
//! (the same shape as `events/snapshot-stream/*.json`).

use serde_json::{Value, json};
use shared::domain::RecordedEvent;
use shared::store::dynamo::Item;
use shared::store::events::event_to_item;

pub const STREAM_ARN: &str =
    "arn:aws:dynamodb:us-east-1:123456789012:table/order_events/stream/2026-11-27T00:00:00.000";

/// An item as DynamoDB JSON (`{"S": "..."}`…).
pub fn item_json(item: &Item) -> Value {
    let item: serde_dynamo::Item = item.clone().into();
    serde_json::to_value(item).expect("items serialize")
}

/// One stream record. `position` becomes its `SequenceNumber`.
pub fn record(event_name: &str, position: &str, keys: Value, new_image: Option<Value>) -> Value {
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": 1_795_000_000,
        "Keys": keys,
        "SequenceNumber": position,
        "SizeBytes": 100,
        "StreamViewType": "NEW_IMAGE",
    });
    if let Some(image) = new_image {
        dynamodb["NewImage"] = image;
    }
    json!({
        "eventID": format!("{position:0>32}"),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": dynamodb,
        "eventSourceARN": STREAM_ARN,
    })
}

/// The INSERT record an append of `event` produces.
pub fn insert_record(event: &RecordedEvent, position: u64) -> Value {
    let keys = json!({ "orderId": { "S": event.order_id }, "sequence": { "N": event.sequence.to_string() } });
    record("INSERT", &position_string(position), keys, Some(item_json(&event_to_item(event))))
}

/// Stream sequence numbers are decimal strings of fixed width in practice.
pub fn position_string(position: u64) -> String {
    format!("{:021}", 4_421_584_500_000_000_000u64 + position)
}

/// A stream event of INSERTs, positions numbered from `first_position`.
pub fn insert_batch<'a>(events: impl IntoIterator<Item = &'a RecordedEvent>, first_position: u64) -> Value {
    let records: Vec<Value> =
        events.into_iter().zip(first_position..).map(|(e, p)| insert_record(e, p)).collect();
    json!({ "Records": records })
}

/// The events carried by the INSERT records of a stream event file (to seed the store).
pub fn inserted_events(event: &Value) -> Vec<RecordedEvent> {
    event["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["eventName"] == "INSERT")
        .filter_map(|r| {
            let item: serde_dynamo::Item = serde_json::from_value(r["dynamodb"]["NewImage"].clone()).ok()?;
            shared::store::events::event_from_item(&Item::from(item)).ok()
        })
        .collect()
}

/// What Lambda does with a batch: deliver it, and while the handler reports a failure (or
/// fails the whole invocation), deliver again from the reported record. Returns the
/// deliveries it took; panics if the batch still fails after `max_deliveries`.
pub async fn deliver_until_done<F, Fut>(
    events: &[RecordedEvent],
    first_position: u64,
    max_deliveries: u32,
    handler: F,
) -> u32
where
    F: Fn(Value) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<String>, String>>,
{
    let mut from = 0usize;
    for delivery in 1..=max_deliveries {
        let batch = insert_batch(&events[from..], first_position + from as u64);
        // An Err is a failed invocation: Lambda retries the same batch.
        if let Ok(failures) = handler(batch).await {
            let Some(at) = failures.first() else { return delivery };
            from = (first_position..)
                .take(events.len())
                .position(|p| position_string(p) == *at)
                .unwrap_or_else(|| panic!("reported failure {at} is not a record of the batch"));
        }
    }
    panic!("the batch still failed after {max_deliveries} deliveries");
}
