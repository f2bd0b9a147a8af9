//! Invariants 1 and 2 (docs/invariants.md) as properties: for random histories and random
//! snapshot points, a load from snapshot + tail equals a full replay; and so do the stream's
//! snapshots when a newer writer adds fields this code does not know.

use proptest::prelude::*;
use shared::domain::Order;
use shared::domain::samples::order_id as oid;
use shared::policy::settings::StrategySettings;
use shared::store::repository::DEFAULT_READ_AHEAD;
use shared::store::snapshots::codec;
use shared::use_cases::clock::ManualClock;
use shared::use_cases::stream_snapshots::{ChangeBody, ChangeKind, StreamChange, StreamSnapshotter};
use std::sync::Arc;
use testkit::{
    TestTables, arb_history, arb_json, bulk_insert_events, bulk_insert_items, snapshot_of, with_extra_field,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Pure: fold a prefix, store it through the snapshot codec, fold the rest onto the
    /// decoded state; the result is the full replay.
    #[test]
    fn snapshot_plus_tail_equals_replay(
        (events, cut) in arb_history("o-p", 1..120).prop_flat_map(|h| { let n = h.len(); (Just(h), 1..=n) })
    ) {
        let full = Order::replay("o-p", &events);
        let prefix = Order::replay("o-p", &events[..cut]);
        match (full, prefix) {
            (Ok(full), Ok(prefix)) => {
                let (item, _) = codec::encode(&snapshot_of(prefix)).unwrap();
                let mut state = codec::decode(&item).unwrap().state;
                state.apply_all(&events[cut..]).unwrap();
                prop_assert_eq!(state, full);
            }
            // an overflow is refused the same way on both paths: never a panic
            (Err(_), _) => {}
            (Ok(_), Err(e)) => prop_assert!(false, "prefix failed where the whole did not: {e}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Against the local server: the repository's load equals replay for any snapshot point,
    /// including several snapshots and a snapshot at the very last event, in the round trips
    /// and items the read-ahead promises.
    #[test]
    fn repository_load_equals_replay(
        (events, cuts) in arb_history("o-s", 1..60).prop_flat_map(|h| {
            let n = h.len();
            (Just(h), prop::collection::btree_set(1..=n, 0..4))
        })
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let Ok(full) = Order::replay("o-s", &events) else { return Ok(()) };
            let t = TestTables::new().await;
            let repo = t.repository();
            bulk_insert_events(&t.client, &t.events_table, &events).await;
            for &cut in &cuts {
                let state = Order::replay("o-s", &events[..cut]).unwrap();
                repo.put_snapshot(&snapshot_of(state)).await.unwrap();
            }
            let loaded = repo.load(&oid("o-s")).await.unwrap().unwrap();
            prop_assert_eq!(&loaded.order, &full);
            let w = DEFAULT_READ_AHEAD as usize;
            if events.len() <= w {
                // the read-ahead holds the whole history: a replay, the snapshot not waited for
                prop_assert_eq!(loaded.cost.snapshot_version, None);
                prop_assert_eq!(loaded.cost.events_replayed as usize, events.len());
                prop_assert_eq!(loaded.cost.critical_round_trips, 1);
                // the snapshot's item counts when its read happened to answer first
                let extra = loaded.cost.items_read as usize - events.len();
                prop_assert!(extra <= 1, "{:?}", loaded.cost);
                return Ok(());
            }
            let newest = cuts.iter().max().copied();
            prop_assert_eq!(loaded.cost.snapshot_version, newest.map(|c| c as u64));
            prop_assert_eq!(loaded.cost.events_replayed as usize, events.len() - newest.unwrap_or(0));
            // The read-ahead (the newest W events, beside the snapshot) settles the load in one
            // round trip when it reaches the snapshot's own event, or the whole history.
            let behind = events.len() - newest.unwrap_or(0);
            let (reached, items) = match newest {
                Some(_) if behind < w => (true, 1 + w.min(events.len())),
                Some(_) => (false, 1 + behind + 1),
                None => (events.len() <= w, events.len()),
            };
            prop_assert_eq!(loaded.cost.critical_round_trips, if reached { 1 } else { 2 });
            prop_assert_eq!(loaded.cost.items_read as usize, items);
            prop_assert!(loaded.cost.round_trips <= 3);
            Ok(())
        })?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Against the local server, with random extra fields in random events' payloads (a newer
    /// writer): the stream function's snapshots and the loads read events the same tolerant
    /// way, so every snapshot equals the replay of the history without the fields, and so
    /// does the load.
    #[test]
    fn extra_payload_fields_change_no_snapshot_and_no_load(
        (events, extras) in arb_history("o-x", 1..50).prop_flat_map(|h| {
            let n = h.len();
            (Just(h), prop::collection::vec(prop::option::of(("[a-z]{1,8}", arb_json())), n))
        })
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let Ok(full) = Order::replay("o-x", &events) else { return Ok(()) };
            let t = TestTables::new().await;
            let items: Vec<_> = events
                .iter()
                .zip(&extras)
                .map(|(event, extra)| match extra {
                    Some((name, value)) => with_extra_field(event, name, value.clone()),
                    None => shared::store::events::event_to_item(event),
                })
                .collect();
            bulk_insert_items(&t.client, &t.events_table, &items).await;
            let settings = StrategySettings { event_count_threshold: 3, ..StrategySettings::default() };
            let stream = StreamSnapshotter::new(t.repository(), settings, Arc::new(ManualClock::at(0)));
            let changes: Vec<StreamChange> = items
                .into_iter()
                .zip(1u64..)
                .map(|(item, position)| StreamChange {
                    position: position.to_string(),
                    body: Ok(ChangeBody { kind: ChangeKind::Insert, order_id: None, new_image: Some(item) }),
                })
                .collect();
            for batch in changes.chunks(7) {
                let outcome = stream.process_batch(batch).await;
                prop_assert_eq!(outcome.first_failure, None);
                prop_assert_eq!(outcome.report.poison, 0);
            }
            let repo = t.repository();
            let versions = testkit::check_snapshots(&repo, "o-x", &events).await.map_err(TestCaseError::fail)?;
            // at most one write per order per batch, so at least one snapshot once 3 events came
            prop_assert_eq!(versions.is_empty(), events.len() < 3, "{:?}", versions);
            let loaded = repo.load(&oid("o-x")).await.unwrap().unwrap();
            prop_assert_eq!(&loaded.order, &full);
            Ok(())
        })?;
    }
}
