//! The snapshot's stored form and the order state, as JSON Schema for readers in other
//! languages, generated from the Rust types that write and read them and committed under
//! `schemas/` beside the event contract (`make schemas`; a test fails when they differ).
//! How to read an item (decode, decompress, verify, the anchor) is in docs/data-model.md.

use super::types::SnapshotMetadata;
use crate::domain::{Order, STATE_SCHEMA_VERSION};
use crate::store::events::contract::titled;
use schemars::{JsonSchema, schema_for};
use serde_json::Value;

/// One item of the snapshot table, as a reader gets it (DynamoDB types: S, N, B, M). Written
/// only if its (orderId, version) is free or holds a snapshot that cannot be used.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a description of the item: `store::snapshots::codec` writes and reads it
pub struct SnapshotItem {
    /// The order (partition key, S): 1-64 of `A-Z a-z 0-9 - _`, starting with a letter or digit.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"))]
    order_id: String,
    /// The sequence of the last event the state covers (sort key, N); equal to `lastEventSequence`.
    #[schemars(range(min = 1))]
    version: u64,
    /// The sequence of the last event folded into the state (N).
    #[schemars(range(min = 1))]
    last_event_sequence: u64,
    /// When it was written, in milliseconds since the Unix epoch (N).
    timestamp: i64,
    /// Unique per write (S): a writer replacing an unusable snapshot conditions on it.
    write_id: String,
    /// The state's bytes (B; base64 text in DynamoDB JSON): the order state as UTF-8 JSON
    /// (`order-state.schema.json`), raw DEFLATE (RFC 1951, no zlib header) of it when
    /// `metadata.stateEncoding` is `JSON_DEFLATE`. Decompress with a size cap.
    state: String,
    /// How the state was written and by which fold (M).
    metadata: SnapshotMetadata,
}

/// The two files, in a fixed order.
pub fn schemas() -> Vec<(String, Value)> {
    vec![
        (
            "order-state.schema.json".to_owned(),
            titled(schema_for!(Order), &format!("Order state, state schema version {STATE_SCHEMA_VERSION}")),
        ),
        ("snapshot-item.schema.json".to_owned(), titled(schema_for!(SnapshotItem), "Snapshot item")),
    ]
}
