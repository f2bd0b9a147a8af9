//! The snapshot half of the conformance corpus (`conformance/load/`): an order's event items
//! and snapshot items as DynamoDB returns them, each snapshot plain or deflated, whole or with
//! one kind of damage, and the verdict a reader must reach: the snapshot it uses (or a replay),
//! the reason code of each newer one it passes over, and the state. The committed files are
//! what this code's checks make of the cases, and this code's load, run against the items on
//! the local server, reaches the same verdict.

use super::conformance::committed;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use shared::domain::fingerprint::{canonical, sorted};
use shared::domain::samples::order_id as oid;
use shared::domain::{Money, Order, OrderEvent, RecordedEvent};
use shared::store::dynamo::Item;
use shared::store::events::event_to_item;
use shared::store::snapshots::codec::{self, checksum};
use shared::store::snapshots::{ANCHOR_MISMATCH, NewSnapshot, SnapshotMetadata};
use std::path::{Path, PathBuf};
use testkit::TestTables;

fn load_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/load")
}

/// One case: the order's events, its snapshot items newest first, and the rule it shows.
struct LoadCase {
    name: &'static str,
    rule: &'static str,
    events: Vec<Item>,
    snapshots: Vec<Item>,
}

/// Created, then `len - 1` items of one SKU each (`wide`: names long enough that the state
/// passes 8 KiB and is stored deflated).
fn history(order: &str, len: u64, wide: bool) -> Vec<RecordedEvent> {
    let created = OrderEvent::OrderCreated { customer_id: "c-1".into(), currency: "EUR".into() };
    let mut events = vec![shared::domain::samples::recorded(order, 1, created)];
    for seq in 2..=len {
        let name = if wide {
            format!("Product {seq} {}", "with a long name ".repeat(12))
        } else {
            format!("Product {seq}")
        };
        let added = OrderEvent::ItemAdded {
            sku: format!("SKU-{seq}"),
            name,
            quantity: 1,
            unit_price: Money::from_minor(250),
        };
        events.push(shared::domain::samples::recorded(order, seq, added));
    }
    events
}

/// The stored snapshot of `events` up to `version`, made deterministic (a fixed write id,
/// time and writer build).
fn snapshot(events: &[RecordedEvent], version: u64) -> Item {
    let state = Order::replay(&events[0].order_id, &events[..version as usize]).unwrap();
    let new = NewSnapshot {
        state,
        timestamp: 1_700_000_000_000 + version as i64 * 60_000,
        created_by: "stream".into(),
        reason: "conformance".into(),
        strategy: None,
        rule: None,
    };
    let (mut item, _) = codec::encode(&new).unwrap();
    item.insert("writeId".into(), AttributeValue::S(format!("write-{version}")));
    edit_metadata(&mut item, |m| m.writer_build = Some("conformance".into()));
    item
}

fn edit_metadata(item: &mut Item, edit: impl FnOnce(&mut SnapshotMetadata)) {
    let mut metadata: SnapshotMetadata =
        serde_dynamo::from_attribute_value(item["metadata"].clone()).unwrap();
    edit(&mut metadata);
    item.insert("metadata".into(), serde_dynamo::to_attribute_value(&metadata).unwrap());
}

fn set_state(item: &mut Item, json: &[u8]) {
    item.insert("state".into(), AttributeValue::B(json.to_vec().into()));
    edit_metadata(item, |m| {
        m.checksum = checksum(json);
        m.state_bytes = json.len() as u64;
    });
}

/// The events' items, each payload's keys in ascending order (the text `event_to_item` writes
/// keeps serde_json's key order, which its features decide; the corpus is the same from every
/// build).
fn items(events: &[RecordedEvent]) -> Vec<Item> {
    events
        .iter()
        .map(|event| {
            let mut item = event_to_item(event);
            let payload: Value = serde_json::from_str(&event.event.payload_json()).unwrap();
            item.insert("payload".into(), AttributeValue::S(canonical(&payload)));
            item
        })
        .collect()
}

fn case(
    name: &'static str,
    rule: &'static str,
    len: u64,
    versions: &[u64],
    damage: impl FnOnce(&mut LoadCase),
) -> LoadCase {
    let events = history(name, len, name.contains("deflated"));
    let snapshots = versions.iter().map(|v| snapshot(&events, *v)).collect();
    let mut case = LoadCase { name, rule, events: items(&events), snapshots };
    damage(&mut case);
    case
}

