//! The snapshot store against the local server: conditional puts and replacement, the
//! newest usable snapshot, listings, and loads passing over unusable snapshots.

use aws_sdk_dynamodb::types::AttributeValue;
use shared::domain::samples::order_id as oid;
use shared::domain::{Order, STATE_SCHEMA_VERSION};
use shared::store::StoreError;
use shared::store::snapshots::{NewSnapshot, Unusable};
use testkit::{TestTables, bulk_insert_events, plain_history, snapshot_at};

const NOW: i64 = 1_800_000_000_000;

#[tokio::test]
async fn a_put_never_overwrites_an_existing_version() {
    let t = TestTables::new().await;
    let store = t.snapshot_store();
    let events = plain_history("o-1", 12);
    store.put(&snapshot_at(&events, 10)).await.unwrap();
    let mut again = snapshot_at(&events, 10);
    again.reason = "second writer".into();
    let err = store.put(&again).await.unwrap_err();
    assert!(
        matches!(err, StoreError::SnapshotExists { ref order_id, version: 10 } if order_id == "o-1"),
        "{err}"
    );
    let stored = store.get(&oid("o-1"), 10).await.unwrap().unwrap().unwrap();
    assert_eq!(stored.metadata.reason, "test", "the first write is intact");
}

/// Stores `new` as another fold would have written it (its metadata names another
/// fingerprint, or none), bypassing the store's checks.
/// Every store call takes an `OrderId`, which cannot hold an invalid id; a snapshot's state
/// is data, so its id is checked again before it becomes a key.
#[tokio::test]
async fn a_snapshot_whose_state_names_an_invalid_order_is_refused_before_any_write() {
    let t = TestTables::new().await;
    let store = t.snapshot_store();
    let events = plain_history("o-1", 3);
    for id in ["", "a/b", "../x", &"x".repeat(65)] {
        let mut snapshot = snapshot_at(&events, 3);
        snapshot.state.id = id.to_owned();
        assert!(matches!(store.put(&snapshot).await, Err(StoreError::InvalidOrderId(_))), "{id:?}");
    }
    let scan = t.client.scan().table_name(&t.snapshots_table).send().await.unwrap();
    assert_eq!(scan.count(), 0, "nothing was written");
}

async fn put_from_another_fold(t: &TestTables, new: &NewSnapshot, fingerprint: Option<&str>) {
    let (mut item, mut metadata) = shared::store::snapshots::codec::encode(new).unwrap();
    metadata.fold_fingerprint = fingerprint.map(str::to_owned);
    item.insert("metadata".into(), serde_dynamo::to_attribute_value(&metadata).unwrap());
    t.client.put_item().table_name(&t.snapshots_table).set_item(Some(item)).send().await.unwrap();
}

#[tokio::test]
async fn an_unusable_snapshot_at_the_same_version_is_replaced_and_a_usable_one_never_is() {
    let t = TestTables::new().await;
    let store = t.snapshot_store();
    // (longer than the read-ahead, so that a load reads the snapshot)
    let events = plain_history("o-r", 40);
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    // given a snapshot at 10 written by another fold, and none after it yet
    put_from_another_fold(&t, &snapshot_at(&events, 10), Some("fold-0000000000000000")).await;
    assert!(matches!(store.get(&oid("o-r"), 10).await.unwrap(), Some(Err(Unusable::FoldChanged { .. }))));
    let loaded = t.repository().load(&oid("o-r")).await.unwrap().unwrap();
    assert_eq!(
        (loaded.cost.snapshot_version, loaded.cost.unusable_snapshots),
        (None, 1),
        "refused and counted"
    );
    // when a writer puts version 10 again, it replaces the unusable one
    let mut renewed = snapshot_at(&events, 10);
    renewed.reason = "renewed".into();
    let written = store.put(&renewed).await.unwrap();
    assert!(matches!(written.replaced, Some(Unusable::FoldChanged { .. })), "{written:?}");
    let stored = store.get(&oid("o-r"), 10).await.unwrap().unwrap().unwrap();
    assert_eq!(stored.metadata.reason, "renewed");
    assert_eq!(t.repository().load(&oid("o-r")).await.unwrap().unwrap().cost.snapshot_version, Some(10));
    // but a usable one is never overwritten
    let mut again = snapshot_at(&events, 10);
    again.reason = "third".into();
    assert!(matches!(store.put(&again).await, Err(StoreError::SnapshotExists { version: 10, .. })));
    assert_eq!(store.get(&oid("o-r"), 10).await.unwrap().unwrap().unwrap().metadata.reason, "renewed");
}

