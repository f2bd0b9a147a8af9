//! Jobs the admin API starts: locally they run in this process through the maintenance
//! function's own entry point (`Maintenance::run`), so a local nightly run does what the
//! deployed one does: retention over the table, then the drift canary on its sample.

use shared::policy::settings::{MaintenanceSettings, RetentionSettings};
use shared::use_cases::clock::ManualClock;
use shared::use_cases::maintenance::{Job, Maintenance, Outcome};
use snapshot_admin::job_starter::{InProcessJobStarter, JobStarter, payload};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::{TestTables, bulk_insert_events, plain_history, snapshot_at};

/// Waits for the starter's first finished run.
async fn first_finished(starter: &InProcessJobStarter) -> Outcome {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(outcome) = starter.finished().into_iter().next() {
            return outcome;
        }
        assert!(Instant::now() < until, "the run did not finish within a minute");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_local_nightly_run_applies_retention_and_then_runs_the_canary() {
    // given two orders with five snapshots each (retention keeps three)
    let t = TestTables::new().await;
    for order in ["night-1", "night-2"] {
        let events = plain_history(order, 5);
        bulk_insert_events(&t.client, &t.events_table, &events).await;
        for seq in 1..=5 {
            t.snapshot_store().put(&snapshot_at(&events, seq)).await.unwrap();
        }
    }
    let settings = MaintenanceSettings { canary_orders: 4, rebuild_orders_per_second: 0 };
    let clock = Arc::new(ManualClock::at(1_800_000_000_000));
    let maintenance = Maintenance::new(t.repository(), RetentionSettings::default(), &settings, clock);
    let starter = InProcessJobStarter::new(Arc::new(maintenance), Duration::from_secs(60));

    // when the admin API starts the nightly job locally
    let started = starter.start(Job::CleanupAndCanary, "test").await.unwrap();
    assert_eq!(started.runner, "in-process");

    // then it applied retention and verified the sample it picked
    let Outcome::CleanupAndCanary { cleanup, canary } = first_finished(&starter).await else {
        panic!("a nightly run reports retention and the canary")
    };
    assert_eq!((cleanup.orders_examined, cleanup.snapshots_deleted), (2, 4), "{cleanup:?}");
    assert!(cleanup.finished);
    assert_eq!(canary.checked, 2, "both orders sampled and verified: {canary:?}");
    assert!(canary.drifted.is_empty());
    for order in ["night-1", "night-2"] {
        assert_eq!(t.verified_snapshots(order).await, vec![5, 4, 3]);
    }
}

#[test]
fn the_deployed_starter_sends_what_the_maintenance_function_parses() {
    for job in
        [Job::CleanupAndCanary, Job::Rebuild, Job::CleanupOrder(shared::domain::samples::order_id("o-1"))]
    {
        let sent = payload(&job, "arn:aws:iam::1:user/admin");
        assert_eq!(snapshot_maintenance_job(&sent), job, "{sent}");
    }
}

/// How the maintenance function reads its input (its crate's own parser).
fn snapshot_maintenance_job(input: &serde_json::Value) -> Job {
    snapshot_maintenance::parse_request(input).expect("the maintenance function accepts it")
}
