//! The fold's conformance corpus: named histories, as stored (event type, schema version,
//! payload text), each showing one rule of the decode and the fold, so an implementation in
//! another language that fails a case learns which rule it breaks. `conformance/fold/` holds
//! them with what this code makes of them; the fingerprint hashes that (`fingerprint.rs`).
//!
//! The cases are this module's own, written out as stored payloads: samples elsewhere (demo,
//! tests) can change without touching them.

/// An event as the event store holds it: type, schema version, payload text.
#[derive(Clone, Copy, Debug)]
pub struct StoredPayload {
    pub event_type: &'static str,
    pub schema_version: u32,
    pub payload: &'static str,
}

/// One history and the rule it shows. Its name is its order's id.
#[derive(Clone, Debug)]
pub struct FoldCase {
    pub name: &'static str,
    pub rule: &'static str,
    pub events: Vec<StoredPayload>,
}

const fn v1(event_type: &'static str, payload: &'static str) -> StoredPayload {
    StoredPayload { event_type, schema_version: 1, payload }
}

const fn v2(event_type: &'static str, payload: &'static str) -> StoredPayload {
    StoredPayload { event_type, schema_version: 2, payload }
}

const CREATED: StoredPayload = v1("OrderCreated", r#"{"customerId":"c-1","currency":"EUR"}"#);
const ITEM_A: StoredPayload =
    v1("ItemAdded", r#"{"sku":"A","name":"Product A","quantity":1,"unitPrice":100}"#);
const CONFIRMED: StoredPayload = v1("OrderConfirmed", r#"{}"#);
const SHIPPED: StoredPayload = v1("OrderShipped", r#"{"carrier":"DHL","trackingNumber":"T-1"}"#);
const AUTHORIZED: StoredPayload =
    v1("PaymentAuthorized", r#"{"paymentId":"p-1","amount":5000,"method":"card"}"#);
const ADDRESS_BERLIN: &str = r#"{"address":{"name":"A. Customer","line1":"1 Main Street","line2":"Floor 2","city":"Berlin","postalCode":"10115","country":"DE"}}"#;
const ADDRESS_HAMBURG: &str = r#"{"address":{"name":"A. Customer","line1":"1 Main Street","city":"Hamburg","postalCode":"20095","country":"DE"}}"#;

fn case(name: &'static str, rule: &'static str, events: Vec<StoredPayload>) -> FoldCase {
    FoldCase { name, rule, events }
}

/// Every case, by name.
pub fn cases() -> Vec<FoldCase> {
    let mut cases = vec![
        case(
            "every-event-type",
            "every event type, in an order in which they could happen",
            vec![
                CREATED,
                v1("ItemAdded", r#"{"sku":"SKU-1","name":"Espresso cups","quantity":2,"unitPrice":1250}"#),
                v1("ItemQuantityChanged", r#"{"sku":"SKU-1","quantity":3}"#),
                v1("ItemRemoved", r#"{"sku":"SKU-404"}"#),
                v1("ShippingAddressSet", ADDRESS_BERLIN),
                v1("PaymentAuthorized", r#"{"paymentId":"pay-1","amount":3750,"method":"card"}"#),
                CONFIRMED,
                v1("PaymentCaptured", r#"{"paymentId":"pay-1","amount":3750}"#),
                v1("OrderShipped", r#"{"carrier":"DHL","trackingNumber":"JD0001"}"#),
                v1("ShippingUpdated", r#"{"status":"in transit","location":"Leipzig"}"#),
                v1("OrderDelivered", r#"{}"#),
                v1("PaymentRefunded", r#"{"paymentId":"pay-1","amount":1000,"reason":"damaged cup"}"#),
                v1("OrderReturned", r#"{"reason":"changed mind"}"#),
            ],
        ),
        case(
            "item-added-v2-reads-as-the-current-shape",
            "ItemAdded schema version 2 (productName, unitPriceMinor) is upcast to version 1",
            vec![
                CREATED,
                v2(
                    "ItemAdded",
                    r#"{"sku":"B","productName":"Product B","quantity":3,"unitPriceMinor":1999}"#,
                ),
            ],
        ),
        case(
            "re-adding-a-sku-sums-the-quantity-and-takes-the-new-price-name",
            "ItemAdded for a SKU already in the order adds its quantity; the line takes the new unit price and name",
            vec![
                CREATED,
                v1("ItemAdded", r#"{"sku":"A","name":"Product A","quantity":2,"unitPrice":450}"#),
                v1("ItemAdded", r#"{"sku":"A","name":"Product A (new)","quantity":1,"unitPrice":500}"#),
            ],
        ),
        case(
            "adding-zero-of-a-new-sku-adds-no-line",
            "a line never has quantity 0: ItemAdded with quantity 0 for a new SKU leaves the items as they were",
            vec![
                CREATED,
                ITEM_A,
                v1("ItemAdded", r#"{"sku":"Z","name":"Zero","quantity":0,"unitPrice":700}"#),
            ],
        ),
        case(
            "a-quantity-of-zero-removes-the-line",
            "ItemQuantityChanged to 0 removes the line and its amount from the total",
            vec![CREATED, ITEM_A, v1("ItemQuantityChanged", r#"{"sku":"A","quantity":0}"#)],
        ),
        case(
            "changing-the-quantity-of-an-unknown-sku-changes-nothing",
            "ItemQuantityChanged for a SKU not in the order is recorded (version, updatedAt) and changes no line",
            vec![CREATED, ITEM_A, v1("ItemQuantityChanged", r#"{"sku":"missing","quantity":5}"#)],
        ),
        case(
            "removing-an-unknown-sku-changes-nothing",
            "ItemRemoved for a SKU not in the order is recorded and changes no line",
            vec![CREATED, ITEM_A, v1("ItemRemoved", r#"{"sku":"missing"}"#)],
        ),
        case(
            "the-total-follows-every-line-change",
            "the total is the sum of quantity x unit price over the lines, after adds, changes and removals",
            vec![
                CREATED,
                ITEM_A,
                v1("ItemAdded", r#"{"sku":"B","name":"Product B","quantity":3,"unitPrice":250}"#),
                v1("ItemQuantityChanged", r#"{"sku":"A","quantity":4}"#),
                v1("ItemRemoved", r#"{"sku":"B"}"#),
            ],
        ),
        case(
            "a-second-authorization-of-a-payment-adds-to-it",
            "PaymentAuthorized for a known payment adds its amount and keeps the first method",
            vec![
                CREATED,
                AUTHORIZED,
                v1("PaymentAuthorized", r#"{"paymentId":"p-1","amount":250,"method":"voucher"}"#),
            ],
        ),
        case(
            "captures-and-refunds-add-up-per-payment",
            "captures and refunds of a known payment add up on it, whatever the amount authorized",
            vec![
                CREATED,
                AUTHORIZED,
                v1("PaymentCaptured", r#"{"paymentId":"p-1","amount":3000}"#),
                v1("PaymentCaptured", r#"{"paymentId":"p-1","amount":2000}"#),
                v1("PaymentRefunded", r#"{"paymentId":"p-1","amount":1500,"reason":"partial"}"#),
            ],
        ),
        case(
            "a-capture-for-an-unknown-payment-is-ignored",
            "PaymentCaptured for a payment never authorized is recorded and changes no payment",
            vec![CREATED, AUTHORIZED, v1("PaymentCaptured", r#"{"paymentId":"p-unknown","amount":1}"#)],
        ),
        case(
            "a-refund-for-an-unknown-payment-is-ignored",
            "PaymentRefunded for a payment never authorized is recorded and changes no payment",
            vec![
                CREATED,
                AUTHORIZED,
                v1("PaymentRefunded", r#"{"paymentId":"p-unknown","amount":1,"reason":"x"}"#),
            ],
        ),
        case(
            "a-shipping-update-before-the-order-shipped-is-dropped",
            "ShippingUpdated before OrderShipped is recorded (version, updatedAt) and kept nowhere",
            vec![CREATED, ITEM_A, CONFIRMED, v1("ShippingUpdated", r#"{"status":"label printed"}"#), SHIPPED],
        ),
        case(
            "shipping-updates-are-kept-in-order-with-their-time",
            "after OrderShipped each ShippingUpdated is appended to the shipment with the event's time",
            vec![
                CREATED,
                SHIPPED,
                v1("ShippingUpdated", r#"{"status":"in transit","location":"Leipzig"}"#),
                v1("ShippingUpdated", r#"{"status":"out for delivery","location":"Berlin"}"#),
            ],
        ),
        case(
            "delivery-records-its-time-on-the-shipment",
            "OrderDelivered sets the status and, when there is a shipment, its deliveredAt",
            vec![CREATED, SHIPPED, v1("OrderDelivered", r#"{}"#)],
        ),
        case(
            "delivery-without-a-shipment-sets-only-the-status",
            "OrderDelivered with no shipment sets the status and creates no shipment",
            vec![CREATED, v1("OrderDelivered", r#"{}"#)],
        ),
        case(
            "a-later-address-replaces-the-earlier",
            "ShippingAddressSet replaces the whole address; an absent line2 is absent, not kept from before",
            vec![
                CREATED,
                v1("ShippingAddressSet", ADDRESS_BERLIN),
                v1("ShippingAddressSet", ADDRESS_HAMBURG),
            ],
        ),
        case(
            "facts-are-recorded-whatever-the-status",
            "the fold records facts: a cancellation after delivery is applied (the commands, not the fold, refuse it)",
            vec![
                CREATED,
                SHIPPED,
                v1("OrderDelivered", r#"{}"#),
                v1("OrderCancelled", r#"{"reason":"late"}"#),
            ],
        ),
        case(
            "unknown-payload-fields-are-ignored",
            "a newer writer's extra payload fields are read past, at any depth",
            vec![
                v1(
                    "OrderCreated",
                    r#"{"customerId":"c-1","currency":"EUR","channel":"app","meta":{"a":[1,2]}}"#,
                ),
                v1(
                    "ItemAdded",
                    r#"{"sku":"A","name":"Product A","quantity":1,"unitPrice":100,"giftWrap":true}"#,
                ),
                v1("OrderConfirmed", r#"{"confirmedBy":"ops"}"#),
            ],
        ),
        case(
            "absent-optional-fields-are-absent",
            "optional payload fields (a shipping update's location, an address's line2) may be missing",
            vec![
                CREATED,
                v1("ShippingAddressSet", ADDRESS_HAMBURG),
                SHIPPED,
                v1("ShippingUpdated", r#"{"status":"hub"}"#),
            ],
        ),
        case(
            "text-is-kept-as-written",
            "names and reasons keep every character, outside ASCII too",
            vec![
                CREATED,
                v1(
                    "ItemAdded",
                    r#"{"sku":"K-1","name":"Café crème \"fort\" – 250 g","quantity":1,"unitPrice":990}"#,
                ),
                v1("OrderCancelled", r#"{"reason":"zu spät 🚚"}"#),
            ],
        ),
        case(
            "the-largest-safe-amount-is-held-exactly",
            "amounts up to 2^53 - 1 minor units are read and summed exactly",
            vec![
                CREATED,
                v1(
                    "ItemAdded",
                    r#"{"sku":"A","name":"Product A","quantity":1,"unitPrice":9007199254740991}"#,
                ),
            ],
        ),
        case(
            "an-unknown-event-type-is-refused",
            "an event type this code does not know refuses the event: the history cannot be read past it",
            vec![CREATED, v1("OrderTeleported", r#"{}"#)],
        ),
        case(
            "an-unreadable-schema-version-is-refused",
            "a schema version no upcaster reads refuses the event",
            vec![CREATED, v2("OrderConfirmed", r#"{}"#)],
        ),
        case(
            "a-payload-that-does-not-match-its-schema-is-refused",
            "a missing or mistyped payload field refuses the event",
            vec![
                CREATED,
                v1("ItemAdded", r#"{"sku":"A","name":"Product A","quantity":"1","unitPrice":100}"#),
            ],
        ),
        case(
            "a-fractional-amount-is-refused",
            "money is a whole number of minor units: a fraction refuses the event",
            vec![CREATED, v1("ItemAdded", r#"{"sku":"A","name":"Product A","quantity":1,"unitPrice":99.5}"#)],
        ),
        case(
            "an-amount-beyond-the-safe-integers-is-refused",
            "an amount beyond 2^53 - 1 minor units refuses the event with its own code, never rounded",
            vec![
                CREATED,
                v1(
                    "ItemAdded",
                    r#"{"sku":"A","name":"Product A","quantity":1,"unitPrice":9007199254740992}"#,
                ),
            ],
        ),
        case(
            "a-total-beyond-the-safe-integers-refuses-the-event",
            "a line or total that would pass 2^53 - 1 minor units refuses the event; the state stays as before it",
            vec![
                CREATED,
                v1(
                    "ItemAdded",
                    r#"{"sku":"A","name":"Product A","quantity":2,"unitPrice":4503599627370496}"#,
                ),
            ],
        ),
        case(
            "payment-sums-beyond-the-safe-integers-refuse-the-event",
            "a capture that would take a payment past 2^53 - 1 minor units refuses the event",
            vec![
                CREATED,
                v1("PaymentAuthorized", r#"{"paymentId":"p-1","amount":9007199254740991,"method":"card"}"#),
                v1("PaymentCaptured", r#"{"paymentId":"p-1","amount":9007199254740991}"#),
                v1("PaymentCaptured", r#"{"paymentId":"p-1","amount":1}"#),
            ],
        ),
    ];
    cases.sort_by_key(|case| case.name);
    cases
}
