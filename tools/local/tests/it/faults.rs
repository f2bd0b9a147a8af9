//! Faults: the local server killed (SIGKILL) and recovered at exact points of the stream,
//! cleanup and admin functions' work; responses lost after a write landed; stalled
//! connections. Each fault must end in a clean error or a retry, and the next run converge:
//! every snapshot equals replay, loads equal replay, the newest survives.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use shared::domain::samples::order_id as oid;
use shared::domain::{Order, OrderEvent, RecordedEvent};
use shared::policy::settings::{RetentionSettings, StrategySettings};
use shared::runtime::client::ClientTuning;
use shared::store::events::EventStore;
use shared::store::snapshots::{NewSnapshot, SnapshotStore};
use shared::use_cases::clock::ManualClock;
use shared::use_cases::maintenance::cleanup::CleanupService;
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use snapshot_admin::access::LocalCaller;
use snapshot_admin::access::MemoryAudit;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::faults::CrashSwitch;
use testkit::stream_events::{deliver_until_done, insert_batch};
use testkit::{LocalDynamo, Proxy, TestTables, bulk_insert_events, client_tuned, plain_history};
use tower::ServiceExt;

const NOW: i64 = 1_800_000_000_000;

/// Short timeouts and backoff so a dead server is noticed in seconds.
fn impatient() -> ClientTuning {
    ClientTuning {
        connect_timeout: Duration::from_millis(500),
        attempt_timeout: Duration::from_secs(1),
        operation_timeout: Duration::from_secs(3),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(20),
    }
}

/// Every snapshot equals replay, the load equals replay, and the newest snapshot is `newest`.
async fn assert_converged(t: &TestTables, order_id: &str, newest: u64) {
    let versions = t.verified_snapshots(order_id).await;
    assert_eq!(versions.first(), Some(&newest), "{order_id}: {versions:?}");
    let loaded = t.repository().load(&oid(order_id)).await.unwrap().unwrap();
    let replayed = t.repository().load_by_replay(&oid(order_id)).await.unwrap().unwrap();
    assert_eq!(loaded.order, replayed.order, "{order_id}: load equals replay");
}

fn failures(response: &aws_lambda_events::event::streams::DynamoDbEventResponse) -> Vec<String> {
    response.batch_item_failures.iter().filter_map(|f| f.item_identifier.clone()).collect()
}

#[tokio::test]
async fn stream_batches_survive_a_server_crash_at_each_point_and_converge() {
    testkit::init_logs();
    let server = Arc::new(LocalDynamo::start_durable().unwrap());
    let t = TestTables::on(&server).await;
    let orders: Vec<String> = (0..5).map(|o| format!("crash-{o}")).collect();
    let histories: Vec<Vec<RecordedEvent>> = orders.iter().map(|o| plain_history(o, 40)).collect();
    let all: Vec<_> = histories.iter().flatten().cloned().collect();
    bulk_insert_events(&t.client, &t.events_table, &all).await;

    let switch = CrashSwitch::new(server.clone());
    let settings = StrategySettings::default(); // a snapshot every 10 events
    let service = StreamSnapshotter::new(
        t.repository_via(switch.client(impatient())),
        settings,
        Arc::new(ManualClock::at(NOW)),
    );
    // Four rounds of 10 events per order; the server dies before request 1, 2, 3, 5 of a
    // round (cold reads in round one, snapshot writes from the warm cache later).
    for (round, crash_before) in [1u64, 2, 3, 5].into_iter().enumerate() {
        let batch: Vec<RecordedEvent> =
            histories.iter().flat_map(|h| h[round * 10..round * 10 + 10].to_vec()).collect();
        let first_position = round as u64 * 1000 + 1;
        switch.arm(crash_before);
        let response = local::deliver(&service, insert_batch(&batch, first_position)).await.unwrap();
        assert_eq!(switch.fired(), round as u64 + 1, "the crash happened during round {round}");
        assert_eq!(failures(&response).len(), 1, "the batch reports where to restart: {response:?}");
        server.recover().unwrap();
        let deliveries = deliver_until_done(&batch, first_position, 5, |event| async {
            local::deliver(&service, event).await.map(|r| failures(&r)).map_err(|e| e.to_string())
        })
        .await;
        assert_eq!(deliveries, 1, "one redelivery after recovery suffices");
        for order in &orders {
            assert_converged(&t, order, (round as u64 + 1) * 10).await;
        }
    }
}

