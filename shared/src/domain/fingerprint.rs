//! The fold's fingerprint: what this code makes of a fixed corpus of stored histories, from
//! the payload text as stored to the state, hashed with the state schema version. Each event
//! goes through the decode and upcast path every load uses (`OrderEvent::decode`: payload
//! JSON, schema version, upcasters, the reader's defaults), then the fold. A deploy that
//! changes any of these for any event changes the fingerprint, and snapshots written under
//! another fingerprint are unusable (invariant 8 in docs/invariants.md): they are a cache of
//! code that no longer runs. The maintenance function notices the change on its next turn and
//! renews them by itself. The current value is committed in `fold.fingerprint`; a test fails
//! when the code's differs, so such a change is a visible, deliberate step.
//!
//! The corpus is this module's own, written out as stored payloads: samples elsewhere (demo,
//! tests) can change without touching it.

use super::events::{EventDecodeError, OrderEvent, RecordedEvent};
use super::fold::FoldError;
use super::order::{Order, STATE_SCHEMA_VERSION};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// An event as the event store holds it: type, schema version, payload text.
#[derive(Clone, Copy, Debug)]
pub struct StoredPayload {
    pub event_type: &'static str,
    pub schema_version: u32,
    pub payload: &'static str,
}

/// The fingerprint of this code's decode and fold, computed once per process.
pub fn current() -> &'static str {
    static CURRENT: OnceLock<String> = OnceLock::new();
    CURRENT.get_or_init(|| fingerprint_of(OrderEvent::decode, |id, events| Order::replay(id, events)))
}

