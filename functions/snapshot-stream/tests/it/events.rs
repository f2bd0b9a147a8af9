//! Every sample event is a DynamoDB stream event as Lambda sends it.

use aws_lambda_events::event::dynamodb::Event;

#[test]
fn every_sample_event_parses_as_a_dynamodb_stream_event() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/snapshot-stream");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.ends_with("expected.json") {
            continue; // what each event's answer must hold (make invoke-all)
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let event: Event = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!event.records.is_empty(), "{}", path.display());
        for record in &event.records {
            assert_eq!(record.event_source.as_deref(), Some("aws:dynamodb"));
            assert!(record.change.sequence_number.is_some(), "{}", path.display());
        }
        seen += 1;
    }
    assert_eq!(seen, 3);
}
