//! The snapshot table: conditional puts (never overwrite), latest usable snapshot, paginated
//! listings without state, deletes.

use super::codec;
use super::condition;
use super::types::{NewSnapshot, Snapshot, SnapshotMetadata, SnapshotSummary, Unusable};
use crate::domain::OrderId;
use crate::store::StoreError;
use crate::store::dynamo::{DynamoError, Item, ReadCost, condition_held, get_n, n, s};
use crate::store::expression::{self, Update};
use aws_sdk_dynamodb::Client;
use tracing::warn;

/// How far back `latest_usable` looks past unusable snapshots before giving up on them.
const MAX_SNAPSHOTS_EXAMINED: usize = 10;
/// Attributes a listing reads: everything but the state.
const SUMMARY_PROJECTION: &str = "orderId, version, lastEventSequence, #ts, metadata";

/// A snapshot written, and the unusable one it replaced, if any.
#[derive(Debug)]
pub struct Written {
    pub metadata: SnapshotMetadata,
    pub replaced: Option<Unusable>,
}

/// A snapshot the lookup passed over, and why.
#[derive(Debug, PartialEq, Eq)]
pub struct UnusableSnapshot {
    pub version: Option<u64>,
    pub reason: Unusable,
}

/// The newest usable snapshot of an order, and the unusable ones newer than it.
#[derive(Debug)]
pub struct SnapshotLookup {
    pub snapshot: Option<Snapshot>,
    pub passed_over: Vec<UnusableSnapshot>,
    pub cost: ReadCost,
}

#[derive(Debug)]
pub struct SnapshotPage {
    /// Newest first.
    pub snapshots: Vec<SnapshotSummary>,
    /// Items of this page whose metadata cannot be read: their version and why.
    pub damaged: Vec<(u64, Unusable)>,
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

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Writes a snapshot if its (order, version) is free, or holds a snapshot that cannot be
    /// used (another fold's, an older schema, damaged): a usable snapshot is never overwritten
    /// (no read-then-write version counter). The replacement is conditional on the item being
    /// the very write that was read, so of two writers replacing the same unusable item
    /// exactly one wins; the other gets `Conflict`.
    pub async fn put(&self, snapshot: &NewSnapshot) -> Result<Written, StoreError> {
        let order_id = OrderId::parse(snapshot.state.id.as_str())?;
        let (item, metadata) = codec::encode(snapshot)?;
        let conflict = || StoreError::SnapshotExists {
            order_id: snapshot.state.id.clone(),
            version: snapshot.state.version,
        };
        let free = Update::only_when("attribute_not_exists(orderId)");
        if expression::put_if(&self.client, &self.table, item.clone(), free).await? {
            return Ok(Written { metadata, replaced: None });
        }
        let Some(existing) = self.item(&order_id, snapshot.state.version).await? else {
            // deleted in between: the slot is free again, and the next writer may take it
            return Err(conflict());
        };
        let reason = match codec::decode(&existing) {
            Ok(_) => return Err(conflict()),
            Err(reason) => reason,
        };
        if expression::put_if(&self.client, &self.table, item, condition::same_as(&existing)).await? {
            warn!(order_id = %snapshot.state.id, version = snapshot.state.version, %reason, "unusable snapshot replaced");
            Ok(Written { metadata, replaced: Some(reason) })
        } else {
            Err(conflict())
        }
    }

