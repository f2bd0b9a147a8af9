//! A stream record, separated from its Lambda envelope, and what it is to the snapshotter:
//! an event to fold, a change to ignore, or a record it cannot understand.

use crate::domain::{OrderId, RecordedEvent};
use crate::store::dynamo::Item;
use crate::store::events::{EventRecordError, event_from_item};
use tracing::warn;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Insert,
    Modify,
    Remove,
}

/// A stream record, separated from its Lambda envelope.
#[derive(Clone, Debug)]
pub struct StreamChange {
    /// The record's `SequenceNumber`: what a partial-batch failure names.
    pub position: String,
    /// `Err`: the record itself could not be parsed (the reason).
    pub body: Result<ChangeBody, String>,
}

#[derive(Clone, Debug)]
pub struct ChangeBody {
    pub kind: ChangeKind,
    /// The order the record's keys name, when they can be read (MODIFY and REMOVE records
    /// tell the container to read that order's history again).
    pub order_id: Option<String>,
    pub new_image: Option<Item>,
}

/// What a stream record is to the snapshotter.
#[derive(Debug, PartialEq)]
#[expect(clippy::large_enum_variant, reason = "one per record, moved at once into its order's group")]
pub enum Decoded {
    /// MODIFY or REMOVE: not ours to act on.
    Ignored,
    /// Cannot be understood: reported as failed, never snapshotted.
    Poison(String),
    /// An event, with its order's id checked.
    Event(OrderId, RecordedEvent),
}

/// Classifies one record strictly: every attribute present with its type, a known event
/// type and schema version, a valid order id and a positive sequence.
pub fn decode(change: &StreamChange) -> Decoded {
    let body = match &change.body {
        Ok(body) => body,
        Err(reason) => return Decoded::Poison(reason.clone()),
    };
    if body.kind != ChangeKind::Insert {
        return Decoded::Ignored;
    }
    let Some(image) = &body.new_image else {
        return Decoded::Poison("INSERT without a NewImage (stream view type must be NEW_IMAGE)".into());
    };
    match event_from_item(image) {
        Ok(event) => match OrderId::parse(event.order_id.as_str()) {
            Ok(order_id) if event.sequence > 0 => Decoded::Event(order_id, event),
            Ok(_) => Decoded::Poison("sequence 0".into()),
            Err(e) => Decoded::Poison(e.to_string()),
        },
        Err(EventRecordError::Attribute(e)) => Decoded::Poison(e.to_string()),
        Err(e) => {
            warn!(position = %change.position, error = %e, code = e.code(), "event cannot be decoded");
            Decoded::Poison(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrderEvent;
    use crate::domain::samples::recorded;

    #[test]
    fn only_decodable_inserts_are_events() {
        let good = crate::store::events::event_to_item(&recorded("o-1", 1, OrderEvent::OrderConfirmed {}));
        let change = |kind, image: Option<Item>| StreamChange {
            position: "1".into(),
            body: Ok(ChangeBody { kind, order_id: None, new_image: image }),
        };
        assert!(matches!(decode(&change(ChangeKind::Insert, Some(good.clone()))), Decoded::Event(..)));
        assert!(matches!(decode(&change(ChangeKind::Modify, Some(good.clone()))), Decoded::Ignored));
        assert!(matches!(decode(&change(ChangeKind::Remove, None)), Decoded::Ignored));
        assert!(matches!(decode(&change(ChangeKind::Insert, None)), Decoded::Poison(_)));
        let mut bad_id = good.clone();
        bad_id.insert("orderId".into(), crate::store::dynamo::s("../x"));
        assert!(matches!(decode(&change(ChangeKind::Insert, Some(bad_id))), Decoded::Poison(_)));
        let mut unknown = good;
        unknown.insert("eventType".into(), crate::store::dynamo::s("Nope"));
        assert!(matches!(decode(&change(ChangeKind::Insert, Some(unknown))), Decoded::Poison(_)));
        let unparsable = StreamChange { position: "9".into(), body: Err("bad JSON".into()) };
        assert!(matches!(decode(&unparsable), Decoded::Poison(_)));
    }
}