/// The fingerprint of `decode` then `fold`: every corpus history decoded event by event, and
/// every prefix folded, in order. A history ends at the first event that does not decode.
pub fn fingerprint_of(
    decode: impl Fn(&str, u32, &str) -> Result<OrderEvent, EventDecodeError>,
    fold: impl Fn(&str, &[RecordedEvent]) -> Result<Order, FoldError>,
) -> String {
    let mut hash = Sha256::new();
    hash.update(format!("state-schema {STATE_SCHEMA_VERSION}\n"));
    for (id, history) in corpus() {
        let mut events = Vec::with_capacity(history.len());
        for (stored, sequence) in history.iter().zip(1u64..) {
            let event = match decode(stored.event_type, stored.schema_version, stored.payload) {
                Ok(event) => event,
                Err(e) => {
                    hash.update(format!("unreadable {sequence}: {e}\n"));
                    break;
                }
            };
            events.push(RecordedEvent {
                order_id: id.to_owned(),
                sequence,
                event_id: format!("{id}-{sequence}"),
                occurred_at: 1_700_000_000_000 + sequence as i64 * 60_000,
                event,
            });
            let line = match fold(id, &events) {
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

const fn v1(event_type: &'static str, payload: &'static str) -> StoredPayload {
    StoredPayload { event_type, schema_version: 1, payload }
}

const fn v2(event_type: &'static str, payload: &'static str) -> StoredPayload {
    StoredPayload { event_type, schema_version: 2, payload }
}

const CREATED: StoredPayload = v1("OrderCreated", r#"{"customerId":"c-1","currency":"EUR"}"#);
const ADDRESS_BERLIN: &str = r#"{"address":{"name":"A. Customer","line1":"1 Main Street","line2":"Floor 2","city":"Berlin","postalCode":"10115","country":"DE"}}"#;
const ADDRESS_HAMBURG: &str = r#"{"address":{"name":"A. Customer","line1":"1 Main Street","city":"Hamburg","postalCode":"20095","country":"DE"}}"#;

/// Fixed histories, as stored: every event type, every upcaster, a newer writer's extra
/// fields, absent optional fields, and the edge cases that have had bugs elsewhere.
pub fn corpus() -> Vec<(&'static str, Vec<StoredPayload>)> {
    vec![
        (
            "every-type",
            vec![
                CREATED,
                v1("ItemAdded", r#"{"sku":"SKU-1","name":"Espresso cups","quantity":2,"unitPrice":1250}"#),
                v1("ItemQuantityChanged", r#"{"sku":"SKU-1","quantity":3}"#),
                v1("ItemRemoved", r#"{"sku":"SKU-404"}"#),
                v1("ShippingAddressSet", ADDRESS_BERLIN),
                v1("PaymentAuthorized", r#"{"paymentId":"pay-1","amount":3750,"method":"card"}"#),
                v1("OrderConfirmed", r#"{}"#),
                v1("PaymentCaptured", r#"{"paymentId":"pay-1","amount":3750}"#),
                v1("OrderShipped", r#"{"carrier":"DHL","trackingNumber":"JD0001"}"#),
                v1("ShippingUpdated", r#"{"status":"in transit","location":"Leipzig"}"#),
                v1("OrderDelivered", r#"{}"#),
                v1("PaymentRefunded", r#"{"paymentId":"pay-1","amount":1000,"reason":"damaged cup"}"#),
                v1("OrderCancelled", r#"{"reason":"never happens after delivery, but facts are facts"}"#),
                v1("OrderReturned", r#"{"reason":"changed mind"}"#),
            ],
        ),
        (
            "basket-edits",
            vec![
                CREATED,
                v1("ItemAdded", r#"{"sku":"A","name":"Product A","quantity":2,"unitPrice":450}"#),
                v1("ItemAdded", r#"{"sku":"A","name":"Product A","quantity":1,"unitPrice":450}"#),
                v2(
                    "ItemAdded",
                    r#"{"sku":"B","productName":"Product B","quantity":3,"unitPriceMinor":1999}"#,
                ),
                v1("ItemQuantityChanged", r#"{"sku":"B","quantity":1}"#),
                v1("ItemQuantityChanged", r#"{"sku":"A","quantity":0}"#),
                v1("ItemRemoved", r#"{"sku":"missing"}"#),
                v1("ItemRemoved", r#"{"sku":"B"}"#),
                v1(
                    "ItemAdded",
                    r#"{"sku":"C","name":"Product C","quantity":1,"unitPrice":100000,"giftWrap":true}"#,
                ),
            ],
        ),
        (
            "payments",
            vec![
                CREATED,
                v2(
                    "ItemAdded",
                    r#"{"sku":"A","productName":"Product A","quantity":1,"unitPriceMinor":5000}"#,
                ),
                v1("ShippingAddressSet", ADDRESS_BERLIN),
                v1("ShippingAddressSet", ADDRESS_HAMBURG),
                v1("PaymentAuthorized", r#"{"paymentId":"p-1","amount":5000,"method":"card"}"#),
                v1("PaymentCaptured", r#"{"paymentId":"p-1","amount":3000}"#),
                v1("PaymentCaptured", r#"{"paymentId":"p-1","amount":2000}"#),
                v1("PaymentRefunded", r#"{"paymentId":"p-1","amount":1500,"reason":"partial"}"#),
                v1("PaymentCaptured", r#"{"paymentId":"p-unknown","amount":1}"#),
                v1("OrderConfirmed", r#"{}"#),
            ],
        ),
        (
            "shipping",
            vec![
                CREATED,
                v1("ItemAdded", r#"{"sku":"A","name":"Product A","quantity":1,"unitPrice":100}"#),
                v1("OrderConfirmed", r#"{}"#),
                v1("OrderShipped", r#"{"carrier":"DHL","trackingNumber":"T-1"}"#),
                v1("ShippingUpdated", r#"{"status":"in transit"}"#),
                v1("ShippingUpdated", r#"{"status":"hub","location":"Leipzig","eta":"tomorrow"}"#),
                v1("OrderDelivered", r#"{}"#),
                v1("OrderReturned", r#"{"reason":"too small"}"#),
            ],
        ),
        (
            "cancelled",
            vec![
                CREATED,
                v1("ItemAdded", r#"{"sku":"A","name":"Product A","quantity":1,"unitPrice":100}"#),
                v1("OrderCancelled", r#"{"reason":"changed mind"}"#),
            ],
        ),
        (
            "overflow",
            vec![
                CREATED,
                v1(
                    "ItemAdded",
                    r#"{"sku":"A","name":"Product A","quantity":4294967295,"unitPrice":4611686018427387903}"#,
                ),
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::upcast::{UPCASTERS, Upcaster};
    use serde_json::{Value, json};

    #[test]
    fn the_fingerprint_is_the_committed_one() {
        assert_eq!(
            current(),
            include_str!("fold.fingerprint").trim(),
            "how stored events are decoded, upcast or folded changed. If that is intended, write \
             the new fingerprint into shared/src/domain/fold.fingerprint: snapshots written before \
             are then refused, and the maintenance function renews them after the deploy"
        );
    }

    #[test]
    fn a_changed_fold_has_another_fingerprint() {
        // given a fold that (wrongly) ignores removals
        let forgetful = |id: &str, events: &[RecordedEvent]| {
            let mut kept: Vec<RecordedEvent> = events
                .iter()
                .filter(|e| !matches!(e.event, OrderEvent::ItemRemoved { .. }))
                .cloned()
                .collect();
            kept.iter_mut().zip(1..).for_each(|(e, seq)| e.sequence = seq);
            Order::replay(id, &kept)
        };
        // then its fingerprint differs, and the same code's is the same every time
        assert_ne!(fingerprint_of(OrderEvent::decode, forgetful), current());
        assert_eq!(fingerprint_of(OrderEvent::decode, |id, events| Order::replay(id, events)), current());
    }

    #[test]
    fn a_changed_upcaster_has_another_fingerprint() {
        // given an ItemAdded v2 upcaster that (wrongly) reads the price as whole units
        fn whole_units(payload: Value) -> Result<Value, String> {
            let cents = payload["unitPriceMinor"].as_i64().ok_or("no price")? * 100;
            Ok(
                json!({"sku": payload["sku"], "name": payload["productName"], "quantity": payload["quantity"], "unitPrice": cents}),
            )
        }
        let changed = [Upcaster::new("ItemAdded", 2, whole_units)];
        let decode = |t: &str, v: u32, p: &str| OrderEvent::decode_by(&changed, t, v, p);
        // then the fingerprint differs; with the shipped upcasters it is the current one
        assert_ne!(fingerprint_of(decode, |id, events| Order::replay(id, events)), current());
        let shipped = |t: &str, v: u32, p: &str| OrderEvent::decode_by(UPCASTERS, t, v, p);
        assert_eq!(fingerprint_of(shipped, |id, events| Order::replay(id, events)), current());
    }

    #[test]
    fn a_changed_reader_default_has_another_fingerprint() {
        // given a reader that fills an absent optional location with a default
        let defaulting = |t: &str, v: u32, p: &str| {
            let mut payload: Value = serde_json::from_str(p).unwrap();
            if t == "ShippingUpdated" && payload.get("location").is_none() {
                payload["location"] = json!("unknown");
            }
            OrderEvent::decode(t, v, &payload.to_string())
        };
        assert_ne!(fingerprint_of(defaulting, |id, events| Order::replay(id, events)), current());
    }

    #[test]
    fn the_corpus_covers_every_event_type_and_every_upcaster() {
        let corpus = corpus();
        let stored = || corpus.iter().flat_map(|(_, history)| history.iter());
        let types: std::collections::BTreeSet<&str> = stored().map(|s| s.event_type).collect();
        assert_eq!(types.len(), super::super::EVENT_TYPES.len());
        for upcaster in UPCASTERS {
            assert!(
                stored()
                    .any(|s| s.event_type == upcaster.event_type
                        && s.schema_version == upcaster.schema_version),
                "no corpus event for the {} v{} upcaster",
                upcaster.event_type,
                upcaster.schema_version
            );
        }
        // and every corpus event decodes with this code
        for s in stored() {
            OrderEvent::decode(s.event_type, s.schema_version, s.payload).unwrap();
        }
    }
}
