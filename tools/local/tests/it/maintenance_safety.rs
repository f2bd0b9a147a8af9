//! Maintenance that is safe to run twice, on bad data, and after every deploy, against the
//! local server: one turn owns a rebuild job at a time (a lease), a dead turn's lease runs
//! out, ids no order can have and unreadable histories are counted and passed, a turn stops
//! before its deadline at any rate and saves where it stopped, the rate limit holds, and a
//! fold change starts its own renewal, once.

use shared::domain::Order;
use shared::domain::samples::order_id as oid;
use shared::policy::settings::{MaintenanceSettings, RetentionSettings};
use shared::store::control::fold_record::FOLD_RECORD_ID;
use shared::store::control::job::{Claim, JobStore};
use shared::store::control::rebuild_scope::RebuildScope;
use shared::use_cases::clock::ManualClock;
use shared::use_cases::maintenance::rebuild::RebuildService;
use shared::use_cases::maintenance::renewal::{RENEWAL_REQUESTER, Renewal};
use shared::use_cases::maintenance::{Job, Maintenance, Outcome};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::{TestTables, bulk_insert_events, bulk_insert_items, plain_history, snapshot_of};

const NOW: i64 = 1_800_000_000_000;

fn far() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

/// `orders` orders of 12 events each and no snapshot: every one needs a write.
async fn orders_without_snapshots(t: &TestTables, prefix: &str, orders: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for o in 0..orders {
        let id = format!("{prefix}-{o}");
        bulk_insert_events(&t.client, &t.events_table, &plain_history(&id, 12)).await;
        ids.push(id);
    }
    ids
}

#[tokio::test]
async fn two_overlapping_turns_of_one_job_write_count_and_advance_once() {
    // given 30 orders that each need a snapshot, and an `all` job
    let t = TestTables::new().await;
    let ids = orders_without_snapshots(&t, "lap", 30).await;
    let clock = Arc::new(ManualClock::at(NOW));
    let service = || RebuildService::new(t.repository(), clock.clone()).with_rate(0).with_page_size(7);
    let (a, b) = (service(), service());
    a.start(RebuildScope::All, "test", false).await.unwrap();

    // when two turns start at the same moment (the schedule's and the admin API's)
    let (first, second) = tokio::join!(a.run(far()), b.run(far()));
    let (first, second) = (first.unwrap().unwrap(), second.unwrap().unwrap());

    // then one did the job and the other left at once, touching nothing
    let (worker, idle) = if first.leased_elsewhere { (second, first) } else { (first, second) };
    assert!(idle.leased_elsewhere && idle.progress.examined == 0 && idle.pages == 0, "{idle:?}");
    assert!(worker.finished, "{worker:?}");
    let job = a.status().await.unwrap().unwrap();
    assert_eq!((job.progress.examined, job.progress.rebuilt), (30, 30), "counted once: {job:?}");
    assert!(job.finished && job.resume_from.is_none() && job.leased_until.is_none(), "{job:?}");
    assert_eq!(job.runs, 1, "only the turn that held the lease counts as a run");
    for id in &ids {
        assert_eq!(t.verified_snapshots(id).await, vec![12], "{id}");
    }
}

#[tokio::test]
async fn a_dead_turns_lease_runs_out_and_the_next_turn_resumes() {
    let t = TestTables::new().await;
    orders_without_snapshots(&t, "dead", 4).await;
    let clock = Arc::new(ManualClock::at(NOW));
    let rebuild = RebuildService::new(t.repository(), clock.clone()).with_rate(0);
    rebuild.start(RebuildScope::All, "test", false).await.unwrap();
    // given a turn that claimed the job for a minute and died without a word
    let jobs = JobStore::new(t.repository().control_items());
    assert!(matches!(jobs.claim("dead-turn", NOW, NOW + 60_000).await.unwrap(), Claim::Claimed(_)));

    // then while its lease lasts, a turn leaves at once
    let blocked = rebuild.run(far()).await.unwrap().unwrap();
    assert!(blocked.leased_elsewhere && blocked.progress.examined == 0, "{blocked:?}");
    // and once it has run out, the next turn takes the job and finishes it
    clock.set(NOW + 61_000);
    let resumed = rebuild.run(far()).await.unwrap().unwrap();
    assert!(resumed.finished && resumed.progress.rebuilt == 4, "{resumed:?}");
    // and the dead turn can no longer save anything
    let late = jobs.record(&resumed.job_id, "dead-turn", None, &Default::default(), NOW).await.unwrap();
    assert!(!late, "a lost lease saves nothing");
}

