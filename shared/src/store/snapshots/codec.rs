//! A snapshot's stored form, and the checks that decide whether a stored one is usable.
//!
//! `version` is the `lastEventSequence` the snapshot covers. That makes versions unique and
//! increasing with the sequence by construction, and makes a redelivered stream batch
//! collide with the snapshot it already wrote instead of adding a second one.

use super::types::{
    NewSnapshot, Snapshot, SnapshotEncodeError, SnapshotMetadata, SnapshotSummary, StateEncoding, Unusable,
};
use crate::domain::{Order, STATE_SCHEMA_VERSION, fingerprint};
use crate::store::dynamo::{Item, MAX_ITEM_BYTES, get, get_b, get_n, get_s, item_size, n, s};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

/// The build recorded in each snapshot: `SNAPSHOT_BUILD` at compile time (a release id), else
/// the crate version.
pub const WRITER_BUILD: &str = match option_env!("SNAPSHOT_BUILD") {
    Some(build) => build,
    None => concat!("shared-", env!("CARGO_PKG_VERSION")),
};

/// States larger than this are deflated before storing.
pub const COMPRESS_ABOVE_BYTES: usize = 8 * 1024;
/// A decompressed state larger than this is refused (a corrupt or hostile item).
const MAX_STATE_BYTES: u64 = 16 * 1024 * 1024;

