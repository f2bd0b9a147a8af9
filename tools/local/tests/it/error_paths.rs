//! Error paths that must tell the truth, through the local stream runner on the table's real
//! stream: a cancelled multi-event transaction does not stall the stream, and one unreadable
//! event costs one failure-destination line, not a retry storm for every later event.

use aws_sdk_dynamodb::types::AttributeValue;
use local::stream_runner::RunnerConfig;
use serde_json::Value;
use shared::domain::samples::order_id as oid;
use shared::domain::samples::recorded;
use shared::domain::{Money, OrderEvent};
use shared::policy::settings::StrategySettings;
use shared::store::StoreError;
use shared::store::events::event_to_item;
use shared::use_cases::admin::SnapshotAdmin;
use shared::use_cases::clock::ManualClock;
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use shared::use_cases::verify::VerifyResult;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use testkit::TestTables;

const T0: i64 = 1_800_000_000_000;

fn item(seq: u64) -> OrderEvent {
    OrderEvent::ItemAdded {
        sku: format!("SKU-{}", seq % 3),
        name: "Cup".into(),
        quantity: 1,
        unit_price: Money::from_minor(300),
    }
}

fn created() -> OrderEvent {
    OrderEvent::OrderCreated { customer_id: "c".into(), currency: "EUR".into() }
}

#[tokio::test]
async fn a_cancelled_multi_event_transaction_does_not_stall_the_stream() {
    let t = TestTables::new().await;
    let svc =
        StreamSnapshotter::new(t.repository(), StrategySettings::default(), Arc::new(ManualClock::at(T0)));
    let mut runner = local::runner_for(&t, RunnerConfig::fast()).await;
    let events = t.event_store();
    events.append(&oid("tx-1"), 0, &[created()], T0).await.unwrap();
    runner.run_until_idle(|event| local::deliver(&svc, event)).await.unwrap();

    // two writers at version 1: one wins, the other's transaction is cancelled
    events.append(&oid("tx-1"), 1, &[item(2), item(3)], T0).await.unwrap();
    let lost = events.append(&oid("tx-1"), 1, &[item(2), item(3), item(4)], T0).await;
    assert!(matches!(lost, Err(StoreError::AppendConflict { .. })), "{lost:?}");
    // the loser reloads and appends again; more appends on this order and on another
    events.append(&oid("tx-1"), 3, &[item(4), item(5), item(6)], T0).await.unwrap();
    for v in 6..12 {
        events.append(&oid("tx-1"), v, &[item(v + 1)], T0).await.unwrap();
    }
    events.append(&oid("tx-2"), 0, &[created()], T0).await.unwrap();
    for v in 1..11 {
        events.append(&oid("tx-2"), v, &[item(v + 1)], T0).await.unwrap();
    }

    runner.run_until_idle(|event| local::deliver(&svc, event)).await.unwrap();

    assert_eq!(t.verified_snapshots("tx-1").await, vec![10], "the order of the cancelled transaction");
    assert_eq!(t.verified_snapshots("tx-2").await, vec![10], "another order");
    assert_eq!(runner.stats.records_delivered, 12 + 11, "every committed event once, nothing else");
    assert!(runner.stats.iterators_reopened + runner.stats.phantoms_dropped > 0, "{:?}", runner.stats);
}

