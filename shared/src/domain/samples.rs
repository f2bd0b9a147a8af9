//! Realistic sample events, for tests, the demo workload and benchmarks.

use super::events::{Address, OrderEvent, RecordedEvent};
use super::money::Money;
use super::order_id::OrderId;

/// A known-good id, for tests and samples; panics on an invalid one (input from outside is
/// parsed with [`OrderId::parse`]).
pub fn order_id(id: &str) -> OrderId {
    OrderId::parse(id).unwrap_or_else(|e| panic!("sample id {id:?}: {e}"))
}

/// One event of every type, in an order in which they could really happen.
pub fn one_of_each_event() -> Vec<OrderEvent> {
    vec![
        OrderEvent::OrderCreated { customer_id: "c-1".into(), currency: "EUR".into() },
        OrderEvent::ItemAdded {
            sku: "SKU-1".into(),
            name: "Espresso cups".into(),
            quantity: 2,
            unit_price: Money::from_minor(1250),
        },
        OrderEvent::ItemQuantityChanged { sku: "SKU-1".into(), quantity: 3 },
        OrderEvent::ItemRemoved { sku: "SKU-404".into() },
        OrderEvent::ShippingAddressSet { address: sample_address() },
        OrderEvent::PaymentAuthorized {
            payment_id: "pay-1".into(),
            amount: Money::from_minor(3750),
            method: "card".into(),
        },
        OrderEvent::OrderConfirmed {},
        OrderEvent::PaymentCaptured { payment_id: "pay-1".into(), amount: Money::from_minor(3750) },
        OrderEvent::OrderShipped { carrier: "DHL".into(), tracking_number: "JD0001".into() },
        OrderEvent::ShippingUpdated { status: "in transit".into(), location: Some("Leipzig".into()) },
        OrderEvent::OrderDelivered {},
        OrderEvent::PaymentRefunded {
            payment_id: "pay-1".into(),
            amount: Money::from_minor(1000),
            reason: "damaged cup".into(),
        },
        OrderEvent::OrderCancelled { reason: "never happens after delivery, but facts are facts".into() },
        OrderEvent::OrderReturned { reason: "changed mind".into() },
    ]
}

pub fn sample_address() -> Address {
    Address {
        name: "Ada Lovelace".into(),
        line1: "12 St James's Square".into(),
        line2: None,
        city: "London".into(),
        postal_code: "SW1Y 4JH".into(),
        country: "GB".into(),
    }
}

/// Wraps an event in the envelope it would have in the store.
pub fn recorded(order_id: &str, sequence: u64, event: OrderEvent) -> RecordedEvent {
    RecordedEvent {
        order_id: order_id.to_owned(),
        sequence,
        event_id: format!("{order_id}-{sequence}"),
        occurred_at: 1_700_000_000_000 + sequence as i64 * 60_000,
        event,
    }
}