#[tokio::test]
async fn an_id_no_order_can_have_and_an_unreadable_history_are_counted_and_the_job_goes_on() {
    // given good orders, an event stored under an id no order can have, and an order whose
    // history holds an event this code cannot read
    let t = TestTables::new().await;
    let good = orders_without_snapshots(&t, "ok", 5).await;
    let mut bad_id = shared::store::events::event_to_item(&plain_history("placeholder", 1)[0]);
    bad_id.insert("orderId".into(), aws_sdk_dynamodb::types::AttributeValue::S("not an order/../id".into()));
    let sick = plain_history("sick", 3);
    let mut unknown = shared::store::events::event_to_item(&sick[2]);
    unknown.insert("eventType".into(), aws_sdk_dynamodb::types::AttributeValue::S("OrderTeleported".into()));
    let sick_items: Vec<_> =
        sick[..2].iter().map(shared::store::events::event_to_item).chain([unknown]).collect();
    bulk_insert_items(&t.client, &t.events_table, &[bad_id]).await;
    bulk_insert_items(&t.client, &t.events_table, &sick_items).await;

    // when an `all` job runs, in small pages, turn after turn
    let rebuild =
        RebuildService::new(t.repository(), Arc::new(ManualClock::at(NOW))).with_rate(0).with_page_size(2);
    rebuild.start(RebuildScope::All, "test", false).await.unwrap();
    let mut turns = 0;
    while !rebuild.run(far()).await.unwrap().unwrap().finished {
        turns += 1;
        assert!(turns < 10, "the job must finish, not stall on the same page");
    }

    // then it finished, each bad one counted once by its reason, the good ones renewed
    let job = rebuild.status().await.unwrap().unwrap();
    assert!(job.finished);
    assert_eq!((job.progress.examined, job.progress.rebuilt, job.progress.failed), (7, 5, 2), "{job:?}");
    assert_eq!((job.progress.failures.invalid_order_id, job.progress.failures.history_unreadable), (1, 1));
    for id in &good {
        assert_eq!(t.verified_snapshots(id).await, vec![12]);
    }
}

#[tokio::test]
async fn a_slow_turn_stops_before_its_deadline_saves_mid_page_and_the_next_turn_finishes() {
    // given 20 orders in one page and a rate of 5 orders a second (4 s of work)
    let t = TestTables::new().await;
    orders_without_snapshots(&t, "slow", 20).await;
    let rebuild = RebuildService::new(t.repository(), Arc::new(ManualClock::at(NOW))).with_rate(5);
    rebuild.start(RebuildScope::All, "test", false).await.unwrap();

    // when a turn has 1.5 s
    let began = Instant::now();
    let deadline = began + Duration::from_millis(1500);
    let turn = rebuild.run(deadline).await.unwrap().unwrap();

    // then it stopped at its deadline (the last order and the save may end a little after it;
    // the handler keeps 5 s between the turn's deadline and the Lambda's), not 4 s of work
    // later, with part of the page done and saved
    let overrun = Instant::now().saturating_duration_since(deadline);
    assert!(overrun < Duration::from_secs(1), "the turn ran {overrun:?} past its deadline");
    assert!(turn.stopped_at_deadline && !turn.finished, "{turn:?}");
    assert!((2..20).contains(&turn.progress.examined), "{turn:?}");
    let saved = rebuild.status().await.unwrap().unwrap();
    assert_eq!(saved.progress.examined, turn.progress.examined);
    assert!(saved.resume_from.is_some(), "a position inside the page");
    // and the next turns finish it without examining any order twice
    let mut examined = turn.progress.examined;
    loop {
        let next = rebuild.run(far()).await.unwrap().unwrap();
        examined += next.progress.examined;
        if next.finished {
            break;
        }
    }
    assert_eq!(examined, 20);
    assert_eq!(rebuild.status().await.unwrap().unwrap().progress.examined, 20);
}

#[tokio::test]
async fn a_paced_turn_keeps_to_its_rate() {
    // given 10 orders and a rate of 10 orders a second
    let t = TestTables::new().await;
    orders_without_snapshots(&t, "paced", 10).await;
    let rebuild = RebuildService::new(t.repository(), Arc::new(ManualClock::at(NOW))).with_rate(10);
    rebuild.start(RebuildScope::All, "test", false).await.unwrap();
    // when a turn renews them all
    let began = Instant::now();
    let turn = rebuild.run(far()).await.unwrap().unwrap();
    // then the tenth started no sooner than 0.9 s after the first
    assert!(turn.finished && turn.progress.rebuilt == 10, "{turn:?}");
    assert!(began.elapsed() >= Duration::from_millis(900), "took {:?}", began.elapsed());
}

