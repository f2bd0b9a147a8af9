//! The event store: appends with optimistic
//! concurrency and reads an order's history. The snapshot functions only read through it;
//! the order service appends.

pub mod contract;
pub(crate) mod item;
mod map_payload;
pub mod occurred_at;
mod scan;
mod stored;

pub use item::{EventRecordError, MAX_SEQUENCE, event_from_item, event_to_item};
pub use scan::{EventKey, EventScan, OrdersPage};
pub use stored::EventItems;

use crate::domain::OrderId;
use crate::domain::{OrderEvent, RecordedEvent};
use crate::store::StoreError;
use crate::store::dynamo::{DynamoError, ReadCost, condition_held, get_s, n, s};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, Select, TransactWriteItem};

/// DynamoDB's limit on items in one transaction.
pub const MAX_EVENTS_PER_APPEND: usize = 100;

#[derive(Clone, Debug)]
pub struct EventStore {
    client: Client,
    table: String,
}

impl EventStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        EventStore { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Appends `events` after `expected_version` (the sequence of the last event the caller
    /// saw). Each item is written only if its (orderId, sequence) is free, so of two writers
    /// at the same version exactly one wins; the other gets `Conflict` and nothing of its
    /// append is written. Several events go in one transaction.
    pub async fn append(
        &self,
        order_id: &OrderId,
        expected_version: u64,
        events: &[OrderEvent],
        occurred_at: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if events.len() > MAX_EVENTS_PER_APPEND {
            return Err(StoreError::TooManyEvents { count: events.len(), max: MAX_EVENTS_PER_APPEND });
        }
        let recorded: Vec<RecordedEvent> = events
            .iter()
            .zip(expected_version + 1..)
            .map(|(event, sequence)| RecordedEvent {
                order_id: order_id.to_string(),
                sequence,
                event_id: uuid::Uuid::new_v4().to_string(),
                occurred_at,
                event: event.clone(),
            })
            .collect();
        let conflict = || StoreError::AppendConflict { order_id: order_id.to_string(), expected_version };
        const FREE: &str = "attribute_not_exists(orderId)";
        match recorded.as_slice() {
            [] => {}
            // One event needs no transaction: a conditional put is atomic and half the cost.
            [one] => {
                let put = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(event_to_item(one)))
                    .condition_expression(FREE)
                    .send()
                    .await;
                // The SDK retries a put whose answer was lost (timeout, dropped connection);
                // if that first attempt landed, the slot holds our own event and the append
                // succeeded.
                if condition_held(put, "PutItem", &self.table)?.is_none() && !self.is_stored(one).await? {
                    return Err(conflict());
                }
            }
            many => {
                let items = many
                    .iter()
                    .map(|event| {
                        let put = Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(event_to_item(event)))
                            .condition_expression(FREE)
                            .build()
                            .expect("table, item and condition are set");
                        TransactWriteItem::builder().put(put).build()
                    })
                    .collect();
                self.client
                    .transact_write_items()
                    .set_transact_items(Some(items))
                    // The same token on every SDK retry: DynamoDB applies a retried
                    // transaction whose first attempt landed only once (10-minute window).
                    .client_request_token(&many[0].event_id)
                    .send()
                    .await
                    .map_err(|e| {
                        let lost_race = matches!(
                            e.as_service_error(),
                            Some(TransactWriteItemsError::TransactionCanceledException(c))
                                if c.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
                        );
                        if lost_race {
                            conflict()
                        } else {
                            DynamoError::new("TransactWriteItems", &self.table, e).into()
                        }
                    })?;
            }
        }
        Ok(recorded)
    }

    /// Whether `event` is already stored: its slot holds that very event (same event id).
    async fn is_stored(&self, event: &RecordedEvent) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .key("orderId", s(&event.order_id))
            .key("sequence", n(event.sequence))
            .projection_expression("eventId")
            .send()
            .await
            .map_err(|e| DynamoError::new("GetItem", &self.table, e))?;
        Ok(out.item.is_some_and(|item| get_s(&item, "eventId").ok() == Some(event.event_id.as_str())))
    }

    /// Events with `from <= sequence <= to` (`to = None`: to the end), in order, following
    /// DynamoDB's 1 MB pages. Strongly consistent, so a load sees every completed append.
    pub async fn read_range(
        &self,
        order_id: &OrderId,
        from: u64,
        to: Option<u64>,
    ) -> Result<(Vec<RecordedEvent>, ReadCost), StoreError> {
        let (stored, cost) = self.read_stored(order_id, from, to).await?;
        Ok((stored.decode_from(from)?, cost))
    }

    /// [`EventStore::read_range`], still undecoded.
    pub async fn read_stored(
        &self,
        order_id: &OrderId,
        from: u64,
        to: Option<u64>,
    ) -> Result<(EventItems, ReadCost), StoreError> {
        let mut cost = ReadCost::default();
        let mut items = Vec::new();
        let mut start_key = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .expression_attribute_values(":id", s(order_id))
                .expression_attribute_values(":from", n(from))
                .set_exclusive_start_key(start_key.take());
            query = match to {
                Some(to) => query
                    .key_condition_expression("orderId = :id AND #seq BETWEEN :from AND :to")
                    .expression_attribute_values(":to", n(to)),
                None => query.key_condition_expression("orderId = :id AND #seq >= :from"),
            };
            let page = query
                .expression_attribute_names("#seq", "sequence")
                .send()
                .await
                .map_err(|e| DynamoError::new("Query", &self.table, e))?;
            cost.page(page.items(), true);
            let more = page.last_evaluated_key.filter(|key| !key.is_empty());
            items.extend(page.items.unwrap_or_default());
            match more {
                Some(key) => start_key = Some(key),
                None => break,
            }
        }
        Ok((EventItems::from_query(order_id, items, from <= 1)?, cost))
    }

    /// The newest `limit` events up to `upto` (`None`: the newest of all), undecoded, in one
    /// request (fewer when 1 MB is reached first). Strongly consistent.
    pub async fn read_newest(
        &self,
        order_id: &OrderId,
        upto: Option<u64>,
        limit: u32,
    ) -> Result<(EventItems, ReadCost), StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .scan_index_forward(false)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .expression_attribute_values(":id", s(order_id));
        query = match upto {
            Some(upto) => query
                .key_condition_expression("orderId = :id AND #seq <= :upto")
                .expression_attribute_names("#seq", "sequence")
                .expression_attribute_values(":upto", n(upto)),
            None => query.key_condition_expression("orderId = :id"),
        };
        let page = query.send().await.map_err(|e| DynamoError::new("Query", &self.table, e))?;
        let mut cost = ReadCost::default();
        cost.page(page.items(), true);
        // Without a LastEvaluatedKey the read ran out of events, not of its limit.
        let from_start = page.last_evaluated_key.is_none_or(|key| key.is_empty());
        let stored = EventItems::from_query(order_id, page.items.unwrap_or_default(), from_start)?;
        Ok((stored, cost))
    }

    /// The whole history from `from` on.
    pub async fn read_from(
        &self,
        order_id: &OrderId,
        from: u64,
    ) -> Result<(Vec<RecordedEvent>, ReadCost), StoreError> {
        self.read_range(order_id, from, None).await
    }

    /// Sequence of the order's last event; `None` when the order has no events.
    pub async fn last_sequence(&self, order_id: &OrderId) -> Result<Option<u64>, StoreError> {
        let (newest, _) = self.read_newest(order_id, None, 1).await?;
        Ok(newest.last())
    }

    pub async fn exists(&self, order_id: &OrderId) -> Result<bool, StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("orderId = :id")
            .expression_attribute_values(":id", s(order_id))
            .select(Select::Count)
            .limit(1)
            .send()
            .await
            .map_err(|e| DynamoError::new("Query", &self.table, e))?;
        Ok(page.count() > 0)
    }
}