#[tokio::test]
async fn cleanup_survives_a_server_crash_mid_run_and_the_next_run_converges() {
    let server = Arc::new(LocalDynamo::start_durable().unwrap());
    let t = TestTables::on(&server).await;
    let orders: Vec<String> = (0..6).map(|o| format!("clean-{o}")).collect();
    for order in &orders {
        let events = plain_history(order, 60);
        bulk_insert_events(&t.client, &t.events_table, &events).await;
        for v in (10..=60).step_by(10) {
            let new = NewSnapshot {
                state: Order::replay(order, &events[..v]).unwrap(),
                timestamp: NOW,
                created_by: "test".into(),
                reason: "seed".into(),
                strategy: None,
                rule: None,
            };
            t.snapshot_store().put(&new).await.unwrap();
        }
    }
    let switch = CrashSwitch::new(server.clone());
    let clock = Arc::new(ManualClock::at(NOW));
    let settings = RetentionSettings::default(); // keep 3
    let crashing =
        CleanupService::new(t.repository_via(switch.client(impatient())), settings.clone(), clock.clone())
            .with_page_size(2);
    for crash_before in [2u64, 5] {
        switch.arm(crash_before);
        let error = crashing.run(Instant::now() + Duration::from_secs(60)).await.unwrap_err();
        assert!(shared::store::dynamo::is_transient(&error), "a clean, retryable error: {error}");
        server.recover().unwrap();
    }
    assert_eq!(switch.fired(), 2);
    let cleanup = CleanupService::new(t.repository(), settings, clock).with_page_size(2);
    while !cleanup.run(Instant::now() + Duration::from_secs(60)).await.unwrap().finished {}
    for order in &orders {
        let versions = t.verified_snapshots(order).await;
        assert_eq!(versions, vec![60, 50, 40], "{order}: newest three kept");
    }
}

fn admin_router(t: &TestTables, client: aws_sdk_dynamodb::Client, audit: Arc<MemoryAudit>) -> axum::Router {
    snapshot_admin::router(snapshot_admin::AppState::in_process(
        t.repository_via(client),
        RetentionSettings::default(),
        Arc::new(ManualClock::at(NOW)),
        audit,
        Duration::from_secs(30),
    ))
}

async fn call(router: &axum::Router, method: &str, uri: &str) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::builder().method(method).uri(uri).body(Body::empty()).unwrap();
    request.extensions_mut().insert(LocalCaller("ops-admin".into()));
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, retry_after, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn admin_calls_during_a_crash_get_503_and_succeed_once_recovered() {
    let server = Arc::new(LocalDynamo::start_durable().unwrap());
    let t = TestTables::on(&server).await;
    let events = plain_history("adm-1", 25);
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    let switch = CrashSwitch::new(server.clone());
    let audit = Arc::new(MemoryAudit::default());
    let router = admin_router(&t, switch.client(impatient()), audit.clone());

    let calls = [
        ("POST", "/admin/order-snapshots/create/adm-1", StatusCode::CREATED),
        ("GET", "/admin/order-snapshots/adm-1", StatusCode::OK),
        ("GET", "/admin/orders/adm-1", StatusCode::OK),
        ("DELETE", "/admin/order-snapshots/adm-1/25", StatusCode::OK),
        ("POST", "/admin/order-snapshots/cleanup?orderId=adm-1", StatusCode::OK),
    ];
    for (i, (method, uri, ok)) in calls.into_iter().enumerate() {
        switch.arm(1);
        let (status, retry_after, body) = call(&router, method, uri).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{method} {uri} during the crash: {body}");
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert_eq!(switch.fired(), i as u64 + 1);
        server.recover().unwrap();
        let (status, _, body) = call(&router, method, uri).await;
        assert_eq!(status, ok, "{method} {uri} after recovery: {body}");
    }
    let outcomes: Vec<(String, u16)> = audit.records().iter().map(|r| (r.action.clone(), r.status)).collect();
    assert_eq!(outcomes.len(), 10, "one audit record per request, failed ones included: {outcomes:?}");
    assert!(outcomes.iter().step_by(2).all(|(_, status)| *status == 503), "{outcomes:?}");
    assert!(t.verified_snapshots("adm-1").await.is_empty(), "the created snapshot was deleted");
    assert_converged_without_snapshots(&t, "adm-1").await;
}

async fn assert_converged_without_snapshots(t: &TestTables, order_id: &str) {
    let loaded = t.repository().load(&oid(order_id)).await.unwrap().unwrap();
    assert_eq!(loaded.order.version, 25);
    assert_eq!(loaded.cost.snapshot_version, None);
}

#[tokio::test]
async fn a_write_whose_answer_is_lost_is_retried_without_duplicates_or_false_conflicts() {
    let server = testkit::shared_server();
    let t = TestTables::new().await;
    let proxy = Proxy::start(server.port()).await;
    let client = client_tuned(&proxy.endpoint(), impatient());
    let store = EventStore::new(client.clone(), &t.events_table);

    // An append whose first attempt landed: the SDK's retry meets our own event, not a rival.
    let created = OrderEvent::OrderCreated { customer_id: "c-1".into(), currency: "EUR".into() };
    proxy.lose_responses(1);
    let appended = store.append(&oid("lost-1"), 0, std::slice::from_ref(&created), NOW).await.unwrap();
    let (stored, _) = t.event_store().read_from(&oid("lost-1"), 1).await.unwrap();
    assert_eq!(stored, appended, "stored once, as appended");
    // A real rival still conflicts.
    let rival = store.append(&oid("lost-1"), 0, &[created], NOW).await.unwrap_err();
    assert!(matches!(rival, shared::store::StoreError::AppendConflict { .. }), "{rival}");

    // A snapshot write whose answer is lost: the retry finds it existing, nothing fails.
    let events = plain_history("lost-2", 10);
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    let service = StreamSnapshotter::new(
        t.repository_via(client),
        StrategySettings::default(),
        Arc::new(ManualClock::at(NOW)),
    );
    // the cold order reads twice, then writes: lose the write's answer
    proxy.lose_responses(0);
    let (response, report) = {
        let warm = local::deliver_measured(&service, insert_batch(&events[..9], 1)).await.unwrap();
        assert!(warm.0.batch_item_failures.is_empty());
        proxy.lose_responses(1);
        local::deliver_measured(&service, insert_batch(&events[9..], 10)).await.unwrap()
    };
    assert!(response.batch_item_failures.is_empty(), "{report:?}");
    assert_eq!(report["SnapshotsWritten"] + report["SnapshotsExisting"], 1, "{report:?}");
    assert_converged(&t, "lost-2", 10).await;
}

