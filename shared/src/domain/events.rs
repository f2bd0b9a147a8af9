//! The order event catalogue and the envelope events are stored in.
//!
//! An event is stored as `eventType` + `schemaVersion` + `payload` (JSON text), written by the
//! order service, which may be in another language and deployed on its own schedule. Decoding
//! is a tolerant reader: payload fields this code does not know are ignored (a newer writer
//! adding a field is the most common change there is), and an optional field may be absent.
//! What it cannot interpret is an [`EventDecodeError`], never a guess: an unknown type, a
//! schema version no upcaster reads (`upcast.rs`), a known field of the wrong type, a missing
//! required field. Unknown fields are not kept in the state: the event store keeps the event
//! as it was written.

use super::money::{AMOUNT_OUT_OF_RANGE, Money};
use super::upcast::{self, EVENT_SCHEMA_VERSION, UPCASTERS, Upcaster};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "data")]
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
        #[serde(default)]
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
    #[error("{event_type} schema version {found} is not one this code reads ({readable:?})")]
    UnsupportedSchema { event_type: String, found: u32, readable: Vec<u32> },
    #[error("payload of {event_type} does not match its schema: {message}")]
    BadPayload { event_type: String, message: String },
    /// An amount beyond ±(2^53 − 1) minor units: a number not every reader holds exactly.
    #[error("payload of {event_type} holds an amount beyond ±(2^53 − 1): {message}")]
    AmountOutOfRange { event_type: String, message: String },
}

impl EventDecodeError {
    /// The refusal's stable code, the same in every implementation of the contract (the
    /// message is for people and may change).
    pub fn code(&self) -> &'static str {
        match self {
            EventDecodeError::UnknownType(_) => "unknown_event_type",
            EventDecodeError::UnsupportedSchema { .. } => "unsupported_schema_version",
            EventDecodeError::BadPayload { .. } => "invalid_payload",
            EventDecodeError::AmountOutOfRange { .. } => "amount_out_of_range",
        }
    }
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

    /// The refusal of a payload that has no JSON form at all (a stored map holding a binary
    /// attribute): the type's refusal first, as for any payload.
    pub fn unreadable_payload(event_type: &str, reason: String) -> EventDecodeError {
        if !EVENT_TYPES.contains(&event_type) {
            return EventDecodeError::UnknownType(event_type.to_owned());
        }
        EventDecodeError::BadPayload { event_type: event_type.to_owned(), message: reason }
    }

    /// Rebuilds an event from its stored parts.
    pub fn decode(event_type: &str, schema_version: u32, payload: &str) -> Result<Self, EventDecodeError> {
        Self::decode_by(UPCASTERS, event_type, schema_version, payload)
    }

    /// [`OrderEvent::decode`] with other upcasters (the fingerprint's tests change one).
    pub fn decode_by(
        upcasters: &[Upcaster],
        event_type: &str,
        schema_version: u32,
        payload: &str,
    ) -> Result<Self, EventDecodeError> {
        if !EVENT_TYPES.contains(&event_type) {
            return Err(EventDecodeError::UnknownType(event_type.to_owned()));
        }
        // an amount beyond the safe integers has its own refusal, wherever it is found
        let bad = |message: String| {
            let event_type = event_type.to_owned();
            if message.contains(AMOUNT_OUT_OF_RANGE) {
                EventDecodeError::AmountOutOfRange { event_type, message }
            } else {
                EventDecodeError::BadPayload { event_type, message }
            }
        };
        let data: serde_json::Value = serde_json::from_str(payload).map_err(|e| bad(e.to_string()))?;
        // before any upcaster: serde would read a JSON array as a struct's fields in order
        if !data.is_object() {
            return Err(bad("the payload is not a JSON object".into()));
        }
        // Payloads in the current shape need no upcaster.
        let data = if schema_version == EVENT_SCHEMA_VERSION {
            data
        } else {
            upcast::to_current(upcasters, event_type, schema_version, data)
                .ok_or_else(|| EventDecodeError::UnsupportedSchema {
                    event_type: event_type.to_owned(),
                    found: schema_version,
                    readable: upcast::readable_versions(event_type),
                })?
                .map_err(bad)?
        };
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
mod tests;
