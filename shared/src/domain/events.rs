//! The order event catalogue and the envelope events are stored in.
//!
//! An event is stored as `eventType` + `payload` (JSON text). Decoding is strict: an unknown
//! type, a payload that does not match its type, or a schema newer than this code understands
//! is an [`EventDecodeError`], never a guess.

use super::money::Money;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Highest event payload schema version this code can read.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Address {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// Everything that can happen to an order. Names are the stored `eventType`s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", deny_unknown_fields)]
pub enum OrderEvent {
    #[serde(rename_all = "camelCase")]
    OrderCreated {
        customer_id: String,
        currency: String,
    },
    #[serde(rename_all = "camelCase")]
    ItemAdded {
        sku: String,
        name: String,
        quantity: u32,
        unit_price: Money,
    },
    #[serde(rename_all = "camelCase")]
    ItemRemoved {
        sku: String,
    },
    #[serde(rename_all = "camelCase")]
    ItemQuantityChanged {
        sku: String,
        quantity: u32,
    },
    #[serde(rename_all = "camelCase")]
    ShippingAddressSet {
        address: Address,
    },
    #[serde(rename_all = "camelCase")]
    PaymentAuthorized {
        payment_id: String,
        amount: Money,
        method: String,
    },
    #[serde(rename_all = "camelCase")]
    PaymentCaptured {
        payment_id: String,
        amount: Money,
    },
    #[serde(rename_all = "camelCase")]
    PaymentRefunded {
        payment_id: String,
        amount: Money,
        reason: String,
    },
    OrderConfirmed {},
    #[serde(rename_all = "camelCase")]
    OrderShipped {
        carrier: String,
        tracking_number: String,
    },
    #[serde(rename_all = "camelCase")]
    ShippingUpdated {
        status: String,
        location: Option<String>,
    },
    OrderDelivered {},
    #[serde(rename_all = "camelCase")]
    OrderCancelled {
        reason: String,
    },
    #[serde(rename_all = "camelCase")]
    OrderReturned {
        reason: String,
    },
}

/// Every stored `eventType` this code understands.
pub const EVENT_TYPES: [&str; 14] = [
    "OrderCreated",
    "ItemAdded",
    "ItemRemoved",
    "ItemQuantityChanged",
    "ShippingAddressSet",
    "PaymentAuthorized",
    "PaymentCaptured",
    "PaymentRefunded",
    "OrderConfirmed",
    "OrderShipped",
    "ShippingUpdated",
    "OrderDelivered",
    "OrderCancelled",
    "OrderReturned",
];

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EventDecodeError {
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    #[error("event schema version {found} is newer than the supported {supported}")]
    UnsupportedSchema { found: u32, supported: u32 },
    #[error("payload of {event_type} does not match its schema: {message}")]
    BadPayload { event_type: String, message: String },
}

impl OrderEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            OrderEvent::OrderCreated { .. } => "OrderCreated",
            OrderEvent::ItemAdded { .. } => "ItemAdded",
            OrderEvent::ItemRemoved { .. } => "ItemRemoved",
            OrderEvent::ItemQuantityChanged { .. } => "ItemQuantityChanged",
            OrderEvent::ShippingAddressSet { .. } => "ShippingAddressSet",
            OrderEvent::PaymentAuthorized { .. } => "PaymentAuthorized",
            OrderEvent::PaymentCaptured { .. } => "PaymentCaptured",
            OrderEvent::PaymentRefunded { .. } => "PaymentRefunded",
            OrderEvent::OrderConfirmed { .. } => "OrderConfirmed",
            OrderEvent::OrderShipped { .. } => "OrderShipped",
            OrderEvent::ShippingUpdated { .. } => "ShippingUpdated",
            OrderEvent::OrderDelivered { .. } => "OrderDelivered",
            OrderEvent::OrderCancelled { .. } => "OrderCancelled",
            OrderEvent::OrderReturned { .. } => "OrderReturned",
        }
    }

    /// The JSON text stored in the `payload` attribute.
    pub fn payload_json(&self) -> String {
        let mut tagged = serde_json::to_value(self).expect("order events always serialize");
        let data =
            tagged.get_mut("data").map(serde_json::Value::take).unwrap_or_else(|| serde_json::json!({}));
        data.to_string()
    }

    /// Rebuilds an event from its stored parts.
    pub fn decode(event_type: &str, schema_version: u32, payload: &str) -> Result<Self, EventDecodeError> {
        if !EVENT_TYPES.contains(&event_type) {
            return Err(EventDecodeError::UnknownType(event_type.to_owned()));
        }
        if schema_version == 0 || schema_version > EVENT_SCHEMA_VERSION {
            return Err(EventDecodeError::UnsupportedSchema {
                found: schema_version,
                supported: EVENT_SCHEMA_VERSION,
            });
        }
        let bad =
            |message: String| EventDecodeError::BadPayload { event_type: event_type.to_owned(), message };
        let data: serde_json::Value = serde_json::from_str(payload).map_err(|e| bad(e.to_string()))?;
        serde_json::from_value(serde_json::json!({ "type": event_type, "data": data }))
            .map_err(|e| bad(e.to_string()))
    }
}

/// An event as stored: its position in the order's history and when it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    pub order_id: String,
    /// 1, 2, 3, … contiguous per order.
    pub sequence: u64,
    pub event_id: String,
    /// Milliseconds since the Unix epoch.
    pub occurred_at: i64,
    pub event: OrderEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_round_trips_through_its_stored_form() {
        let events = crate::domain::testing::one_of_each_event();
        assert_eq!(events.len(), EVENT_TYPES.len(), "the sample covers the whole catalogue");
        for event in events {
            let decoded = OrderEvent::decode(event.event_type(), EVENT_SCHEMA_VERSION, &event.payload_json());
            assert_eq!(decoded.as_ref(), Ok(&event), "{}", event.event_type());
        }
    }

    #[test]
    fn unknown_type_is_an_error_value() {
        let err = OrderEvent::decode("OrderTeleported", 1, "{}").unwrap_err();
        assert_eq!(err, EventDecodeError::UnknownType("OrderTeleported".into()));
    }

    #[test]
    fn newer_schema_is_refused_rather_than_guessed() {
        let err = OrderEvent::decode("OrderConfirmed", 2, "{}").unwrap_err();
        assert!(matches!(err, EventDecodeError::UnsupportedSchema { found: 2, .. }));
    }

    #[test]
    fn corrupt_or_mismatched_payloads_are_errors() {
        for payload in [
            "not json",
            "{}",
            r#"{"sku":"A","name":"x","quantity":-1,"unitPrice":5}"#,
            r#"{"sku":"A","name":"x","quantity":1,"unitPrice":5.5}"#,
            r#"{"sku":"A","name":"x","quantity":1,"unitPrice":5,"extra":true}"#,
        ] {
            assert!(
                matches!(
                    OrderEvent::decode("ItemAdded", 1, payload),
                    Err(EventDecodeError::BadPayload { .. })
                ),
                "{payload}"
            );
        }
    }
}
