//! Random order histories for property tests (any sequence of well-formed events, including
//! ones no command would allow: facts must fold whatever they are), plain histories and
//! snapshots of them, and random JSON for the parsers of outside input.

use proptest::prelude::*;
use shared::domain::samples::sample_address;
use shared::domain::{Money, Order, OrderEvent, RecordedEvent};
use shared::store::snapshots::NewSnapshot;

fn sku() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["SKU-A", "SKU-B", "SKU-C", "SKU-D", "SKU-E"]).prop_map(str::to_owned)
}

fn payment() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["pay-1", "pay-2", "pay-3"]).prop_map(str::to_owned)
}

fn amount() -> impl Strategy<Value = Money> {
    (1i64..500_000).prop_map(Money::from_minor)
}

pub fn arb_event() -> impl Strategy<Value = OrderEvent> {
    prop_oneof![
        Just(OrderEvent::OrderCreated { customer_id: "c-1".into(), currency: "EUR".into() }),
        (sku(), 1u32..20, amount()).prop_map(|(sku, quantity, unit_price)| OrderEvent::ItemAdded {
            name: format!("Product {sku}"),
            sku,
            quantity,
            unit_price,
        }),
        sku().prop_map(|sku| OrderEvent::ItemRemoved { sku }),
        (sku(), 0u32..20).prop_map(|(sku, quantity)| OrderEvent::ItemQuantityChanged { sku, quantity }),
        Just(OrderEvent::ShippingAddressSet { address: sample_address() }),
        (payment(), amount()).prop_map(|(payment_id, amount)| OrderEvent::PaymentAuthorized {
            payment_id,
            amount,
            method: "card".into(),
        }),
        (payment(), amount())
            .prop_map(|(payment_id, amount)| OrderEvent::PaymentCaptured { payment_id, amount }),
        (payment(), amount()).prop_map(|(payment_id, amount)| OrderEvent::PaymentRefunded {
            payment_id,
            amount,
            reason: "refund".into(),
        }),
        Just(OrderEvent::OrderConfirmed {}),
        Just(OrderEvent::OrderShipped { carrier: "DHL".into(), tracking_number: "T-1".into() }),
        prop::option::of(Just("Hub".to_owned()))
            .prop_map(|location| OrderEvent::ShippingUpdated { status: "in transit".into(), location }),
        Just(OrderEvent::OrderDelivered {}),
        Just(OrderEvent::OrderCancelled { reason: "changed mind".into() }),
        Just(OrderEvent::OrderReturned { reason: "too small".into() }),
    ]
}

/// A history of `len` events for `order_id`, sequences 1..=len.
pub fn arb_history(
    order_id: &'static str,
    len: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<RecordedEvent>> {
    prop::collection::vec(arb_event(), len).prop_map(move |events| {
        events
            .into_iter()
            .enumerate()
            .map(|(i, event)| shared::domain::samples::recorded(order_id, i as u64 + 1, event))
            .collect()
    })
}

/// An order of `len` events: created (sequence 1), then `next(sequence)` for the rest.
pub fn history(order_id: &str, len: u64, next: impl Fn(u64) -> OrderEvent) -> Vec<RecordedEvent> {
    (1..=len)
        .map(|seq| {
            let event = if seq == 1 {
                OrderEvent::OrderCreated { customer_id: "c-1".into(), currency: "EUR".into() }
            } else {
                next(seq)
            };
            shared::domain::samples::recorded(order_id, seq, event)
        })
        .collect()
}

/// Created, then `len - 1` items added (five SKUs at 2.50): a plain order for tests that
/// need history, not variety.
pub fn plain_history(order_id: &str, len: u64) -> Vec<RecordedEvent> {
    history(order_id, len, |seq| OrderEvent::ItemAdded {
        sku: format!("SKU-{}", seq % 5),
        name: "Mug".into(),
        quantity: 1,
        unit_price: Money::from_minor(250),
    })
}

/// A snapshot of `state` as a test writes it.
pub fn snapshot_of(state: Order) -> NewSnapshot {
    NewSnapshot {
        state,
        timestamp: 1_800_000_000_000,
        created_by: "test".into(),
        reason: "test".into(),
        strategy: None,
        rule: None,
    }
}

/// A snapshot of `events` folded up to sequence `seq`.
pub fn snapshot_at(events: &[RecordedEvent], seq: u64) -> NewSnapshot {
    let prefix = &events[..seq as usize];
    snapshot_of(Order::replay(&events[0].order_id, prefix).expect("the prefix folds"))
}

/// Any JSON value, up to four levels deep: numbers, strings (some shaped like order ids),
/// arrays and objects (some keyed `orderId`). For parsers of outside input.
pub fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,70}".prop_map(Value::from),
        "[A-Za-z0-9][A-Za-z0-9_-]{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let key = prop_oneof!["[A-Za-z]{1,8}", Just("orderId".to_owned())];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `event`'s stored item as a newer writer would write it: its payload with one more field
/// (`x-<name>`, so it never collides with a known one).
pub fn with_extra_field(
    event: &RecordedEvent,
    name: &str,
    value: serde_json::Value,
) -> shared::store::dynamo::Item {
    let mut item = shared::store::events::event_to_item(event);
    let mut payload: serde_json::Value =
        serde_json::from_str(&event.event.payload_json()).expect("payloads are JSON");
    payload[format!("x-{name}")] = value;
    item.insert("payload".into(), shared::store::dynamo::s(payload.to_string()));
    item
}
