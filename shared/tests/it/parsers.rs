//! Every parser of outside input, fuzzed with proptest: stored events, event payloads,
//! stored snapshots, order ids and configuration. None may panic; each must classify
//! correctly: accept exactly what is valid, and never turn damaged input into a wrong value.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use proptest::prelude::*;
use shared::domain::OrderId;
use shared::domain::{EVENT_SCHEMA_VERSION, EVENT_TYPES, Order, OrderEvent};
use shared::runtime::config::{self, Config};
use shared::store::dynamo::Item;
use shared::store::events::{event_from_item, event_to_item};
use shared::store::snapshots::{NewSnapshot, codec};
use testkit::{arb_event, arb_history};

fn arb_attribute() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![
        ".{0,16}".prop_map(AttributeValue::S),
        prop_oneof![any::<i64>().prop_map(|n| n.to_string()), "[-0-9.eE+]{0,12}"].prop_map(AttributeValue::N),
        prop::collection::vec(any::<u8>(), 0..32).prop_map(|b| AttributeValue::B(Blob::new(b))),
        any::<bool>().prop_map(AttributeValue::Bool),
        Just(AttributeValue::Null(true)),
        prop::collection::vec(".{0,4}".prop_map(AttributeValue::S), 0..3).prop_map(AttributeValue::L),
    ]
}

const EVENT_ATTRIBUTES: &[&str] =
    &["orderId", "sequence", "eventId", "eventType", "payload", "occurredAt", "schemaVersion"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// A payload decodes only to an event that re-encodes to the same event.
    #[test]
    fn event_decode_never_panics_and_only_accepts_what_round_trips(
        which in 0..EVENT_TYPES.len() + 1,
        version in prop_oneof![Just(EVENT_SCHEMA_VERSION), any::<u32>()],
        payload in prop_oneof![".{0,64}", arb_event().prop_map(|e| e.payload_json())],
    ) {
        let event_type = EVENT_TYPES.get(which).copied().unwrap_or("NotAnEvent");
        if let Ok(event) = OrderEvent::decode(event_type, version, &payload) {
            prop_assert_eq!(version, EVENT_SCHEMA_VERSION);
            prop_assert_eq!(event.event_type(), event_type);
            prop_assert_eq!(OrderEvent::decode(event_type, version, &event.payload_json()), Ok(event));
        }
    }

    /// Stored events: any attribute replaced by any value is either refused or, when it is an
    /// equivalent value, read as the same event.
    #[test]
    fn a_stored_event_with_a_damaged_attribute_is_refused_or_unchanged(
        event in arb_event(),
        which in 0..EVENT_ATTRIBUTES.len(),
        value in arb_attribute(),
        remove in any::<bool>(),
    ) {
        let recorded = shared::domain::samples::recorded("o-1", 3, event);
        let mut item = event_to_item(&recorded);
        let name = EVENT_ATTRIBUTES[which];
        if remove {
            item.remove(name);
            prop_assert!(event_from_item(&item).is_err(), "{} removed", name);
        } else {
            item.insert(name.to_owned(), value);
            if let Ok(decoded) = event_from_item(&item) {
                prop_assert_eq!(&decoded.event, &recorded.event);
            }
        }
    }

    /// Arbitrary items never panic the event decoder.
    #[test]
    fn arbitrary_items_never_panic_the_event_decoder(
        attributes in prop::collection::vec((prop::sample::select(EVENT_ATTRIBUTES), arb_attribute()), 0..8)
    ) {
        let item: Item = attributes.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let _ = event_from_item(&item);
    }

    /// A stored snapshot with any byte of its state flipped, or any attribute replaced or
    /// removed, is never read as a different state: the checksum or the decoder refuses it.
    #[test]
    fn a_damaged_snapshot_is_refused_never_misread(
        history in arb_history("o-s", 1..40),
        damage in (any::<prop::sample::Index>(), any::<u8>().prop_filter("a change", |b| *b != 0)),
        attribute in prop::option::of((any::<prop::sample::Index>(), prop::option::of(arb_attribute()))),
        padding in prop::option::of(1usize..20_000),
    ) {
        let mut state = Order::replay("o-s", &history).unwrap();
        if let Some(n) = padding {
            // big enough to be stored compressed
            state.customer_id = Some("c".repeat(n));
        }
        let new = NewSnapshot {
            state: state.clone(),
            timestamp: 1,
            created_by: "proptest".into(),
            reason: "fuzz".into(),
            strategy: None,
            rule: None,
        };
        let (mut item, _) = codec::encode(&new).unwrap();
        prop_assert_eq!(&codec::decode(&item).unwrap().state, &state);
        match attribute {
            None => {
                let (at, xor) = damage;
                let bytes = match item.get("state") {
                    Some(AttributeValue::B(b)) => b.as_ref().to_vec(),
                    Some(AttributeValue::S(s)) => s.as_bytes().to_vec(),
                    other => panic!("state stored as {other:?}"),
                };
                let mut bytes = bytes;
                let i = at.index(bytes.len());
                bytes[i] ^= xor;
                let damaged = match item.get("state") {
                    Some(AttributeValue::B(_)) => AttributeValue::B(Blob::new(bytes)),
                    _ => AttributeValue::S(String::from_utf8_lossy(&bytes).into_owned()),
                };
                item.insert("state".into(), damaged);
                // Refused, or (a flip in bits deflate never reads, like the last byte's padding)
                // read as the very same state: never as another.
                if let Ok(read) = codec::decode(&item) {
                    prop_assert_eq!(&read.state, &state, "a flipped state byte read as another state");
                }
            }
            Some((which, value)) => {
                let names: Vec<String> = item.keys().cloned().collect();
                let name = which.get(&names).clone();
                match value {
                    None => { item.remove(&name); }
                    Some(v) => { item.insert(name, v); }
                }
                if let Ok(read) = codec::decode(&item) {
                    prop_assert_eq!(read.state, state);
                }
            }
        }
    }

    /// Order ids: exactly 1-64 of A-Z a-z 0-9 - _, starting alphanumeric.
    #[test]
    fn order_ids_are_accepted_exactly_by_the_allow_list(id in prop_oneof![".{0,70}", "[A-Za-z0-9_-]{0,70}"]) {
        let expected = !id.is_empty()
            && id.len() <= 64
            && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        prop_assert_eq!(OrderId::parse(id.as_str()).is_ok(), expected);
    }

    /// Configuration: any value of any variable is accepted or refused by name.
    #[test]
    fn a_malformed_setting_is_refused_naming_its_variable(
        which in 0..config::VARIABLES.len(),
        value in prop_oneof![
            ".{0,12}",
            "[0-9]{1,12}",
            Just("HYBRID".to_owned()),
            Just("-1".to_owned()),
            Just("off".to_owned()),
        ],
    ) {
        let name = config::VARIABLES[which];
        match Config::from_lookup(|n| (n == name).then(|| value.clone())) {
            Ok(_) => {}
            Err(e) => {
                prop_assert_eq!(e.variable, name);
                prop_assert!(e.to_string().contains(name), "{}", e);
            }
        }
    }
}
