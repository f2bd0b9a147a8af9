//! The published event contract (`schemas/`): what the code generates is what is committed,
//! and a JSON Schema validator in another language (Python's `jsonschema`, from the project's
//! venv) agrees with this code's reader on every case: the sample events, every history the
//! tests write, extra fields, the upcast version, and known-bad items and payloads.

use serde_json::{Value, json};
use shared::domain::{Money, OrderEvent, RecordedEvent};
use shared::store::events::contract;
use shared::store::events::{event_from_item, event_to_item};
use shared::store::snapshots::contract as snapshot_contract;
use std::path::{Path, PathBuf};

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

/// Every published schema: the event contract's, then the snapshot item's and the state's.
fn schemas() -> Vec<(String, Value)> {
    contract::schemas().into_iter().chain(snapshot_contract::schemas()).collect()
}

/// `UPDATE_SCHEMAS=1` (`make schemas`) writes the files instead of comparing.
#[test]
fn the_committed_schemas_are_what_the_code_generates() {
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for (name, schema) in schemas() {
        let path = schemas_dir().join(&name);
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name);
        }
    }
    assert!(stale.is_empty(), "schemas/ is out of date (run `make schemas`): {stale:?}");
    // and nothing is published that the code no longer reads
    let generated: Vec<String> = schemas().into_iter().map(|(name, _)| name).collect();
    for dir in ["", "payloads"] {
        for entry in std::fs::read_dir(schemas_dir().join(dir)).unwrap() {
            let name = Path::new(dir).join(entry.unwrap().file_name()).to_string_lossy().into_owned();
            if name.ends_with(".json") {
                assert!(generated.contains(&name), "schemas/{name} is not generated any more: remove it");
            }
        }
    }
}

/// An item in plain JSON (what a writer sends, before DynamoDB's typing).
fn plain(event: &RecordedEvent) -> Value {
    item_to_plain(&event_to_item(event))
}

fn item_to_plain(item: &shared::store::dynamo::Item) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut out = serde_json::Map::new();
    for (name, value) in item {
        let v = match value {
            AttributeValue::S(s) => json!(s),
            AttributeValue::N(n) => serde_json::from_str(n).unwrap_or_else(|_| json!(n)),
            other => panic!("unexpected attribute {name}: {other:?}"),
        };
        out.insert(name.clone(), v);
    }
    Value::Object(out)
}

/// The typed item DynamoDB would hold: strings as S, numbers as N, anything else as a map
/// the reader must refuse.
fn plain_to_item(plain: &Value) -> shared::store::dynamo::Item {
    use aws_sdk_dynamodb::types::AttributeValue;
    plain
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, v)| {
            let value = match v {
                Value::String(s) => AttributeValue::S(s.clone()),
                Value::Number(n) => AttributeValue::N(n.to_string()),
                other => AttributeValue::Bool(!other.is_null()),
            };
            (name.clone(), value)
        })
        .collect()
}

/// Whether this code reads the item as the stream function and loads do.
fn reader_accepts(plain: &Value) -> bool {
    let item = plain_to_item(plain);
    event_from_item(&item)
        .is_ok_and(|e| e.sequence > 0 && shared::domain::OrderId::parse(e.order_id.as_str()).is_ok())
}

/// Python's verdict on each item.
fn validated_in_python(items: &[Value]) -> Vec<(bool, Option<String>)> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(testkit::venv_python())
        .arg(schemas_dir().join("validate.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the venv's python (make venv)");
    child.stdin.take().unwrap().write_all(&serde_json::to_vec(items).unwrap()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "validate.py failed");
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    results.iter().map(|r| (r["valid"] == true, r["error"].as_str().map(str::to_owned))).collect()
}

fn with(mut plain: Value, name: &str, value: Value) -> Value {
    plain[name] = value;
    plain
}

fn with_payload(plain: Value, payload: Value) -> Value {
    with(plain, "payload", json!(payload.to_string()))
}

/// The NewImages of every INSERT in a stream sample file, in plain JSON.
fn sample_images(file: &str) -> Vec<Value> {
    let path = format!("{}/../events/snapshot-stream/{file}", env!("CARGO_MANIFEST_DIR"));
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["eventName"] == "INSERT")
        .map(|r| {
            let image = r["dynamodb"]["NewImage"].as_object().unwrap();
            let plain: serde_json::Map<String, Value> = image
                .iter()
                .map(|(k, v)| match (v.get("S"), v.get("N")) {
                    (Some(s), _) => (k.clone(), s.clone()),
                    (_, Some(Value::String(n))) => (k.clone(), serde_json::from_str(n).unwrap()),
                    _ => (k.clone(), v.clone()),
                })
                .collect();
            Value::Object(plain)
        })
        .collect()
}

