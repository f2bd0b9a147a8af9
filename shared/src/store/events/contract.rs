//! The event contract, as JSON Schema for writers in other languages: one schema for the
//! event item and one for each (event type, schema version) payload this code reads, all
//! generated from the Rust types that read them. They are committed under `schemas/`
//! (`make schemas` writes them; a test fails when they differ from what the code generates).
//!
//! Payload schemas allow properties they do not list: the reader ignores fields it does not
//! know (see `domain/events.rs`). The snapshot item and the order state are published beside
//! them (`store/snapshots/contract.rs`).

use crate::domain::fingerprint::sorted;
use crate::domain::{EVENT_SCHEMA_VERSION, EVENT_TYPES, ItemAddedV2, OrderEvent, UPCASTERS};
use schemars::{JsonSchema, Schema, json_schema, schema_for};
use serde_json::{Value, json};

/// One item of the event table, as a writer puts it (DynamoDB types: S for strings, N for
/// numbers). Written with `attribute_not_exists(orderId)` so two writers can never both take a
/// sequence; several events of one order go in one transaction.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a description of the item: `store::events::item` reads and writes it
pub struct EventItem {
    /// The order: 1-64 of `A-Z a-z 0-9 - _`, starting with a letter or digit (partition key, S).
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"))]
    order_id: String,
    /// 1, 2, 3, … contiguous per order: the next is the order's last sequence + 1 (sort key, N).
    #[schemars(range(min = 1, max = 9_007_199_254_740_991u64))]
    sequence: u64,
    /// Unique per event (e.g. a UUID); a load checks a snapshot's last event still has its id (S).
    event_id: String,
    /// One of the event types; an unknown one is refused (S).
    #[schemars(transform = event_type_enum)]
    event_type: String,
    /// The payload's schema version for this event type: `payloads/<eventType>.v<N>.schema.json` (N).
    #[schemars(range(min = 1))]
    schema_version: u32,
    /// The payload: JSON text (S), or a map (M), what a DocumentClient writes for an object;
    /// both are read by the same rules. Money is an integer in minor units (cents), never a float.
    #[schemars(schema_with = "payload_forms")]
    payload: String,
    /// When it happened: milliseconds since the Unix epoch (N), or an RFC 3339 time (S, e.g.
    /// `2026-12-08T02:03:19.123Z`). Epoch seconds are refused (`occurred_at_in_seconds`).
    #[schemars(schema_with = "occurred_at_forms")]
    occurred_at: i64,
}

fn payload_forms(_: &mut schemars::SchemaGenerator) -> Schema {
    json_schema!({
        "oneOf": [
            { "type": "string", "description": "The payload as JSON text (S)." },
            { "type": "object", "description": "The payload as a map (M): the same fields, numbers as N." }
        ]
    })
}

fn occurred_at_forms(_: &mut schemars::SchemaGenerator) -> Schema {
    json_schema!({
        "oneOf": [
            {
                "type": "integer",
                "description": "Milliseconds since the epoch (N), within ±(2^53 − 1); epoch seconds (1e9 up to 1e10) are refused.",
                "minimum": -9_007_199_254_740_991i64,
                "maximum": 9_007_199_254_740_991i64,
                "not": { "type": "integer", "minimum": 1_000_000_000i64, "maximum": 9_999_999_999i64 }
            },
            {
                "type": "string",
                "description": "An RFC 3339 time (S): YYYY-MM-DDTHH:MM:SS, an optional fraction, Z or ±HH:MM.",
                "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
            }
        ]
    })
}

fn event_type_enum(schema: &mut Schema) {
    schema.insert("enum".into(), json!(EVENT_TYPES));
}

