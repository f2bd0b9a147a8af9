//! The maintenance function against the local server: retention cleanup, the drift canary,
//! and the handler on its sample events.

use serde_json::Value;
use shared::domain::samples::order_id as oid;
use shared::domain::samples::recorded;
use shared::domain::{Money, Order, OrderEvent};
use shared::policy::settings::MaintenanceSettings;
use shared::policy::settings::RetentionSettings;
use shared::runtime::metrics::Metrics;
use shared::store::snapshots::NewSnapshot;
use shared::use_cases::clock::ManualClock;
use shared::use_cases::maintenance::cleanup::CleanupService;
use shared::use_cases::maintenance::{Job, Maintenance};
use snapshot_maintenance::{FUNCTION, handle, parse_request};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::TestTables;

const NOW: i64 = 1_800_000_000_000;
const DAY: i64 = 24 * 3_600_000;

/// Writes snapshots of `order_id` at `versions`, each taken `age_days` ago, and the events
/// they were folded from.
async fn snapshots(t: &TestTables, order_id: &str, versions_and_ages: &[(u64, i64)]) {
    let top = versions_and_ages.iter().map(|(v, _)| *v).max().unwrap_or(0);
    let events: Vec<_> = (1..=top)
        .map(|seq| {
            recorded(
                order_id,
                seq,
                OrderEvent::ItemAdded {
                    sku: "S".into(),
                    name: "n".into(),
                    quantity: 1,
                    unit_price: Money::from_minor(5),
                },
            )
        })
        .collect();
    testkit::bulk_insert_events(&t.client, &t.events_table, &events).await;
    let store = t.snapshot_store();
    for &(version, age_days) in versions_and_ages {
        let new = NewSnapshot {
            state: Order::replay(order_id, &events[..version as usize]).unwrap(),
            timestamp: NOW - age_days * DAY,
            created_by: "test".into(),
            reason: "test".into(),
            strategy: None,
            rule: None,
        };
        store.put(&new).await.unwrap();
    }
}

async fn remaining(t: &TestTables, order_id: &str) -> Vec<u64> {
    let mut keys = shared::store::snapshots::SnapshotKeys::of(&t.snapshot_store())
        .keys(&oid(order_id))
        .await
        .unwrap()
        .keys;
    keys.sort_by_key(|k| k.version);
    keys.into_iter().map(|k| k.version).collect()
}

/// The function's use case on the test's tables, with a canary sample of `canary_orders`.
fn maintenance(t: &TestTables, canary_orders: u32) -> Maintenance {
    let settings = MaintenanceSettings { canary_orders, rebuild_orders_per_second: 0 };
    Maintenance::new(t.repository(), RetentionSettings::default(), &settings, Arc::new(ManualClock::at(NOW)))
}

