//! Bad stream input. A corpus of malformed records, each with the classification it must get,
//! fed as raw bytes through the deserializer lambda_runtime uses; then property tests over the
//! record parser with random mutations, random JSON and random bytes. A record is either an
//! event, ignored (MODIFY/REMOVE), poison (reported by its SequenceNumber, never snapshotted)
//! or, when it is not JSON or has no SequenceNumber, a failed invocation (Lambda retries and
//! bisects the batch until the record is alone, then sends it to the failure destination).

use proptest::prelude::*;
use serde_json::{Value, json};
use shared::domain::samples::recorded;
use shared::domain::{Money, OrderEvent, RecordedEvent};
use shared::policy::settings::StrategySettings;
use shared::runtime::metrics::Metrics;
use shared::use_cases::clock::ManualClock;
use shared::use_cases::stream_snapshots::{Decoded, StreamSnapshotter, decode};
use snapshot_stream::{FUNCTION, RawStreamEvent, parse};
use std::sync::Arc;
use testkit::stream_events::{insert_record, position_string};
use testkit::{TestTables, arb_json};

#[derive(Clone, Debug, PartialEq)]
enum Class {
    Event,
    Ignored,
    /// Poison whose reason mentions this text.
    Poison(&'static str),
    Invocation,
}

fn item_added(name: &str) -> OrderEvent {
    OrderEvent::ItemAdded {
        sku: "SKU-1".into(),
        name: name.into(),
        quantity: 2,
        unit_price: Money::from_minor(450),
    }
}

fn good(order_id: &str, sequence: u64) -> RecordedEvent {
    recorded(order_id, sequence, item_added("Mug"))
}

/// The record under test sits between two good ones, at position 2.
fn record() -> Value {
    insert_record(&good("o-bad", 2), 2)
}

fn with(path: &str, value: Value) -> Value {
    let mut r = record();
    *r.pointer_mut(path).unwrap_or_else(|| panic!("{path}")) = value;
    r
}

fn without(path: &str) -> Value {
    let mut r = record();
    let (parent, key) = path.rsplit_once('/').unwrap();
    r.pointer_mut(parent).unwrap().as_object_mut().unwrap().remove(key).unwrap_or_else(|| panic!("{path}"));
    r
}

fn text(record: Value) -> String {
    record.to_string()
}

/// The payload attribute of a record whose event is `event_type` with `payload`.
fn payload(event_type: &str, payload: &str) -> Value {
    let mut r = with("/dynamodb/NewImage/payload", json!({ "S": payload }));
    r["dynamodb"]["NewImage"]["eventType"] = json!({ "S": event_type });
    r
}

fn corpus() -> Vec<(&'static str, String, Class)> {
    use Class::*;
    let img = "/dynamodb/NewImage";
    let p = |s: &str| format!("{img}/{s}");
    let huge_name = "x".repeat(350 * 1024);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let mut cases: Vec<(&'static str, String, Class)> = vec![
        // positive controls
        ("a good record", text(record()), Event),
        (
            "an emoji as a valid surrogate pair",
            text(payload("ItemAdded", r#"{"sku":"S","name":"\ud83d\ude00","quantity":1,"unitPrice":5}"#)),
            Event,
        ),
        (
            "a 350 KB item name",
            text(with(
                &p("payload"),
                json!({ "S": serde_json::to_string(&json!({"sku":"S","name":huge_name,"quantity":1,"unitPrice":5})).unwrap() }),
            )),
            Event,
        ),
        (
            "extra attributes in the image",
            text({
                let mut r = record();
                r["dynamodb"]["NewImage"]["ttl"] = json!({"N": "1"});
                r
            }),
            Event,
        ),
        ("MODIFY", text(with("/eventName", json!("MODIFY"))), Ignored),
        (
            "REMOVE without a NewImage",
            text({
                let mut r = without(img);
                r["eventName"] = json!("REMOVE");
                r
            }),
            Ignored,
        ),
        // wrong attribute types
        ("sequence as S", text(with(&p("sequence"), json!({"S": "2"}))), Poison("sequence")),
        ("orderId as N", text(with(&p("orderId"), json!({"N": "5"}))), Poison("orderId")),
        (
            "payload as M, as a DocumentClient writes it",
            text(with(
                &p("payload"),
                json!({"M": {"sku": {"S": "SKU-1"}, "name": {"S": "Mug"}, "quantity": {"N": "2"}, "unitPrice": {"N": "450"}}}),
            )),
            Event,
        ),
        (
            "payload as an M without the fields",
            text(with(&p("payload"), json!({"M": {}}))),
            Poison("payload"),
        ),
        (
            "payload as M with a fraction for money",
            text(with(
                &p("payload"),
                json!({"M": {"sku": {"S": "S"}, "name": {"S": "Mug"}, "quantity": {"N": "2"}, "unitPrice": {"N": "4.5"}}}),
            )),
            Poison("payload"),
        ),
        ("payload as BOOL", text(with(&p("payload"), json!({"BOOL": true}))), Poison("payload")),
        (
            "occurredAt as an ISO time",
            text(with(&p("occurredAt"), json!({"S": "2026-12-08T02:03:19.123Z"}))),
            Event,
        ),
        (
            "occurredAt in epoch seconds",
            text(with(&p("occurredAt"), json!({"N": "1796695399"}))),
            Poison("epoch seconds"),
        ),
        ("eventType as N", text(with(&p("eventType"), json!({"N": "1"}))), Poison("eventType")),
        ("schemaVersion as S", text(with(&p("schemaVersion"), json!({"S": "1"}))), Poison("schemaVersion")),
        ("occurredAt as BOOL", text(with(&p("occurredAt"), json!({"BOOL": true}))), Poison("occurredAt")),
        ("eventId as NULL", text(with(&p("eventId"), json!({"NULL": true}))), Poison("eventId")),
        ("NewImage is a list", text(with(img, json!([]))), Poison("malformed NewImage")),
        (
            "an attribute value with no type",
            text(with(&p("orderId"), json!({}))),
            Poison("malformed NewImage"),
        ),
        (
            "an unknown type tag",
            text(with(&p("orderId"), json!({"X": "o-bad"}))),
            Poison("malformed NewImage"),
        ),
        (
            "a type tag with the wrong JSON type",
            text(with(&p("sequence"), json!({"N": 2}))),
            Poison("malformed NewImage"),
        ),
        (
            "B that is not base64",
            text(with(&p("payload"), json!({"B": "!!not base64!!"}))),
            Poison("malformed NewImage"),
        ),
        ("sequence not a number", text(with(&p("sequence"), json!({"N": "two"}))), Poison("sequence")),
        ("sequence negative", text(with(&p("sequence"), json!({"N": "-2"}))), Poison("sequence")),
        ("sequence fractional", text(with(&p("sequence"), json!({"N": "2.5"}))), Poison("sequence")),
        (
            "sequence beyond u64",
            text(with(&p("sequence"), json!({"N": "18446744073709551616"}))),
            Poison("sequence"),
        ),
        ("sequence zero", text(with(&p("sequence"), json!({"N": "0"}))), Poison("sequence 0")),
        (
            "schemaVersion beyond u32",
            text(with(&p("schemaVersion"), json!({"N": "4294967296"}))),
            Poison("schemaVersion"),
        ),
        // missing keys
        ("no orderId", text(without(&p("orderId"))), Poison("orderId is missing")),
        ("no sequence", text(without(&p("sequence"))), Poison("sequence is missing")),
        ("no eventId", text(without(&p("eventId"))), Poison("eventId is missing")),
        ("no payload", text(without(&p("payload"))), Poison("payload is missing")),
        ("no eventType", text(without(&p("eventType"))), Poison("eventType is missing")),
        ("no schemaVersion", text(without(&p("schemaVersion"))), Poison("schemaVersion is missing")),
        ("no occurredAt", text(without(&p("occurredAt"))), Poison("occurredAt is missing")),
        ("INSERT without a NewImage", text(without(img)), Poison("NewImage")),
        ("no eventName", text(without("/eventName")), Poison("eventName")),
        ("no dynamodb.SequenceNumber", text(without("/dynamodb/SequenceNumber")), Invocation),
        ("SequenceNumber as a number", text(with("/dynamodb/SequenceNumber", json!(2))), Invocation),
        ("no dynamodb at all", text(without("/dynamodb")), Invocation),
        ("a record that is a string", json!("INSERT").to_string(), Invocation),
        ("a record that is null", "null".into(), Invocation),
        // event types and payloads
        ("an unknown event type", text(payload("OrderTeleported", "{}")), Poison("OrderTeleported")),
        ("an empty event type", text(payload("", "{}")), Poison("unknown event type")),
        (
            "a newer event schema",
            text(with(&p("schemaVersion"), json!({"N": "3"}))),
            Poison("schema version 3"),
        ),
        ("event schema 0", text(with(&p("schemaVersion"), json!({"N": "0"}))), Poison("schema")),
        ("a payload that is not JSON", text(payload("ItemAdded", "{sku: S}")), Poison("ItemAdded")),
        (
            "a payload of another event's shape",
            text(payload("ItemAdded", r#"{"customerId":"c","currency":"EUR"}"#)),
            Poison("ItemAdded"),
        ),
        // a newer writer's extra field is read, not refused (tolerant reader)
        ("a payload with an unknown field", text(payload("ItemRemoved", r#"{"sku":"S","why":"x"}"#)), Event),
        (
            "a known field of the wrong type",
            text(payload("ItemRemoved", r#"{"sku":7,"why":"x"}"#)),
            Poison("ItemRemoved"),
        ),
        (
            "a negative quantity",
            text(payload("ItemAdded", r#"{"sku":"S","name":"n","quantity":-1,"unitPrice":5}"#)),
            Poison("ItemAdded"),
        ),
        (
            "money as a float",
            text(payload("ItemAdded", r#"{"sku":"S","name":"n","quantity":1,"unitPrice":4.5}"#)),
            Poison("ItemAdded"),
        ),
        (
            "money beyond i64",
            text(payload("ItemAdded", r#"{"sku":"S","name":"n","quantity":1,"unitPrice":1e30}"#)),
            Poison("ItemAdded"),
        ),
        ("a payload nested 100,000 deep", text(payload("ItemRemoved", &deep)), Poison("ItemRemoved")),
        ("a 2 MB payload of garbage", text(payload("ItemAdded", &"z".repeat(2 << 20))), Poison("ItemAdded")),
        // order ids
        ("an empty orderId", text(with(&p("orderId"), json!({"S": ""}))), Poison("order id")),
        (
            "a 300-character orderId",
            text(with(&p("orderId"), json!({"S": "o".repeat(300)}))),
            Poison("order id"),
        ),
        ("an orderId with a NUL", text(with(&p("orderId"), json!({"S": "o\u{0}1"}))), Poison("order id")),
        ("an orderId with a path", text(with(&p("orderId"), json!({"S": "../o-1"}))), Poison("order id")),
        // event names
        ("an unknown eventName", text(with("/eventName", json!("UPSERT"))), Poison("eventName")),
        ("a lowercase eventName", text(with("/eventName", json!("insert"))), Poison("eventName")),
    ];
    // invalid escapes: only raw text can carry them
    let lone = |needle: &str, replacement: &str| text(record()).replacen(needle, replacement, 1);
    cases.extend([
        (
            "a lone high surrogate in the payload",
            lone("\"sku\\\":\\\"SKU-1", "\"sku\\\":\\\"\\ud800"),
            Poison("malformed record"),
        ),
        ("a lone low surrogate in the orderId", lone("o-bad", "o-\\udc00"), Poison("malformed record")),
        ("a reversed surrogate pair", lone("o-bad", "\\ude00\\ud83d"), Poison("malformed record")),
        ("an escape that does not exist", lone("o-bad", "o-\\x41"), Invocation),
        ("a truncated unicode escape", lone("o-bad", "o-\\u12"), Invocation),
        ("a record cut short", text(record())[..200].to_owned(), Invocation),
        (
            "a deeply nested extra field",
            text(with("/eventVersion", json!("1.1"))).replacen("\"1.1\"", &deep, 1),
            Poison("recursion limit"),
        ),
    ]);
    cases
}

/// The raw payload exactly as Lambda would send it: good, case, good.
fn event_bytes(record: &str) -> Vec<u8> {
    let before = insert_record(&good("o-a", 1), 1).to_string();
    let after = insert_record(&good("o-c", 1), 3).to_string();
    format!(r#"{{"Records":[{before},{record},{after}]}}"#).into_bytes()
}

/// As lambda_runtime does it: serde_path_to_error over serde_json from the bytes.
fn runtime_deserialize(bytes: &[u8]) -> Result<RawStreamEvent, String> {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(bytes))
        .map_err(|e| e.to_string())
}

fn classify_middle(bytes: &[u8]) -> (Class, String) {
    let Ok(event) = runtime_deserialize(bytes) else { return (Class::Invocation, String::new()) };
    let Ok(changes) = parse(&event) else { return (Class::Invocation, String::new()) };
    assert_eq!(changes.len(), 3);
    assert!(matches!(decode(&changes[0]), Decoded::Event(..)), "the record before is unaffected");
    assert!(matches!(decode(&changes[2]), Decoded::Event(..)), "the record after is unaffected");
    assert_eq!(changes[1].position, position_string(2), "the record is reported by its own SequenceNumber");
    match decode(&changes[1]) {
        Decoded::Event(..) => (Class::Event, String::new()),
        Decoded::Ignored => (Class::Ignored, String::new()),
        Decoded::Poison(reason) => (Class::Poison(""), reason),
    }
}

#[test]
fn every_corpus_record_gets_its_classification() {
    let cases = corpus();
    let mut wrong = Vec::new();
    for (name, record, expected) in &cases {
        let (class, reason) = classify_middle(&event_bytes(record));
        let ok = match (expected, &class) {
            (Class::Poison(text), Class::Poison(_)) => reason.contains(text),
            (e, c) => e == c,
        };
        if !ok {
            wrong.push(format!("{name}: expected {expected:?}, got {class:?} {reason:.200}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases misclassified:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    let count = |f: fn(&Class) -> bool| cases.iter().filter(|(_, _, c)| f(c)).count();
    eprintln!(
        "stream corpus: {} records: {} poison, {} failed invocations, {} ignored, {} events",
        cases.len(),
        count(|c| matches!(c, Class::Poison(_))),
        count(|c| *c == Class::Invocation),
        count(|c| *c == Class::Ignored),
        count(|c| *c == Class::Event),
    );
}

#[test]
fn invalid_utf8_bytes_fail_the_invocation_not_the_process() {
    let mut bytes = event_bytes(&text(record()));
    let at = bytes.windows(5).position(|w| w == b"o-bad").unwrap();
    bytes[at + 2] = 0xff;
    assert!(runtime_deserialize(&bytes).is_err());
    assert!(runtime_deserialize(b"").is_err());
    assert!(runtime_deserialize(b"{}").is_err(), "no Records list");
}

#[tokio::test]
async fn poison_records_are_reported_and_never_snapshotted() {
    let t = TestTables::new().await;
    let settings = StrategySettings { event_count_threshold: 1, ..StrategySettings::default() };
    let service =
        StreamSnapshotter::new(t.repository(), settings, Arc::new(ManualClock::at(1_800_000_000_000)));
    let mut poison = 0;
    for (name, record, expected) in corpus() {
        if !matches!(expected, Class::Poison(_)) {
            continue;
        }
        poison += 1;
        let bytes = format!(r#"{{"Records":[{record}]}}"#);
        let event = runtime_deserialize(bytes.as_bytes()).unwrap();
        let metrics = Metrics::recorded(FUNCTION);
        let response = snapshot_stream::handle(&service, &metrics, event).await.unwrap();
        assert_eq!(metrics.last().map(|m| m["RecordsPoison"]), Some(1), "{name}: counted as poison");
        let failed: Vec<_> =
            response.batch_item_failures.iter().filter_map(|f| f.item_identifier.clone()).collect();
        assert_eq!(failed, vec![position_string(2)], "{name}");
    }
    assert!(poison > 40, "{poison}");
    let scan = t.client.scan().table_name(&t.snapshots_table).send().await.unwrap();
    assert_eq!(scan.count(), 0, "no poison record produced a snapshot");
}

/// Paths inside a record that the parser must ignore, and the NewImage attributes it needs.
const IRRELEVANT: &[&str] = &[
    "/eventID",
    "/eventVersion",
    "/eventSource",
    "/awsRegion",
    "/eventSourceARN",
    "/dynamodb/ApproximateCreationDateTime",
    "/dynamodb/SizeBytes",
    "/dynamodb/StreamViewType",
    "/dynamodb/Keys",
];
const REQUIRED: &[&str] =
    &["orderId", "sequence", "eventId", "eventType", "payload", "schemaVersion", "occurredAt"];

fn classify_record(record: &Value) -> Result<Decoded, ()> {
    let bytes = format!(r#"{{"Records":[{record}]}}"#);
    let event = runtime_deserialize(bytes.as_bytes()).map_err(|_| ())?;
    let changes = parse(&event).map_err(|_| ())?;
    Ok(decode(&changes[0]))
}

fn original() -> RecordedEvent {
    good("o-bad", 2)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever replaces a field the parser does not read, the event is the same.
    #[test]
    fn fields_outside_the_image_do_not_change_the_event(which in 0..IRRELEVANT.len(), value in arb_json()) {
        let mut r = record();
        *r.pointer_mut(IRRELEVANT[which]).unwrap() = value;
        prop_assert_eq!(classify_record(&r), Ok(Decoded::Event(shared::domain::samples::order_id(&original().order_id), original())));
    }

    /// A required attribute removed, or its value replaced by anything that is not the same
    /// typed value, makes the record poison: never an event, never a panic.
    #[test]
    fn a_damaged_required_attribute_is_poison(which in 0..REQUIRED.len(), value in arb_json(), remove in any::<bool>()) {
        let mut r = record();
        let image = r.pointer_mut("/dynamodb/NewImage").unwrap().as_object_mut().unwrap();
        let name = REQUIRED[which];
        let before = image[name].clone();
        if remove {
            image.remove(name);
        } else {
            prop_assume!(value != before);
            image.insert(name.to_owned(), value);
        }
        match classify_record(&r) {
            Ok(Decoded::Poison(_)) => {}
            Ok(Decoded::Event(_, e)) => {
                // the only way to stay an event: an equivalent typed value (e.g. {"N": "2.0"})
                prop_assert!(!remove);
                prop_assert_eq!(&e.event, &original().event);
            }
            other => prop_assert!(false, "{} -> {:?}", name, other),
        }
    }

    /// Any JSON value as a record: classified, never a panic, never an event.
    #[test]
    fn random_json_records_are_never_events(record in arb_json()) {
        prop_assert!(!matches!(classify_record(&record), Ok(Decoded::Event(..))));
    }

    /// Any bytes as the payload: an error or a parse, never a panic.
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(event) = runtime_deserialize(&bytes) {
            let _ = parse(&event).map(|changes| changes.iter().map(decode).count());
        }
    }

    /// Truncating a good event anywhere fails the invocation cleanly or leaves whole records.
    #[test]
    fn a_truncated_event_never_panics(cut in 0usize..2000) {
        let bytes = event_bytes(&text(record()));
        let cut = cut.min(bytes.len());
        if let Ok(event) = runtime_deserialize(&bytes[..cut]) {
            prop_assert!(parse(&event).is_ok());
        }
    }
}