#[tokio::test]
async fn a_stalled_database_times_out_cleanly_and_the_retry_converges() {
    let server = testkit::shared_server();
    let t = TestTables::new().await;
    let proxy = Proxy::start(server.port()).await;
    let events = plain_history("stall-1", 20);
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    let client = client_tuned(&proxy.endpoint(), impatient());
    let service = StreamSnapshotter::new(
        t.repository_via(client.clone()),
        StrategySettings::default(),
        Arc::new(ManualClock::at(NOW)),
    );

    proxy.stall();
    let started = Instant::now();
    let response = local::deliver(&service, insert_batch(&events, 1)).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(failures(&response).len(), 1, "the whole batch is reported for retry");
    // Bounded by the operation timeout (3 s here, 15 s in production), not by the Lambda
    // deadline; generous slack for a loaded machine.
    assert!(waited < Duration::from_secs(30), "gave up after {waited:?}");

    let audit = Arc::new(MemoryAudit::default());
    let router = admin_router(&t, client.clone(), audit);
    let (status, _, body) = call(&router, "GET", "/admin/order-snapshots/stall-1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");

    let cleanup = CleanupService::new(
        t.repository_via(client),
        RetentionSettings::default(),
        Arc::new(ManualClock::at(NOW)),
    );
    let error = cleanup.run(Instant::now() + Duration::from_secs(60)).await.unwrap_err();
    assert!(shared::store::dynamo::is_transient(&error), "{error}");

    proxy.unstall();
    let deliveries = deliver_until_done(&events, 1, 3, |event| async {
        local::deliver(&service, event).await.map(|r| failures(&r)).map_err(|e| e.to_string())
    })
    .await;
    assert_eq!(deliveries, 1);
    assert_converged(&t, "stall-1", 20).await;
}

#[tokio::test]
async fn a_load_replays_when_the_snapshot_table_cannot_be_reached_and_the_events_can() {
    let server = testkit::shared_server();
    let t = TestTables::new().await;
    let events = plain_history("unreach-1", 25);
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    let at_20 = Order::replay("unreach-1", &events[..20]).unwrap();
    let new = NewSnapshot {
        state: at_20,
        timestamp: NOW,
        created_by: "test".into(),
        reason: "test".into(),
        strategy: None,
        rule: None,
    };
    t.snapshot_store().put(&new).await.unwrap();
    // the snapshot table is reached through a connection that is cut; the events directly
    let proxy = Proxy::start(server.port()).await;
    let unreachable = SnapshotStore::new(client_tuned(&proxy.endpoint(), impatient()), &t.snapshots_table);
    let repo = shared::store::repository::OrderRepository::new(t.event_store(), unreachable);
    proxy.cut();

    let loaded = repo.load(&oid("unreach-1")).await.unwrap().unwrap();
    assert_eq!(loaded.order, Order::replay("unreach-1", &events).unwrap(), "a full replay");
    assert!(loaded.cost.snapshots_unreachable, "{:?}", loaded.cost);
    assert_eq!((loaded.cost.snapshot_version, loaded.cost.events_replayed), (None, 25));
    assert!(loaded.cost.fallback.as_deref().unwrap_or_default().contains("unreachable"));
    // the stream function counts the fallback (its snapshot write then fails, and is retried)
    let stream =
        StreamSnapshotter::new(repo.clone(), StrategySettings::default(), Arc::new(ManualClock::at(NOW)));
    let (_, metrics) = local::deliver_measured(&stream, insert_batch(&events[20..], 21)).await.unwrap();
    assert_eq!(metrics["LoadFallbacks"], 1, "{metrics:?}");

    proxy.restore().await;
    let loaded = repo.load(&oid("unreach-1")).await.unwrap().unwrap();
    assert_eq!((loaded.cost.snapshot_version, loaded.cost.snapshots_unreachable), (Some(20), false));
    // with the events unreachable too, the load fails: nothing to replay from
    let both = shared::store::repository::OrderRepository::new(
        EventStore::new(client_tuned(&proxy.endpoint(), impatient()), &t.events_table),
        SnapshotStore::new(client_tuned(&proxy.endpoint(), impatient()), &t.snapshots_table),
    );
    proxy.cut();
    assert!(both.load(&oid("unreach-1")).await.is_err());
    proxy.restore().await;
}