#[tokio::test]
async fn an_unreadable_event_costs_one_destination_line_and_the_order_recovers_once_repaired() {
    let t = TestTables::new().await;
    let svc =
        StreamSnapshotter::new(t.repository(), StrategySettings::default(), Arc::new(ManualClock::at(T0)));
    let destination = std::env::temp_dir().join(format!("unreadable-{}.jsonl", t.events_table));
    let config = RunnerConfig { failure_destination: Some(destination.clone()), ..RunnerConfig::fast() };
    let retries = config.source.max_retries.expect("the template bounds retries");
    let mut runner = local::runner_for(&t, config).await;
    let events = t.event_store();
    events.append(&oid("sick"), 0, &[created()], T0).await.unwrap();
    for v in 1..5 {
        events.append(&oid("sick"), v, &[item(v + 1)], T0).await.unwrap();
    }
    // a newer writer's event type this code does not know, at sequence 6
    let mut unknown = event_to_item(&recorded("sick", 6, OrderEvent::OrderConfirmed {}));
    unknown.insert("eventType".into(), AttributeValue::S("OrderGiftWrapped".into()));
    t.client.put_item().table_name(&t.events_table).set_item(Some(unknown)).send().await.unwrap();
    // then 20 more events of that order, and a healthy order alongside
    for v in 6..26 {
        events.append(&oid("sick"), v, &[item(v + 1)], T0).await.unwrap();
    }
    events.append(&oid("well"), 0, &[created()], T0).await.unwrap();
    for v in 1..10 {
        events.append(&oid("well"), v, &[item(v + 1)], T0).await.unwrap();
    }

    let metrics = Mutex::new(BTreeMap::<&str, u64>::new());
    let handler = |event: Value| {
        let (svc, metrics) = (&svc, &metrics);
        async move {
            let (response, emitted) = local::deliver_measured(svc, event).await?;
            let mut all = metrics.lock().unwrap();
            emitted.into_iter().for_each(|(name, n)| *all.entry(name).or_default() += n);
            Ok::<_, snapshot_stream::HandlerError>(response)
        }
    };
    runner.run_until_idle(&handler).await.unwrap();

    let lines = std::fs::read_to_string(&destination).unwrap_or_default();
    assert_eq!(lines.lines().count(), 1, "the unreadable record itself, once: {lines}");
    let info: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(info["DDBStreamBatchInfo"]["batchSize"], 1, "bisected away from the 30 records behind it");
    assert_eq!(
        runner.stats.partial_failures,
        1 + u64::from(retries),
        "its first delivery, then alone until the retries are spent; nothing for later records"
    );
    // 31 records from it on: halved to 16, 8, 4, 2, 1 (halving is not a retry)
    assert_eq!((runner.stats.handler_errors, runner.stats.bisections), (5, 5));
    let counted = metrics.lock().unwrap().clone();
    assert_eq!(counted["RecordsUnreadable"], 20, "the 20 later events acknowledged: {counted:?}");
    assert_eq!(counted["OrdersFailed"], 0, "{counted:?}");
    assert!(t.snapshot_store().list(&oid("sick"), 10, None).await.unwrap().snapshots.is_empty());
    assert_eq!(t.verified_snapshots("well").await, vec![10], "the healthy order is not held up");
    let admin = SnapshotAdmin::new(t.repository(), Arc::new(ManualClock::at(T0)));
    let verification = admin.verify(&oid("sick")).await.unwrap();
    assert_eq!(verification.result, VerifyResult::Unreadable);
    assert_eq!(verification.history_unreadable.as_ref().and_then(|u| u.sequence), Some(6));

    // an operator repairs the event in place: the MODIFY reaches the function (no filter in the
    // template), which forgets what it remembered of the order; the next appends snapshot again
    let repaired = event_to_item(&recorded("sick", 6, OrderEvent::OrderConfirmed {}));
    t.client.put_item().table_name(&t.events_table).set_item(Some(repaired)).send().await.unwrap();
    for v in 26..30 {
        events.append(&oid("sick"), v, &[item(v + 1)], T0).await.unwrap();
    }
    runner.run_until_idle(&handler).await.unwrap();

    assert_eq!(t.verified_snapshots("sick").await, vec![30]);
    assert_eq!(admin.verify(&oid("sick")).await.unwrap().result, VerifyResult::Match);
    assert_eq!(std::fs::read_to_string(&destination).unwrap().lines().count(), 1, "nothing more");
    std::fs::remove_file(destination).unwrap();
}