#[tokio::test]
async fn of_writers_racing_to_replace_an_unusable_snapshot_exactly_one_wins() {
    let t = TestTables::new().await;
    let events = plain_history("o-race", 10);
    for round in 0..3 {
        // an unusable snapshot (no fingerprint: written before fingerprints existed)
        put_from_another_fold(&t, &snapshot_at(&events, 10), None).await;
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let store = t.snapshot_store();
                let mut new = snapshot_at(&events, 10);
                new.reason = format!("writer {w}");
                new.timestamp = NOW + w;
                tokio::spawn(async move { store.put(&new).await.map(|_| w) })
            })
            .collect();
        let mut winners = Vec::new();
        for writer in writers {
            match writer.await.unwrap() {
                Ok(w) => winners.push(w),
                Err(StoreError::SnapshotExists { .. }) => {}
                Err(other) => panic!("round {round}: {other}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let stored = t.snapshot_store().get(&oid("o-race"), 10).await.unwrap().unwrap().unwrap();
        assert_eq!(stored.metadata.reason, format!("writer {}", winners[0]), "round {round}: the winner's");
    }
    // and racing against a usable snapshot, nobody wins
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let store = t.snapshot_store();
            let mut new = snapshot_at(&events, 10);
            new.reason = format!("late {w}");
            tokio::spawn(async move { store.put(&new).await })
        })
        .collect();
    for writer in writers {
        assert!(matches!(writer.await.unwrap(), Err(StoreError::SnapshotExists { .. })));
    }
}

#[tokio::test]
async fn latest_usable_is_the_newest_and_reads_one_item() {
    let t = TestTables::new().await;
    let store = t.snapshot_store();
    let events = plain_history("o-1", 30);
    for seq in [10, 20, 30] {
        store.put(&snapshot_at(&events, seq)).await.unwrap();
    }
    let latest = store.latest_usable(&oid("o-1")).await.unwrap();
    let snapshot = latest.snapshot.unwrap();
    assert_eq!(snapshot.version, 30);
    assert_eq!(snapshot.state, Order::replay("o-1", &events).unwrap());
    assert!(latest.passed_over.is_empty());
    assert_eq!((latest.cost.round_trips, latest.cost.items), (1, 1));
    assert!(store.latest_usable(&oid("o-2")).await.unwrap().snapshot.is_none());
}

#[tokio::test]
async fn list_pages_newest_first_without_state_and_delete_removes_one() {
    let t = TestTables::new().await;
    let store = t.snapshot_store();
    let events = plain_history("o-1", 25);
    for seq in 1..=25 {
        store.put(&snapshot_at(&events, seq)).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store.list(&oid("o-1"), 10, before).await.unwrap();
        assert!(page.snapshots.len() <= 10);
        seen.extend(page.snapshots.iter().map(|s| s.version));
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, (1..=25).rev().collect::<Vec<_>>());

    store.delete(&oid("o-1"), 7).await.unwrap();
    assert!(store.get(&oid("o-1"), 7).await.unwrap().is_none());
    let err = store.delete(&oid("o-1"), 7).await.unwrap_err();
    assert!(matches!(err, StoreError::SnapshotNotFound { version: 7, .. }), "{err}");
    assert_eq!(store.list(&oid("o-1"), 100, None).await.unwrap().snapshots.len(), 24);
}

