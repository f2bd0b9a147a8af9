//! The stream function's handler against the local server: the sample events, each strategy
//! and rule, redelivery, batch splits, and an outage in the middle of a batch.

use aws_lambda_events::event::streams::DynamoDbEventResponse;
use serde_json::Value;
use shared::domain::samples::order_id as oid;
use shared::domain::{Money, OrderEvent, RecordedEvent};
use shared::policy::settings::{StrategyKind, StrategySettings};
use shared::policy::strategy::Rule;
use shared::runtime::metrics::Metrics;
use shared::use_cases::clock::ManualClock;
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use snapshot_stream::{FUNCTION, HandlerError, RawStreamEvent};
use std::sync::Arc;
use testkit::stream_events::{insert_batch, inserted_events, position_string};
use testkit::{Proxy, TestTables, bulk_insert_events, client_for, history, shared_server};

const T0: i64 = 1_800_000_000_000;

fn settings(default_strategy: StrategyKind) -> StrategySettings {
    StrategySettings { default_strategy, ..StrategySettings::default() }
}

fn service(t: &TestTables, settings: StrategySettings, clock: &ManualClock) -> StreamSnapshotter {
    StreamSnapshotter::new(t.repository(), settings, Arc::new(clock.clone()))
}

/// The handler on an event built as JSON, as Lambda would send it.
async fn handle(svc: &StreamSnapshotter, event: Value) -> Result<DynamoDbEventResponse, HandlerError> {
    snapshot_stream::handle(svc, &Metrics::off(FUNCTION), RawStreamEvent::from_json(&event)?).await
}

fn item(sku: &str, unit_price: i64) -> OrderEvent {
    OrderEvent::ItemAdded {
        sku: sku.into(),
        name: format!("Product {sku}"),
        quantity: 1,
        unit_price: Money::from_minor(unit_price),
    }
}

/// Created, then `len - 1` more events of one cheap product: the default rule applies.
fn plain(order_id: &str, len: u64) -> Vec<RecordedEvent> {
    history(order_id, len, |_| item("SKU-1", 100))
}

fn file(name: &str) -> Value {
    let path = format!("{}/../../events/snapshot-stream/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read sample event"))
        .expect("parse sample event")
}

fn failures(response: &aws_lambda_events::event::streams::DynamoDbEventResponse) -> Vec<String> {
    response.batch_item_failures.iter().filter_map(|f| f.item_identifier.clone()).collect()
}

/// Appends `events` to the store and delivers them to the handler as one batch.
async fn append_and_deliver(
    t: &TestTables,
    svc: &StreamSnapshotter,
    events: &[RecordedEvent],
) -> Vec<String> {
    bulk_insert_events(&t.client, &t.events_table, events).await;
    let response = handle(svc, insert_batch(events, events[0].sequence)).await.unwrap();
    failures(&response)
}

async fn metadata(
    t: &TestTables,
    order_id: &str,
    version: u64,
) -> shared::store::snapshots::SnapshotMetadata {
    t.snapshot_store().get(&oid(order_id), version).await.unwrap().unwrap().unwrap().metadata
}

// ---- the sample events -------------------------------------------------------------------

#[tokio::test]
async fn sample_insert_batch_snapshots_the_order_that_reached_the_threshold() {
    let t = TestTables::new().await;
    let event = file("insert-batch.json");
    bulk_insert_events(&t.client, &t.events_table, &inserted_events(&event)).await;
    let svc = service(&t, StrategySettings::default(), &ManualClock::at(T0));

    let response = handle(&svc, event.clone()).await.unwrap();

    assert!(failures(&response).is_empty());
    assert_eq!(t.verified_snapshots("o-1001").await, vec![10], "12 events, threshold 10: one snapshot at 10");
    assert!(t.verified_snapshots("o-1002").await.is_empty(), "3 events: none");
    let meta = metadata(&t, "o-1001", 10).await;
    assert_eq!(
        (meta.created_by.as_str(), meta.strategy, meta.rule),
        ("stream", Some(StrategyKind::EventCount), Some(Rule::Default))
    );
    assert!(meta.reason.contains("threshold 10"), "{}", meta.reason);

    // redelivered, to this warm container and to a cold one: nothing new
    assert!(failures(&handle(&svc, event.clone()).await.unwrap()).is_empty());
    let cold = service(&t, StrategySettings::default(), &ManualClock::at(T0));
    assert!(failures(&handle(&cold, event).await.unwrap()).is_empty());
    assert_eq!(t.verified_snapshots("o-1001").await, vec![10]);
}

