//! The operator's use cases (the seed's OrderSnapshotController, minus HTTP): create a
//! snapshot now, list, delete, verify against a full replay, and look at an order with what
//! its load cost. The admin function's routes adapt HTTP to these and nothing else.

mod verify;

pub use verify::{Difference, SnapshotCheck, check_snapshot, first_difference};

use crate::clock::Clock;
use crate::domain::Order;
use crate::event_store::EventStoreError;
use crate::repository::{LoadCost, Loaded, OrderRepository, RepositoryError};
use crate::snapshot::{NewSnapshot, SnapshotMetadata, SnapshotStoreError, SnapshotSummary};
use crate::unreadable::HistoryUnreadable;
use serde::Serialize;
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AdminError {
    #[error("order {0} has no events")]
    OrderNotFound(String),
    #[error("order {0} has no events and no snapshots")]
    NothingStored(String),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    #[error(transparent)]
    Snapshots(#[from] SnapshotStoreError),
}

impl From<EventStoreError> for AdminError {
    fn from(e: EventStoreError) -> Self {
        AdminError::Repository(e.into())
    }
}

/// A snapshot taken on request.
#[derive(Clone, Debug)]
pub struct SnapshotCreated {
    pub version: u64,
    pub metadata: SnapshotMetadata,
    pub cost: LoadCost,
}

/// A page of an order's snapshots, newest first.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotListing {
    pub order_id: String,
    pub snapshots: Vec<ListedSnapshot>,
    /// Pass as `before` to get the next (older) page.
    pub next: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ListedSnapshot {
    #[serde(flatten)]
    pub summary: SnapshotSummary,
    /// Only when states were asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ListedState>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum ListedState {
    State(Box<Order>),
    Unusable {
        unusable: String,
    },
    /// Deleted between the listing and the read.
    Gone,
}

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

pub struct SnapshotAdmin {
    repository: OrderRepository,
    clock: Arc<dyn Clock>,
}

impl SnapshotAdmin {
    pub fn new(repository: OrderRepository, clock: Arc<dyn Clock>) -> Self {
        SnapshotAdmin { repository, clock }
    }

    pub fn repository(&self) -> &OrderRepository {
        &self.repository
    }

    /// A snapshot of the order's current state, now, folded by full replay, never from an
    /// existing snapshot: after "delete the drifted snapshot, create a new one" an older drifted
    /// snapshot cannot be copied forward. It replaces an unusable snapshot at the newest event;
    /// `Conflict` when a usable one already covers it.
    pub async fn create(
        &self,
        order_id: &str,
        created_by: &str,
        reason: &str,
    ) -> Result<SnapshotCreated, AdminError> {
        let loaded = self
            .repository
            .load_by_replay(order_id)
            .await?
            .ok_or_else(|| AdminError::OrderNotFound(order_id.to_owned()))?;
        let new = NewSnapshot {
            state: loaded.order,
            timestamp: self.clock.now_ms(),
            created_by: created_by.to_owned(),
            reason: reason.to_owned(),
            strategy: None,
            rule: None,
        };
        let version = new.state.version;
        let metadata = self.repository.put_snapshot(&new).await?.metadata;
        Ok(SnapshotCreated { version, metadata, cost: loaded.cost })
    }

    /// A page of snapshots, newest first; states only when asked for. An order with neither
    /// snapshots nor events is not found.
    pub async fn list(
        &self,
        order_id: &str,
        limit: u16,
        before: Option<u64>,
        include_state: bool,
    ) -> Result<SnapshotListing, AdminError> {
        let store = self.repository.snapshots();
        let page = store.list(order_id, limit, before).await?;
        if page.snapshots.is_empty() && before.is_none() && !self.repository.events().exists(order_id).await?
        {
            return Err(AdminError::NothingStored(order_id.to_owned()));
        }
        let mut snapshots = Vec::with_capacity(page.snapshots.len());
        for summary in page.snapshots {
            let state = if include_state {
                Some(match store.get(order_id, summary.version).await? {
                    Some(Ok(snapshot)) => ListedState::State(Box::new(snapshot.state)),
                    Some(Err(unusable)) => ListedState::Unusable { unusable: unusable.to_string() },
                    None => ListedState::Gone,
                })
            } else {
                None
            };
            snapshots.push(ListedSnapshot { summary, state });
        }
        Ok(SnapshotListing { order_id: order_id.to_owned(), snapshots, next: page.next })
    }

    /// Deletes one snapshot; `NotFound` when there is no such version.
    pub async fn delete(&self, order_id: &str, version: u64) -> Result<(), AdminError> {
        Ok(self.repository.snapshots().delete(order_id, version).await?)
    }

    /// Deletes every snapshot of an order (a personal-data request): returns how many. The
    /// order's events are not touched; they belong to the order service, and a snapshot can be
    /// built from them again.
    pub async fn delete_all(&self, order_id: &str) -> Result<u64, AdminError> {
        let store = self.repository.snapshots();
        let mut deleted = 0;
        // The table itself, not the keys index (which may lag): page until none is left.
        loop {
            let page = store.list(order_id, 100, None).await?;
            if page.snapshots.is_empty() {
                return Ok(deleted);
            }
            let versions: Vec<u64> = page.snapshots.iter().map(|s| s.version).collect();
            store.delete_versions(order_id, &versions).await?;
            deleted += versions.len() as u64;
        }
    }

    /// Replays the whole history and compares the newest snapshot with the replay of the
    /// events it covers. A history that cannot be read is reported as such, wherever the
    /// unreadable event stands.
    pub async fn verify(&self, order_id: &str) -> Result<Verification, AdminError> {
        let mut verification = Verification {
            order_id: order_id.to_owned(),
            result: VerifyResult::Drift,
            snapshot_version: None,
            events_replayed: None,
            first_difference: None,
            unusable: None,
            replay_error: None,
            history_unreadable: None,
        };
        let newest = self.repository.snapshots().newest(order_id).await?;
        verification.snapshot_version = newest.as_ref().map(|(version, _)| *version);
        let read = self.repository.events().read_from(order_id, 1).await.map_err(RepositoryError::from);
        let folded = read.and_then(|(history, _)| match Order::replay(order_id, &history) {
            Ok(_) => Ok(history),
            Err(fold) => Err(HistoryUnreadable::folding(order_id, fold).into()),
        });
        let history = match folded {
            Ok(history) if history.is_empty() && newest.is_none() => {
                return Err(AdminError::OrderNotFound(order_id.to_owned()));
            }
            Ok(history) => history,
            Err(RepositoryError::Unreadable(history)) => {
                verification.result = VerifyResult::Unreadable;
                verification.history_unreadable =
                    Some(UnreadableAt { sequence: history.sequence, reason: history.reason() });
                return Ok(verification);
            }
            Err(other) => return Err(other.into()),
        };
        let Some((_, snapshot)) = newest else {
            verification.result = VerifyResult::NoSnapshot;
            return Ok(verification);
        };
        let snapshot = match snapshot {
            Ok(snapshot) => snapshot,
            Err(unusable) => {
                verification.unusable = Some(unusable.to_string());
                return Ok(verification);
            }
        };
        let covered = usize::try_from(snapshot.last_event_sequence).unwrap_or(usize::MAX).min(history.len());
        verification.events_replayed = Some(covered as u64);
        match check_snapshot(&snapshot, &history) {
            SnapshotCheck::Match => verification.result = VerifyResult::Match,
            SnapshotCheck::Drift(difference) => verification.first_difference = Some(difference),
            SnapshotCheck::ReplayFailed(error) => verification.replay_error = Some(error),
        }
        Ok(verification)
    }

    /// The order's current state and what loading it cost.
    pub async fn order(&self, order_id: &str) -> Result<Loaded, AdminError> {
        self.repository.load(order_id).await?.ok_or_else(|| AdminError::OrderNotFound(order_id.to_owned()))
    }
}
