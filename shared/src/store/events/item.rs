//! An event's stored form: one item per event, keyed by (orderId, sequence). The same item
//! arrives as a stream record's NewImage. This code writes the payload as JSON text and
//! `occurredAt` as epoch milliseconds; it also reads what a DocumentClient writes by default:
//! the payload as a map, `occurredAt` as an ISO-8601 string.

use super::map_payload;
use super::occurred_at::{self, OccurredAtError};
use crate::domain::{EVENT_SCHEMA_VERSION, EventDecodeError, OrderEvent, RecordedEvent};
use crate::store::dynamo::{AttributeError, Item, get, get_n, get_s, n, s};
use aws_sdk_dynamodb::types::AttributeValue;
use std::borrow::Cow;
use thiserror::Error;

/// The largest sequence every reader holds exactly.
pub const MAX_SEQUENCE: u64 = crate::domain::MAX_SAFE_INTEGER as u64;

/// Why an event item (from a Query or a stream image) could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EventRecordError {
    #[error(transparent)]
    Attribute(#[from] AttributeError),
    #[error(transparent)]
    Event(#[from] EventDecodeError),
    #[error(transparent)]
    OccurredAt(#[from] OccurredAtError),
}

impl EventRecordError {
    /// The contract's code (`conformance/README.md`): `malformed_item` for the item's own
    /// attributes, `occurred_at_in_seconds`, or the payload's refusal code.
    pub fn code(&self) -> &'static str {
        match self {
            EventRecordError::Attribute(_) | EventRecordError::OccurredAt(OccurredAtError::Unreadable(_)) => {
                "malformed_item"
            }
            EventRecordError::OccurredAt(OccurredAtError::InSeconds(_)) => "occurred_at_in_seconds",
            EventRecordError::Event(error) => error.code(),
        }
    }
}

/// The stored form of an event: one item per event, keyed by (orderId, sequence).
pub fn event_to_item(event: &RecordedEvent) -> Item {
    Item::from([
        ("orderId".to_owned(), s(&event.order_id)),
        ("sequence".to_owned(), n(event.sequence)),
        ("eventId".to_owned(), s(&event.event_id)),
        ("eventType".to_owned(), s(event.event.event_type())),
        ("payload".to_owned(), s(event.event.payload_json())),
        ("occurredAt".to_owned(), n(event.occurred_at)),
        ("schemaVersion".to_owned(), n(EVENT_SCHEMA_VERSION)),
    ])
}

/// Decodes an event item strictly: first the item's own attributes, each present with its
/// type (`malformed_item`, `occurred_at_in_seconds`), then its payload (the payload's codes),
/// in the order every reader of the contract checks them.
pub fn event_from_item(item: &Item) -> Result<RecordedEvent, EventRecordError> {
    let order_id = get_s(item, "orderId")?.to_owned();
    let sequence: u64 = get_n(item, "sequence")?;
    if sequence > MAX_SEQUENCE {
        return Err(AttributeError::BadNumber { name: "sequence", value: sequence.to_string() }.into());
    }
    let event_id = get_s(item, "eventId")?.to_owned();
    let event_type = get_s(item, "eventType")?;
    let schema_version = get_n(item, "schemaVersion")?;
    let occurred_at = match get(item, "occurredAt")? {
        AttributeValue::N(number) => occurred_at::from_number(number)?,
        AttributeValue::S(text) => occurred_at::from_text(text)?,
        _ => return Err(AttributeError::WrongType { name: "occurredAt", expected: "N or S" }.into()),
    };
    let payload = match get(item, "payload")? {
        AttributeValue::S(text) => Cow::Borrowed(text.as_str()),
        AttributeValue::M(map) => Cow::Owned(
            map_payload::json_text(map)
                .map_err(|reason| OrderEvent::unreadable_payload(event_type, reason))?,
        ),
        _ => return Err(AttributeError::WrongType { name: "payload", expected: "S or M" }.into()),
    };
    let event = OrderEvent::decode(event_type, schema_version, &payload)?;
    Ok(RecordedEvent { order_id, sequence, event_id, occurred_at, event })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::samples::{one_of_each_event, recorded};
    use aws_sdk_dynamodb::types::AttributeValue;

    #[test]
    fn event_items_round_trip() {
        for (i, e) in one_of_each_event().into_iter().enumerate() {
            let event = recorded("o-1", i as u64 + 1, e);
            assert_eq!(event_from_item(&event_to_item(&event)), Ok(event));
        }
    }

    #[test]
    fn a_missing_or_mistyped_attribute_is_an_error() {
        let good = event_to_item(&recorded("o-1", 1, OrderEvent::OrderConfirmed {}));
        for (name, value) in [
            ("sequence", Some(s("1"))),
            ("occurredAt", Some(AttributeValue::Bool(true))),
            ("payload", Some(AttributeValue::Bool(true))),
            ("eventId", None),
            ("schemaVersion", None),
        ] {
            let mut item = good.clone();
            match value {
                Some(v) => item.insert(name.to_owned(), v),
                None => item.remove(name),
            };
            assert!(matches!(event_from_item(&item), Err(EventRecordError::Attribute(_))), "{name}");
        }
    }

    #[test]
    fn an_unknown_event_type_is_an_error() {
        let mut item = event_to_item(&recorded("o-1", 1, OrderEvent::OrderConfirmed {}));
        item.insert("eventType".into(), s("OrderLevitated"));
        assert_eq!(
            event_from_item(&item),
            Err(EventRecordError::Event(EventDecodeError::UnknownType("OrderLevitated".into())))
        );
    }

    fn item_added(payload: AttributeValue, occurred_at: AttributeValue) -> Item {
        let mut item = event_to_item(&recorded("o-1", 1, OrderEvent::OrderConfirmed {}));
        item.insert("eventType".into(), s("ItemAdded"));
        item.insert("payload".into(), payload);
        item.insert("occurredAt".into(), occurred_at);
        item
    }

    fn map(fields: &[(&str, AttributeValue)]) -> AttributeValue {
        AttributeValue::M(fields.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    }

    #[test]
    fn a_document_client_item_reads_as_the_same_event_as_this_codes_own() {
        let text = s(r#"{"sku":"A","name":"Mug","quantity":2,"unitPrice":450}"#);
        let fields = [("sku", s("A")), ("name", s("Mug")), ("quantity", n(2)), ("unitPrice", n(450))];
        let own = event_from_item(&item_added(text, n(1_796_695_399_123i64))).unwrap();
        let theirs = event_from_item(&item_added(map(&fields), s("2026-12-08T02:03:19.123Z"))).unwrap();
        assert_eq!(theirs, own);
    }

    #[test]
    fn a_map_payload_is_refused_as_its_text_would_be() {
        let at = n(1_796_695_399_123i64);
        let fraction = map(&[
            ("sku", s("A")),
            ("name", s("x")),
            ("quantity", n(1)),
            ("unitPrice", AttributeValue::N("4.5".into())),
        ]);
        let code = |item: &Item| event_from_item(item).unwrap_err().code();
        assert_eq!(code(&item_added(fraction, at.clone())), "invalid_payload");
        let beyond = map(&[
            ("sku", s("A")),
            ("name", s("x")),
            ("quantity", n(1)),
            ("unitPrice", n(9_007_199_254_740_993u64)),
        ]);
        assert_eq!(code(&item_added(beyond, at.clone())), "amount_out_of_range");
        let binary = map(&[("sku", AttributeValue::B(vec![1].into()))]);
        assert_eq!(code(&item_added(binary.clone(), at.clone())), "invalid_payload");
        let mut unknown = item_added(binary, at);
        unknown.insert("eventType".into(), s("OrderLevitated"));
        assert_eq!(code(&unknown), "unknown_event_type", "the type is refused first, as for text");
    }

    #[test]
    fn epoch_seconds_and_unreadable_times_are_refused_with_their_codes() {
        let payload = || s(r#"{"sku":"A","name":"x","quantity":1,"unitPrice":5}"#);
        let error = event_from_item(&item_added(payload(), n(1_796_695_399))).unwrap_err();
        assert_eq!(
            (error.code(), error.to_string().contains("epoch seconds")),
            ("occurred_at_in_seconds", true)
        );
        assert_eq!(
            event_from_item(&item_added(payload(), s("08/12/2026"))).unwrap_err().code(),
            "malformed_item"
        );
        let mut huge = item_added(payload(), n(1));
        huge.insert("sequence".into(), n(MAX_SEQUENCE + 1));
        assert_eq!(event_from_item(&huge).unwrap_err().code(), "malformed_item");
    }
}