#[test]
fn the_schemas_and_the_reader_agree_on_every_case() {
    use proptest::strategy::{Strategy, ValueTree};
    use shared::domain::samples::{one_of_each_event, recorded};

    // (name, item, expected to be valid)
    let mut cases: Vec<(String, Value, bool)> = Vec::new();
    for file in ["insert-batch.json", "mixed-batch.json"] {
        for (i, image) in sample_images(file).into_iter().enumerate() {
            cases.push((format!("events/snapshot-stream/{file} #{i}"), image, true));
        }
    }
    let malformed = sample_images("malformed-record.json");
    let bad_in_sample = malformed.iter().filter(|image| !reader_accepts(image)).count();
    assert_eq!(bad_in_sample, 2, "malformed-record.json holds its two bad records");
    for (i, image) in malformed.into_iter().enumerate() {
        let readable = reader_accepts(&image);
        cases.push((format!("events/snapshot-stream/malformed-record.json #{i}"), image, readable));
    }
    // what the tests write: every event type, the histories, random histories
    let mut written: Vec<RecordedEvent> =
        one_of_each_event().into_iter().zip(1..).map(|(e, seq)| recorded("o-1", seq, e)).collect();
    written.extend(testkit::plain_history("o-2", 30));
    written.extend(testkit::history("o-3", 12, |seq| OrderEvent::ShippingUpdated {
        status: format!("hop {seq}"),
        location: None,
    }));
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..16 {
        written.extend(testkit::arb_history("o-4", 1..40).new_tree(&mut runner).unwrap().current());
    }
    for (i, event) in written.iter().enumerate() {
        cases.push((format!("written #{i} {}", event.event.event_type()), plain(event), true));
        // a newer writer's extra fields are read, not refused
        let mut payload: Value = serde_json::from_str(&event.event.payload_json()).unwrap();
        payload["giftWrap"] = json!(true);
        payload["trace"] = json!({"id": "abc", "hops": [1, 2]});
        cases.push((format!("written #{i} with extra fields"), with_payload(plain(event), payload), true));
    }
    // the upcast version
    let item_added = plain(&recorded(
        "o-5",
        1,
        OrderEvent::ItemAdded {
            sku: "A".into(),
            name: "Mug".into(),
            quantity: 2,
            unit_price: Money::from_minor(450),
        },
    ));
    let v2 = json!({"sku": "A", "productName": "Mug", "quantity": 2, "unitPriceMinor": 450});
    cases.push((
        "ItemAdded v2".into(),
        with(with_payload(item_added.clone(), v2.clone()), "schemaVersion", json!(2)),
        true,
    ));
    // known-bad items and payloads
    let bad: Vec<(&str, Value)> = vec![
        ("unknown event type", with(item_added.clone(), "eventType", json!("OrderLevitated"))),
        ("schema version 0", with(item_added.clone(), "schemaVersion", json!(0))),
        ("a version nothing reads", with(item_added.clone(), "schemaVersion", json!(3))),
        ("a v1 payload labelled 2", with(item_added.clone(), "schemaVersion", json!(2))),
        ("a v2 payload labelled 1", with_payload(item_added.clone(), v2)),
        ("sequence 0", with(item_added.clone(), "sequence", json!(0))),
        ("sequence as text", with(item_added.clone(), "sequence", json!("1"))),
        ("order id with a slash", with(item_added.clone(), "orderId", json!("../o-5"))),
        ("occurredAt as text", with(item_added.clone(), "occurredAt", json!("yesterday"))),
        ("payload not JSON", with(item_added.clone(), "payload", json!("{sku: A"))),
        (
            "payload missing a field",
            with_payload(item_added.clone(), json!({"sku": "A", "quantity": 1, "unitPrice": 5})),
        ),
        (
            "quantity as text",
            with_payload(
                item_added.clone(),
                json!({"sku": "A", "name": "x", "quantity": "1", "unitPrice": 5}),
            ),
        ),
        (
            "negative quantity",
            with_payload(
                item_added.clone(),
                json!({"sku": "A", "name": "x", "quantity": -1, "unitPrice": 5}),
            ),
        ),
        (
            "quantity past u32",
            with_payload(
                item_added.clone(),
                json!({"sku": "A", "name": "x", "quantity": 4294967296u64, "unitPrice": 5}),
            ),
        ),
        (
            "money with a fraction",
            with_payload(
                item_added.clone(),
                json!({"sku": "A", "name": "x", "quantity": 1, "unitPrice": 5.5}),
            ),
        ),
    ];
    let mut missing_id = item_added.clone();
    missing_id.as_object_mut().unwrap().remove("eventId");
    cases.push(("eventId missing".into(), missing_id, false));
    cases.extend(bad.into_iter().map(|(name, item)| (name.to_owned(), item, false)));

    let items: Vec<Value> = cases.iter().map(|(_, item, _)| item.clone()).collect();
    let verdicts = validated_in_python(&items);
    let mut wrong = Vec::new();
    for ((name, item, expected), (valid, error)) in cases.iter().zip(&verdicts) {
        let read = reader_accepts(item);
        if *valid != *expected || read != *expected {
            wrong.push(format!("{name}: expected {expected}, schema {valid} ({error:?}), reader {read}"));
        }
    }
    assert!(wrong.is_empty(), "{} of {} cases disagree:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
    let valid = cases.iter().filter(|c| c.2).count();
    eprintln!(
        "contract: {} items, {valid} valid and {} invalid, schema and reader agree",
        cases.len(),
        cases.len() - valid
    );
}
