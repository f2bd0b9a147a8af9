//! Does a snapshot equal a full replay of the events it covers (invariant 1 in docs/invariants.md)? The admin
//! API's `verify` and the tests' snapshot checks both ask here.

use crate::domain::{Order, RecordedEvent};
use crate::snapshot::Snapshot;
use serde::Serialize;
use serde_json::Value;

/// How a snapshot compares with the replay of its events.
#[derive(Clone, Debug, PartialEq)]
pub enum SnapshotCheck {
    Match,
    /// The states differ; the first differing field.
    Drift(Difference),
    /// The events do not fold (or are fewer than the snapshot covers).
    ReplayFailed(String),
}

/// Compares `snapshot` with the replay of `events`, the order's history from sequence 1 (at
/// least up to the snapshot's last event; later events are ignored).
pub fn check_snapshot(snapshot: &Snapshot, events: &[RecordedEvent]) -> SnapshotCheck {
    let covered = usize::try_from(snapshot.last_event_sequence).unwrap_or(usize::MAX);
    let Some(prefix) = events.get(..covered) else {
        return SnapshotCheck::ReplayFailed(format!(
            "the history has {} events; the snapshot covers {covered}",
            events.len()
        ));
    };
    match Order::replay(&snapshot.order_id, prefix) {
        Ok(replay) if replay == snapshot.state => SnapshotCheck::Match,
        Ok(replay) => {
            let stored = serde_json::to_value(&snapshot.state).expect("order state always serializes");
            let replayed = serde_json::to_value(&replay).expect("order state always serializes");
            match first_difference(&stored, &replayed) {
                Some(difference) => SnapshotCheck::Drift(difference),
                // Equal as JSON but not as values cannot happen for `Order`; say so if it does.
                None => SnapshotCheck::ReplayFailed("states differ but serialize alike".into()),
            }
        }
        Err(fold) => SnapshotCheck::ReplayFailed(fold.to_string()),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    /// JSON pointer to the first differing field, e.g. `/items/0/quantity`.
    pub path: String,
    pub snapshot: Value,
    pub replay: Value,
}

/// The first difference in document order (object keys sorted), or `None` when equal.
pub fn first_difference(snapshot: &Value, replay: &Value) -> Option<Difference> {
    walk(snapshot, replay, String::new())
}

fn walk(a: &Value, b: &Value, path: String) -> Option<Difference> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let here = format!("{path}/{}", k.replace('~', "~0").replace('/', "~1"));
                walk(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), here)
            })
        }
        (Value::Array(x), Value::Array(y)) => (0..x.len().max(y.len())).find_map(|i| {
            walk(x.get(i).unwrap_or(&Value::Null), y.get(i).unwrap_or(&Value::Null), format!("{path}/{i}"))
        }),
        _ if a == b => None,
        _ => Some(Difference {
            path: if path.is_empty() { "/".into() } else { path },
            snapshot: a.clone(),
            replay: b.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::samples::{one_of_each_event, recorded};
    use crate::snapshot::{SnapshotMetadata, StateEncoding};
    use serde_json::json;

    #[test]
    fn finds_the_first_differing_field() {
        let a = json!({"status": "Pending", "items": [{"sku": "A", "quantity": 2}], "total": 5});
        let b = json!({"status": "Pending", "items": [{"sku": "A", "quantity": 3}], "total": 5});
        let d = first_difference(&a, &b).unwrap();
        assert_eq!(d.path, "/items/0/quantity");
        assert_eq!((d.snapshot, d.replay), (json!(2), json!(3)));
        assert_eq!(first_difference(&a, &a), None);
        let longer = json!({"items": [1, 2]});
        assert_eq!(first_difference(&json!({"items": [1]}), &longer).unwrap().path, "/items/1");
    }

    fn snapshot_of(state: Order) -> Snapshot {
        let metadata = SnapshotMetadata {
            created_by: "test".into(),
            reason: "test".into(),
            strategy: None,
            rule: None,
            state_schema_version: crate::domain::STATE_SCHEMA_VERSION,
            fold_fingerprint: None,
            writer_build: None,
            state_encoding: StateEncoding::Json,
            state_bytes: 0,
            checksum: String::new(),
        };
        let version = state.version;
        Snapshot {
            order_id: state.id.clone(),
            version,
            last_event_sequence: version,
            timestamp: 0,
            state,
            metadata,
        }
    }

    #[test]
    fn a_snapshot_matches_the_replay_of_its_prefix_and_drift_names_the_field() {
        // given a history and a snapshot folded from its first three events
        let events: Vec<_> =
            one_of_each_event().into_iter().zip(1..).map(|(e, seq)| recorded("o-1", seq, e)).collect();
        let good = snapshot_of(Order::replay("o-1", &events[..3]).unwrap());
        assert_eq!(check_snapshot(&good, &events), SnapshotCheck::Match);
        // when its state is changed behind the checksum's back
        let mut drifted = good.clone();
        drifted.state.customer_id = Some("someone-else".into());
        // then the check names the field
        let SnapshotCheck::Drift(d) = check_snapshot(&drifted, &events) else { panic!("drift expected") };
        assert_eq!(d.path, "/customerId");
        // and a history shorter than the snapshot cannot confirm it
        assert!(matches!(check_snapshot(&good, &events[..2]), SnapshotCheck::ReplayFailed(_)));
    }
}
