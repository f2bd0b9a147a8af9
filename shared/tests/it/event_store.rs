//! The event store against the local DynamoDB-compatible server.

use shared::domain::samples::order_id as oid;
use shared::domain::samples::{one_of_each_event, recorded};
use shared::domain::{Money, OrderEvent};
use shared::store::StoreError;
use shared::store::events::MAX_EVENTS_PER_APPEND;
use testkit::Capability;
use testkit::{TestTables, bulk_insert_events};

const NOW: i64 = 1_800_000_000_000;

fn confirmed() -> OrderEvent {
    OrderEvent::OrderConfirmed {}
}

#[tokio::test]
async fn appends_single_and_multi_event_batches_and_reads_them_back_in_order() {
    if testkit::skip_unless_engine_has(
        "appends_single_and_multi_event_batches_and_reads_them_back_in_order",
        &[Capability::Transactions],
    ) {
        return; // several events appended at once
    }
    let t = TestTables::new().await;
    let store = t.event_store();
    let events = one_of_each_event();

    let first = store.append(&oid("o-1"), 0, &events[..1], NOW).await.unwrap();
    let rest = store.append(&oid("o-1"), 1, &events[1..], NOW + 1).await.unwrap();

    assert_eq!(first.len(), 1);
    assert_eq!(rest.len(), events.len() - 1);
    let (read, cost) = store.read_from(&oid("o-1"), 1).await.unwrap();
    assert_eq!(read.iter().map(|e| e.sequence).collect::<Vec<_>>(), (1..=14).collect::<Vec<_>>());
    assert_eq!(read.iter().map(|e| e.event.clone()).collect::<Vec<_>>(), events);
    assert_eq!(read[0], first[0]);
    assert_eq!(cost.round_trips, 1);
    assert_eq!(cost.items, 14);
    let (tail, _) = store.read_from(&oid("o-1"), 10).await.unwrap();
    assert_eq!(tail.first().map(|e| e.sequence), Some(10));
    let (range, _) = store.read_range(&oid("o-1"), 3, Some(5)).await.unwrap();
    assert_eq!(range.iter().map(|e| e.sequence).collect::<Vec<_>>(), vec![3, 4, 5]);
}

#[tokio::test]
async fn last_sequence_and_exists() {
    if testkit::skip_unless_engine_has("last_sequence_and_exists", &[Capability::Transactions]) {
        return; // several events appended at once
    }
    let t = TestTables::new().await;
    let store = t.event_store();
    assert_eq!(store.last_sequence(&oid("o-1")).await.unwrap(), None);
    assert!(!store.exists(&oid("o-1")).await.unwrap());
    store.append(&oid("o-1"), 0, &one_of_each_event()[..3], NOW).await.unwrap();
    assert_eq!(store.last_sequence(&oid("o-1")).await.unwrap(), Some(3));
    assert!(store.exists(&oid("o-1")).await.unwrap());
    assert!(!store.exists(&oid("o-2")).await.unwrap(), "another order is not affected");
}

#[tokio::test]
async fn concurrent_single_appends_to_one_order_exactly_one_wins() {
    let t = TestTables::new().await;
    let store = t.event_store();
    store.append(&oid("o-1"), 0, &one_of_each_event()[..1], NOW).await.unwrap();

    let writers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let event = OrderEvent::ItemAdded {
                    sku: format!("writer-{i}"),
                    name: "x".into(),
                    quantity: 1,
                    unit_price: Money::from_minor(100),
                };
                store.append(&oid("o-1"), 1, &[event], NOW).await
            })
        })
        .collect();
    let mut wins = 0;
    for writer in writers {
        match writer.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::AppendConflict { order_id, expected_version }) => {
                assert_eq!((order_id.as_str(), expected_version), ("o-1", 1));
            }
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(store.last_sequence(&oid("o-1")).await.unwrap(), Some(2));
}

