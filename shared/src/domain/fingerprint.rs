//! The fold's fingerprint: what the fold makes of a fixed corpus of histories (every event
//! type, and the edge cases that have had bugs elsewhere), hashed with the state schema
//! version. A deploy that changes how any event is applied changes it, and snapshots written
//! under another fingerprint are unusable (invariant 8 in docs/invariants.md): they are a cache
//! of a fold that no longer runs. The current value is committed in `fold.fingerprint`; a test
//! fails when the code's differs, so a fold change is a visible, deliberate step (update the
//! file, then rebuild snapshots: see the runbook).

use super::events::{Address, OrderEvent, RecordedEvent};
use super::fold::FoldError;
use super::money::Money;
use super::order::{Order, STATE_SCHEMA_VERSION};
use super::samples::{one_of_each_event, recorded};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The fingerprint of this code's fold, computed once per process.
pub fn current() -> &'static str {
    static CURRENT: OnceLock<String> = OnceLock::new();
    CURRENT.get_or_init(|| fingerprint_of(|id, events| Order::replay(id, events)))
}

/// The fingerprint of `fold`: every prefix of every corpus history folded, in order.
pub fn fingerprint_of(fold: impl Fn(&str, &[RecordedEvent]) -> Result<Order, FoldError>) -> String {
    let mut hash = Sha256::new();
    hash.update(format!("state-schema {STATE_SCHEMA_VERSION}\n"));
    for (id, history) in corpus() {
        for end in 1..=history.len() {
            let line = match fold(&id, &history[..end]) {
                Ok(state) => serde_json::to_string(&state).expect("order state always serializes"),
                Err(e) => format!("refused: {e}"),
            };
            hash.update(line);
            hash.update("\n");
        }
    }
    let hex: String = hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("fold-{hex}")
}

/// Fixed histories: committed here, never generated, so the fingerprint depends on the fold
/// alone.
pub fn corpus() -> Vec<(String, Vec<RecordedEvent>)> {
    let history = |id: &str, events: Vec<OrderEvent>| {
        let recorded = events.into_iter().zip(1..).map(|(e, seq)| recorded(id, seq, e)).collect();
        (id.to_owned(), recorded)
    };
    let item = |sku: &str, quantity: u32, cents: i64| OrderEvent::ItemAdded {
        sku: sku.into(),
        name: format!("Product {sku}"),
        quantity,
        unit_price: Money::from_minor(cents),
    };
    let created = || OrderEvent::OrderCreated { customer_id: "c-1".into(), currency: "EUR".into() };
    let address = |city: &str| Address {
        name: "A. Customer".into(),
        line1: "1 Main Street".into(),
        line2: Some("Floor 2".into()),
        city: city.into(),
        postal_code: "10115".into(),
        country: "DE".into(),
    };
    vec![
        history("every-type", one_of_each_event()),
        history(
            "basket-edits",
            vec![
                created(),
                item("A", 2, 450),
                item("A", 1, 450),
                item("B", 3, 1999),
                OrderEvent::ItemQuantityChanged { sku: "B".into(), quantity: 1 },
                OrderEvent::ItemQuantityChanged { sku: "A".into(), quantity: 0 },
                OrderEvent::ItemRemoved { sku: "missing".into() },
                OrderEvent::ItemRemoved { sku: "B".into() },
                item("C", 1, 100_000),
            ],
        ),
        history(
            "payments",
            vec![
                created(),
                item("A", 1, 5000),
                OrderEvent::ShippingAddressSet { address: address("Berlin") },
                OrderEvent::ShippingAddressSet { address: address("Hamburg") },
                OrderEvent::PaymentAuthorized {
                    payment_id: "p-1".into(),
                    amount: Money::from_minor(5000),
                    method: "card".into(),
                },
                OrderEvent::PaymentCaptured { payment_id: "p-1".into(), amount: Money::from_minor(3000) },
                OrderEvent::PaymentCaptured { payment_id: "p-1".into(), amount: Money::from_minor(2000) },
                OrderEvent::PaymentRefunded {
                    payment_id: "p-1".into(),
                    amount: Money::from_minor(1500),
                    reason: "partial".into(),
                },
                OrderEvent::PaymentCaptured { payment_id: "p-unknown".into(), amount: Money::from_minor(1) },
                OrderEvent::OrderConfirmed {},
            ],
        ),
        history(
            "shipping",
            vec![
                created(),
                item("A", 1, 100),
                OrderEvent::OrderConfirmed {},
                OrderEvent::OrderShipped { carrier: "DHL".into(), tracking_number: "T-1".into() },
                OrderEvent::ShippingUpdated { status: "in transit".into(), location: None },
                OrderEvent::ShippingUpdated { status: "hub".into(), location: Some("Leipzig".into()) },
                OrderEvent::OrderDelivered {},
                OrderEvent::OrderReturned { reason: "too small".into() },
            ],
        ),
        history(
            "cancelled",
            vec![created(), item("A", 1, 100), OrderEvent::OrderCancelled { reason: "changed mind".into() }],
        ),
        history("overflow", vec![created(), item("A", u32::MAX, i64::MAX / 2)]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_the_committed_one() {
        assert_eq!(
            current(),
            include_str!("fold.fingerprint").trim(),
            "the fold's behaviour changed. If that is intended, write the new fingerprint into \
             shared/src/domain/fold.fingerprint: snapshots written before are then refused, and \
             the runbook's rebuild renews them"
        );
    }

    #[test]
    fn a_changed_fold_has_another_fingerprint() {
        // given a fold that (wrongly) ignores removals
        let forgetful = |id: &str, events: &[RecordedEvent]| {
            let kept: Vec<RecordedEvent> = events
                .iter()
                .filter(|e| !matches!(e.event, OrderEvent::ItemRemoved { .. }))
                .cloned()
                .collect();
            let mut renumbered = kept.clone();
            renumbered.iter_mut().zip(1..).for_each(|(e, seq)| e.sequence = seq);
            Order::replay(id, &renumbered)
        };
        // then its fingerprint differs, and the same fold's is the same every time
        assert_ne!(fingerprint_of(forgetful), current());
        assert_eq!(fingerprint_of(|id, events| Order::replay(id, events)), current());
    }

    #[test]
    fn the_corpus_covers_every_event_type() {
        let seen: std::collections::BTreeSet<&str> =
            corpus().iter().flat_map(|(_, h)| h.iter().map(|e| e.event.event_type())).collect();
        assert_eq!(seen.len(), super::super::EVENT_TYPES.len());
    }
}
