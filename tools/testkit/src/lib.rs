//! Test support: the project's local DynamoDB-compatible server (moto, from the project's own
//! virtualenv) and a fresh pair of tables per test, so tests run in parallel without sharing
//! data. One server per test binary; it dies with the test process.

pub mod deployed;
pub mod faults;
mod histories;
mod proxy;
pub mod sam_local;
mod server;
pub mod stream_events;

pub use histories::{
    arb_event, arb_history, arb_json, history, plain_history, snapshot_at, snapshot_of, with_extra_field,
};

pub use proxy::Proxy;
pub use server::{
    Capability, ENGINE_VARIABLE, Engine, LocalDynamo, dynalite_path, moto_server_command,
    skip_unless_engine_has, venv_python,
};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use shared::domain::samples::order_id as oid;
use shared::runtime::client::ClientTuning;
use shared::store::events::EventStore;
use shared::store::repository::OrderRepository;
use shared::store::snapshots::SnapshotStore;
use shared::store::tables;
use shared::use_cases::verify::{SnapshotCheck, check_snapshot};
use std::sync::OnceLock;
use std::time::Duration;

/// The server every test of this binary shares (started on first use).
pub fn shared_server() -> &'static LocalDynamo {
    static SERVER: OnceLock<LocalDynamo> = OnceLock::new();
    SERVER.get_or_init(|| LocalDynamo::start().expect("start the local DynamoDB server"))
}

/// A client for `endpoint` with dummy credentials: what the functions get from
/// `AWS_ENDPOINT_URL` locally, with the production retry policy but patient timeouts (the
/// shared test server is slow while every test of the binary hits it at once).
pub fn client_for(endpoint: &str) -> Client {
    let patient = ClientTuning {
        attempt_timeout: Duration::from_secs(30),
        operation_timeout: Duration::from_secs(120),
        ..ClientTuning::default()
    };
    client_tuned(endpoint, patient)
}

/// A client for `endpoint` with the given timeouts and retries (fault tests).
pub fn client_tuned(endpoint: &str, tuning: ClientTuning) -> Client {
    Client::from_conf(tuning.apply(client_builder(endpoint)).build())
}

fn client_builder(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "testkit"))
}

/// A test's own event and snapshot tables on the shared server.
pub struct TestTables {
    pub client: Client,
    pub events_table: String,
    pub snapshots_table: String,
    pub endpoint: String,
}

impl TestTables {
    /// Fresh, uniquely named tables for one test.
    pub async fn new() -> Self {
        Self::on(shared_server()).await
    }

    pub async fn on(server: &LocalDynamo) -> Self {
        let client = client_for(&server.endpoint());
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let events_table = format!("events-{suffix}");
        let snapshots_table = format!("snapshots-{suffix}");
        tables::EVENTS.create(&client, &events_table).await.expect("create events table");
        tables::SNAPSHOTS.create(&client, &snapshots_table).await.expect("create snapshots table");
        TestTables { client, events_table, snapshots_table, endpoint: server.endpoint() }
    }

    pub fn event_store(&self) -> EventStore {
        EventStore::new(self.client.clone(), &self.events_table)
    }

    pub fn snapshot_store(&self) -> SnapshotStore {
        SnapshotStore::new(self.client.clone(), &self.snapshots_table)
    }

    pub fn repository(&self) -> OrderRepository {
        self.repository_via(self.client.clone())
    }

    /// The same tables reached through another client (e.g. one pointed at a [`Proxy`]).
    pub fn repository_via(&self, client: Client) -> OrderRepository {
        OrderRepository::new(
            EventStore::new(client.clone(), &self.events_table),
            SnapshotStore::new(client, &self.snapshots_table),
        )
    }

    /// Every snapshot of `order_id` (newest first), each checked to equal a full replay of the
    /// events up to its lastEventSequence (invariant 1, docs/invariants.md). Returns their versions.
    pub async fn verified_snapshots(&self, order_id: &str) -> Vec<u64> {
        let repo = self.repository();
        let events = repo.history(&oid(order_id)).await.expect("read events");
        check_snapshots(&repo, order_id, &events).await.unwrap_or_else(|problem| panic!("{problem}"))
    }
}

/// Every snapshot of `order_id`, newest first over all pages, compared with the replay of
/// `events` (the order's whole history) up to its lastEventSequence, by the same check as the
/// admin API's verify. Returns the versions, or names the first snapshot that cannot be read or
/// differs, and where.
pub async fn check_snapshots(
    repo: &OrderRepository,
    order_id: &str,
    events: &[shared::domain::RecordedEvent],
) -> Result<Vec<u64>, String> {
    let mut versions = Vec::new();
    let mut before = None;
    loop {
        let page =
            repo.list_snapshots(&oid(order_id), 100, before).await.map_err(|e| format!("{order_id}: {e}"))?;
        for summary in &page.snapshots {
            let v = summary.version;
            let snapshot = repo
                .snapshot(&oid(order_id), v)
                .await
                .map_err(|e| format!("{order_id} v{v}: {e}"))?
                .ok_or_else(|| format!("{order_id} v{v}: listed but gone"))?
                .map_err(|e| format!("{order_id} v{v}: unusable: {e}"))?;
            match check_snapshot(&snapshot, events) {
                SnapshotCheck::Match => {}
                SnapshotCheck::Drift(d) => {
                    let (path, stored, replayed) = (d.path, d.snapshot, d.replay);
                    let why = format!("{path} is {stored} in the snapshot, {replayed} by replay");
                    return Err(format!("snapshot {v} of {order_id} differs from the replay: {why}"));
                }
                SnapshotCheck::ReplayFailed(why) => {
                    return Err(format!("snapshot {v} of {order_id} cannot be checked: {why}"));
                }
            }
            versions.push(v);
        }
        match page.next {
            Some(next) => before = Some(next),
            None => return Ok(versions),
        }
    }
}

/// Writes a history straight into the events table with BatchWriteItem (25 per request,
/// unprocessed items retried): how benchmarks and tests seed long histories without paying for
/// conditional appends. Only for seeding; the order service appends through `EventStore`.
pub async fn bulk_insert_events(client: &Client, table: &str, events: &[shared::domain::RecordedEvent]) {
    let items: Vec<shared::store::dynamo::Item> =
        events.iter().map(shared::store::events::event_to_item).collect();
    bulk_insert_items(client, table, &items).await;
}

/// [`bulk_insert_events`] for items as another writer shaped them.
pub async fn bulk_insert_items(client: &Client, table: &str, items: &[shared::store::dynamo::Item]) {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    for chunk in items.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder().set_item(Some(item.clone())).build().expect("item set");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        while !requests.is_empty() {
            let out = client
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .expect("batch write events");
            requests = out.unprocessed_items.and_then(|mut u| u.remove(table)).unwrap_or_default();
        }
    }
}

/// Logs to the test's output (shown for failing tests); `RUST_LOG` filters, default `info`.
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}