#[tokio::test]
async fn sample_mixed_batch_acts_on_inserts_only() {
    let t = TestTables::new().await;
    let event = file("mixed-batch.json");
    bulk_insert_events(&t.client, &t.events_table, &inserted_events(&event)).await;
    let svc = service(
        &t,
        StrategySettings { event_count_threshold: 2, ..StrategySettings::default() },
        &ManualClock::at(T0),
    );

    let changes = snapshot_stream::parse(&RawStreamEvent::from_json(&event).unwrap()).unwrap();
    let outcome = svc.process_batch(&changes).await;

    assert_eq!(outcome.first_failure, None);
    assert_eq!((outcome.report.inserts, outcome.report.ignored, outcome.report.poison), (2, 3, 0));
    assert_eq!(t.verified_snapshots("o-2001").await, vec![2], "the two INSERTs reach threshold 2");
    assert!(t.verified_snapshots("o-0999").await.is_empty(), "a REMOVE snapshots nothing");
}

#[tokio::test]
async fn sample_malformed_batch_reports_the_first_bad_record_and_snapshots_nothing_from_it() {
    let t = TestTables::new().await;
    let event = file("malformed-record.json");
    bulk_insert_events(&t.client, &t.events_table, &inserted_events(&event)).await;
    let svc = service(
        &t,
        StrategySettings { event_count_threshold: 1, ..StrategySettings::default() },
        &ManualClock::at(T0),
    );

    let response = handle(&svc, event.clone()).await.unwrap();

    let second = event["Records"][1]["dynamodb"]["SequenceNumber"].as_str().unwrap().to_owned();
    assert_eq!(failures(&response), vec![second.clone()], "the record with `sequence` of type S");
    assert_eq!(t.verified_snapshots("o-3001").await, vec![1], "the good record before it was processed");
    assert!(t.verified_snapshots("o-3002").await.is_empty(), "the unknown event type never snapshots");

    // Lambda retries from the reported record: first in its batch now, it fails the
    // invocation, so that Lambda's bisection isolates it from the records behind it; alone, it
    // is reported (retried, then sent to the on-failure destination).
    let records = event["Records"].as_array().unwrap();
    let retry = serde_json::json!({ "Records": records[1..] });
    match handle(&svc, retry).await {
        Err(snapshot_stream::HandlerError::PoisonFirst { position }) => assert_eq!(position, second),
        other => panic!("a poison record first in its batch fails the invocation: {other:?}"),
    }
    let alone = serde_json::json!({ "Records": records[1..2] });
    assert_eq!(failures(&handle(&svc, alone).await.unwrap()), vec![second.clone()]);
    // and the unknown type behind it is reported in its turn
    let after = serde_json::json!({ "Records": records[2..3] });
    let third = records[2]["dynamodb"]["SequenceNumber"].as_str().unwrap().to_owned();
    assert_eq!(failures(&handle(&svc, after).await.unwrap()), vec![third]);
}

#[tokio::test]
async fn an_event_that_is_not_a_stream_batch_is_an_error() {
    let t = TestTables::new().await;
    let svc = service(&t, StrategySettings::default(), &ManualClock::at(T0));
    assert!(handle(&svc, serde_json::json!({"detail-type": "Scheduled Event"})).await.is_err());
    let no_position = serde_json::json!({"Records": [{"eventName": "INSERT", "dynamodb": {}}]});
    assert!(handle(&svc, no_position).await.is_err());
}

// ---- strategies and rules ----------------------------------------------------------------