/// Every schema file (path under `schemas/`, content), in a fixed order.
pub fn schemas() -> Vec<(String, Value)> {
    let mut files = vec![("event-item.schema.json".to_owned(), titled(schema_for!(EventItem), "Event item"))];
    let events = schema_for!(OrderEvent).to_value();
    let defs = events.get("$defs").cloned();
    for variant in events["oneOf"].as_array().expect("OrderEvent is a oneOf of its variants") {
        let event_type = variant["properties"]["type"]["const"].as_str().expect("each variant has a type");
        let mut payload = variant["properties"]["data"].clone();
        payload["$schema"] = events["$schema"].clone();
        payload["title"] = json!(format!("{event_type} payload, schema version {EVENT_SCHEMA_VERSION}"));
        if let Some(used) = defs.as_ref().map(|defs| referenced(&payload, defs)).filter(|d| d != &json!({})) {
            payload["$defs"] = used;
        }
        files.push((payload_file(event_type, EVENT_SCHEMA_VERSION), finished(payload)));
    }
    for upcaster in UPCASTERS {
        let schema = match (upcaster.event_type, upcaster.schema_version) {
            ("ItemAdded", 2) => schema_for!(ItemAddedV2),
            (t, v) => panic!("publish the payload schema of {t} version {v} here"),
        };
        let title = format!("{} payload, schema version {}", upcaster.event_type, upcaster.schema_version);
        files.push((payload_file(upcaster.event_type, upcaster.schema_version), titled(schema, &title)));
    }
    files
}

pub fn payload_file(event_type: &str, schema_version: u32) -> String {
    format!("payloads/{event_type}.v{schema_version}.schema.json")
}

/// `schema` with its title, integer formats turned into ranges, keys in a stable order.
pub(crate) fn titled(schema: Schema, title: &str) -> Value {
    let mut value = schema.to_value();
    value["title"] = json!(title);
    finished(value)
}

/// The definitions `schema` refers to, directly or through each other.
fn referenced(schema: &Value, defs: &Value) -> Value {
    let mut names: Vec<String> = Vec::new();
    let mut pending = vec![schema.clone()];
    while let Some(value) = pending.pop() {
        refs(&value, &mut |name| {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
                pending.push(defs[name].clone());
            }
        });
    }
    Value::Object(names.into_iter().map(|name| (name.clone(), defs[&name].clone())).collect())
}

fn refs(value: &Value, found: &mut impl FnMut(&str)) {
    match value {
        Value::Object(map) => {
            if let Some(name) =
                map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/"))
            {
                found(name);
            }
            map.iter().filter(|(k, _)| *k != "$defs").for_each(|(_, v)| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

/// Integer formats become the ranges the reader accepts, and go (they are Rust's names, not
/// JSON Schema's: a strict validator refuses a format it does not know); keys are put in a
/// stable order so the committed files diff cleanly.
fn finished(mut value: Value) -> Value {
    bound_integers(&mut value);
    sorted(value)
}

fn bound_integers(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let range = match map.get("format").and_then(Value::as_str) {
                Some("uint32") => Some((json!(0), json!(u32::MAX))),
                Some("uint64") => Some((json!(0), json!(u64::MAX))),
                Some("int64") => Some((json!(i64::MIN), json!(i64::MAX))),
                _ => None,
            };
            // a narrower range the type states (money: ±(2^53 - 1)) is kept
            if let Some((min, max)) = range {
                map.entry("minimum").or_insert(min);
                map.entry("maximum").or_insert(max);
                map.remove("format");
            }
            map.values_mut().for_each(bound_integers);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_and_upcast_version_has_a_payload_schema() {
        let names: Vec<String> = schemas().into_iter().map(|(name, _)| name).collect();
        for event_type in EVENT_TYPES {
            assert!(names.contains(&payload_file(event_type, 1)), "{event_type}");
        }
        assert!(names.contains(&payload_file("ItemAdded", 2)));
        assert_eq!(names.len(), 1 + EVENT_TYPES.len() + UPCASTERS.len());
    }

    #[test]
    fn the_item_schema_lists_the_attributes_the_store_writes() {
        let item = &schemas()[0].1;
        let mut listed: Vec<&String> = item["properties"].as_object().unwrap().keys().collect();
        listed.sort();
        let sample = crate::domain::samples::recorded("o-1", 1, crate::domain::OrderEvent::OrderConfirmed {});
        let written = crate::store::events::event_to_item(&sample);
        let mut attributes: Vec<&String> = written.keys().collect();
        attributes.sort();
        assert_eq!(listed, attributes);
    }
}
