//! The order service is another team's application in another language. These tests write
//! events as it would: item by item, raw attribute maps with the payload as JSON text, each
//! put conditional on its sequence being free, never through this project's `EventStore`;
//! the local stream runner delivers the table's real stream to the stream function.

use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use local::stream_runner::RunnerConfig;
use serde_json::{Value, json};
use shared::domain::samples::order_id as oid;
use shared::policy::settings::{RetentionSettings, StrategySettings};
use shared::use_cases::admin::SnapshotAdmin;
use shared::use_cases::clock::ManualClock;
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use shared::use_cases::verify::VerifyResult;
use std::sync::Arc;
use std::time::Duration;
use testkit::TestTables;
use tower::ServiceExt;

const T0: i64 = 1_800_000_000_000;

/// What the foreign writer puts: `(eventType, schemaVersion, payload)` at the next sequence.
async fn put(t: &TestTables, order_id: &str, sequence: u64, event_type: &str, version: u32, payload: Value) {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: String| AttributeValue::N(v);
    t.client
        .put_item()
        .table_name(&t.events_table)
        .item("orderId", s(order_id))
        .item("sequence", n(sequence.to_string()))
        .item("eventId", s(&format!("{order_id}-{sequence}-from-nest")))
        .item("eventType", s(event_type))
        .item("schemaVersion", n(version.to_string()))
        .item("payload", s(&payload.to_string()))
        .item("occurredAt", n((T0 + sequence as i64).to_string()))
        .condition_expression("attribute_not_exists(orderId)")
        .send()
        .await
        .unwrap();
}

/// A 25-event order as a newer writer shapes it: extra fields on some events, a shipping
/// update without its optional location, and (with `v2_items`) ItemAdded at schema version 2.
async fn write_order(t: &TestTables, order_id: &str, v2_items: bool) {
    put(t, order_id, 1, "OrderCreated", 1, json!({"customerId": "c-9", "currency": "EUR", "channel": "app"}))
        .await;
    for seq in 2..=21u64 {
        let (sku, name, cents) = (format!("SKU-{}", seq % 4), "Espresso cup", 450 + seq as i64);
        if v2_items {
            let payload = json!({"sku": sku, "productName": name, "quantity": 1, "unitPriceMinor": cents});
            put(t, order_id, seq, "ItemAdded", 2, payload).await;
        } else {
            let payload = json!({"sku": sku, "name": name, "quantity": 1, "unitPrice": cents, "giftWrap": seq % 2 == 0});
            put(t, order_id, seq, "ItemAdded", 1, payload).await;
        }
    }
    put(t, order_id, 22, "OrderShipped", 1, json!({"carrier": "DHL", "trackingNumber": "T-1"})).await;
    put(t, order_id, 23, "ShippingUpdated", 1, json!({"status": "in transit"})).await;
    put(t, order_id, 24, "ShippingUpdated", 1, json!({"status": "hub", "location": "Leipzig", "eta": 3}))
        .await;
    put(t, order_id, 25, "OrderDelivered", 1, json!({"signedBy": "neighbour"})).await;
}

fn stream(t: &TestTables) -> StreamSnapshotter {
    StreamSnapshotter::new(t.repository(), StrategySettings::default(), Arc::new(ManualClock::at(T0)))
}

#[tokio::test]
async fn events_written_item_by_item_with_extra_fields_snapshot_load_and_verify() {
    let t = TestTables::new().await;
    let svc = stream(&t);
    let mut runner = local::runner_for(&t, RunnerConfig::fast()).await;
    write_order(&t, "nest-1", false).await;
    write_order(&t, "nest-2", false).await;

    runner.run_until_idle(|event| local::deliver(&svc, event)).await.unwrap();

    assert_eq!(runner.stats.partial_failures, 0, "no record was refused");
    let admin = SnapshotAdmin::new(t.repository(), Arc::new(ManualClock::at(T0)));
    for order in ["nest-1", "nest-2"] {
        assert_eq!(t.verified_snapshots(order).await, vec![20], "{order}: one batch, one snapshot");
        let loaded = t.repository().load(&oid(order)).await.unwrap().unwrap();
        assert_eq!(loaded.order, t.repository().load_by_replay(&oid(order)).await.unwrap().unwrap().order);
        assert_eq!((loaded.cost.snapshot_version, loaded.order.version), (Some(20), 25));
        assert_eq!(loaded.order.items.len(), 4, "the extra fields did not change the basket");
        assert_eq!(admin.verify(&oid(order)).await.unwrap().result, VerifyResult::Match);
    }
}

#[tokio::test]
async fn item_added_at_schema_version_2_folds_like_version_1() {
    let t = TestTables::new().await;
    let svc = stream(&t);
    let mut runner = local::runner_for(&t, RunnerConfig::fast()).await;
    write_order(&t, "nest-v1", false).await;
    write_order(&t, "nest-v2", true).await;

    runner.run_until_idle(|event| local::deliver(&svc, event)).await.unwrap();

    assert_eq!(runner.stats.partial_failures, 0);
    let v1 = t.repository().load(&oid("nest-v1")).await.unwrap().unwrap().order;
    let v2 = t.repository().load(&oid("nest-v2")).await.unwrap().unwrap().order;
    assert_eq!((&v2.items, v2.total, v2.status), (&v1.items, v1.total, v1.status));
    assert_eq!(t.verified_snapshots("nest-v2").await, vec![20]);
}

#[tokio::test]
async fn an_unknown_event_type_never_snapshots_and_the_admin_get_names_its_sequence() {
    let t = TestTables::new().await;
    let svc = stream(&t);
    let mut runner = local::runner_for(&t, RunnerConfig::fast()).await;
    for seq in 1..=5 {
        let payload = match seq {
            1 => json!({"customerId": "c", "currency": "EUR"}),
            _ => json!({"sku": format!("S{seq}"), "name": "n", "quantity": 1, "unitPrice": 100}),
        };
        put(&t, "nest-bad", seq, if seq == 1 { "OrderCreated" } else { "ItemAdded" }, 1, payload).await;
    }
    put(&t, "nest-bad", 6, "OrderLevitated", 1, json!({"height": 3})).await;
    for seq in 7..=12 {
        put(&t, "nest-bad", seq, "OrderConfirmed", 1, json!({})).await;
    }

    runner.run_until_idle(|event| local::deliver(&svc, event)).await.unwrap();

    let snapshots = t.snapshot_store().list(&oid("nest-bad"), 10, None).await.unwrap();
    assert!(snapshots.snapshots.is_empty(), "a history it cannot read never yields a snapshot");
    let state = snapshot_admin::AppState::in_process(
        t.repository(),
        RetentionSettings::default(),
        Arc::new(ManualClock::at(T0)),
        Arc::new(snapshot_admin::access::MemoryAudit::default()),
        Duration::from_secs(5),
    );
    let request = Request::get("/admin/orders/nest-bad")
        .extension(snapshot_admin::access::LocalCaller("test".into()))
        .body(Body::empty())
        .unwrap();
    let response = snapshot_admin::router(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value =
        serde_json::from_slice(&axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "history_unreadable");
    assert_eq!(
        (body["error"]["orderId"].as_str(), body["error"]["sequence"].as_u64()),
        (Some("nest-bad"), Some(6))
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("event 6 of order nest-bad") && message.contains("OrderLevitated"), "{message}");
}