pub fn checksum(json: &[u8]) -> String {
    let digest = Sha256::digest(json);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

pub fn encode(snapshot: &NewSnapshot) -> Result<(Item, SnapshotMetadata), SnapshotEncodeError> {
    let order = &snapshot.state;
    if order.version == 0 {
        return Err(SnapshotEncodeError::EmptyOrder(order.id.clone()));
    }
    let json = serde_json::to_vec(order).expect("order state always serializes");
    let (encoding, bytes) = if json.len() > COMPRESS_ABOVE_BYTES {
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        encoder
            .write_all(&json)
            .and_then(|_| encoder.finish())
            .map(|b| (StateEncoding::JsonDeflate, b))
            .expect("deflating into memory cannot fail")
    } else {
        (StateEncoding::Json, json.clone())
    };
    let metadata = SnapshotMetadata {
        created_by: snapshot.created_by.clone(),
        reason: snapshot.reason.clone(),
        strategy: snapshot.strategy,
        rule: snapshot.rule,
        state_schema_version: STATE_SCHEMA_VERSION,
        fold_fingerprint: Some(fingerprint::current().to_owned()),
        writer_build: Some(WRITER_BUILD.to_owned()),
        state_encoding: encoding,
        state_bytes: json.len() as u64,
        checksum: checksum(&json),
    };
    let item = Item::from([
        ("orderId".to_owned(), s(&order.id)),
        ("version".to_owned(), n(order.version)),
        ("lastEventSequence".to_owned(), n(order.version)),
        ("timestamp".to_owned(), n(snapshot.timestamp)),
        // Unique per write: a replacement of an unusable snapshot is conditional on it.
        ("writeId".to_owned(), s(uuid::Uuid::new_v4().simple().to_string())),
        ("state".to_owned(), AttributeValue::B(Blob::new(bytes))),
        (
            "metadata".to_owned(),
            serde_dynamo::to_attribute_value(&metadata).expect("metadata always serializes"),
        ),
    ]);
    let size = item_size(&item);
    if size > MAX_ITEM_BYTES {
        return Err(SnapshotEncodeError::TooLarge { order_id: order.id.clone(), bytes: size });
    }
    Ok((item, metadata))
}

pub fn decode_summary(item: &Item) -> Result<SnapshotSummary, Unusable> {
    let metadata: SnapshotMetadata = serde_dynamo::from_attribute_value(get(item, "metadata")?.clone())
        .map_err(|e| Unusable::BadMetadata(e.to_string()))?;
    Ok(SnapshotSummary {
        order_id: get_s(item, "orderId")?.to_owned(),
        version: get_n(item, "version")?,
        last_event_sequence: get_n(item, "lastEventSequence")?,
        timestamp: get_n(item, "timestamp")?,
        metadata,
    })
}

/// What the metadata alone says: a snapshot of another state schema or another fold's
/// fingerprint cannot be used, whatever its state.
pub fn check_metadata(meta: &SnapshotMetadata) -> Result<(), Unusable> {
    if meta.state_schema_version != STATE_SCHEMA_VERSION {
        return Err(Unusable::StateSchema {
            found: meta.state_schema_version,
            supported: STATE_SCHEMA_VERSION,
        });
    }
    let current = fingerprint::current();
    if meta.fold_fingerprint.as_deref() != Some(current) {
        return Err(Unusable::FoldChanged {
            found: meta.fold_fingerprint.clone(),
            current: current.to_owned(),
        });
    }
    Ok(())
}

/// Decodes and verifies a stored snapshot: schema version, checksum, and that the state is
/// the order and sequence the keys say.
pub fn decode(item: &Item) -> Result<Snapshot, Unusable> {
    let summary = decode_summary(item)?;
    let meta = &summary.metadata;
    check_metadata(meta)?;
    let stored = get_b(item, "state")?;
    let json = match meta.state_encoding {
        StateEncoding::Json => stored.to_vec(),
        StateEncoding::JsonDeflate => {
            let mut out = Vec::new();
            DeflateDecoder::new(stored)
                .take(MAX_STATE_BYTES + 1)
                .read_to_end(&mut out)
                .map_err(|e| Unusable::Undecodable(e.to_string()))?;
            // refused, not cut short: a cut state would only fail its checksum, a vaguer reason
            if out.len() as u64 > MAX_STATE_BYTES {
                return Err(Unusable::Undecodable(format!("state inflates past {MAX_STATE_BYTES} bytes")));
            }
            out
        }
    };
    let computed = checksum(&json);
    if computed != meta.checksum {
        return Err(Unusable::ChecksumMismatch { stored: meta.checksum.clone(), computed });
    }
    let state: Order = serde_json::from_slice(&json).map_err(|e| Unusable::Undecodable(e.to_string()))?;
    if state.id != summary.order_id {
        return Err(Unusable::Inconsistent("state belongs to another order"));
    }
    if state.version != summary.last_event_sequence || summary.version != summary.last_event_sequence {
        return Err(Unusable::Inconsistent("state version, version and lastEventSequence differ"));
    }
    Ok(Snapshot {
        order_id: summary.order_id,
        version: summary.version,
        last_event_sequence: summary.last_event_sequence,
        timestamp: summary.timestamp,
        metadata: summary.metadata,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::samples::{one_of_each_event, recorded};
    use crate::domain::{LineItem, Money};
    use crate::policy::settings::StrategyKind;
    use crate::policy::strategy::Rule;

    fn order(items: usize) -> Order {
        let events: Vec<_> = one_of_each_event()
            .into_iter()
            .enumerate()
            .map(|(i, e)| recorded("o-1", i as u64 + 1, e))
            .collect();
        let mut order = Order::replay("o-1", &events).unwrap();
        order.items.extend((0..items).map(|i| LineItem {
            sku: format!("SKU-{i:06}"),
            name: format!("Item number {i} with a reasonably descriptive name"),
            quantity: 1 + (i % 7) as u32,
            unit_price: Money::from_minor(199 + i as i64),
        }));
        order
    }

    fn new(state: Order) -> NewSnapshot {
        NewSnapshot {
            state,
            timestamp: 1_700_000_000_000,
            created_by: "stream".into(),
            reason: "10 events since the last snapshot (threshold 10)".into(),
            strategy: Some(StrategyKind::EventCount),
            rule: Some(Rule::Default),
        }
    }

    #[test]
    fn small_states_round_trip_uncompressed() {
        let (item, meta) = encode(&new(order(0))).unwrap();
        assert_eq!(meta.state_encoding, StateEncoding::Json);
        let snapshot = decode(&item).unwrap();
        assert_eq!(snapshot.state, order(0));
        assert_eq!(snapshot.version, 14);
        assert_eq!(snapshot.last_event_sequence, 14);
        assert_eq!(snapshot.metadata, meta);
    }

    #[test]
    fn large_states_are_compressed_and_round_trip() {
        let big = order(500);
        let (item, meta) = encode(&new(big.clone())).unwrap();
        assert_eq!(meta.state_encoding, StateEncoding::JsonDeflate);
        assert!(get_b(&item, "state").unwrap().len() < meta.state_bytes as usize / 2);
        assert_eq!(decode(&item).unwrap().state, big);
    }

    #[test]
    fn a_state_too_large_for_an_item_is_a_clear_error() {
        let mut huge = order(0);
        // incompressible-ish names so even deflate cannot save it
        huge.items.extend((0..9000u64).map(|i| LineItem {
            sku: checksum(&i.to_le_bytes()),
            name: checksum(&(i + 1_000_000).to_le_bytes()),
            quantity: 1,
            unit_price: Money::from_minor(1),
        }));
        let err = encode(&new(huge)).unwrap_err();
        assert!(
            matches!(err, SnapshotEncodeError::TooLarge { ref order_id, bytes } if order_id == "o-1" && bytes > MAX_ITEM_BYTES)
        );
    }

    #[test]
    fn a_tampered_state_fails_its_checksum() {
        let (mut item, _) = encode(&new(order(0))).unwrap();
        let mut bytes = get_b(&item, "state").unwrap().to_vec();
        let pos = bytes.iter().position(|&b| b == b'3').unwrap();
        bytes[pos] = b'4';
        item.insert("state".into(), AttributeValue::B(Blob::new(bytes)));
        assert!(matches!(decode(&item), Err(Unusable::ChecksumMismatch { .. })));
    }

    #[test]
    fn an_older_state_schema_is_unusable() {
        let (mut item, mut meta) = encode(&new(order(0))).unwrap();
        meta.state_schema_version = STATE_SCHEMA_VERSION - 1;
        item.insert("metadata".into(), serde_dynamo::to_attribute_value(&meta).unwrap());
        assert_eq!(
            decode(&item),
            Err(Unusable::StateSchema { found: STATE_SCHEMA_VERSION - 1, supported: STATE_SCHEMA_VERSION })
        );
    }

    #[test]
    fn a_snapshot_made_by_another_fold_is_unusable() {
        let (good, meta) = encode(&new(order(0))).unwrap();
        assert_eq!(meta.fold_fingerprint.as_deref(), Some(fingerprint::current()));
        assert_eq!(meta.writer_build.as_deref(), Some(WRITER_BUILD));
        for other in [Some("fold-0000000000000000".to_owned()), None] {
            let mut item = good.clone();
            let mut meta = meta.clone();
            meta.fold_fingerprint = other.clone();
            item.insert("metadata".into(), serde_dynamo::to_attribute_value(&meta).unwrap());
            let current = fingerprint::current().to_owned();
            assert_eq!(decode(&item), Err(Unusable::FoldChanged { found: other, current }));
        }
    }

    #[test]
    fn garbage_and_missing_attributes_are_unusable_not_panics() {
        let (good, _) = encode(&new(order(600))).unwrap();
        let mut cases = Vec::new();
        let mut garbage = good.clone();
        garbage.insert("state".into(), AttributeValue::B(Blob::new(b"\x00\xffnot deflate".to_vec())));
        cases.push(garbage);
        let mut no_meta = good.clone();
        no_meta.remove("metadata");
        cases.push(no_meta);
        let mut bad_meta = good.clone();
        bad_meta.insert("metadata".into(), s("{\"createdBy\":\"metadata as a json string\"}"));
        cases.push(bad_meta);
        let mut wrong_seq = good.clone();
        wrong_seq.insert("lastEventSequence".into(), n(3));
        cases.push(wrong_seq);
        let mut state_as_string = good;
        state_as_string.insert("state".into(), s("{}"));
        cases.push(state_as_string);
        for item in cases {
            assert!(decode(&item).is_err());
        }
    }

    #[test]
    fn a_state_that_inflates_past_the_cap_is_undecodable() {
        let (mut item, _) = encode(&new(order(600))).unwrap();
        let mut bomb = DeflateEncoder::new(Vec::new(), Compression::default());
        bomb.write_all(&vec![b' '; MAX_STATE_BYTES as usize + 1]).unwrap();
        item.insert("state".into(), AttributeValue::B(Blob::new(bomb.finish().unwrap())));
        assert!(
            matches!(decode(&item), Err(Unusable::Undecodable(reason)) if reason.contains("inflates past"))
        );
    }

    #[test]
    fn the_empty_order_is_not_snapshotted() {
        assert!(matches!(encode(&new(Order::empty("o"))), Err(SnapshotEncodeError::EmptyOrder(_))));
    }
}