fn service(t: &TestTables) -> CleanupService {
    CleanupService::new(t.repository(), RetentionSettings::default(), Arc::new(ManualClock::at(NOW)))
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

/// (order, its snapshots as (version, age in days), what must remain) with the defaults
/// MAX_SNAPSHOTS_PER_ORDER=3, MAX_SNAPSHOT_AGE_DAYS=90.
/// (order, its snapshots as (version, age in days), the versions that must remain)
type Case = (&'static str, Vec<(u64, i64)>, Vec<u64>);

fn cases() -> Vec<Case> {
    vec![
        ("below-count", vec![(10, 3), (20, 1)], vec![10, 20]),
        ("at-count", vec![(10, 3), (20, 2), (30, 1)], vec![10, 20, 30]),
        ("above-count", vec![(10, 5), (20, 4), (30, 3), (40, 2), (50, 1)], vec![30, 40, 50]),
        ("age-cutoff", vec![(10, 200), (20, 91), (30, 89)], vec![30]),
        ("idle-all-old", vec![(10, 500), (20, 400), (30, 300)], vec![30]),
        ("one-ancient", vec![(7, 3650)], vec![7]),
        ("mixed", vec![(10, 400), (20, 60), (30, 30), (40, 20), (50, 10)], vec![30, 40, 50]),
    ]
}

async fn seed_cases(t: &TestTables) {
    for (order, snaps, _) in cases() {
        snapshots(t, order, &snaps).await;
    }
}

async fn assert_cases(t: &TestTables) {
    for (order, _, expected) in cases() {
        assert_eq!(remaining(t, order).await, expected, "{order}");
    }
}

#[tokio::test]
async fn table_driven_retention_keeps_each_orders_newest() {
    let t = TestTables::new().await;
    seed_cases(&t).await;
    let report = service(&t).run(far()).await.unwrap();
    assert!(report.finished);
    assert_eq!(report.orders_examined, 7);
    assert_eq!(report.snapshots_deleted, 2 + 2 + 2 + 2);
    assert_cases(&t).await;
}

/// The cleanup on the test's tables through a client whose requests holding `marker` fail.
fn failing(t: &TestTables, marker: &str) -> (CleanupService, testkit::faults::FailingRequests) {
    let faults = testkit::faults::FailingRequests::matching(marker);
    let repository = t.repository_via(faults.client(&t.endpoint));
    (CleanupService::new(repository, RetentionSettings::default(), Arc::new(ManualClock::at(NOW))), faults)
}

#[tokio::test]
async fn an_order_whose_retention_fails_is_counted_and_the_pass_goes_on() {
    let t = TestTables::new().await;
    seed_cases(&t).await;
    // every request naming this order fails: its keys cannot be read
    let (svc, faults) = failing(&t, "\"above-count\"");
    let report = svc.run(far()).await.unwrap();
    assert!(faults.failed() >= 1);
    assert!(report.finished, "one order cannot stop the pass");
    assert_eq!((report.orders_examined, report.orders_failed), (7, 1));
    assert_eq!(report.snapshots_deleted, 2 + 2 + 2, "every other order was cleaned");
    assert_eq!(remaining(&t, "above-count").await, vec![10, 20, 30, 40, 50], "the failed one is untouched");
    assert_eq!(remaining(&t, "mixed").await, vec![30, 40, 50]);
    let metrics: BTreeMap<_, _> = report.metrics().into_iter().collect();
    assert_eq!(metrics["CleanupOrdersFailed"], 1);
    // the next night, healthy, finishes it
    service(&t).run(far()).await.unwrap();
    assert_cases(&t).await;
}

#[tokio::test]
async fn a_scan_that_fails_stops_the_run_with_its_progress_saved() {
    let t = TestTables::new().await;
    seed_cases(&t).await;
    // the first page goes through; every later page names where it starts, and fails
    let (svc, faults) = failing(&t, "ExclusiveStartKey");
    let first = svc.with_page_size(4).run(far()).await.unwrap();
    assert!(faults.failed() >= 1);
    assert!(!first.finished && first.stopped_by.as_deref().is_some_and(|e| e.contains("Scan")), "{first:?}");
    assert_eq!(first.pages_scanned, 1);
    assert!(first.orders_examined >= 1 && first.resume_from.is_some(), "{first:?}");
    let metrics: BTreeMap<_, _> = first.metrics().into_iter().collect();
    assert_eq!(metrics["CleanupUnfinished"], 1);
    // the next run resumes where the failed one stopped, not from the start
    let next = service(&t).with_page_size(4).run(far()).await.unwrap();
    assert_eq!(next.resumed_from, first.resume_from);
    assert!(next.finished);
    assert_cases(&t).await;
}

#[tokio::test]
async fn running_twice_and_two_runs_at_once_end_in_the_same_state() {
    let t = TestTables::new().await;
    seed_cases(&t).await;
    let (one, two) = (service(&t).with_page_size(3), service(&t).with_page_size(3));
    let (a, b) = tokio::join!(one.run(far()), two.run(far()));
    assert!(a.unwrap().finished && b.unwrap().finished);
    assert_cases(&t).await;
    let again = service(&t).run(far()).await.unwrap();
    assert_eq!(again.snapshots_deleted, 0);
    assert_cases(&t).await;
}

#[tokio::test]
async fn a_short_deadline_stops_unfinished_and_the_next_runs_finish_the_job() {
    let t = TestTables::new().await;
    seed_cases(&t).await;
    let svc = service(&t).with_page_size(4);
    // a deadline already passed: each run does one page and stops
    let first = svc.run(Instant::now()).await.unwrap();
    assert!(!first.finished);
    assert_eq!(first.pages_scanned, 1);
    let mut cursor = first.resume_from.clone().expect("where to resume");
    let mut runs = 1;
    loop {
        let next = svc.run(Instant::now()).await.unwrap();
        runs += 1;
        assert_eq!(next.resumed_from.as_ref(), Some(&cursor), "each run resumes where the last stopped");
        match next.resume_from {
            Some(c) => cursor = c,
            None => {
                assert!(next.finished);
                break;
            }
        }
        assert!(runs < 50, "progress on every run");
    }
    assert!(runs > 2);
    assert_cases(&t).await;
    // finished: the next run starts from the beginning again
    assert_eq!(svc.run(far()).await.unwrap().resumed_from, None);
}

#[tokio::test]
async fn more_snapshots_than_a_page_are_all_covered() {
    let t = TestTables::new().await;
    // 40 orders × 6 snapshots = 240 keys over pages of 7
    for o in 0..40 {
        snapshots(&t, &format!("o-{o}"), &[(1, 9), (2, 8), (3, 7), (4, 6), (5, 5), (6, 4)]).await;
    }
    let report = service(&t).with_page_size(7).run(far()).await.unwrap();
    assert!(report.finished);
    // keys of an order already cleaned are gone by the time a later page would have read them
    assert!(report.pages_scanned > 20, "{report:?}");
    assert_eq!(report.snapshots_deleted, 40 * 3);
    for o in 0..40 {
        assert_eq!(remaining(&t, &format!("o-{o}")).await, vec![4, 5, 6]);
    }
}

#[tokio::test]
async fn the_handler_runs_the_sample_events() {
    let t = TestTables::new().await;
    seed_cases(&t).await;
    snapshots(&t, "o-1001", &[(1, 9), (2, 8), (3, 7), (4, 6)]).await;
    let file = |name: &str| -> Value {
        let path = format!("{}/../../events/snapshot-maintenance/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };

    let metrics = Metrics::recorded(FUNCTION);
    let work = maintenance(&t, 4);
    let single = handle(&work, &metrics, file("single-order.json"), far()).await.unwrap();
    assert_eq!(single["orderId"], "o-1001");
    assert_eq!(single["deleted"], serde_json::json!([1]));
    assert_eq!(remaining(&t, "o-1001").await, vec![2, 3, 4]);
    assert_eq!(remaining(&t, "above-count").await.len(), 5, "other orders untouched");

    assert_eq!(metrics.last(), None, "one order's retention emits no run metrics");
    let all = handle(&work, &metrics, file("scheduled-event.json"), far()).await.unwrap();
    assert_eq!(all["finished"], true);
    assert_eq!(all["snapshotsDeleted"], 8);
    let run = metrics.last().expect("the run's metrics");
    assert_eq!((run["SnapshotsDeleted"], run["CleanupUnfinished"]), (8, 0));
    assert_eq!((run["CanaryChecked"], run["SnapshotDrift"]), (4, 0), "4 orders sampled, no drift");
    assert_eq!(all["canary"]["checked"], 4);
    assert_cases(&t).await;
}

#[test]
fn requests_are_parsed_strictly() {
    assert_eq!(
        parse_request(&serde_json::json!({"detail-type": "Scheduled Event"})).unwrap(),
        Job::CleanupAndCanary
    );
    assert_eq!(
        parse_request(&serde_json::json!({"orderId": "o-1"})).unwrap(),
        Job::CleanupOrder(shared::domain::samples::order_id("o-1"))
    );
    assert!(parse_request(&serde_json::json!({"orderId": "../x"})).is_err());
    assert!(parse_request(&serde_json::json!({"orderId": 5})).is_err());
    assert!(parse_request(&serde_json::json!([1, 2])).is_err());
}

/// Bad configuration stops the function at start, naming the variable.
#[test]
fn bad_configuration_stops_the_binary_at_start() {
    let cases = BTreeMap::from([
        ("MAX_SNAPSHOTS_PER_ORDER", "-1"),
        ("MAX_SNAPSHOT_AGE_DAYS", "ninety"),
        ("EVENT_COUNT_SNAPSHOT_THRESHOLD", "0"),
    ]);
    for (variable, value) in cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_snapshot-maintenance"))
            .env(variable, value)
            .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{variable}={value} must not start");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(variable), "{variable}: {stderr}");
    }
}

#[tokio::test]
async fn the_drift_canary_finds_an_injected_drift_and_names_the_field() {
    let t = TestTables::new().await;
    for o in 0..6 {
        snapshots(&t, &format!("c-{o}"), &[(5, 2), (10, 1)]).await;
    }
    // a usable snapshot (valid checksum, this fold's fingerprint) with a wrong state: a bug,
    // not damage, so loads would trust it
    let mut wrong = t.snapshot_store().get(&oid("c-3"), 10).await.unwrap().unwrap().unwrap().state;
    wrong.items[0].quantity += 1;
    t.snapshot_store().delete(&oid("c-3"), 10).await.unwrap();
    let new = NewSnapshot {
        state: wrong,
        timestamp: NOW - DAY,
        created_by: "a bug".into(),
        reason: "test".into(),
        strategy: None,
        rule: None,
    };
    t.snapshot_store().put(&new).await.unwrap();

    let work = maintenance(&t, 12);
    let metrics = Metrics::recorded(FUNCTION);
    let scheduled = serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events"});
    let summary = handle(&work, &metrics, scheduled, far()).await.unwrap();

    let canary = &summary["canary"];
    assert_eq!(canary["checked"], 6, "{canary}");
    assert_eq!(canary["drifted"].as_array().unwrap().len(), 1, "{canary}");
    assert_eq!(canary["drifted"][0]["orderId"], "c-3");
    assert_eq!(canary["drifted"][0]["snapshotVersion"], 10);
    assert_eq!(canary["drifted"][0]["firstDifference"]["path"], "/items/0/quantity");
    let emitted = metrics.all();
    let counts = emitted.iter().find(|m| m.contains_key("SnapshotDrift")).unwrap();
    assert_eq!((counts["CanaryChecked"], counts["SnapshotDrift"]), (6, 1));
}

#[tokio::test]
async fn a_snapshot_item_with_a_malformed_key_attribute_is_skipped_and_the_run_moves_on() {
    let t = TestTables::new().await;
    seed_cases(&t).await;
    // an order with a good snapshot and one whose timestamp is text: retention cannot read
    // that one's key
    snapshots(&t, "a-bad", &[(2, 1)]).await;
    let mut bad = shared::store::snapshots::codec::encode(&NewSnapshot {
        state: Order::replay("a-bad", &[recorded("a-bad", 1, OrderEvent::OrderConfirmed {})]).unwrap(),
        timestamp: NOW,
        created_by: "test".into(),
        reason: "test".into(),
        strategy: None,
        rule: None,
    })
    .unwrap()
    .0;
    let mut foreign = bad.clone();
    bad.insert("timestamp".into(), aws_sdk_dynamodb::types::AttributeValue::S("yesterday".into()));
    t.client.put_item().table_name(&t.snapshots_table).set_item(Some(bad)).send().await.unwrap();
    // and an item stored under an id no order can have (not a control item either)
    foreign.insert("orderId".into(), aws_sdk_dynamodb::types::AttributeValue::S("not an order!".into()));
    t.client.put_item().table_name(&t.snapshots_table).set_item(Some(foreign)).send().await.unwrap();

    // and control items in the same table (a rebuild job's) are not snapshots, nor malformed
    let rebuild = shared::use_cases::maintenance::rebuild::RebuildService::new(
        t.repository(),
        Arc::new(ManualClock::at(NOW)),
    );
    rebuild.start(shared::store::control::rebuild_scope::RebuildScope::Stale, "test", false).await.unwrap();

    // every night, small pages: each run gets past it
    let cleanup = service(&t).with_page_size(3);
    for night in 0..2 {
        let mut skipped = 0;
        loop {
            let report = cleanup.run(far()).await.unwrap();
            skipped += report.keys_skipped;
            if report.finished {
                break;
            }
        }
        assert_eq!(skipped, 2, "night {night}: each counted once per pass");
    }
    assert_cases(&t).await;
    let left = t
        .client
        .get_item()
        .table_name(&t.snapshots_table)
        .key("orderId", aws_sdk_dynamodb::types::AttributeValue::S("a-bad".into()))
        .key("version", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    assert!(left.item.is_some(), "the malformed item is left for an operator, not deleted");
}

#[tokio::test]
async fn a_nightly_run_out_of_time_still_cleans_one_page_and_checks_one_order() {
    let t = TestTables::new().await;
    seed_cases(&t).await;
    let metrics = Metrics::recorded(FUNCTION);
    // a deadline already passed (the Lambda's time nearly spent)
    let scheduled = serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events"});
    let summary = handle(&maintenance(&t, 4), &metrics, scheduled, Instant::now()).await.unwrap();
    assert!(summary["pagesScanned"].as_u64().unwrap() >= 1, "{summary}");
    assert_eq!(summary["canary"]["checked"], 1, "{summary}");
    assert_eq!(metrics.last().unwrap()["CanaryChecked"], 1);
}