#[tokio::test]
async fn event_count_snapshots_every_threshold_events() {
    let t = TestTables::new().await;
    let svc = service(&t, settings(StrategyKind::EventCount), &ManualClock::at(T0));
    let events = plain("o-1", 47);
    // uneven batches: 4, 7, 1, 13, 22
    let mut start = 0;
    for size in [4, 7, 1, 13, 22] {
        assert!(append_and_deliver(&t, &svc, &events[start..start + size]).await.is_empty());
        start += size;
    }
    assert_eq!(t.verified_snapshots("o-1").await, vec![40, 20, 10]);
    assert_eq!(metadata(&t, "o-1", 40).await.rule, Some(Rule::Default));
}

#[tokio::test]
async fn a_batch_that_jumps_over_the_threshold_still_snapshots() {
    let t = TestTables::new().await;
    let svc = service(&t, settings(StrategyKind::EventCount), &ManualClock::at(T0));
    let events = plain("o-1", 12);
    append_and_deliver(&t, &svc, &events[..9]).await;
    assert!(t.verified_snapshots("o-1").await.is_empty());
    // 9 -> 12: a rule of `count % 10 == 0` is false at 12 and would never fire
    append_and_deliver(&t, &svc, &events[9..]).await;
    assert_eq!(t.verified_snapshots("o-1").await, vec![10]);
}

#[tokio::test]
async fn time_based_snapshots_after_five_events_then_every_interval() {
    let t = TestTables::new().await;
    let clock = ManualClock::at(T0);
    let svc = service(&t, settings(StrategyKind::TimeBased), &clock);
    let events = plain("o-1", 40);
    append_and_deliver(&t, &svc, &events[..4]).await;
    assert!(t.verified_snapshots("o-1").await.is_empty(), "4 events, no snapshot yet");
    append_and_deliver(&t, &svc, &events[4..6]).await;
    assert_eq!(t.verified_snapshots("o-1").await, vec![6], "first snapshot once 5 events exist");
    // 20 more events within the interval do not snapshot again
    for chunk in events[6..26].chunks(3) {
        clock.advance_hours(1);
        append_and_deliver(&t, &svc, chunk).await;
    }
    assert_eq!(t.verified_snapshots("o-1").await, vec![6], "no storm within 24 h");
    clock.advance_hours(24);
    append_and_deliver(&t, &svc, &events[26..30]).await;
    assert_eq!(
        t.verified_snapshots("o-1").await,
        vec![30, 6],
        "interval elapsed: snapshot of the newest event"
    );
    let meta = metadata(&t, "o-1", 30).await;
    assert_eq!(meta.strategy, Some(StrategyKind::TimeBased));
    assert!(meta.reason.contains("interval 24 h"), "{}", meta.reason);
}

#[tokio::test]
async fn hybrid_fires_on_count_or_on_time() {
    let t = TestTables::new().await;
    let clock = ManualClock::at(T0);
    let svc = service(&t, settings(StrategyKind::Hybrid), &clock);
    let events = plain("o-1", 30);
    append_and_deliver(&t, &svc, &events[..10]).await;
    assert_eq!(t.verified_snapshots("o-1").await, vec![10], "count");
    append_and_deliver(&t, &svc, &events[10..13]).await;
    assert_eq!(t.verified_snapshots("o-1").await, vec![10]);
    clock.advance_hours(25);
    append_and_deliver(&t, &svc, &events[13..15]).await;
    assert_eq!(t.verified_snapshots("o-1").await, vec![15, 10], "time");
    assert_eq!(metadata(&t, "o-1", 15).await.strategy, Some(StrategyKind::Hybrid));
}

