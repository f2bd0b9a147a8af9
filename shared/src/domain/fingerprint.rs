//! The fold's fingerprint: what this code makes of the conformance corpus (`corpus.rs`), from
//! the payload text as stored to the state after every event, hashed with the state schema
//! version. Each event goes through the decode and upcast path every load uses
//! (`OrderEvent::decode`: payload JSON, schema version, upcasters, the reader's defaults), then
//! the fold. A deploy that changes any of these for any case changes the fingerprint, and
//! snapshots written under another fingerprint are unusable (invariant 8 in
//! docs/invariants.md): they are a cache of code that no longer runs. The maintenance function
//! notices the change on its next turn and renews them by itself.
//!
//! The hash is of the corpus's expected outputs as `conformance/fold/` publishes them, in a
//! form any language computes from those files (`conformance/README.md` states it): so an
//! implementation that passes the corpus knows the fingerprint of the fold it matches. The
//! current value is committed in `fold.fingerprint`; a test fails when the code's differs.

use super::corpus::{FoldCase, cases};
use super::events::{EventDecodeError, OrderEvent, RecordedEvent};
use super::fold::FoldError;
use super::order::{Order, STATE_SCHEMA_VERSION};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The fingerprint of this code's decode and fold, computed once per process.
pub fn current() -> &'static str {
    static CURRENT: OnceLock<String> = OnceLock::new();
    CURRENT.get_or_init(|| fingerprint_of(OrderEvent::decode, |id, events| Order::replay(id, events)))
}

/// The fingerprint of `decode` then `fold` over every case of the corpus.
pub fn fingerprint_of(
    decode: impl Fn(&str, u32, &str) -> Result<OrderEvent, EventDecodeError>,
    fold: impl Fn(&str, &[RecordedEvent]) -> Result<Order, FoldError>,
) -> String {
    let outputs: Vec<(&str, Vec<Value>)> =
        cases().iter().map(|case| (case.name, expected_of(case, &decode, &fold))).collect();
    fingerprint_from(STATE_SCHEMA_VERSION, &outputs)
}

/// What `decode` then `fold` make of a case: after each event, `{"state": …}` or
/// `{"refused": code}`; a refusal ends the history (nothing after it can be read).
pub fn expected_of(
    case: &FoldCase,
    decode: impl Fn(&str, u32, &str) -> Result<OrderEvent, EventDecodeError>,
    fold: impl Fn(&str, &[RecordedEvent]) -> Result<Order, FoldError>,
) -> Vec<Value> {
    let mut events = Vec::with_capacity(case.events.len());
    let mut outputs = Vec::with_capacity(case.events.len());
    for (stored, sequence) in case.events.iter().zip(1u64..) {
        let event = match decode(stored.event_type, stored.schema_version, stored.payload) {
            Ok(event) => event,
            Err(e) => {
                outputs.push(json!({ "refused": e.code() }));
                break;
            }
        };
        events.push(recorded(case.name, sequence, event));
        match fold(case.name, &events) {
            Ok(state) => outputs.push(json!({ "state": state })),
            Err(e) => {
                outputs.push(json!({ "refused": e.code() }));
                break;
            }
        }
    }
    outputs
}

/// A case's event as stored: its order is the case's name, its id `<name>-<sequence>`.
fn recorded(case: &str, sequence: u64, event: OrderEvent) -> RecordedEvent {
    let event_id = format!("{case}-{sequence}");
    RecordedEvent { order_id: case.to_owned(), sequence, event_id, occurred_at: occurred_at(sequence), event }
}

/// When a case's event happened: one minute apart from 2023-11-14T22:13:20Z.
pub fn occurred_at(sequence: u64) -> i64 {
    1_700_000_000_000 + sequence as i64 * 60_000
}

/// The hash: SHA-256 of the lines `state-schema <N>`, then for each case in name order
/// `case <name>` and one line per expected output in canonical JSON; `fold-` and the first 16
/// hex digits.
pub fn fingerprint_from(state_schema_version: u32, cases: &[(&str, Vec<Value>)]) -> String {
    let mut sorted: Vec<&(&str, Vec<Value>)> = cases.iter().collect();
    sorted.sort_by_key(|(name, _)| *name);
    let mut hash = Sha256::new();
    hash.update(format!("state-schema {state_schema_version}\n"));
    for (name, outputs) in sorted {
        hash.update(format!("case {name}\n"));
        for output in outputs {
            hash.update(canonical(output));
            hash.update("\n");
        }
    }
    let hex: String = hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("fold-{hex}")
}

/// JSON with every object's keys in ascending order and no whitespace (integers as written;
/// the corpus holds no fractions).
pub fn canonical(value: &Value) -> String {
    sorted(value.clone()).to_string()
}

