//! Safe across code changes, against the local server: snapshots of another fold are refused
//! and a rebuild renews every order's (idle ones too); the backfill at rollout snapshots 1,000
//! orders across runs stopped by their deadline, and running it twice or twice at once ends in
//! the same state; repair by replay never copies an older drift forward.

use shared::domain::samples::order_id as oid;
use shared::domain::{Money, Order, OrderEvent, RecordedEvent};
use shared::store::control::rebuild_scope::RebuildScope;
use shared::store::snapshots::Unusable;
use shared::use_cases::admin::SnapshotAdmin;
use shared::use_cases::clock::ManualClock;
use shared::use_cases::maintenance::rebuild::{RebuildError, RebuildService};
use shared::use_cases::verify::VerifyResult;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::{LocalDynamo, TestTables, bulk_insert_events, snapshot_of};

const NOW: i64 = 1_800_000_000_000;

fn history(order_id: &str, len: u64) -> Vec<RecordedEvent> {
    testkit::history(order_id, len, |seq| OrderEvent::ItemAdded {
        sku: format!("S{}", seq % 4),
        name: "n".into(),
        quantity: 1,
        unit_price: Money::from_minor(100 + seq as i64),
    })
}

/// A snapshot as the previous release's fold wrote it: its metadata names that fold.
async fn put_from_old_fold(t: &TestTables, state: Order) {
    let (mut item, mut metadata) = shared::store::snapshots::codec::encode(&snapshot_of(state)).unwrap();
    metadata.fold_fingerprint = Some("fold-0123456789abcdef".into());
    metadata.writer_build = Some("previous-release".into());
    item.insert("metadata".into(), serde_dynamo::to_attribute_value(&metadata).unwrap());
    t.client.put_item().table_name(&t.snapshots_table).set_item(Some(item)).send().await.unwrap();
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

#[tokio::test]
async fn after_a_fold_change_old_snapshots_are_refused_and_a_rebuild_renews_every_order() {
    let t = TestTables::new().await;
    let clock = Arc::new(ManualClock::at(NOW));
    // five orders with snapshots by the old fold; three are idle (the snapshot is at their
    // newest event, so the stream would never write a newer one); longer than the read-ahead,
    // so that their loads read the snapshot
    for o in 0..5u64 {
        let id = format!("f-{o}");
        let events = history(&id, 40 + o);
        bulk_insert_events(&t.client, &t.events_table, &events).await;
        let at = if o < 3 { events.len() } else { 25 };
        put_from_old_fold(&t, Order::replay(&id, &events[..at]).unwrap()).await;
    }
    let repo = t.repository();
    for o in 0..5 {
        let id = format!("f-{o}");
        let loaded = repo.load(&oid(&id)).await.unwrap().unwrap();
        assert_eq!(
            (loaded.cost.snapshot_version, loaded.cost.unusable_snapshots),
            (None, 1),
            "{id}: refused"
        );
        assert!(loaded.cost.fallback.unwrap().contains("fold"), "{id}: and why");
        let stored = repo.newest_snapshot(&oid(&id)).await.unwrap().unwrap().1;
        assert!(matches!(stored, Err(Unusable::FoldChanged { .. })), "{id}");
    }

    let rebuild = RebuildService::new(t.repository(), clock.clone()).with_rate(0);
    let job = rebuild.start(RebuildScope::All, "test", false).await.unwrap();
    let run = rebuild.run(far()).await.unwrap().unwrap();

    assert!(run.finished, "{run:?}");
    assert_eq!((run.progress.examined, run.progress.rebuilt, run.progress.failed), (5, 5, 0), "{run:?}");
    for o in 0..5u64 {
        let id = format!("f-{o}");
        let loaded = repo.load(&oid(&id)).await.unwrap().unwrap();
        assert_eq!(loaded.cost.snapshot_version, Some(40 + o), "{id}: the new snapshot is used");
        assert_eq!(loaded.cost.unusable_snapshots, 0, "{id}");
        assert_eq!(loaded.order, repo.load_by_replay(&oid(&id)).await.unwrap().unwrap().order);
    }
    let status = rebuild.status().await.unwrap().unwrap();
    assert_eq!((status.job_id, status.progress.rebuilt, status.finished), (job.job_id, 5, true));
    assert!(rebuild.run(far()).await.unwrap().is_none(), "a finished job does not run again");
}

#[tokio::test]
async fn the_backfill_snapshots_a_thousand_orders_across_deadline_stopped_runs_and_twice_changes_nothing() {
    // its own server: moto's scans and queries slow down with the table's size
    let server = LocalDynamo::start().unwrap();
    let t = TestTables::on(&server).await;
    let clock = Arc::new(ManualClock::at(NOW));
    let mut all = Vec::new();
    let mut expected = Vec::new();
    for o in 0..1000u64 {
        let id = format!("b-{o:04}");
        let events = history(&id, 25 + o % 3);
        expected.push((id.clone(), Order::replay(&id, &events).unwrap()));
        all.extend(events);
    }
    // and orders the backfill must leave alone: too short
    for o in 0..20 {
        all.extend(history(&format!("short-{o}"), 24));
    }
    bulk_insert_events(&t.client, &t.events_table, &all).await;

    // at most 100 orders a second: every engine needs several 2-second runs (moto, slower,
    // needs more; dynalite would otherwise finish in two)
    let rebuild = RebuildService::new(t.repository(), clock.clone()).with_rate(100).with_page_size(1000);
    rebuild.start(RebuildScope::MinEvents { events: 25 }, "test", false).await.unwrap();
    let mut runs = 0;
    loop {
        runs += 1;
        // a short turn: each stops at its deadline, mid-page, saves where it stopped, and the
        // next resumes there
        let run = rebuild.run(Instant::now() + Duration::from_secs(2)).await.unwrap().unwrap();
        if run.finished {
            break;
        }
        assert!(runs < 500, "the backfill must finish");
    }
    assert!(runs > 3, "several runs, each stopped by its deadline ({runs})");
    // every order examined once: no turn counted an order another had counted
    let status = rebuild.status().await.unwrap().unwrap();
    let progress = &status.progress;
    assert_eq!((progress.examined, progress.rebuilt, progress.failed), (1000, 1000, 0), "{status:?}");
    assert_eq!(status.runs, runs);

    let snapshots_now = check_all(&t, &expected).await;
    assert!(t.snapshot_store().list(&oid("short-0"), 10, None).await.unwrap().snapshots.is_empty());

    // twice: a second job finds a usable snapshot everywhere
    rebuild.start(RebuildScope::MinEvents { events: 25 }, "test", false).await.unwrap();
    let second = rebuild.run(far()).await.unwrap().unwrap();
    assert_eq!((second.progress.rebuilt, second.progress.skipped), (0, 1000), "{second:?}");
    // two at once: two runs of one fresh job, side by side
    rebuild.start(RebuildScope::MinEvents { events: 25 }, "test", false).await.unwrap();
    let (a, b) = tokio::join!(rebuild.run(far()), rebuild.run(far()));
    let (a, b) = (a.unwrap().unwrap(), b.unwrap().unwrap());
    assert_eq!(a.progress.rebuilt + b.progress.rebuilt, 0, "{a:?} {b:?}");
    assert_eq!(check_all(&t, &expected).await, snapshots_now, "the same state");
    server.stop();
}

/// Every order has exactly one snapshot, at its newest event, equal to its replay; returns
/// the snapshots' write identities to compare states.
async fn check_all(t: &TestTables, expected: &[(String, Order)]) -> Vec<(String, u64, String)> {
    let store = t.snapshot_store();
    let mut seen = Vec::new();
    for (id, replay) in expected {
        let page = store.list(&oid(id), 10, None).await.unwrap();
        assert_eq!(page.snapshots.len(), 1, "{id}");
        let snapshot = store.get(&oid(id), replay.version).await.unwrap().unwrap().unwrap();
        assert_eq!(&snapshot.state, replay, "{id}");
        seen.push((id.clone(), snapshot.version, snapshot.metadata.checksum));
    }
    seen
}

#[tokio::test]
async fn repair_by_replay_never_copies_an_older_drift_forward() {
    let t = TestTables::new().await;
    let events = history("drifty", 25);
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    // two usable but wrong snapshots (a bug, not damage): at 10 and 20
    for at in [10, 20] {
        let mut wrong = Order::replay("drifty", &events[..at]).unwrap();
        wrong.customer_id = Some("someone-else".into());
        t.snapshot_store().put(&snapshot_of(wrong)).await.unwrap();
    }
    let admin = SnapshotAdmin::new(t.repository(), Arc::new(ManualClock::at(NOW)));
    assert_eq!(admin.verify(&oid("drifty")).await.unwrap().result, VerifyResult::Drift);
    // the runbook: delete the drifted snapshot, create a new one
    admin.delete(&oid("drifty"), 20).await.unwrap();
    let created = admin.create(&oid("drifty"), "admin:test", "repair").await.unwrap();

    assert_eq!(created.version, 25);
    assert_eq!(created.cost.snapshot_version, None, "folded by full replay, not from snapshot 10");
    let stored = t.snapshot_store().get(&oid("drifty"), 25).await.unwrap().unwrap().unwrap();
    assert_eq!(stored.state, Order::replay("drifty", &events).unwrap());
    assert_eq!(admin.verify(&oid("drifty")).await.unwrap().result, VerifyResult::Match);
}

#[tokio::test]
async fn of_two_rebuild_starts_at_once_exactly_one_wins_and_the_other_is_refused() {
    let t = TestTables::new().await;
    let clock = Arc::new(ManualClock::at(NOW));
    let (a, b) =
        (RebuildService::new(t.repository(), clock.clone()), RebuildService::new(t.repository(), clock));
    for round in 0..5 {
        // when two operators start a job at the same moment
        let (first, second) =
            tokio::join!(a.start(RebuildScope::Stale, "a", false), b.start(RebuildScope::Stale, "b", false));
        // then exactly one is started, and the other names the one that runs
        let (winner, refused) = match (first, second) {
            (Ok(job), Err(refused)) | (Err(refused), Ok(job)) => (job, refused),
            (first, second) => panic!("round {round}: exactly one start must win: {first:?} / {second:?}"),
        };
        match refused {
            RebuildError::Running { job_id, .. } => assert_eq!(job_id, winner.job_id, "round {round}"),
            other => panic!("round {round}: refused as running, not {other}"),
        }
        assert_eq!(a.status().await.unwrap().unwrap().job_id, winner.job_id);
        // and once it has finished (an empty table: one turn), the next start is free again
        let turn = a.run(Instant::now() + Duration::from_secs(30)).await.unwrap().unwrap();
        assert!(turn.finished, "round {round}: {turn:?}");
    }
    // replacing is the one way past a running job
    let running = a.start(RebuildScope::All, "a", false).await.unwrap();
    let replacement = b.start(RebuildScope::All, "b", true).await.unwrap();
    assert_ne!(running.job_id, replacement.job_id);
    assert_eq!(a.status().await.unwrap().unwrap().job_id, replacement.job_id);
}
