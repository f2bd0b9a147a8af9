//! Decoding stored payloads: the catalogue round trip, refusals, the tolerant reader, upcasting.

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
        "null",
        r#"{"sku":"A","name":"x","quantity":-1,"unitPrice":5}"#,
        r#"{"sku":"A","name":"x","quantity":1,"unitPrice":5.5}"#,
        r#"{"sku":"A","name":"x","quantity":"1","unitPrice":5}"#,
        r#"{"sku":"A","quantity":1,"unitPrice":5}"#,
    ] {
        assert!(
            matches!(OrderEvent::decode("ItemAdded", 1, payload), Err(EventDecodeError::BadPayload { .. })),
            "{payload}"
        );
    }
}

#[test]
fn an_amount_no_json_reader_holds_exactly_is_refused_with_its_own_code() {
    let beyond = r#"{"sku":"A","name":"x","quantity":1,"unitPrice":9007199254740992}"#;
    let err = OrderEvent::decode("ItemAdded", 1, beyond).unwrap_err();
    assert_eq!(err.code(), "amount_out_of_range", "{err}");
    let v2 = r#"{"sku":"A","productName":"x","quantity":1,"unitPriceMinor":-9007199254740992}"#;
    assert_eq!(OrderEvent::decode("ItemAdded", 2, v2).unwrap_err().code(), "amount_out_of_range");
    let largest = r#"{"sku":"A","name":"x","quantity":1,"unitPrice":9007199254740991}"#;
    assert!(OrderEvent::decode("ItemAdded", 1, largest).is_ok());
    let fraction = r#"{"sku":"A","name":"x","quantity":1,"unitPrice":5.5}"#;
    assert_eq!(OrderEvent::decode("ItemAdded", 1, fraction).unwrap_err().code(), "invalid_payload");
}

#[test]
fn unknown_payload_fields_are_ignored_and_optional_ones_may_be_absent() {
    // given a newer writer's ItemAdded with a field this code does not know
    let extra = r#"{"sku":"A","name":"x","quantity":1,"unitPrice":5,"giftWrap":true,"meta":{"a":[1]}}"#;
    let plain = r#"{"sku":"A","name":"x","quantity":1,"unitPrice":5}"#;
    // then it reads as the event without the field
    assert_eq!(OrderEvent::decode("ItemAdded", 1, extra), OrderEvent::decode("ItemAdded", 1, plain));
    assert!(OrderEvent::decode("ItemAdded", 1, plain).is_ok());
    // and a ShippingUpdated without its optional location reads with none
    assert_eq!(
        OrderEvent::decode("ShippingUpdated", 1, r#"{"status":"in transit"}"#),
        Ok(OrderEvent::ShippingUpdated { status: "in transit".into(), location: None })
    );
    assert!(OrderEvent::decode("OrderConfirmed", 1, r#"{"confirmedBy":"ops"}"#).is_ok());
}

#[test]
fn an_upcaster_reads_item_added_v2_as_the_current_shape() {
    let v2 = r#"{"sku":"A","productName":"Mug","quantity":2,"unitPriceMinor":450,"extra":1}"#;
    let v1 = r#"{"sku":"A","name":"Mug","quantity":2,"unitPrice":450}"#;
    assert_eq!(OrderEvent::decode("ItemAdded", 2, v2), OrderEvent::decode("ItemAdded", 1, v1));
    // a v2 payload is checked as v2: a v1-shaped payload labelled 2 is refused
    assert!(matches!(OrderEvent::decode("ItemAdded", 2, v1), Err(EventDecodeError::BadPayload { .. })));
    let by_position = OrderEvent::decode("ItemAdded", 2, r#"["A","Mug",2,450]"#);
    assert!(matches!(by_position, Err(EventDecodeError::BadPayload { .. })), "{by_position:?}");
    // and a version nothing reads names what is readable
    assert_eq!(
        OrderEvent::decode("ItemAdded", 3, v1),
        Err(EventDecodeError::UnsupportedSchema {
            event_type: "ItemAdded".into(),
            found: 3,
            readable: vec![1, 2]
        })
    );
}
