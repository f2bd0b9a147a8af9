//! How a rebuild job finds the orders of its scope page by page: the event table
//! scanned with a filter on `sequence` (every order, or orders with at least N events), the
//! snapshot keys index (the stale scope), or a list.

use super::RebuildError;
use crate::store::control::rebuild_scope::{JobCursor, RebuildScope};
use crate::store::events::EventKey;
use crate::store::repository::OrderRepository;
use crate::store::snapshots::Cursor;

/// A page of orders in scope, each with the position just after it (where a turn that stops
/// after that order resumes), and where the page after this one starts (`None`: the end).
pub(super) struct Page {
    pub orders: Vec<(String, JobCursor)>,
    pub next: Option<JobCursor>,
}

/// The next page of orders in scope. Ids are returned as found, valid or not: the turn counts
/// an id no order can have as a failure and moves on.
pub(super) async fn page(
    repository: &OrderRepository,
    scope: &RebuildScope,
    cursor: Option<&JobCursor>,
    page_size: u16,
) -> Result<Page, RebuildError> {
    let from_events = |sequence: u64| async move {
        let after = match cursor {
            Some(JobCursor::Events(key)) => Some(key),
            _ => None,
        };
        let page = repository.scan_orders_with(sequence, after, page_size).await?;
        // The scan returns the order's item at `sequence`: its key is the position after it.
        let orders = page
            .orders
            .into_iter()
            .map(|order_id| {
                let key = EventKey { order_id: order_id.clone(), sequence };
                (order_id, JobCursor::Events(key))
            })
            .collect();
        Ok::<_, RebuildError>(Page { orders, next: page.next.map(JobCursor::Events) })
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
            // An order's keys come together: the position after it is its last key here.
            let mut orders: Vec<(String, JobCursor)> = Vec::new();
            for (order_id, key) in page.keys {
                let position =
                    JobCursor::Keys(Cursor { order_id: order_id.to_string(), version: key.version });
                match orders.last_mut() {
                    Some((last, at)) if order_id == last.as_str() => *at = position,
                    _ => orders.push((order_id.into(), position)),
                }
            }
            Ok(Page { orders, next: page.next.map(JobCursor::Keys) })
        }
        RebuildScope::Orders { order_ids } => {
            let start = match cursor {
                Some(JobCursor::Index(i)) => *i,
                _ => 0,
            };
            let end = (start + usize::from(page_size)).min(order_ids.len());
            let orders = order_ids[start.min(end)..end]
                .iter()
                .zip(start + 1..)
                .map(|(id, after)| (id.clone(), JobCursor::Index(after)))
                .collect();
            Ok(Page { orders, next: (end < order_ids.len()).then_some(JobCursor::Index(end)) })
        }
    }
}
