//! Every sample event is what the maintenance function is invoked with: EventBridge's scheduled
//! event, the single-order request, or the rebuild job's turn.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use shared::use_cases::maintenance::Job;
use snapshot_maintenance::parse_request;

fn read(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../events/snapshot-maintenance/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn the_scheduled_event_is_eventbridges_shape() {
    let event: CloudWatchEvent = serde_json::from_str(&read("scheduled-event.json")).unwrap();
    assert_eq!(event.detail_type.as_deref(), Some("Scheduled Event"));
    assert_eq!(event.source.as_deref(), Some("aws.events"));
    let value = serde_json::from_str(&read("scheduled-event.json")).unwrap();
    assert_eq!(parse_request(&value).unwrap(), Job::CleanupAndCanary);
}

#[test]
fn the_single_order_request_parses() {
    let value = serde_json::from_str(&read("single-order.json")).unwrap();
    assert_eq!(
        parse_request(&value).unwrap(),
        Job::CleanupOrder(shared::domain::samples::order_id("o-1001"))
    );
    let files =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/snapshot-maintenance")).unwrap();
    let events = files.filter(|f| f.as_ref().unwrap().file_name() != "expected.json").count();
    assert_eq!(events, 3, "every file is covered here");
}

#[test]
fn the_rebuild_turn_parses() {
    let value = serde_json::from_str(&read("rebuild-job.json")).unwrap();
    assert_eq!(parse_request(&value).unwrap(), Job::Rebuild);
}

mod fuzz {
    use proptest::prelude::*;
    use serde_json::{Value, json};
    use shared::use_cases::maintenance::Job;
    use snapshot_maintenance::parse_request;
    use testkit::arb_json;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Any input: one order exactly when it is an object whose orderId is a valid id;
        /// everything without an orderId (the schedule's event) cleans all; the rest is refused.
        #[test]
        fn the_cleanup_input_is_classified_exactly(input in prop_oneof![
            arb_json(),
            arb_json().prop_map(|id| json!({ "orderId": id })),
            arb_json().prop_map(|job| json!({ "job": job })),
            Just(json!({ "job": "rebuild", "orderId": "o-1" })),
        ]) {
            let job = input.as_object().and_then(|o| o.get("job"));
            let expected = match input.as_object().map(|o| o.get("orderId")) {
                None => None,
                Some(_) if job.is_some() => (job == Some(&json!("rebuild"))).then_some(Job::Rebuild),
                Some(None) => Some(Job::CleanupAndCanary),
                Some(Some(Value::String(id))) => shared::domain::OrderId::parse(id.as_str()).ok().map(Job::CleanupOrder),
                Some(Some(_)) => None,
            };
            prop_assert_eq!(parse_request(&input).ok(), expected);
        }
    }
}
