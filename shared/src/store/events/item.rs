//! An event's stored form: one item per event, keyed by (orderId, sequence). The same item
//! arrives as a stream record's NewImage.

use crate::domain::{EVENT_SCHEMA_VERSION, EventDecodeError, OrderEvent, RecordedEvent};
use crate::store::dynamo::{AttributeError, Item, get_n, get_s, n, s};
use thiserror::Error;

/// Why an event item (from a Query or a stream image) could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EventRecordError {
    #[error(transparent)]
    Attribute(#[from] AttributeError),
    #[error(transparent)]
    Event(#[from] EventDecodeError),
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

/// Decodes an event item strictly: every attribute present with its type.
pub fn event_from_item(item: &Item) -> Result<RecordedEvent, EventRecordError> {
    let event = OrderEvent::decode(
        get_s(item, "eventType")?,
        get_n(item, "schemaVersion")?,
        get_s(item, "payload")?,
    )?;
    Ok(RecordedEvent {
        order_id: get_s(item, "orderId")?.to_owned(),
        sequence: get_n(item, "sequence")?,
        event_id: get_s(item, "eventId")?.to_owned(),
        occurred_at: get_n(item, "occurredAt")?,
        event,
    })
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
            ("occurredAt", Some(s("yesterday"))),
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
}
