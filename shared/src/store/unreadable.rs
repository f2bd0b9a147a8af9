//! An order's stored history that this code cannot read: an event it cannot decode (an
//! unknown type, a schema version no upcaster reads, a wrong or missing field), or events that
//! do not fold (a gap, another order's event, an overflow). It is the data's fault, not the
//! storage's: retrying cannot help until code that reads the event is deployed or the data is
//! repaired. It names the order, the sequence (when the item has a readable one) and why.

use crate::domain::FoldError;
use crate::store::events::item::EventRecordError;
use std::fmt;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum UnreadableCause {
    #[error(transparent)]
    Decode(#[from] EventRecordError),
    #[error(transparent)]
    Fold(#[from] FoldError),
}

#[derive(Debug, Error)]
pub struct HistoryUnreadable {
    pub order_id: String,
    /// The event that cannot be read, when its item has a readable sequence.
    pub sequence: Option<u64>,
    #[source]
    pub cause: UnreadableCause,
}

impl HistoryUnreadable {
    /// A stored event that cannot be decoded.
    pub fn decoding(order_id: &str, sequence: Option<u64>, source: EventRecordError) -> Self {
        HistoryUnreadable { order_id: order_id.to_string(), sequence, cause: source.into() }
    }

    /// Events that decode but do not fold.
    pub fn folding(order_id: &str, source: FoldError) -> Self {
        let sequence = match &source {
            FoldError::OutOfSequence { found, .. } => Some(*found),
            FoldError::Overflow { sequence, .. } => Some(*sequence),
            FoldError::WrongOrder { .. } => None,
        };
        HistoryUnreadable { order_id: order_id.to_string(), sequence, cause: source.into() }
    }

    /// The refusal's stable code, the same in every reader of the contract
    /// (`conformance/README.md`): `malformed_item` for an item without its attributes.
    pub fn code(&self) -> &'static str {
        match &self.cause {
            UnreadableCause::Decode(error) => error.code(),
            UnreadableCause::Fold(error) => error.code(),
        }
    }

    /// Why, in words.
    pub fn reason(&self) -> String {
        self.cause.to_string()
    }
}

impl fmt::Display for HistoryUnreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sequence {
            Some(sequence) => write!(f, "event {sequence} of order {} cannot be read: ", self.order_id)?,
            None => write!(f, "an event of order {} cannot be read: ", self.order_id)?,
        }
        write!(f, "{}", self.cause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EventDecodeError;

    #[test]
    fn the_message_names_the_order_the_sequence_and_the_reason() {
        let unknown = EventRecordError::Event(EventDecodeError::UnknownType("OrderLevitated".into()));
        let e = HistoryUnreadable::decoding("o-1", Some(7), unknown);
        assert_eq!(
            e.to_string(),
            "event 7 of order o-1 cannot be read: unknown event type \"OrderLevitated\""
        );
        let gap = FoldError::OutOfSequence { order_id: "o-1".into(), version: 3, found: 5 };
        assert_eq!(HistoryUnreadable::folding("o-1", gap).sequence, Some(5));
    }

    #[test]
    fn each_cause_has_the_contracts_code() {
        let unknown = EventRecordError::Event(EventDecodeError::UnknownType("OrderLevitated".into()));
        assert_eq!(HistoryUnreadable::decoding("o-1", Some(7), unknown).code(), "unknown_event_type");
        let missing = EventRecordError::Attribute(crate::store::dynamo::AttributeError::Missing("payload"));
        assert_eq!(HistoryUnreadable::decoding("o-1", Some(7), missing).code(), "malformed_item");
        let overflow = FoldError::Overflow { order_id: "o-1".into(), sequence: 4 };
        assert_eq!(HistoryUnreadable::folding("o-1", overflow).code(), "amount_overflow");
    }
}
