//! Throttling injected with aws-smithy-mocks into clients built with the production retry
//! policy (`ClientTuning::default()`): the SDK retries what DynamoDB throttles, our code
//! retries unprocessed batch deletes, and what is still throttled after that ends in a clean,
//! retryable error; the next run against the real server converges.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use shared::domain::samples::order_id as oid;
use shared::policy::settings::{RetentionSettings, StrategySettings};
use shared::runtime::client::ClientTuning;
use shared::store::events::EventStore;
use shared::store::repository::OrderRepository;
use shared::store::snapshots::SnapshotStore;
use shared::use_cases::clock::ManualClock;
use shared::use_cases::maintenance::cleanup::CleanupService;

/// A repository whose requests all go to `client` (a mocked one).
fn repository_on(client: Client) -> OrderRepository {
    OrderRepository::new(
        EventStore::new(client.clone(), "order_events"),
        SnapshotStore::new(client, "order_snapshots"),
    )
}
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::stream_events::insert_batch;
use testkit::{TestTables, bulk_insert_events, plain_history};

const NOW: i64 = 1_800_000_000_000;
const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;

fn production() -> ClientTuning {
    ClientTuning::default()
}

fn mocked(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |config| production().apply(config))
}

fn service_on(client: Client, events_table: &str, snapshots_table: &str) -> StreamSnapshotter {
    let repository = OrderRepository::new(
        EventStore::new(client.clone(), events_table),
        SnapshotStore::new(client, snapshots_table),
    );
    StreamSnapshotter::new(repository, StrategySettings::default(), Arc::new(ManualClock::at(NOW)))
}

#[tokio::test]
async fn a_throttled_stream_batch_is_retried_by_the_sdk_then_reported_and_converges_on_redelivery() {
    let throttled_query =
        mock!(Client::query).sequence().http_status(400, Some(THROTTLED.into())).repeatedly().build();
    let client = mocked(&[&throttled_query]);
    let events = plain_history("thr-1", 10);
    let service = service_on(client, "order_events", "order_snapshots");

    let (response, report) = local::deliver_measured(&service, insert_batch(&events, 1)).await.unwrap();
    assert_eq!(
        throttled_query.num_calls(),
        2 * production().max_attempts as usize,
        "the SDK retried both throttled reads (the snapshot and the newest events, sent together)"
    );
    let failed: Vec<_> =
        response.batch_item_failures.iter().filter_map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, vec![testkit::stream_events::position_string(1)], "the order's first record");
    assert_eq!((report["OrdersFailed"], report["SnapshotsWritten"]), (1, 0));

    // Lambda redelivers; DynamoDB has recovered.
    let t = TestTables::new().await;
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    let service = service_on(t.client.clone(), &t.events_table, &t.snapshots_table);
    let (response, _) = local::deliver_measured(&service, insert_batch(&events, 1)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(t.verified_snapshots("thr-1").await, vec![10]);
}

#[tokio::test]
async fn a_read_throttled_twice_succeeds_within_one_call() {
    let query = mock!(Client::query)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .times(2)
        .output(|| QueryOutput::builder().count(0).build())
        .build();
    let store = repository_on(mocked(&[&query]));
    let keys = store.snapshot_keys(&oid("thr-2")).await.expect("the SDK's retries absorb two throttles").keys;
    assert!(keys.is_empty());
    assert_eq!(query.num_calls(), 3);
}

fn key_item(order_id: &str, version: u64) -> std::collections::HashMap<String, AttributeValue> {
    [
        ("orderId".to_owned(), AttributeValue::S(order_id.into())),
        ("version".to_owned(), AttributeValue::N(version.to_string())),
        ("timestamp".to_owned(), AttributeValue::N(NOW.to_string())),
    ]
    .into()
}

