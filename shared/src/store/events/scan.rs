//! Finding orders by scanning the event table: the rebuild job's way to discover orders that
//! have no snapshot. A scan reads every event once (½ RCU per 4 KB, eventually consistent);
//! the filter on `sequence` makes it return one item per qualifying order.

use super::EventStore;
use crate::store::StoreError;
use crate::store::dynamo::{DynamoError, ReadCost, get_n, get_s, n, s};
use crate::store::unreadable::HistoryUnreadable;
use aws_sdk_dynamodb::Client;
use serde::{Deserialize, Serialize};

/// Where a scan of the event table stopped (its last evaluated key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventKey {
    pub order_id: String,
    pub sequence: u64,
}

/// One page of orders found by a scan.
#[derive(Debug)]
pub struct OrdersPage {
    pub orders: Vec<String>,
    /// `None` when the table is covered.
    pub next: Option<EventKey>,
    pub cost: ReadCost,
}

/// Scans of the event table.
#[derive(Clone, Debug)]
pub struct EventScan {
    client: Client,
    table: String,
}

impl EventScan {
    /// Scans of the table `events` holds.
    pub fn of(events: &EventStore) -> Self {
        EventScan { client: events.client.clone(), table: events.table.clone() }
    }

    /// The orders that have an event at `sequence` (so at least `sequence` events), among the
    /// next `limit` items of the table after `after`.
    pub async fn orders_with(
        &self,
        sequence: u64,
        after: Option<&EventKey>,
        limit: u16,
    ) -> Result<OrdersPage, StoreError> {
        let start = after.map(|k| {
            crate::store::dynamo::Item::from([
                ("orderId".to_owned(), s(&k.order_id)),
                ("sequence".to_owned(), n(k.sequence)),
            ])
        });
        let page = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("#seq = :seq")
            .projection_expression("orderId")
            .expression_attribute_names("#seq", "sequence")
            .expression_attribute_values(":seq", n(sequence))
            .limit(i32::from(limit.max(1)))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| DynamoError::new("Scan", &self.table, e))?;
        // A scan pays for what it evaluates, not what the filter returns.
        let cost = ReadCost { round_trips: 1, items: page.scanned_count() as u64, ..ReadCost::default() };
        let orders =
            page.items().iter().filter_map(|i| get_s(i, "orderId").ok().map(str::to_owned)).collect();
        let next = match page.last_evaluated_key {
            Some(key) if !key.is_empty() => Some(EventKey {
                order_id: get_s(&key, "orderId").map_err(corrupt_key)?.to_owned(),
                sequence: get_n(&key, "sequence").map_err(corrupt_key)?,
            }),
            _ => None,
        };
        Ok(OrdersPage { orders, next, cost })
    }
}

fn corrupt_key(source: crate::store::dynamo::AttributeError) -> StoreError {
    HistoryUnreadable::decoding("(scan position)", None, source.into()).into()
}
