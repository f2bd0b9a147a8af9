//! The fold's decisions, event by event.

use super::*;
use crate::domain::MAX_AMOUNT;
use crate::domain::testing::{event, one_of_each_event};

#[test]
fn folding_the_whole_catalogue_gives_the_expected_order() {
    // given one event of each type, in a realistic order
    let events: Vec<_> =
        one_of_each_event().into_iter().enumerate().map(|(i, e)| event("o-1", i as u64 + 1, e)).collect();
    // when
    let order = Order::replay("o-1", &events).unwrap();
    // then
    assert_eq!(order.version, 14);
    assert_eq!(order.status, OrderStatus::Returned);
    assert_eq!(order.customer_id.as_deref(), Some("c-1"));
    assert_eq!(order.items.len(), 1);
    assert_eq!(order.total, Money::from_minor(3 * 1250));
    assert_eq!(order.amount_paid(), Money::from_minor(3750 - 1000));
    let shipment = order.shipment.unwrap();
    assert_eq!(shipment.updates.len(), 1);
    assert!(shipment.delivered_at.is_some());
}

#[test]
fn an_event_out_of_sequence_is_refused_and_state_kept() {
    let mut order = Order::empty("o-1");
    let created =
        event("o-1", 1, OrderEvent::OrderCreated { customer_id: "c".into(), currency: "EUR".into() });
    order.apply(&created).unwrap();
    let before = order.clone();
    let gap = event("o-1", 3, OrderEvent::OrderConfirmed {});
    assert_eq!(
        order.apply(&gap),
        Err(FoldError::OutOfSequence { order_id: "o-1".into(), version: 1, found: 3 })
    );
    assert_eq!(order, before);
    assert!(matches!(order.apply(&created), Err(FoldError::OutOfSequence { .. })));
}

#[test]
fn an_event_of_another_order_is_refused() {
    let mut order = Order::empty("o-1");
    let other = event("o-2", 1, OrderEvent::OrderConfirmed {});
    assert!(matches!(order.apply(&other), Err(FoldError::WrongOrder { .. })));
}

#[test]
fn overflowing_amounts_are_an_error_not_a_panic() {
    let mut order = Order::empty("o-1");
    let huge = |seq, sku: &str| {
        event(
            "o-1",
            seq,
            OrderEvent::ItemAdded {
                sku: sku.into(),
                name: "x".into(),
                quantity: u32::MAX,
                unit_price: Money::from_minor(i64::MAX / 2),
            },
        )
    };
    assert!(matches!(order.apply(&huge(1, "a")), Err(FoldError::Overflow { .. })));
    assert_eq!(order, Order::empty("o-1"));
}

#[test]
fn an_item_event_that_would_overflow_changes_nothing_at_all() {
    // given an order whose one line is worth half of the largest amount
    let line = |seq, sku: &str, quantity| {
        let unit_price = Money::from_minor(MAX_AMOUNT / 4);
        event("o-1", seq, OrderEvent::ItemAdded { sku: sku.into(), name: sku.into(), quantity, unit_price })
    };
    let mut order = Order::replay("o-1", &[line(1, "a", 2)]).unwrap();
    let before = order.clone();
    // when any item event would push the total past it, then the state stays as it was
    for refused in [
        line(2, "a", 3),
        line(2, "b", 3),
        event("o-1", 2, OrderEvent::ItemQuantityChanged { sku: "a".into(), quantity: 5 }),
    ] {
        assert!(matches!(order.apply(&refused), Err(FoldError::Overflow { .. })), "{refused:?}");
        assert_eq!(order, before, "{refused:?}");
    }
    // and one that fits still applies
    order.apply(&event("o-1", 2, OrderEvent::ItemQuantityChanged { sku: "a".into(), quantity: 1 })).unwrap();
    assert_eq!(order.total, Money::from_minor(MAX_AMOUNT / 4));
}

#[test]
fn quantity_changed_to_zero_removes_the_line() {
    let events = [
        event(
            "o",
            1,
            OrderEvent::ItemAdded {
                sku: "a".into(),
                name: "A".into(),
                quantity: 2,
                unit_price: Money::from_minor(100),
            },
        ),
        event("o", 2, OrderEvent::ItemQuantityChanged { sku: "a".into(), quantity: 0 }),
    ];
    let order = Order::replay("o", &events).unwrap();
    assert!(order.items.is_empty());
    assert_eq!(order.total, Money::ZERO);
}
