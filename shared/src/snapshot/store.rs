//! The snapshot table: conditional puts (never overwrite), latest usable snapshot, paginated
//! listings without state, deletes.

use super::codec::{
    self, NewSnapshot, Snapshot, SnapshotEncodeError, SnapshotMetadata, SnapshotSummary, Unusable,
};
use crate::dynamo::{AttributeError, DynamoError, Item, ReadCost, get_n, get_s, n, s};
use crate::order_id::{InvalidOrderId, validate_order_id};
use crate::retention::SnapshotKey;
use crate::tables::SNAPSHOT_KEYS_INDEX;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use thiserror::Error;
use tracing::warn;

/// How far back `latest_usable` looks past unusable snapshots before giving up on them.
const MAX_SNAPSHOTS_EXAMINED: usize = 10;
/// Attributes a listing reads: everything but the state.
const SUMMARY_PROJECTION: &str = "orderId, version, lastEventSequence, #ts, metadata";

#[derive(Debug, Error)]
pub enum SnapshotStoreError {
    #[error(transparent)]
    InvalidOrderId(#[from] InvalidOrderId),
    #[error("order {order_id} already has snapshot version {version}")]
    Conflict { order_id: String, version: u64 },
    #[error("order {order_id} has no snapshot version {version}")]
    NotFound { order_id: String, version: u64 },
    #[error(transparent)]
    Encode(#[from] SnapshotEncodeError),
    #[error("stored snapshot of order {order_id} cannot be listed")]
    Corrupt {
        order_id: String,
        #[source]
        source: Unusable,
    },
    #[error("{remaining} deletes of order {order_id} still unprocessed after {attempts} attempts")]
    Unprocessed { order_id: String, remaining: usize, attempts: u32 },
    // Not transparent: `dynamo::is_transient` finds the DynamoError in the source chain.
    #[error("{0}")]
    Dynamo(#[from] DynamoError),
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
    /// (orderId, key) in scan order; includes items that are not snapshots (e.g. the cursor).
    pub keys: Vec<(String, SnapshotKey)>,
    pub next: Option<Cursor>,
    pub cost: ReadCost,
}

/// The control item holding the cleanup's cursor. Its id can never be an order's
/// (order ids start with a letter or digit).
pub const CLEANUP_CURSOR_ID: &str = "_cleanup-cursor";
const BATCH_DELETE_MAX: usize = 25;
const BATCH_DELETE_ATTEMPTS: u32 = 8;

/// A snapshot that was passed over, and why.
#[derive(Debug, PartialEq, Eq)]
pub struct Skipped {
    pub version: Option<u64>,
    pub reason: Unusable,
}

#[derive(Debug)]
pub struct Latest {
    pub snapshot: Option<Snapshot>,
    pub skipped: Vec<Skipped>,
    pub cost: ReadCost,
}

#[derive(Debug)]
pub struct SnapshotPage {
    /// Newest first.
    pub snapshots: Vec<SnapshotSummary>,
    /// Pass as `before` to get the next (older) page.
    pub next: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct SnapshotStore {
    client: Client,
    table: String,
}

impl SnapshotStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        SnapshotStore { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Writes a snapshot only if that (order, version) is free (seed defect 3 fixed: no
    /// read-then-write version counter, no silent overwrite).
    pub async fn put(&self, new: &NewSnapshot) -> Result<SnapshotMetadata, SnapshotStoreError> {
        validate_order_id(&new.state.id)?;
        let (item, metadata) = codec::encode(new)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(orderId)")
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) {
                    SnapshotStoreError::Conflict {
                        order_id: new.state.id.clone(),
                        version: new.state.version,
                    }
                } else {
                    DynamoError::new("PutItem", &self.table, e).into()
                }
            })?;
        Ok(metadata)
    }

    /// The newest snapshot that passes every check; unusable ones on the way are logged and
    /// returned in `skipped` so callers can count them.
    pub async fn latest_usable(&self, order_id: &str) -> Result<Latest, SnapshotStoreError> {
        validate_order_id(order_id)?;
        let mut latest = Latest { snapshot: None, skipped: Vec::new(), cost: ReadCost::default() };
        let mut start_key = None;
        // One item per page: the common case (newest is usable) reads exactly one snapshot.
        while latest.skipped.len() < MAX_SNAPSHOTS_EXAMINED {
            let page = self.newest_page(order_id, start_key.take()).await?;
            latest.cost.page(page.items(), false);
            let Some(item) = page.items().first() else { break };
            match codec::decode(item) {
                Ok(snapshot) => {
                    latest.snapshot = Some(snapshot);
                    break;
                }
                Err(reason) => {
                    let version = get_n(item, "version").ok();
                    warn!(order_id, ?version, %reason, "unusable snapshot skipped");
                    latest.skipped.push(Skipped { version, reason });
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => break,
            }
        }
        Ok(latest)
    }

    /// The newest snapshot's version and its state, whether usable or not (verification).
    pub async fn newest(
        &self,
        order_id: &str,
    ) -> Result<Option<(u64, Result<Snapshot, Unusable>)>, SnapshotStoreError> {
        validate_order_id(order_id)?;
        let page = self.newest_page(order_id, None).await?;
        let Some(item) = page.items().first() else { return Ok(None) };
        let version = get_n(item, "version")
            .map_err(|e| SnapshotStoreError::Corrupt { order_id: order_id.to_owned(), source: e.into() })?;
        Ok(Some((version, codec::decode(item))))
    }

    /// One snapshot item, newest first, after `start` (a page's LastEvaluatedKey).
    async fn newest_page(
        &self,
        order_id: &str,
        start: Option<Item>,
    ) -> Result<aws_sdk_dynamodb::operation::query::QueryOutput, DynamoError> {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("orderId = :id")
            .expression_attribute_values(":id", s(order_id))
            .scan_index_forward(false)
            .limit(1)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| DynamoError::new("Query", &self.table, e))
    }

    /// One snapshot with its state, whether usable or not.
    pub async fn get(
        &self,
        order_id: &str,
        version: u64,
    ) -> Result<Option<Result<Snapshot, Unusable>>, SnapshotStoreError> {
        validate_order_id(order_id)?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("orderId", s(order_id))
            .key("version", n(version))
            .send()
            .await
            .map_err(|e| DynamoError::new("GetItem", &self.table, e))?;
        Ok(out.item.as_ref().map(codec::decode))
    }

    /// A page of an order's snapshots, newest first, without their states (a listing never
    /// pays for state bytes). `before`: the `next` of the previous page.
    pub async fn list(
        &self,
        order_id: &str,
        limit: u16,
        before: Option<u64>,
    ) -> Result<SnapshotPage, SnapshotStoreError> {
        validate_order_id(order_id)?;
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .scan_index_forward(false)
            .limit(i32::from(limit.max(1)))
            .projection_expression(SUMMARY_PROJECTION)
            .expression_attribute_names("#ts", "timestamp")
            .expression_attribute_values(":id", s(order_id));
        query = match before {
            Some(v) => query
                .key_condition_expression("orderId = :id AND version < :before")
                .expression_attribute_values(":before", n(v)),
            None => query.key_condition_expression("orderId = :id"),
        };
        let page = query.send().await.map_err(|e| DynamoError::new("Query", &self.table, e))?;
        let snapshots = page
            .items()
            .iter()
            .map(codec::decode_summary)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| SnapshotStoreError::Corrupt { order_id: order_id.to_owned(), source })?;
        let more = page.last_evaluated_key.is_some_and(|k| !k.is_empty());
        let next = if more { snapshots.last().map(|s| s.version) } else { None };
        Ok(SnapshotPage { snapshots, next })
    }

    /// Every snapshot key of an order, from the keys index (never reads a state).
    pub async fn keys(&self, order_id: &str) -> Result<(Vec<SnapshotKey>, ReadCost), SnapshotStoreError> {
        validate_order_id(order_id)?;
        let mut keys = Vec::new();
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
                keys.push(key_of(item).map_err(|source| SnapshotStoreError::Corrupt {
                    order_id: order_id.to_owned(),
                    source: source.into(),
                })?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok((keys, cost)),
            }
        }
    }

