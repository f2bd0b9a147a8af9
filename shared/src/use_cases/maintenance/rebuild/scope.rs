//! What a rebuild job renews, and how it finds those orders page by page: the event table
//! scanned with a filter on `sequence` (every order, or orders with at least N events), the
//! snapshot keys index (the stale scope), or a list.

use super::RebuildError;
use crate::domain::order_id::validate_order_id;
use crate::store::events::EventKey;
use crate::store::snapshots::Cursor;
use crate::use_cases::repository::OrderRepository;
use serde::{Deserialize, Serialize};

/// Where a job's scan stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JobCursor {
    /// In the event table (scopes that find orders by their events).
    Events(EventKey),
    /// In the snapshot keys index (the stale scope).
    Keys(Cursor),
    /// In the list of ids.
    Index(usize),
}

/// Which orders a job renews.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", deny_unknown_fields)]
pub enum RebuildScope {
    /// Every order (after a fold change: renew every snapshot, idle orders included).
    All,
    /// Orders whose newest snapshot cannot be used.
    Stale,
    /// Orders with at least `events` events and no usable snapshot (the backfill).
    #[serde(rename_all = "camelCase")]
    MinEvents { events: u64 },
    /// These orders.
    #[serde(rename_all = "camelCase")]
    Orders { order_ids: Vec<String> },
}

/// The next page of orders in scope, and where the page after it starts.
pub(super) async fn page(
    repository: &OrderRepository,
    scope: &RebuildScope,
    cursor: Option<&JobCursor>,
    page_size: u16,
) -> Result<(Vec<String>, Option<JobCursor>), RebuildError> {
    let from_events = |sequence: u64| async move {
        let after = match cursor {
            Some(JobCursor::Events(key)) => Some(key),
            _ => None,
        };
        let page = repository.scan_orders_with(sequence, after, page_size).await?;
        Ok::<_, RebuildError>((page.orders, page.next.map(JobCursor::Events)))
    };
    match scope {
        RebuildScope::All => from_events(1).await,
        RebuildScope::MinEvents { events } => from_events(*events).await,
        RebuildScope::Stale => {
            let after = match cursor {
                Some(JobCursor::Keys(key)) => Some(key),
                _ => None,
            };
            let page = repository.scan_snapshot_keys(after, page_size).await?;
            let mut orders: Vec<String> =
                page.keys.into_iter().map(|(id, _)| id).filter(|id| validate_order_id(id).is_ok()).collect();
            orders.dedup();
            Ok((orders, page.next.map(JobCursor::Keys)))
        }
        RebuildScope::Orders { order_ids } => {
            let start = match cursor {
                Some(JobCursor::Index(i)) => *i,
                _ => 0,
            };
            let end = (start + usize::from(page_size)).min(order_ids.len());
            let next = (end < order_ids.len()).then_some(JobCursor::Index(end));
            Ok((order_ids[start.min(end)..end].to_vec(), next))
        }
    }
}