/// A snapshot as the previous release's fold wrote it.
async fn put_from_another_fold(t: &TestTables, state: Order) {
    let (mut item, mut metadata) = shared::store::snapshots::codec::encode(&snapshot_of(state)).unwrap();
    metadata.fold_fingerprint = Some("fold-previous00000".into());
    item.insert("metadata".into(), serde_dynamo::to_attribute_value(&metadata).unwrap());
    t.client.put_item().table_name(&t.snapshots_table).set_item(Some(item)).send().await.unwrap();
}

#[tokio::test]
async fn a_fold_change_starts_one_renewal_job_by_itself_and_renews_idle_orders() {
    // given idle orders whose only snapshots the previous release's fold wrote, and that
    // release's fingerprint on record
    let t = TestTables::new().await;
    for o in 0..6 {
        let id = format!("idle-{o}");
        let events = plain_history(&id, 8);
        bulk_insert_events(&t.client, &t.events_table, &events).await;
        put_from_another_fold(&t, Order::replay(&id, &events).unwrap()).await;
    }
    let control = t.repository().control_items();
    let record = shared::store::dynamo::Item::from([(
        "fingerprint".to_owned(),
        shared::store::dynamo::s("fold-previous00000"),
    )]);
    control.put(FOLD_RECORD_ID, record).await.unwrap();

    // when two containers of the new release take their 5-minute turns at once
    let settings = MaintenanceSettings { canary_orders: 0, rebuild_orders_per_second: 0 };
    let container = || {
        Maintenance::new(
            t.repository(),
            RetentionSettings::default(),
            &settings,
            Arc::new(ManualClock::at(NOW)),
        )
    };
    let (a, b) = (container(), container());
    let (first, second) = tokio::join!(a.run(Job::Rebuild, far()), b.run(Job::Rebuild, far()));
    let renewals: Vec<Renewal> = [first.unwrap(), second.unwrap()]
        .into_iter()
        .map(|outcome| match outcome {
            Outcome::Rebuild { renewal, .. } | Outcome::NoRebuildJob { renewal, .. } => renewal,
            other => panic!("a rebuild turn, not {other:?}"),
        })
        .collect();

    // then exactly one started a renewal job
    let started: Vec<_> = renewals.iter().filter(|r| matches!(r, Renewal::Started { .. })).collect();
    assert_eq!(started.len(), 1, "{renewals:?}");
    let job = a.rebuild().status().await.unwrap().unwrap();
    assert_eq!((job.scope.clone(), job.requested_by.as_str()), (RebuildScope::Stale, RENEWAL_REQUESTER));
    // and turns renew every idle order, after which nothing is pending
    while !a.rebuild().status().await.unwrap().unwrap().finished {
        a.run(Job::Rebuild, far()).await.unwrap();
    }
    let repo = t.repository();
    for o in 0..6 {
        let id = format!("idle-{o}");
        assert!(matches!(repo.newest_snapshot(&oid(&id)).await.unwrap(), Some((8, Ok(_)))), "{id} renewed");
        // the stream's bounded load starts from it (a plain load of 8 events reads them whole)
        let (_, cost) = repo.load_folded(&oid(&id), Some(8), 1).await.unwrap().unwrap();
        assert_eq!(cost.snapshot_version, Some(8), "{id}");
    }
    let again = a.run(Job::Rebuild, far()).await.unwrap();
    assert!(matches!(again, Outcome::NoRebuildJob { renewal: Renewal::Unchanged, .. }), "{again:?}");
}

#[tokio::test]
async fn an_orders_job_renews_the_listed_orders_and_skips_one_with_no_events() {
    let t = TestTables::new().await;
    orders_without_snapshots(&t, "listed", 3).await;
    let rebuild =
        RebuildService::new(t.repository(), Arc::new(ManualClock::at(NOW))).with_rate(0).with_page_size(2);
    let ids = vec!["listed-0".to_owned(), "listed-2".to_owned(), "never-written".to_owned()];
    rebuild.start(RebuildScope::Orders { order_ids: ids }, "test", false).await.unwrap();
    while !rebuild.run(far()).await.unwrap().unwrap().finished {}
    let job = rebuild.status().await.unwrap().unwrap();
    assert_eq!((job.progress.examined, job.progress.rebuilt, job.progress.skipped), (3, 2, 1), "{job:?}");
    assert_eq!(t.verified_snapshots("listed-0").await, vec![12]);
    assert!(t.verified_snapshots("listed-1").await.is_empty(), "not listed, not touched");
}