#[tokio::test]
async fn rule_1_an_order_with_more_than_ten_items_gets_hybrid() {
    let t = TestTables::new().await;
    let clock = ManualClock::at(T0);
    let svc = service(&t, settings(StrategyKind::EventCount), &clock);
    // 12 distinct products, then more events
    let events = history("o-big", 30, |seq| item(&format!("SKU-{}", seq.min(13)), 100));
    append_and_deliver(&t, &svc, &events[..14]).await;
    assert_eq!(t.verified_snapshots("o-big").await, vec![10]);
    assert_eq!(metadata(&t, "o-big", 10).await.rule, Some(Rule::LargeOrder));
    assert_eq!(metadata(&t, "o-big", 10).await.strategy, Some(StrategyKind::Hybrid));
    // hybrid: the time arm fires although only 2 events arrived
    clock.advance_hours(24);
    append_and_deliver(&t, &svc, &events[14..16]).await;
    assert_eq!(t.verified_snapshots("o-big").await, vec![16, 10]);
}

#[tokio::test]
async fn rule_2_an_order_above_1000_gets_event_count() {
    let t = TestTables::new().await;
    let clock = ManualClock::at(T0);
    // the default is TIME_BASED, which would snapshot at 5 events
    let svc = service(&t, settings(StrategyKind::TimeBased), &clock);
    let events = history("o-rich", 25, |_| item("SKU-GOLD", 120_000));
    append_and_deliver(&t, &svc, &events[..7]).await;
    assert!(t.verified_snapshots("o-rich").await.is_empty(), "EVENT_COUNT, not TIME_BASED");
    append_and_deliver(&t, &svc, &events[7..25]).await;
    assert_eq!(t.verified_snapshots("o-rich").await, vec![20]);
    let meta = metadata(&t, "o-rich", 20).await;
    assert_eq!((meta.strategy, meta.rule), (Some(StrategyKind::EventCount), Some(Rule::HighValue)));
}

// ---- redelivery and batch splits ---------------------------------------------------------

#[tokio::test]
async fn batches_split_at_every_point_and_redelivered_give_the_predicted_snapshots() {
    let events = plain("o-split", 25);
    let whole = {
        let t = TestTables::new().await;
        let svc = service(&t, StrategySettings::default(), &ManualClock::at(T0));
        append_and_deliver(&t, &svc, &events).await;
        t.verified_snapshots("o-split").await
    };
    assert_eq!(whole, vec![20]);
    for split in 1..events.len() {
        let t = TestTables::new().await;
        bulk_insert_events(&t.client, &t.events_table, &events).await;
        let (first, second) =
            (insert_batch(&events[..split], 1), insert_batch(&events[split..], split as u64 + 1));
        let warm = service(&t, StrategySettings::default(), &ManualClock::at(T0));
        for batch in [&first, &first, &second, &second, &first] {
            assert!(failures(&handle(&warm, batch.clone()).await.unwrap()).is_empty());
        }
        // a cold container gets everything again
        let cold = service(&t, StrategySettings::default(), &ManualClock::at(T0));
        handle(&cold, insert_batch(&events, 1)).await.unwrap();
        let expected: Vec<u64> = if (10..20).contains(&split) { vec![20, 10] } else { vec![20] };
        assert_eq!(t.verified_snapshots("o-split").await, expected, "split at {split}");
    }
}

#[tokio::test]
async fn concurrent_handlers_on_the_same_batch_write_each_snapshot_once() {
    let t = TestTables::new().await;
    let events: Vec<RecordedEvent> = (0..10).flat_map(|o| plain(&format!("o-{o}"), 23)).collect();
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    let batch = insert_batch(&events, 1);
    let handlers: Vec<_> = (0..4)
        .map(|_| {
            let svc = Arc::new(service(&t, StrategySettings::default(), &ManualClock::at(T0)));
            let batch = batch.clone();
            tokio::spawn(async move { handle(&svc, batch).await.map(|r| failures(&r)) })
        })
        .collect();
    for h in handlers {
        assert!(h.await.unwrap().unwrap().is_empty());
    }
    for o in 0..10 {
        assert_eq!(t.verified_snapshots(&format!("o-{o}")).await, vec![20]);
    }
}

// ---- the database going away mid-batch ---------------------------------------------------

