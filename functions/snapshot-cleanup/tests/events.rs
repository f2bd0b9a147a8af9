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

mod fuzz {
    use proptest::prelude::*;
    use serde_json::{Value, json};
    use snapshot_cleanup::{CleanupRequest, parse_request};

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,70}".prop_map(Value::from),
            "[A-Za-z0-9][A-Za-z0-9_-]{0,20}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![Just("orderId".to_owned()), "[a-z]{1,6}"],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Any input: one order exactly when it is an object whose orderId is a valid id;
        /// everything without an orderId (the schedule's event) cleans all; the rest is refused.
        #[test]
        fn the_cleanup_input_is_classified_exactly(input in prop_oneof![arb_json(), arb_json().prop_map(|id| json!({ "orderId": id }))]) {
            let expected = match input.as_object().map(|o| o.get("orderId")) {
                None => None,
                Some(None) => Some(CleanupRequest::All),
                Some(Some(Value::String(id))) if shared::order_id::validate_order_id(id).is_ok() => {
                    Some(CleanupRequest::Order(id.clone()))
                }
                Some(Some(_)) => None,
            };
            prop_assert_eq!(parse_request(&input).ok(), expected);
        }
    }
}
