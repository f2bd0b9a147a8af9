//! End to end on the local server: the order service appends through the event store, the
//! local runner reads the table's real stream and calls the stream function's handler.

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use local::stream_runner::RunnerConfig;
use serde_json::Value;
use shared::domain::samples::order_id as oid;
use shared::domain::{Money, OrderCommand};
use shared::policy::settings::StrategySettings;
use shared::use_cases::clock::ManualClock;
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use testkit::TestTables;

const T0: i64 = 1_800_000_000_000;

async fn place_orders(t: &TestTables, orders: usize, items_each: usize) {
    let repo = t.repository();
    for o in 0..orders {
        let id = format!("o-{o}");
        repo.execute(&oid(&id), OrderCommand::Create { customer_id: "c".into(), currency: "EUR".into() }, T0)
            .await
            .unwrap();
        for i in 0..items_each {
            let add = OrderCommand::AddItem {
                sku: format!("SKU-{}", i % 4),
                name: "Mug".into(),
                quantity: 1,
                unit_price: Money::from_minor(990),
            };
            repo.execute(&oid(&id), add, T0).await.unwrap();
        }
    }
}

#[tokio::test]
async fn appends_in_snapshots_out() {
    let t = TestTables::new().await;
    let svc =
        StreamSnapshotter::new(t.repository(), StrategySettings::default(), Arc::new(ManualClock::at(T0)));
    let mut runner = local::runner_for(&t, RunnerConfig::fast()).await;

    place_orders(&t, 3, 44).await; // 45 events each
    let largest = std::sync::atomic::AtomicUsize::new(0);
    let handler = |event: Value| {
        largest.fetch_max(event["Records"].as_array().unwrap().len(), Ordering::SeqCst);
        local::deliver(&svc, event)
    };
    runner.run_until_idle(handler).await.unwrap();

    for o in 0..3 {
        // a batch snapshots an order once, at its newest multiple of the threshold crossed
        let versions = t.verified_snapshots(&format!("o-{o}")).await;
        assert_eq!(versions.first(), Some(&40), "{versions:?}");
    }
    assert_eq!(runner.stats.records_delivered, 135);
    let batch_size = RunnerConfig::fast().source.batch_size;
    assert_eq!(largest.into_inner(), batch_size, "batches of the template's BatchSize at most");
    assert!(runner.stats.batches >= 2);

    // more appends later continue from where the runner was
    let repo = t.repository();
    for _ in 0..10 {
        repo.execute(&oid("o-1"), OrderCommand::ChangeQuantity { sku: "SKU-1".into(), quantity: 3 }, T0)
            .await
            .unwrap();
    }
    runner.run_until_idle(|event| local::deliver(&svc, event)).await.unwrap();
    assert_eq!(t.verified_snapshots("o-1").await.first(), Some(&50));
    let loaded = repo.load(&oid("o-1")).await.unwrap().unwrap();
    assert_eq!(loaded.cost.snapshot_version, Some(50));
    assert_eq!(loaded.order, repo.load_by_replay(&oid("o-1")).await.unwrap().unwrap().order);
}

#[tokio::test]
async fn a_partial_failure_restarts_from_the_reported_record() {
    let t = TestTables::new().await;
    let svc =
        StreamSnapshotter::new(t.repository(), StrategySettings::default(), Arc::new(ManualClock::at(T0)));
    let mut runner = local::runner_for(&t, RunnerConfig::fast()).await;
    place_orders(&t, 2, 14).await; // 15 events each: one batch of 30

    // the first delivery reports its 7th record as failed, once
    let failed_once = AtomicU32::new(0);
    let seen = std::sync::Mutex::new(Vec::<String>::new());
    let handler = |event: Value| {
        let records = event["Records"].as_array().unwrap().clone();
        seen.lock()
            .unwrap()
            .extend(records.iter().map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap().to_owned()));
        let svc = &svc;
        let failed_once = &failed_once;
        async move {
            if failed_once.fetch_add(1, Ordering::SeqCst) == 0 {
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier =
                    records[6]["dynamodb"]["SequenceNumber"].as_str().map(str::to_owned);
                let mut response = DynamoDbEventResponse::default();
                response.batch_item_failures.push(failure);
                return Ok::<_, snapshot_stream::HandlerError>(response);
            }
            local::deliver(svc, event).await
        }
    };
    runner.run_until_idle(handler).await.unwrap();

    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 30 + 24, "records 7..30 of the first batch came again");
    assert_eq!(seen[30], seen[6], "the redelivery starts at the reported record");
    assert_eq!(runner.stats.partial_failures, 1);
    for o in 0..2 {
        assert_eq!(t.verified_snapshots(&format!("o-{o}")).await, vec![10]);
    }
}

#[tokio::test]
async fn a_record_that_keeps_failing_is_bisected_away_and_goes_to_the_failure_destination_alone() {
    let t = TestTables::new().await;
    let svc =
        StreamSnapshotter::new(t.repository(), StrategySettings::default(), Arc::new(ManualClock::at(T0)));
    let destination = std::env::temp_dir().join(format!("failures-{}.jsonl", t.events_table));
    let config = RunnerConfig { failure_destination: Some(destination.clone()), ..RunnerConfig::fast() };
    let retries = config.source.max_retries.expect("the template bounds retries");
    let mut runner = local::runner_for(&t, config).await;
    place_orders(&t, 1, 11).await; // 12 events
    // a poison record appended by a foreign writer: an unknown event type
    let mut item = shared::store::events::event_to_item(&shared::domain::samples::recorded(
        "o-poison",
        1,
        shared::domain::OrderEvent::OrderConfirmed {},
    ));
    item.insert("eventType".into(), aws_sdk_dynamodb::types::AttributeValue::S("OrderTeleported".into()));
    t.client.put_item().table_name(&t.events_table).set_item(Some(item)).send().await.unwrap();
    t.event_store()
        .append(&oid("o-9"), 0, &[shared::domain::OrderEvent::OrderConfirmed {}], T0)
        .await
        .unwrap();

    runner.run_until_idle(|event| local::deliver(&svc, event)).await.unwrap();

    // One batch of all 14 reports the poison record: the 12 before it are done. Retried first in
    // [poison, o-9], it fails the invocation, so the batch is bisected (not a retry); alone it is
    // retried until the retries are spent, then discarded alone; o-9 goes on.
    assert_eq!(runner.stats.sent_to_failure_destination, 1);
    assert_eq!((runner.stats.handler_errors, runner.stats.bisections), (1, 1));
    assert_eq!(
        runner.stats.partial_failures,
        1 + u64::from(retries),
        "the first batch, then the poison record alone"
    );
    let lines = std::fs::read_to_string(&destination).unwrap();
    let info: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(info["requestContext"]["condition"], "RetryAttemptsExhausted");
    let batch = &info["DDBStreamBatchInfo"];
    assert_eq!(batch["batchSize"], 1, "the poison record alone: {info}");
    assert_eq!(batch["startSequenceNumber"], batch["endSequenceNumber"]);
    assert_eq!(t.verified_snapshots("o-0").await, vec![10], "the good records before it were processed");
    assert_eq!(
        runner.stats.records_delivered,
        14 + 2 + u64::from(retries) + 1,
        "the batch, the bisected pair, the poison record's retries, then o-9"
    );
    let poisoned = t.snapshot_store().list(&oid("o-poison"), 10, None).await.unwrap();
    assert!(poisoned.snapshots.is_empty(), "a record it cannot understand never yields a snapshot");
    std::fs::remove_file(destination).unwrap();
}