#[tokio::test]
async fn an_outage_mid_batch_names_the_first_unfinished_record_and_a_retry_converges() {
    let t = TestTables::new().await;
    let proxy = Proxy::start(shared_server().port()).await;
    let client = client_for(&proxy.endpoint());
    // one order at a time, so the cut lands at a known point
    let svc = StreamSnapshotter::new(
        t.repository_via(client),
        StrategySettings::default(),
        Arc::new(ManualClock::at(T0)),
    )
    .with_concurrency(1);
    // 30 orders × 12 events, interleaved the way a stream would carry them
    let mut events = Vec::new();
    for seq in 1..=12u64 {
        for o in 0..30 {
            events.push(plain(&format!("o-{o:02}"), 12)[seq as usize - 1].clone());
        }
    }
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    let batch = insert_batch(&events, 1);

    // the connection dies after 25 requests: 8 orders × (2 reads + 1 write) done, the 9th not
    proxy.cut_after(25);
    let failed = failures(&handle(&svc, batch.clone()).await.unwrap());
    assert_eq!(failed.len(), 1, "the earliest failed record is reported");
    let restart_at = batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .position(|r| r["dynamodb"]["SequenceNumber"] == failed[0].as_str())
        .expect("the reported record is in the batch");
    assert_eq!(restart_at, 8, "the first record of o-08, the first order left unfinished");
    // every order whose records all precede the reported one has its snapshot
    for o in 0..30 {
        let id = format!("o-{o:02}");
        let first = events.iter().position(|e| e.order_id == id).unwrap();
        if first < restart_at {
            assert_eq!(t.verified_snapshots(&id).await, vec![10], "{id} came before the failure");
        }
    }

    // Lambda retries from the reported record once the database is back
    proxy.restore().await;
    let retry = serde_json::json!({ "Records": batch["Records"].as_array().unwrap()[restart_at..] });
    assert!(failures(&handle(&svc, retry).await.unwrap()).is_empty());
    for o in 0..30 {
        assert_eq!(
            t.verified_snapshots(&format!("o-{o:02}")).await,
            vec![10],
            "o-{o:02}: exactly one, correct"
        );
    }
    assert_eq!(position_string(1), batch["Records"][0]["dynamodb"]["SequenceNumber"]);
}

// ---- an unreadable history, read again after the recheck interval ---------------------------

#[tokio::test]
async fn an_order_remembered_as_unreadable_is_read_again_once_the_recheck_interval_passed() {
    use shared::store::events::event_to_item;
    use shared::use_cases::stream_snapshots::UNREADABLE_RECHECK;
    let t = TestTables::new().await;
    let clock = ManualClock::at(T0);
    let svc = service(&t, StrategySettings::default(), &clock);
    let events = plain("u-1", 12);
    // event 5 as a newer writer wrote it: a type this code does not read
    let mut unknown = event_to_item(&events[4]);
    unknown.insert("eventType".into(), aws_sdk_dynamodb::types::AttributeValue::S("OrderTeleported".into()));
    bulk_insert_events(&t.client, &t.events_table, &events[..4]).await;
    testkit::bulk_insert_items(&t.client, &t.events_table, &[unknown]).await;
    bulk_insert_events(&t.client, &t.events_table, &events[5..]).await;
    let deliver = |range: std::ops::Range<usize>| {
        let batch = insert_batch(&events[range.clone()], events[range.start].sequence);
        async { failures(&handle(&svc, batch).await.unwrap()) }
    };
    assert!(deliver(5..7).await.is_empty(), "acknowledged: retrying cannot make it readable");
    // repaired in place, but this container never sees the MODIFY (say it was lost to a filter)
    bulk_insert_events(&t.client, &t.events_table, &events[4..5]).await;
    assert!(deliver(7..8).await.is_empty());
    assert!(t.verified_snapshots("u-1").await.is_empty(), "still remembered as unreadable: no read");
    clock.set(T0 + UNREADABLE_RECHECK.as_millis() as i64 + 1);
    assert!(deliver(8..12).await.is_empty());
    assert_eq!(t.verified_snapshots("u-1").await, vec![10], "read again after the interval, and readable");
}
