//! What a rebuild job renews, and how it finds those orders page by page: the event table
//! scanned with a filter on `sequence` (every order, or orders with at least N events), the
//! snapshot keys index (the stale scope), or a list.

use super::RebuildError;
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
#[serde(rename_all = "camelCase", tag = "kind", try_from = "RawScope")]
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

/// A scope as written: every field any kind has, refused unless the kind has it. (serde's
/// `deny_unknown_fields` does not reach the field-less kinds of a tagged enum, so a stray
/// field beside `"kind": "stale"` would pass unnoticed.)
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawScope {
    kind: String,
    events: Option<u64>,
    order_ids: Option<Vec<String>>,
}

impl TryFrom<RawScope> for RebuildScope {
    type Error = String;

    fn try_from(raw: RawScope) -> Result<Self, String> {
        let RawScope { kind, events, order_ids } = raw;
        match (kind.as_str(), events, order_ids) {
            ("all", None, None) => Ok(RebuildScope::All),
            ("stale", None, None) => Ok(RebuildScope::Stale),
            ("minEvents", Some(events), None) => Ok(RebuildScope::MinEvents { events }),
            ("orders", None, Some(order_ids)) => Ok(RebuildScope::Orders { order_ids }),
            ("all" | "stale", ..) => Err(format!("a {kind:?} scope takes no other field")),
            ("minEvents", ..) => Err("a \"minEvents\" scope takes events, and only events".into()),
            ("orders", ..) => Err("an \"orders\" scope takes orderIds, and only orderIds".into()),
            _ => Err(format!("unknown scope kind {kind:?}: all, stale, minEvents or orders")),
        }
    }
}

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
                let position = JobCursor::Keys(Cursor { order_id: order_id.clone(), version: key.version });
                match orders.last_mut() {
                    Some((last, at)) if *last == order_id => *at = position,
                    _ => orders.push((order_id, position)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_reads_exactly_its_kinds_fields() {
        let read = |json: &str| serde_json::from_str::<RebuildScope>(json);
        assert_eq!(read(r#"{"kind": "stale"}"#).unwrap(), RebuildScope::Stale);
        assert_eq!(
            read(r#"{"kind": "minEvents", "events": 25}"#).unwrap(),
            RebuildScope::MinEvents { events: 25 }
        );
        let orders = RebuildScope::Orders { order_ids: vec!["o-1".into()] };
        assert_eq!(read(r#"{"kind": "orders", "orderIds": ["o-1"]}"#).unwrap(), orders);
        for refused in [
            r#"{"kind": "stale", "x": 1}"#,
            r#"{"kind": "all", "events": 3}"#,
            r#"{"kind": "minEvents"}"#,
            r#"{"kind": "minEvents", "events": 3, "orderIds": []}"#,
            r#"{"kind": "orders"}"#,
            r#"{"kind": "everything"}"#,
            r#"{"events": 3}"#,
        ] {
            assert!(read(refused).is_err(), "{refused}");
        }
        // and what is stored reads back the same
        for scope in [RebuildScope::All, RebuildScope::Stale, RebuildScope::MinEvents { events: 1 }, orders] {
            assert_eq!(read(&serde_json::to_string(&scope).unwrap()).unwrap(), scope);
        }
    }
}
