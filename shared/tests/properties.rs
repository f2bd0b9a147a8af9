//! Invariants 1 and 2 as properties: for random histories and random snapshot points, a load
//! from snapshot + tail equals a full replay.

use proptest::prelude::*;
use shared::domain::Order;
use shared::snapshot::{NewSnapshot, codec};
use testkit::{TestTables, arb_history, bulk_insert_events};

fn new_snapshot(state: Order) -> NewSnapshot {
    NewSnapshot {
        state,
        timestamp: 0,
        created_by: "proptest".into(),
        reason: "property".into(),
        strategy: None,
        rule: None,
    }
}

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
                let (item, _) = codec::encode(&new_snapshot(prefix)).unwrap();
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
    /// including several snapshots and a snapshot at the very last event.
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
                repo.snapshots().put(&new_snapshot(state)).await.unwrap();
            }
            let loaded = repo.load("o-s").await.unwrap().unwrap();
            prop_assert_eq!(&loaded.order, &full);
            let newest = cuts.iter().max().copied();
            prop_assert_eq!(loaded.cost.snapshot_version, newest.map(|c| c as u64));
            prop_assert_eq!(loaded.cost.events_replayed as usize, events.len() - newest.unwrap_or(0));
            prop_assert!(loaded.cost.round_trips <= 2);
            Ok(())
        })?;
    }
}
