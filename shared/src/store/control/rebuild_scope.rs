//! What a rebuild job renews (its scope, as an operator writes it and as the job item stores
//! it) and where its scan stopped.

use crate::store::events::EventKey;
use crate::store::snapshots::Cursor;
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
