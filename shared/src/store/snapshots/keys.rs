//! The snapshot table's keys index (orderId, version, timestamp; never a state): what
//! retention reads, the table-wide scan cleanup pages through, and batch deletes.

use super::store::SnapshotStore;
use super::types::Unusable;
use crate::domain::OrderId;
use crate::policy::retention::SnapshotKey;
use crate::store::StoreError;
use crate::store::dynamo::{AttributeError, DynamoError, Item, ReadCost, get_n, get_s, n, s};
use crate::store::tables::SNAPSHOT_KEYS_INDEX;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tracing::warn;

const BATCH_DELETE_MAX: usize = 25;
const BATCH_DELETE_ATTEMPTS: u32 = 8;

/// An order's snapshot keys.
#[derive(Debug)]
pub struct OrderKeys {
    pub keys: Vec<SnapshotKey>,
    /// Items skipped because a key attribute could not be read.
    pub malformed: u32,
    pub cost: ReadCost,
}

/// Where a scan of the keys index stopped: the last key it returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cursor {
    pub order_id: String,
    pub version: u64,
}

#[derive(Debug)]
pub struct KeysPage {
    /// (orderId, key) of the snapshots in scan order (control items left out).
    pub keys: Vec<(OrderId, SnapshotKey)>,
    /// Items skipped because a key attribute could not be read (logged with their key).
    pub malformed: u64,
    pub next: Option<Cursor>,
    pub cost: ReadCost,
}

/// The keys index and batch deletes of the snapshot table.
#[derive(Clone, Debug)]
pub struct SnapshotKeys {
    client: Client,
    table: String,
}

impl SnapshotKeys {
    /// The keys of the table `snapshots` holds.
    pub fn of(snapshots: &SnapshotStore) -> Self {
        SnapshotKeys { client: snapshots.client().clone(), table: snapshots.table().to_owned() }
    }

    /// Every snapshot key of an order, from the keys index (never reads a state). An item whose
    /// key attributes cannot be read is skipped and logged with its key, so one bad item
    /// cannot stop retention at the same place every night.
    pub async fn keys(&self, order_id: &OrderId) -> Result<OrderKeys, StoreError> {
        let mut keys = Vec::new();
        let mut malformed = 0;
        let mut cost = ReadCost::default();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(SNAPSHOT_KEYS_INDEX.name)
                .key_condition_expression("orderId = :id")
                .expression_attribute_values(":id", s(order_id))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| DynamoError::new("Query", &self.table, e))?;
            cost.page(page.items(), false);
            for item in page.items() {
                match key_of(item) {
                    Ok(key) => keys.push(key),
                    Err(error) => {
                        let version = item.get("version");
                        warn!(%order_id, ?version, %error, "snapshot item with a malformed key attribute skipped");
                        malformed += 1;
                    }
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(OrderKeys { keys, malformed, cost }),
            }
        }
    }

    /// One page of the keys index over every order, from `after` on.
    pub async fn scan_keys(&self, after: Option<&Cursor>, limit: u16) -> Result<KeysPage, StoreError> {
        let start = after.map(|c| {
            Item::from([("orderId".to_owned(), s(&c.order_id)), ("version".to_owned(), n(c.version))])
        });
        let page = self
            .client
            .scan()
            .table_name(&self.table)
            .index_name(SNAPSHOT_KEYS_INDEX.name)
            .limit(i32::from(limit.max(1)))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| DynamoError::new("Scan", &self.table, e))?;
        let mut cost = ReadCost::default();
        cost.page(page.items(), false);
        let mut keys = Vec::new();
        let mut malformed = 0;
        for item in page.items() {
            let version = item.get("version");
            // an id no order can have, or a key that cannot be read, is bad data: counted and
            // logged, and the scan moves on
            let skip = |why: &str, order_id: Option<&str>, error: Option<String>| {
                warn!(?order_id, ?version, ?error, "snapshot item {why} skipped");
            };
            let id = match get_s(item, "orderId") {
                Ok(id) => id,
                Err(e) => {
                    skip("with a malformed key attribute", None, Some(e.to_string()));
                    malformed += 1;
                    continue;
                }
            };
            // control items (the cleanup's cursor, the rebuild job) are not snapshots
            if id.starts_with('_') {
                continue;
            }
            match (OrderId::parse(id), key_of(item)) {
                (Ok(order_id), Ok(key)) => keys.push((order_id, key)),
                (Err(_), _) => {
                    skip("whose id is no order's", Some(id), None);
                    malformed += 1;
                }
                (Ok(_), Err(e)) => {
                    skip("with a malformed key attribute", Some(id), Some(e.to_string()));
                    malformed += 1;
                }
            }
        }
        let next = match page.last_evaluated_key {
            Some(k) if !k.is_empty() => Some(Cursor {
                order_id: get_s(&k, "orderId").map_err(|e| corrupt_position(e.into()))?.to_owned(),
                version: get_n(&k, "version").map_err(|e| corrupt_position(e.into()))?,
            }),
            _ => None,
        };
        Ok(KeysPage { keys, malformed, next, cost })
    }

    /// Deletes versions of an order with BatchWriteItem (25 a request); unprocessed deletes are
    /// retried with exponential backoff. Deleting a version that is gone is not an error.
    pub async fn delete_versions(&self, order_id: &OrderId, versions: &[u64]) -> Result<u32, StoreError> {
        let mut requests = 0;
        for chunk in versions.chunks(BATCH_DELETE_MAX) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|v| {
                    let delete = DeleteRequest::builder()
                        .key("orderId", s(order_id))
                        .key("version", n(*v))
                        .build()
                        .expect("key set");
                    WriteRequest::builder().delete_request(delete).build()
                })
                .collect();
            let mut attempt = 0;
            while !pending.is_empty() {
                if attempt == BATCH_DELETE_ATTEMPTS {
                    return Err(StoreError::Unprocessed {
                        order_id: order_id.to_string(),
                        remaining: pending.len(),
                        attempts: attempt,
                    });
                }
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
                }
                attempt += 1;
                requests += 1;
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| DynamoError::new("BatchWriteItem", &self.table, e))?;
                pending = out.unprocessed_items.and_then(|mut u| u.remove(&self.table)).unwrap_or_default();
            }
        }
        Ok(requests)
    }
}

fn key_of(item: &Item) -> Result<SnapshotKey, AttributeError> {
    Ok(SnapshotKey { version: get_n(item, "version")?, timestamp: get_n(item, "timestamp")? })
}

fn corrupt_position(source: Unusable) -> StoreError {
    StoreError::CorruptSnapshot { order_id: "(scan position)".to_owned(), source }
}