#[tokio::test]
async fn concurrent_multi_event_appends_one_wins_and_the_loser_writes_nothing() {
    if testkit::skip_unless_engine_has(
        "concurrent_multi_event_appends_one_wins_and_the_loser_writes_nothing",
        &[Capability::Transactions],
    ) {
        return; // several events appended at once
    }
    let t = TestTables::new().await;
    let store = t.event_store();
    store.append(&oid("o-1"), 0, &one_of_each_event()[..1], NOW).await.unwrap();
    let batch = |tag: &str| -> Vec<OrderEvent> {
        (0..3)
            .map(|i| OrderEvent::ItemAdded {
                sku: format!("{tag}-{i}"),
                name: "x".into(),
                quantity: 1,
                unit_price: Money::from_minor(1),
            })
            .collect()
    };
    let (batch_a, batch_b) = (batch("a"), batch("b"));
    let o1 = oid("o-1");
    let (a, b) = tokio::join!(store.append(&o1, 1, &batch_a, NOW), store.append(&o1, 1, &batch_b, NOW));
    assert!(a.is_ok() != b.is_ok(), "exactly one wins: {a:?} / {b:?}");
    let loser = if a.is_err() { a } else { b };
    assert!(matches!(loser, Err(StoreError::AppendConflict { .. })));
    let (events, _) = store.read_from(&oid("o-1"), 1).await.unwrap();
    assert_eq!(events.len(), 4, "1 + the winner's 3; nothing of the loser");
    let tags: Vec<_> = events[1..]
        .iter()
        .map(|e| match &e.event {
            OrderEvent::ItemAdded { sku, .. } => sku[..1].to_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(tags.iter().all(|t| t == &tags[0]), "the winner's events only: {tags:?}");
}

#[tokio::test]
async fn an_append_at_a_stale_version_conflicts() {
    if testkit::skip_unless_engine_has("an_append_at_a_stale_version_conflicts", &[Capability::Transactions])
    {
        return; // several events appended at once
    }
    let t = TestTables::new().await;
    let store = t.event_store();
    store.append(&oid("o-1"), 0, &one_of_each_event()[..2], NOW).await.unwrap();
    let err = store.append(&oid("o-1"), 1, &[confirmed()], NOW).await.unwrap_err();
    assert!(matches!(err, StoreError::AppendConflict { expected_version: 1, .. }), "{err}");
    let err = store.append(&oid("o-1"), 0, &one_of_each_event()[..2], NOW).await.unwrap_err();
    assert!(matches!(err, StoreError::AppendConflict { expected_version: 0, .. }), "{err}");
    assert_eq!(store.last_sequence(&oid("o-1")).await.unwrap(), Some(2));
}

#[tokio::test]
async fn more_events_than_a_transaction_holds_is_refused_before_writing() {
    let t = TestTables::new().await;
    let store = t.event_store();
    let events = vec![confirmed(); MAX_EVENTS_PER_APPEND + 1];
    let err = store.append(&oid("o-1"), 0, &events, NOW).await.unwrap_err();
    assert!(matches!(err, StoreError::TooManyEvents { count: 101, .. }));
    assert!(!store.exists(&oid("o-1")).await.unwrap());
}

#[tokio::test]
async fn a_read_spans_several_1mb_pages() {
    let t = TestTables::new().await;
    // given 36 events of ~90 KB each: about 3.2 MB, more than three 1 MB pages
    let events: Vec<_> = (1..=36u64)
        .map(|seq| {
            recorded(
                "big",
                seq,
                OrderEvent::ItemAdded {
                    sku: format!("SKU-{seq}"),
                    name: "n".repeat(90_000),
                    quantity: 1,
                    unit_price: Money::from_minor(1),
                },
            )
        })
        .collect();
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    // when
    let (read, cost) = t.event_store().read_from(&oid("big"), 1).await.unwrap();
    // then every event arrives, in order, over several pages
    assert_eq!(read, events);
    assert!(cost.round_trips >= 4, "round trips: {}", cost.round_trips);
    assert!(cost.bytes > 3_000_000);
}

#[tokio::test]
async fn a_corrupt_stored_event_is_a_clear_error_naming_it() {
    if testkit::skip_unless_engine_has(
        "a_corrupt_stored_event_is_a_clear_error_naming_it",
        &[Capability::Transactions],
    ) {
        return; // several events appended at once
    }
    let t = TestTables::new().await;
    let store = t.event_store();
    store.append(&oid("o-1"), 0, &one_of_each_event()[..2], NOW).await.unwrap();
    let mut item = shared::store::events::event_to_item(&recorded("o-1", 3, confirmed()));
    item.insert("eventType".into(), aws_sdk_dynamodb::types::AttributeValue::S("Teleported".into()));
    t.client.put_item().table_name(&t.events_table).set_item(Some(item)).send().await.unwrap();
    match store.read_from(&oid("o-1"), 1).await {
        Err(StoreError::Unreadable(history)) => {
            assert_eq!((history.order_id.as_str(), history.sequence), ("o-1", Some(3)));
        }
        other => panic!("expected Unreadable, got {other:?}"),
    }
}