    /// One page of the keys index over every order, from `after` on.
    pub async fn scan_keys(
        &self,
        after: Option<&Cursor>,
        limit: u16,
    ) -> Result<KeysPage, SnapshotStoreError> {
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
        let keys = page
            .items()
            .iter()
            .filter_map(|item| {
                let order_id = get_s(item, "orderId").ok()?.to_owned();
                let key = key_of(item).ok()?;
                Some((order_id, key))
            })
            .collect();
        let next = match page.last_evaluated_key {
            Some(k) if !k.is_empty() => Some(Cursor {
                order_id: get_s(&k, "orderId").map_err(|e| corrupt_cursor(e.into()))?.to_owned(),
                version: get_n(&k, "version").map_err(|e| corrupt_cursor(e.into()))?,
            }),
            _ => None,
        };
        Ok(KeysPage { keys, next, cost })
    }

    /// Deletes versions of an order with BatchWriteItem (25 a request); unprocessed deletes are
    /// retried with exponential backoff. Deleting a version that is gone is not an error.
    pub async fn delete_versions(&self, order_id: &str, versions: &[u64]) -> Result<u32, SnapshotStoreError> {
        validate_order_id(order_id)?;
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
                    return Err(SnapshotStoreError::Unprocessed {
                        order_id: order_id.to_owned(),
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

    /// The cleanup's saved cursor, if a run stopped before the end.
    pub async fn cleanup_cursor(&self) -> Result<Option<Cursor>, SnapshotStoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("orderId", s(CLEANUP_CURSOR_ID))
            .key("version", n(0))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| DynamoError::new("GetItem", &self.table, e))?;
        let Some(item) = out.item else { return Ok(None) };
        let cursor = get_s(&item, "cursor").map_err(|e| corrupt_cursor(e.into()))?;
        serde_json::from_str(cursor)
            .map(Some)
            .map_err(|e| corrupt_cursor(Unusable::BadMetadata(e.to_string())))
    }

    /// Saves (`Some`) or clears (`None`) the cleanup's cursor.
    pub async fn save_cleanup_cursor(&self, cursor: Option<&Cursor>) -> Result<(), SnapshotStoreError> {
        let result = match cursor {
            Some(c) => self
                .client
                .put_item()
                .table_name(&self.table)
                .item("orderId", s(CLEANUP_CURSOR_ID))
                .item("version", n(0))
                .item("cursor", s(serde_json::to_string(c).expect("cursor serializes")))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| DynamoError::new("PutItem", &self.table, e)),
            None => self
                .client
                .delete_item()
                .table_name(&self.table)
                .key("orderId", s(CLEANUP_CURSOR_ID))
                .key("version", n(0))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| DynamoError::new("DeleteItem", &self.table, e)),
        };
        Ok(result?)
    }

    /// Deletes one snapshot; `NotFound` when there is no such version.
    pub async fn delete(&self, order_id: &str, version: u64) -> Result<(), SnapshotStoreError> {
        validate_order_id(order_id)?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("orderId", s(order_id))
            .key("version", n(version))
            .condition_expression("attribute_exists(orderId)")
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) {
                    SnapshotStoreError::NotFound { order_id: order_id.to_owned(), version }
                } else {
                    DynamoError::new("DeleteItem", &self.table, e).into()
                }
            })?;
        Ok(())
    }
}

fn key_of(item: &Item) -> Result<SnapshotKey, AttributeError> {
    Ok(SnapshotKey { version: get_n(item, "version")?, timestamp: get_n(item, "timestamp")? })
}

fn corrupt_cursor(source: Unusable) -> SnapshotStoreError {
    SnapshotStoreError::Corrupt { order_id: CLEANUP_CURSOR_ID.to_owned(), source }
}