fn cases() -> Vec<LoadCase> {
    let mut cases = vec![
        case("no-snapshot-replays", "an order without a snapshot is a replay of its events", 4, &[], |_| {}),
        case(
            "a-plain-snapshot-and-its-tail",
            "a usable JSON snapshot, then the events after it folded onto its state",
            7,
            &[5],
            |_| {},
        ),
        case(
            "a-deflated-snapshot-and-its-tail",
            "a state above 8 KiB is stored as raw DEFLATE (RFC 1951) and read back inflated",
            40,
            &[38],
            |_| {},
        ),
        case(
            "the-newest-usable-snapshot-is-used",
            "of several usable snapshots the newest is used",
            9,
            &[8, 4],
            |_| {},
        ),
        case(
            "a-checksum-mismatch-is-unusable",
            "a state whose SHA-256 is not the metadata's checksum is not used",
            6,
            &[5],
            |c| {
                edit_metadata(&mut c.snapshots[0], |m| m.checksum = checksum(b"something else"));
            },
        ),
        case(
            "an-unknown-state-encoding-is-unusable",
            "a stateEncoding this reader does not know is not used",
            6,
            &[5],
            |c| {
                let mut metadata = c.snapshots[0]["metadata"].as_m().unwrap().clone();
                metadata.insert("stateEncoding".into(), AttributeValue::S("JSON_GZIP".into()));
                c.snapshots[0].insert("metadata".into(), AttributeValue::M(metadata));
            },
        ),
        case(
            "a-damaged-deflate-stream-is-unusable",
            "deflated bytes that do not inflate are not used",
            40,
            &[38],
            |c| {
                let mut bytes = c.snapshots[0]["state"].as_b().unwrap().as_ref().to_vec();
                bytes.truncate(bytes.len() / 2);
                bytes.extend_from_slice(&[0xff; 16]);
                c.snapshots[0].insert("state".into(), AttributeValue::B(bytes.into()));
            },
        ),
        case(
            "an-unknown-state-schema-version-is-unusable",
            "a stateSchemaVersion this reader does not know is not used",
            6,
            &[5],
            |c| {
                edit_metadata(&mut c.snapshots[0], |m| m.state_schema_version += 1);
            },
        ),
        case(
            "another-folds-snapshot-is-unusable",
            "a snapshot whose foldFingerprint is not the reader's is not used",
            6,
            &[5],
            |c| {
                edit_metadata(&mut c.snapshots[0], |m| {
                    m.fold_fingerprint = Some("fold-0000000000000000".into())
                });
            },
        ),
        case(
            "a-snapshot-without-a-fingerprint-is-unusable",
            "a snapshot that names no fold is not used",
            6,
            &[5],
            |c| {
                edit_metadata(&mut c.snapshots[0], |m| m.fold_fingerprint = None);
            },
        ),
        case(
            "a-repaired-anchor-event-makes-it-unusable",
            "the stored event at lastEventSequence must still have the id the state was folded from",
            6,
            &[5],
            |c| {
                c.events[4].insert("eventId".into(), AttributeValue::S("repaired-in-place".into()));
            },
        ),
        case(
            "a-version-other-than-its-last-event-is-unusable",
            "version, lastEventSequence and the state's version must be one number",
            6,
            &[5],
            |c| {
                c.snapshots[0].insert("lastEventSequence".into(), AttributeValue::N("4".into()));
            },
        ),
        case(
            "a-state-of-another-order-is-unusable",
            "the state must be the order its key names",
            6,
            &[5],
            |c| {
                let mut state: Value =
                    serde_json::from_slice(c.snapshots[0]["state"].as_b().unwrap().as_ref()).unwrap();
                state["id"] = json!("another-order");
                set_state(&mut c.snapshots[0], &serde_json::to_vec(&sorted(state)).unwrap());
            },
        ),
        case(
            "a-state-that-is-not-an-order-is-unusable",
            "a state that does not fit the order state schema is not used, even with a matching checksum",
            6,
            &[5],
            |c| {
                let mut state: Value =
                    serde_json::from_slice(c.snapshots[0]["state"].as_b().unwrap().as_ref()).unwrap();
                state["total"] = json!("250");
                set_state(&mut c.snapshots[0], &serde_json::to_vec(&sorted(state)).unwrap());
            },
        ),
        case(
            "an-unusable-newest-falls-back-to-an-older-one",
            "a reader passes over an unusable newest snapshot to the newest usable one",
            9,
            &[8, 4],
            |c| {
                edit_metadata(&mut c.snapshots[0], |m| m.checksum = checksum(b"x"));
            },
        ),
    ];
    cases.sort_by_key(|c| c.name);
    cases
}