/// `value` with every object's keys in ascending order, whatever serde_json's features (a
/// workspace build turns `preserve_order` on, which keeps insertion order): what is written
/// from it is the same from every build.
pub fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::upcast::{UPCASTERS, Upcaster};
    use serde_json::{Value, json};

    #[test]
    fn the_fingerprint_is_the_committed_one() {
        assert_eq!(
            current(),
            include_str!("fold.fingerprint").trim(),
            "how stored events are decoded, upcast or folded changed. If that is intended, write \
             the new fingerprint into shared/src/domain/fold.fingerprint: snapshots written before \
             are then refused, and the maintenance function renews them after the deploy"
        );
    }

    #[test]
    fn a_changed_fold_has_another_fingerprint() {
        // given a fold that (wrongly) ignores removals
        let forgetful = |id: &str, events: &[RecordedEvent]| {
            let mut kept: Vec<RecordedEvent> = events
                .iter()
                .filter(|e| !matches!(e.event, OrderEvent::ItemRemoved { .. }))
                .cloned()
                .collect();
            kept.iter_mut().zip(1..).for_each(|(e, seq)| e.sequence = seq);
            Order::replay(id, &kept)
        };
        // then its fingerprint differs, and the same code's is the same every time
        assert_ne!(fingerprint_of(OrderEvent::decode, forgetful), current());
        assert_eq!(fingerprint_of(OrderEvent::decode, |id, events| Order::replay(id, events)), current());
    }

    #[test]
    fn a_changed_upcaster_has_another_fingerprint() {
        // given an ItemAdded v2 upcaster that (wrongly) reads the price as whole units
        fn whole_units(payload: Value) -> Result<Value, String> {
            let cents = payload["unitPriceMinor"].as_i64().ok_or("no price")? * 100;
            Ok(
                json!({"sku": payload["sku"], "name": payload["productName"], "quantity": payload["quantity"], "unitPrice": cents}),
            )
        }
        let changed = [Upcaster::new("ItemAdded", 2, whole_units)];
        let decode = |t: &str, v: u32, p: &str| OrderEvent::decode_by(&changed, t, v, p);
        // then the fingerprint differs; with the shipped upcasters it is the current one
        assert_ne!(fingerprint_of(decode, |id, events| Order::replay(id, events)), current());
        let shipped = |t: &str, v: u32, p: &str| OrderEvent::decode_by(UPCASTERS, t, v, p);
        assert_eq!(fingerprint_of(shipped, |id, events| Order::replay(id, events)), current());
    }

    #[test]
    fn a_changed_reader_default_has_another_fingerprint() {
        // given a reader that fills an absent optional location with a default
        let defaulting = |t: &str, v: u32, p: &str| {
            let mut payload: Value = serde_json::from_str(p).unwrap();
            if t == "ShippingUpdated" && payload.get("location").is_none() {
                payload["location"] = json!("unknown");
            }
            OrderEvent::decode(t, v, &payload.to_string())
        };
        assert_ne!(fingerprint_of(defaulting, |id, events| Order::replay(id, events)), current());
    }

    #[test]
    fn the_corpus_covers_every_event_type_every_upcaster_and_every_refusal() {
        let cases = cases();
        let stored = || cases.iter().flat_map(|case| case.events.iter());
        let types: std::collections::BTreeSet<&str> = stored().map(|s| s.event_type).collect();
        for event_type in super::super::EVENT_TYPES {
            assert!(types.contains(event_type), "no case has a {event_type}");
        }
        for upcaster in UPCASTERS {
            assert!(
                stored()
                    .any(|s| s.event_type == upcaster.event_type
                        && s.schema_version == upcaster.schema_version),
                "no case for the {} v{} upcaster",
                upcaster.event_type,
                upcaster.schema_version
            );
        }
        let decode = OrderEvent::decode;
        let fold = |id: &str, events: &[RecordedEvent]| Order::replay(id, events);
        let refusals: std::collections::BTreeSet<String> = cases
            .iter()
            .flat_map(|case| expected_of(case, decode, fold))
            .filter_map(|output| output.get("refused").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let codes = [
            "unknown_event_type",
            "unsupported_schema_version",
            "invalid_payload",
            "amount_out_of_range",
            "amount_overflow",
        ];
        assert_eq!(refusals, codes.iter().map(|c| c.to_string()).collect());
    }

    #[test]
    fn each_case_names_a_valid_order_and_a_refusal_only_ends_it() {
        let mut names = std::collections::BTreeSet::new();
        for case in cases() {
            assert!(crate::domain::OrderId::parse(case.name).is_ok(), "{} is no order id", case.name);
            assert!(names.insert(case.name), "{} twice", case.name);
            let outputs = expected_of(&case, OrderEvent::decode, |id, events| Order::replay(id, events));
            assert_eq!(outputs.len(), case.events.len(), "{}: events after its refusal", case.name);
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let value = json!({"b": 1, "a": {"d": [true, null, {"z": "x", "y": -2}], "c": "é\"q"}});
        assert_eq!(canonical(&value), r#"{"a":{"c":"é\"q","d":[true,null,{"y":-2,"z":"x"}]},"b":1}"#);
    }
}
