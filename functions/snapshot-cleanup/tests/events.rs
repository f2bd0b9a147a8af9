//! Every sample event is what the cleanup function is invoked with: EventBridge's scheduled
//! event, or the single-order request.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use snapshot_cleanup::{CleanupRequest, parse_request};

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../../events/snapshot-cleanup/{name}", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
}

#[test]
fn the_scheduled_event_is_eventbridges_shape() {
    let event: CloudWatchEvent = serde_json::from_str(&read("scheduled-event.json")).unwrap();
    assert_eq!(event.detail_type.as_deref(), Some("Scheduled Event"));
    assert_eq!(event.source.as_deref(), Some("aws.events"));
    let value = serde_json::from_str(&read("scheduled-event.json")).unwrap();
    assert_eq!(parse_request(&value).unwrap(), CleanupRequest::All);
}

#[test]
fn the_single_order_request_parses() {
    let value = serde_json::from_str(&read("single-order.json")).unwrap();
    assert_eq!(parse_request(&value).unwrap(), CleanupRequest::Order("o-1001".into()));
    let files =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/snapshot-cleanup")).unwrap();
    assert_eq!(files.count(), 2, "every file is covered here");
}
