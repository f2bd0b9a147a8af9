//! Does a snapshot equal a full replay of the events it covers (invariant 1 in
//! docs/invariants.md)? The admin API's `verify`, the drift canary and the tests' snapshot
//! checks all ask here.

use crate::domain::OrderId;
use crate::domain::{Order, RecordedEvent};
use crate::store::StoreError;
use crate::store::repository::OrderRepository;
use crate::store::snapshots::Snapshot;
use crate::store::unreadable::HistoryUnreadable;
use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyResult {
    Match,
    Drift,
    NoSnapshot,
    /// The history holds an event this code cannot read.
    Unreadable,
}

/// Where and why an order's history cannot be read.
#[derive(Clone, Debug, Serialize)]
pub struct UnreadableAt {
    pub sequence: Option<u64>,
    pub reason: String,
}

/// The newest snapshot compared with a full replay.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub order_id: String,
    pub result: VerifyResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_replayed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_difference: Option<Difference>,
    /// Why the snapshot cannot be used at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unusable: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_unreadable: Option<UnreadableAt>,
}

/// Replays the order's whole history and compares its newest snapshot with the replay of the
/// events it covers. A history that cannot be read is reported as such, wherever the
/// unreadable event stands. `None` when the order has neither events nor snapshots.
pub async fn verify(
    repository: &OrderRepository,
    order_id: &OrderId,
) -> Result<Option<Verification>, StoreError> {
    let mut verification = Verification {
        order_id: order_id.to_string(),
        result: VerifyResult::Drift,
        snapshot_version: None,
        events_replayed: None,
        first_difference: None,
        unusable: None,
        replay_error: None,
        history_unreadable: None,
    };
    let newest = repository.newest_snapshot(order_id).await?;
    verification.snapshot_version = newest.as_ref().map(|(version, _)| *version);
    let folded =
        repository.history(order_id).await.and_then(|history| match Order::replay(order_id, &history) {
            Ok(_) => Ok(history),
            Err(fold) => Err(HistoryUnreadable::folding(order_id, fold).into()),
        });
    let history = match folded {
        Ok(history) if history.is_empty() && newest.is_none() => {
            return Ok(None);
        }
        Ok(history) => history,
        Err(StoreError::Unreadable(history)) => {
            verification.result = VerifyResult::Unreadable;
            verification.history_unreadable =
                Some(UnreadableAt { sequence: history.sequence, reason: history.reason() });
            return Ok(Some(verification));
        }
        Err(other) => return Err(other),
    };
    let Some((_, snapshot)) = newest else {
        verification.result = VerifyResult::NoSnapshot;
        return Ok(Some(verification));
    };
    let snapshot = match snapshot {
        Ok(snapshot) => snapshot,
        Err(unusable) => {
            verification.unusable = Some(unusable.to_string());
            return Ok(Some(verification));
        }
    };
    let covered = usize::try_from(snapshot.last_event_sequence).unwrap_or(usize::MAX).min(history.len());
    verification.events_replayed = Some(covered as u64);
    match check_snapshot(&snapshot, &history) {
        SnapshotCheck::Match => verification.result = VerifyResult::Match,
        SnapshotCheck::Drift(difference) => verification.first_difference = Some(difference),
        SnapshotCheck::ReplayFailed(error) => verification.replay_error = Some(error),
    }
    Ok(Some(verification))
}

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
    use crate::store::snapshots::{SnapshotMetadata, StateEncoding};
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
