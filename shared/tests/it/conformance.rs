//! The fold's conformance corpus (`conformance/fold/`): the committed files are what this
//! code makes of its cases, their event items read through the store's reader as through the
//! domain's, and the fingerprint is the hash of the committed files' expected outputs.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use shared::domain::corpus::{FoldCase, cases};
use shared::domain::fingerprint::{self, expected_of, fingerprint_from, occurred_at, sorted};
use shared::domain::{MAX_AMOUNT, Order, OrderEvent, RecordedEvent, STATE_SCHEMA_VERSION};
use shared::store::dynamo::Item;
use shared::store::events::event_from_item;
use std::path::{Path, PathBuf};

fn fold_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/fold")
}

fn fold(id: &str, events: &[RecordedEvent]) -> Result<Order, shared::domain::FoldError> {
    Order::replay(id, events)
}

/// The case's events as DynamoDB returns them (DynamoDB JSON), and as the SDK holds them.
fn items(case: &FoldCase) -> Vec<(Value, Item)> {
    case.events
        .iter()
        .zip(1u64..)
        .map(|(stored, sequence)| {
            let attributes = [
                ("orderId", "S", case.name.to_owned()),
                ("sequence", "N", sequence.to_string()),
                ("eventId", "S", format!("{}-{sequence}", case.name)),
                ("eventType", "S", stored.event_type.to_owned()),
                ("schemaVersion", "N", stored.schema_version.to_string()),
                ("payload", "S", stored.payload.to_owned()),
                ("occurredAt", "N", occurred_at(sequence).to_string()),
            ];
            let json = attributes
                .iter()
                .map(|(name, kind, value)| (name.to_string(), json!({ *kind: value })))
                .collect();
            let item = attributes
                .into_iter()
                .map(|(name, kind, value)| {
                    let value = if kind == "S" { AttributeValue::S(value) } else { AttributeValue::N(value) };
                    (name.to_owned(), value)
                })
                .collect();
            (Value::Object(json), item)
        })
        .collect()
}

/// A case's file: its rule, its events as DynamoDB returns them, and after each event the
/// state or the refusal's code.
fn file_of(case: &FoldCase) -> Value {
    let events: Vec<Value> = items(case).into_iter().map(|(json, _)| json).collect();
    json!({
        "name": case.name,
        "rule": case.rule,
        "stateSchemaVersion": STATE_SCHEMA_VERSION,
        "events": events,
        "expected": expected_of(case, OrderEvent::decode, fold),
    })
}

/// The committed files of `dir` are `files` (name, content), and no others; with
/// `UPDATE_CONFORMANCE=1` (`make conformance`) they are written instead. Keys are sorted: the
/// files are the same from every build.
pub(crate) fn committed(dir: &Path, files: Vec<(String, Value)>, after: &str) {
    let update = std::env::var_os("UPDATE_CONFORMANCE").is_some();
    if update {
        std::fs::create_dir_all(dir).unwrap();
        for entry in std::fs::read_dir(dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
    }
    let mut stale = Vec::new();
    for (name, content) in &files {
        let text = serde_json::to_string_pretty(&sorted(content.clone())).unwrap() + "\n";
        let path = dir.join(format!("{name}.json"));
        if update {
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name.as_str());
        }
    }
    let shown = dir.display();
    assert!(
        stale.is_empty(),
        "{shown} differs from what this code makes of its cases: review, then {after}: {stale:?}"
    );
    let names: Vec<String> = files.iter().map(|(name, _)| format!("{name}.json")).collect();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(names.contains(&name), "{shown}/{name} is no case any more: remove it");
    }
}

#[test]
fn the_committed_fold_cases_are_what_the_code_makes_of_them() {
    let files = cases().iter().map(|case| (case.name.to_owned(), file_of(case))).collect();
    committed(
        &fold_dir(),
        files,
        "run `make conformance` and write the new fingerprint into fold.fingerprint",
    );
}

#[test]
fn the_store_reads_every_case_item_as_the_domain_reads_its_payload() {
    for case in cases() {
        for ((_, item), stored) in items(&case).iter().zip(&case.events) {
            let domain = OrderEvent::decode(stored.event_type, stored.schema_version, stored.payload);
            match (event_from_item(item), domain) {
                (Ok(read), Ok(event)) => assert_eq!(read.event, event, "{}", case.name),
                (Err(read), Err(e)) => assert!(read.to_string().contains(&e.to_string()), "{}", case.name),
                (read, domain) => panic!("{}: the store read {read:?}, the domain {domain:?}", case.name),
            }
        }
    }
}

#[test]
fn the_fingerprint_is_the_hash_of_the_committed_files() {
    let mut outputs = Vec::new();
    for entry in std::fs::read_dir(fold_dir()).unwrap() {
        let file: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        assert_eq!(file["stateSchemaVersion"], json!(STATE_SCHEMA_VERSION));
        let name = file["name"].as_str().unwrap().to_owned();
        outputs.push((name, file["expected"].as_array().unwrap().clone()));
    }
    let outputs: Vec<(&str, Vec<Value>)> = outputs.iter().map(|(n, o)| (n.as_str(), o.clone())).collect();
    let from_files = fingerprint_from(STATE_SCHEMA_VERSION, &outputs);
    assert_eq!(from_files, fingerprint::current(), "the committed files hash to another fingerprint");
}

#[test]
fn no_number_in_the_corpus_is_beyond_the_safe_integers() {
    fn check(value: &Value, path: &str) {
        match value {
            Value::Number(n) => {
                let fits = n.as_i64().is_some_and(|i| (-MAX_AMOUNT..=MAX_AMOUNT).contains(&i));
                assert!(fits, "{path}: {n} is not an integer within ±(2^53 - 1)");
            }
            Value::Array(items) => {
                items.iter().enumerate().for_each(|(i, v)| check(v, &format!("{path}/{i}")))
            }
            Value::Object(map) => map.iter().for_each(|(k, v)| check(v, &format!("{path}/{k}"))),
            _ => {}
        }
    }
    // (a payload is text: the case that refuses an amount beyond them holds it as text)
    for case in cases() {
        check(&file_of(&case), case.name);
    }
}