async fn corrupt(t: &TestTables, order_id: &str, version: u64, attribute: &str, value: AttributeValue) {
    t.client
        .update_item()
        .table_name(&t.snapshots_table)
        .key("orderId", AttributeValue::S(order_id.into()))
        .key("version", AttributeValue::N(version.to_string()))
        .update_expression("SET #a = :v")
        .expression_attribute_names("#a", attribute)
        .expression_attribute_values(":v", value)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn corrupt_and_old_schema_snapshots_are_skipped_and_the_load_falls_back() {
    let t = TestTables::new().await;
    let repo = t.repository();
    let events = plain_history("o-1", 35);
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    for seq in [10, 20, 30] {
        repo.put_snapshot(&snapshot_at(&events, seq)).await.unwrap();
    }
    let replay = repo.load_by_replay(&oid("o-1")).await.unwrap().unwrap();

    // given the newest snapshot tampered with and the one before from an older state schema
    corrupt(&t, "o-1", 30, "state", AttributeValue::B(b"{\"id\":\"o-1\"}".to_vec().into())).await;
    let old_schema = AttributeValue::N((STATE_SCHEMA_VERSION - 1).to_string());
    t.client
        .update_item()
        .table_name(&t.snapshots_table)
        .key("orderId", AttributeValue::S("o-1".into()))
        .key("version", AttributeValue::N("20".into()))
        .update_expression("SET metadata.stateSchemaVersion = :v")
        .expression_attribute_values(":v", old_schema)
        .send()
        .await
        .unwrap();

    // when loading
    let loaded = repo.load(&oid("o-1")).await.unwrap().unwrap();

    // then both are skipped, counted, and the load starts from the good one at 10
    assert_eq!(loaded.order, replay.order);
    assert_eq!(loaded.cost.snapshot_version, Some(10));
    assert_eq!(loaded.cost.unusable_snapshots, 2);
    assert_eq!(loaded.cost.events_replayed, 25);
    let latest = t.snapshot_store().latest_usable(&oid("o-1")).await.unwrap();
    assert!(matches!(latest.passed_over[0].reason, Unusable::ChecksumMismatch { .. }));
    assert!(matches!(latest.passed_over[1].reason, Unusable::StateSchema { .. }));

    // and with every snapshot unusable the load is a full replay, with the reason (in another
    // container: this one remembers the order's distance, and would now read it whole)
    corrupt(&t, "o-1", 10, "lastEventSequence", AttributeValue::S("ten".into())).await;
    let loaded = t.repository().load(&oid("o-1")).await.unwrap().unwrap();
    assert_eq!(loaded.order, replay.order);
    assert_eq!(loaded.cost.snapshot_version, None);
    assert_eq!(loaded.cost.events_replayed, 35);
    assert!(loaded.cost.fallback.as_deref().unwrap().contains("unusable"), "{:?}", loaded.cost.fallback);
}

#[tokio::test]
async fn a_run_of_unusable_snapshots_is_skipped_in_one_query_not_one_each() {
    // given an order whose six newest snapshots another fold wrote, above a usable one
    let t = TestTables::new().await;
    let events = plain_history("o-run", 40);
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    t.snapshot_store().put(&snapshot_at(&events, 5)).await.unwrap();
    for seq in [10, 15, 20, 25, 30, 35] {
        t.snapshot_store().put(&snapshot_at(&events, seq)).await.unwrap();
        t.client
            .update_item()
            .table_name(&t.snapshots_table)
            .key("orderId", AttributeValue::S("o-run".into()))
            .key("version", AttributeValue::N(seq.to_string()))
            .update_expression("SET metadata.foldFingerprint = :other")
            .expression_attribute_values(":other", AttributeValue::S("fold-another0000".into()))
            .send()
            .await
            .unwrap();
    }

    // when looking for the newest usable one
    let lookup = t.snapshot_store().latest_usable(&oid("o-run")).await.unwrap();

    // then two requests found it: the newest alone, then the rest of the run at once
    assert_eq!(lookup.snapshot.map(|s| s.version), Some(5));
    assert_eq!(lookup.passed_over.len(), 6);
    assert!(lookup.passed_over.iter().all(|p| matches!(p.reason, Unusable::FoldChanged { .. })));
    assert_eq!(lookup.cost.round_trips, 2, "one Query per unusable snapshot would be 7");
    // and a load from it equals the replay
    let loaded = t.repository().load(&oid("o-run")).await.unwrap().unwrap();
    assert_eq!(loaded.order, Order::replay("o-run", &events).unwrap());
    assert_eq!((loaded.cost.snapshot_version, loaded.cost.unusable_snapshots), (Some(5), 6));
}