    /// One snapshot item as stored (strongly consistent).
    async fn item(&self, order_id: &OrderId, version: u64) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("orderId", s(order_id))
            .key("version", n(version))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| DynamoError::new("GetItem", &self.table, e))?;
        Ok(out.item)
    }

    /// The newest snapshot that passes every check; unusable ones on the way are logged and
    /// returned in `passed_over` so callers can count them. The first request reads one item
    /// (the common case: the newest is usable); past an unusable one, the rest of the run is
    /// read in one request (after a fold change every snapshot of an order is unusable, and
    /// one round trip finds that out instead of one per snapshot).
    pub async fn latest_usable(&self, order_id: &OrderId) -> Result<SnapshotLookup, StoreError> {
        self.latest_usable_upto(order_id, None).await
    }

    /// [`SnapshotStore::latest_usable`] among the snapshots covering at most `upto` (a
    /// snapshot's version is the last sequence it covers): a stream batch that ends before a
    /// snapshot a rebuild or an admin wrote meanwhile starts from the one before it, in the
    /// same one request, instead of replaying.
    pub async fn latest_usable_upto(
        &self,
        order_id: &OrderId,
        upto: Option<u64>,
    ) -> Result<SnapshotLookup, StoreError> {
        let mut lookup =
            SnapshotLookup { snapshot: None, passed_over: Vec::new(), cost: ReadCost::default() };
        let mut start_key = None;
        let mut limit = 1;
        while lookup.passed_over.len() < MAX_SNAPSHOTS_EXAMINED {
            let page = self.newest_page(order_id, upto, start_key.take(), limit).await?;
            lookup.cost.page(page.items(), false);
            for item in page.items() {
                match codec::decode(item) {
                    Ok(snapshot) => {
                        lookup.snapshot = Some(snapshot);
                        return Ok(lookup);
                    }
                    Err(reason) => {
                        let version = get_n(item, "version").ok();
                        warn!(%order_id, ?version, %reason, "unusable snapshot skipped");
                        lookup.passed_over.push(UnusableSnapshot { version, reason });
                    }
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => break,
            }
            limit =
                (MAX_SNAPSHOTS_EXAMINED - lookup.passed_over.len().min(MAX_SNAPSHOTS_EXAMINED)).max(1) as i32;
        }
        Ok(lookup)
    }

    /// The newest snapshot's version and its state, whether usable or not (verification).
    pub async fn newest(
        &self,
        order_id: &OrderId,
    ) -> Result<Option<(u64, Result<Snapshot, Unusable>)>, StoreError> {
        let page = self.newest_page(order_id, None, None, 1).await?;
        let Some(item) = page.items().first() else { return Ok(None) };
        let version = get_n(item, "version")
            .map_err(|e| StoreError::CorruptSnapshot { order_id: order_id.to_string(), source: e.into() })?;
        Ok(Some((version, codec::decode(item))))
    }

    /// Up to `limit` snapshot items, newest first, of versions up to `upto`, after `start` (a
    /// page's LastEvaluatedKey).
    async fn newest_page(
        &self,
        order_id: &OrderId,
        upto: Option<u64>,
        start: Option<Item>,
        limit: i32,
    ) -> Result<aws_sdk_dynamodb::operation::query::QueryOutput, DynamoError> {
        let query =
            self.client.query().table_name(&self.table).expression_attribute_values(":id", s(order_id));
        let query = match upto {
            Some(upto) => query
                .key_condition_expression("orderId = :id AND version <= :upto")
                .expression_attribute_values(":upto", n(upto)),
            None => query.key_condition_expression("orderId = :id"),
        };
        query
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| DynamoError::new("Query", &self.table, e))
    }

    /// One snapshot with its state, whether usable or not.
    pub async fn get(
        &self,
        order_id: &OrderId,
        version: u64,
    ) -> Result<Option<Result<Snapshot, Unusable>>, StoreError> {
        Ok(self.item(order_id, version).await?.as_ref().map(codec::decode))
    }

    /// A page of an order's snapshots, newest first, without their states (a listing never
    /// pays for state bytes). `before`: the `next` of the previous page.
    pub async fn list(
        &self,
        order_id: &OrderId,
        limit: u16,
        before: Option<u64>,
    ) -> Result<SnapshotPage, StoreError> {
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
        let (mut snapshots, mut damaged) = (Vec::new(), Vec::new());
        let mut oldest = None;
        for item in page.items() {
            // the sort key is always a number: DynamoDB enforces key types
            let version = get_n(item, "version").map_err(|e| StoreError::CorruptSnapshot {
                order_id: order_id.to_string(),
                source: e.into(),
            })?;
            oldest = Some(version);
            match codec::decode_summary(item) {
                Ok(summary) => snapshots.push(summary),
                Err(reason) => {
                    warn!(%order_id, version, %reason, "snapshot item with damaged metadata listed as unusable");
                    damaged.push((version, reason));
                }
            }
        }
        let more = page.last_evaluated_key.is_some_and(|k| !k.is_empty());
        Ok(SnapshotPage { snapshots, damaged, next: if more { oldest } else { None } })
    }

    /// Every version stored for an order, whatever the items hold: keys only, strongly
    /// consistent, every page.
    pub async fn versions(&self, order_id: &OrderId) -> Result<Vec<u64>, StoreError> {
        let mut versions = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("orderId = :id")
                .expression_attribute_values(":id", s(order_id))
                .projection_expression("version")
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| DynamoError::new("Query", &self.table, e))?;
            for item in page.items() {
                versions.push(get_n(item, "version").map_err(|e| StoreError::CorruptSnapshot {
                    order_id: order_id.to_string(),
                    source: e.into(),
                })?);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(versions),
            }
        }
    }

    /// Deletes one snapshot; `NotFound` when there is no such version.
    pub async fn delete(&self, order_id: &OrderId, version: u64) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("orderId", s(order_id))
            .key("version", n(version))
            .condition_expression("attribute_exists(orderId)")
            .send()
            .await;
        match condition_held(deleted, "DeleteItem", &self.table)? {
            Some(_) => Ok(()),
            None => Err(StoreError::SnapshotNotFound { order_id: order_id.to_string(), version }),
        }
    }
}