/// The verdict a reader must reach: the first usable snapshot (newest first; usable means every
/// check of `codec::decode` holds and the anchor event still has its id), the codes of those
/// passed over, and the state a replay gives (a usable snapshot and its tail give the same).
fn verdict(case: &LoadCase) -> Value {
    let events: Vec<RecordedEvent> =
        case.events.iter().map(|i| shared::store::events::event_from_item(i).unwrap()).collect();
    let state = Order::replay(case.name, &events).unwrap();
    let mut passed_over = Vec::new();
    for item in &case.snapshots {
        let code = match codec::decode(item) {
            Err(unusable) => unusable.code(),
            Ok(s) => {
                let anchor = events.iter().find(|e| e.sequence == s.last_event_sequence);
                if anchor.map(|e| Some(&e.event_id)) == Some(s.state.last_event_id.as_ref()) {
                    return json!({ "from": "snapshot", "snapshotVersion": s.version, "unusable": passed_over, "state": state });
                }
                ANCHOR_MISMATCH
            }
        };
        passed_over.push(code);
    }
    json!({ "from": "replay", "unusable": passed_over, "state": state })
}

fn file_of(case: &LoadCase) -> Value {
    json!({
        "name": case.name,
        "rule": case.rule,
        "events": case.events.iter().map(dynamo_json).collect::<Vec<_>>(),
        "snapshots": case.snapshots.iter().map(dynamo_json).collect::<Vec<_>>(),
        "expected": verdict(case),
    })
}

/// An item as DynamoDB JSON (`{"S": …}`, `{"N": …}`, `{"B": base64}`, `{"M": …}`, …).
fn dynamo_json(item: &Item) -> Value {
    fn value(v: &AttributeValue) -> Value {
        match v {
            AttributeValue::S(s) => json!({ "S": s }),
            AttributeValue::N(n) => json!({ "N": n }),
            AttributeValue::B(b) => json!({ "B": base64(b.as_ref()) }),
            AttributeValue::Bool(b) => json!({ "BOOL": b }),
            AttributeValue::Null(_) => json!({ "NULL": true }),
            AttributeValue::M(m) => json!({ "M": dynamo_json(m) }),
            AttributeValue::L(l) => json!({ "L": l.iter().map(value).collect::<Vec<_>>() }),
            other => panic!("no such attribute in the corpus: {other:?}"),
        }
    }
    let mut names: Vec<&String> = item.keys().collect();
    names.sort();
    Value::Object(names.into_iter().map(|n| (n.clone(), value(&item[n]))).collect())
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char
            } else {
                '='
            });
        }
    }
    out
}

#[test]
fn the_committed_load_cases_are_what_the_code_makes_of_them() {
    let files = cases().iter().map(|case| (case.name.to_owned(), file_of(case))).collect();
    committed(&load_dir(), files, "run `make conformance`");
}

#[test]
fn the_cases_cover_every_reason_and_both_encodings() {
    let verdicts: Vec<Value> = cases().iter().map(verdict).collect();
    let reasons: std::collections::BTreeSet<&str> =
        verdicts.iter().flat_map(|v| v["unusable"].as_array().unwrap()).filter_map(Value::as_str).collect();
    let expected = [
        "anchor_mismatch",
        "checksum_mismatch",
        "fold_changed",
        "inconsistent_keys",
        "malformed_metadata",
        "undecodable_state",
        "unknown_state_schema",
    ];
    assert_eq!(reasons, expected.into_iter().collect());
    let encodings: std::collections::BTreeSet<String> = cases()
        .iter()
        .flat_map(|c| c.snapshots.iter())
        .filter_map(|s| s["metadata"].as_m().ok()?.get("stateEncoding")?.as_s().ok().cloned())
        .collect();
    assert!(encodings.contains("JSON") && encodings.contains("JSON_DEFLATE"), "{encodings:?}");
    assert_eq!(base64(b"snapshot"), "c25hcHNob3Q=");
}

/// The load reaches each committed verdict from the items on the local server. (Without the
/// read-ahead: with it, a load that reads a short order's whole history beside the snapshot
/// replays it and does not wait for the snapshot, a correct load that says nothing of it.)
#[tokio::test]
async fn the_load_reaches_every_verdict_from_the_stored_items() {
    let t = TestTables::new().await;
    let repository = t.repository().with_read_ahead(None);
    for case in cases() {
        for item in &case.events {
            t.client
                .put_item()
                .table_name(&t.events_table)
                .set_item(Some(item.clone()))
                .send()
                .await
                .unwrap();
        }
        for item in &case.snapshots {
            t.client
                .put_item()
                .table_name(&t.snapshots_table)
                .set_item(Some(item.clone()))
                .send()
                .await
                .unwrap();
        }
        let expected = verdict(&case);
        let loaded = repository.load(&oid(case.name)).await.unwrap().unwrap();
        assert_eq!(serde_json::to_value(&loaded.order).unwrap(), expected["state"], "{}", case.name);
        assert_eq!(
            loaded.cost.snapshot_version.map(Value::from),
            expected.get("snapshotVersion").cloned(),
            "{}",
            case.name
        );
        let passed_over = expected["unusable"].as_array().unwrap().len() as u32;
        assert_eq!(loaded.cost.unusable_snapshots, passed_over, "{}", case.name);
    }
}
