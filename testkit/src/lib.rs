//! Test support: the project's local DynamoDB-compatible server (moto, from the project's own
//! virtualenv) and a fresh pair of tables per test, so tests run in parallel without sharing
//! data. One server per test binary; it dies with the test process.

mod histories;
mod server;

pub use histories::{arb_event, arb_history};

pub use server::{LocalDynamo, moto_server_path};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use shared::event_store::EventStore;
use shared::repository::OrderRepository;
use shared::snapshot::SnapshotStore;
use shared::tables;
use std::sync::OnceLock;

/// The server every test of this binary shares (started on first use).
pub fn shared_server() -> &'static LocalDynamo {
    static SERVER: OnceLock<LocalDynamo> = OnceLock::new();
    SERVER.get_or_init(|| LocalDynamo::start().expect("start the local DynamoDB server"))
}

/// A client for `endpoint` with dummy credentials: exactly what the functions get from
/// `AWS_ENDPOINT_URL` locally.
pub fn client_for(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "testkit"))
        .build();
    Client::from_conf(config)
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
        OrderRepository::new(self.event_store(), self.snapshot_store())
    }
}

/// Writes a history straight into the events table with BatchWriteItem (25 per request,
/// unprocessed items retried): how benchmarks and tests seed long histories without paying for
/// conditional appends. Only for seeding; the order service appends through `EventStore`.
pub async fn bulk_insert_events(client: &Client, table: &str, events: &[shared::domain::RecordedEvent]) {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    for chunk in events.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|e| {
                let put = PutRequest::builder()
                    .set_item(Some(shared::event_store::event_to_item(e)))
                    .build()
                    .expect("item set");
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
