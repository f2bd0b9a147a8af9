//! Cleanup running while the stream function writes snapshots: nothing lost, nothing
//! overwritten, every order keeps its newest, and a final run leaves each within retention.

use shared::domain::samples::order_id as oid;
use shared::domain::samples::recorded;
use shared::domain::{Money, OrderEvent};
use shared::policy::settings::{RetentionSettings, StrategySettings};
use shared::use_cases::clock::ManualClock;
use shared::use_cases::maintenance::cleanup::CleanupService;
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::stream_events::insert_batch;
use testkit::{TestTables, bulk_insert_events};

#[tokio::test]
async fn cleanup_during_snapshot_writes_loses_nothing() {
    let t = TestTables::new().await;
    let clock = Arc::new(ManualClock::at(1_800_000_000_000));
    let settings = StrategySettings { event_count_threshold: 5, ..StrategySettings::default() };
    let orders = 12;
    let len = 60u64;
    let histories: Vec<Vec<_>> = (0..orders)
        .map(|o| {
            (1..=len)
                .map(|seq| {
                    let event = OrderEvent::ItemAdded {
                        sku: format!("S{}", seq % 4),
                        name: "n".into(),
                        quantity: 1,
                        unit_price: Money::from_minor(3),
                    };
                    recorded(&format!("o-{o}"), seq, event)
                })
                .collect()
        })
        .collect();
    let all: Vec<_> = histories.iter().flatten().cloned().collect();
    bulk_insert_events(&t.client, &t.events_table, &all).await;

    let stream = StreamSnapshotter::new(t.repository(), settings.clone(), clock.clone());
    let cleanup =
        CleanupService::new(t.repository(), RetentionSettings::default(), clock.clone()).with_page_size(5);
    let writer = async {
        // batches of 5 events per order, interleaved across orders
        for start in (0..len as usize).step_by(5) {
            let events: Vec<_> = histories.iter().flat_map(|h| h[start..start + 5].to_vec()).collect();
            let response =
                local::deliver(&stream, insert_batch(&events, start as u64 * 100 + 1)).await.unwrap();
            assert!(response.batch_item_failures.is_empty());
        }
    };
    let sweeper = async {
        let mut runs = 0;
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            cleanup.run(Instant::now() + Duration::from_millis(50)).await.expect("cleanup never errors");
            runs += 1;
            if runs >= 25 || Instant::now() > until {
                break runs;
            }
        }
    };
    let ((), runs) = tokio::join!(writer, sweeper);
    assert!(runs > 0);

    // a complete run once writes stop, then: newest kept, within retention, every snapshot correct
    // finish the pass a sweeper left unfinished, then one full pass from the start
    while !cleanup.run(Instant::now() + Duration::from_secs(60)).await.unwrap().finished {}
    let full = cleanup.run(Instant::now() + Duration::from_secs(60)).await.unwrap();
    assert!(full.finished && full.resumed_from.is_none(), "{full:?}");
    for o in 0..orders {
        let versions = t.verified_snapshots(&format!("o-{o}")).await;
        assert_eq!(versions.first(), Some(&len), "o-{o}: the newest snapshot survives: {versions:?}");
        assert!(
            versions.len() <= RetentionSettings::default().max_snapshots_per_order as usize,
            "o-{o}: {versions:?}"
        );
        let loaded = t.repository().load(&oid(&format!("o-{o}"))).await.unwrap().unwrap();
        assert_eq!(loaded.cost.snapshot_version, Some(len));
    }
}