fn unprocessed(order_id: &str, versions: &[u64]) -> BatchWriteItemOutput {
    let requests = versions
        .iter()
        .map(|v| {
            let key = key_item(order_id, *v).into_iter().filter(|(k, _)| k != "timestamp").collect();
            WriteRequest::builder()
                .delete_request(DeleteRequest::builder().set_key(Some(key)).build().unwrap())
                .build()
        })
        .collect();
    BatchWriteItemOutput::builder().unprocessed_items("order_snapshots", requests).build()
}

#[tokio::test]
async fn throttled_batch_deletes_are_retried_until_done_or_end_in_a_clean_error() {
    // Five snapshots, keep three: versions 1 and 2 go.
    let keys = mock!(Client::query).then_output(|| {
        QueryOutput::builder().set_items(Some((1..=5).map(|v| key_item("thr-3", v)).collect())).build()
    });
    let deletes = mock!(Client::batch_write_item)
        .sequence()
        .output(|| unprocessed("thr-3", &[1, 2]))
        .output(|| unprocessed("thr-3", &[2]))
        .output(|| BatchWriteItemOutput::builder().build())
        .build();
    let cleanup = CleanupService::new(
        repository_on(mocked(&[&keys, &deletes])),
        RetentionSettings::default(),
        Arc::new(ManualClock::at(NOW)),
    );
    let done = cleanup.clean_order(&oid("thr-3")).await.unwrap();
    assert_eq!(done.deleted, vec![1, 2]);
    assert_eq!((done.delete_requests, deletes.num_calls()), (3, 3), "two retries of what was unprocessed");

    let never = mock!(Client::batch_write_item).then_output(|| unprocessed("thr-3", &[1, 2]));
    let cleanup = CleanupService::new(
        repository_on(mocked(&[&keys, &never])),
        RetentionSettings::default(),
        Arc::new(ManualClock::at(NOW)),
    );
    let error = cleanup.clean_order(&oid("thr-3")).await.unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert!(error.to_string().contains("2 deletes of order thr-3 still unprocessed"), "{error}");
}

#[tokio::test]
async fn a_throttled_cleanup_run_fails_cleanly_and_the_next_run_finishes() {
    let scan =
        mock!(Client::get_item).sequence().http_status(400, Some(THROTTLED.into())).repeatedly().build();
    let cleanup = CleanupService::new(
        repository_on(mocked(&[&scan])),
        RetentionSettings::default(),
        Arc::new(ManualClock::at(NOW)),
    );
    let error = cleanup.run(Instant::now() + Duration::from_secs(30)).await.unwrap_err();
    assert!(shared::store::dynamo::is_transient(&error), "{error}");
    assert_eq!(scan.num_calls(), production().max_attempts as usize);

    let t = TestTables::new().await;
    let cleanup =
        CleanupService::new(t.repository(), RetentionSettings::default(), Arc::new(ManualClock::at(NOW)));
    assert!(cleanup.run(Instant::now() + Duration::from_secs(30)).await.unwrap().finished);
}

const UNAVAILABLE: &str =
    r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#;

/// DynamoDB's own server-side failures (500, 503) are retried like throttling. Client-side
/// timeouts cannot come from aws-smithy-mocks (its interceptor answers before anything is
/// sent); `faults.rs` stalls a real connection for those.
#[tokio::test]
async fn server_errors_are_retried_and_then_reported_as_transient() {
    let flaky = mock!(Client::query)
        .sequence()
        .http_status(500, Some(UNAVAILABLE.into()))
        .http_status(503, None)
        .output(|| QueryOutput::builder().count(0).build())
        .build();
    let store = repository_on(mocked(&[&flaky]));
    assert!(store.snapshot_keys(&oid("srv-1")).await.unwrap().keys.is_empty(), "a 500 and a 503 absorbed");
    assert_eq!(flaky.num_calls(), 3);

    let down = mock!(Client::query).sequence().http_status(503, None).repeatedly().build();
    let store = repository_on(mocked(&[&down]));
    let error = store.snapshot_keys(&oid("srv-1")).await.unwrap_err();
    assert!(shared::store::dynamo::is_transient(&error), "{error}");
    assert_eq!(down.num_calls(), production().max_attempts as usize);
}
