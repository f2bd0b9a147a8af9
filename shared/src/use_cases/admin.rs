//! The operator's use cases (the admin API, minus HTTP): create a
//! snapshot now, list, delete, verify against a full replay, and look at an order with what
//! its load cost. The admin function's routes adapt HTTP to these and nothing else.

use super::clock::Clock;
use super::repository::{LoadCost, Loaded, OrderRepository, RepositoryError};
use super::verify::{self, Verification};
use crate::domain::Order;
use crate::store::snapshots::{NewSnapshot, SnapshotMetadata, SnapshotSummary};
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

pub struct SnapshotAdmin {
    repository: OrderRepository,
    clock: Arc<dyn Clock>,
}

impl SnapshotAdmin {
    pub fn new(repository: OrderRepository, clock: Arc<dyn Clock>) -> Self {
        SnapshotAdmin { repository, clock }
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
        let page = self.repository.list_snapshots(order_id, limit, before).await?;
        if page.snapshots.is_empty() && before.is_none() && !self.repository.exists(order_id).await? {
            return Err(AdminError::NothingStored(order_id.to_owned()));
        }
        let mut snapshots = Vec::with_capacity(page.snapshots.len());
        for summary in page.snapshots {
            let state = if include_state {
                Some(match self.repository.snapshot(order_id, summary.version).await? {
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
        Ok(self.repository.delete_snapshot(order_id, version).await?)
    }

    /// Deletes every snapshot of an order (a personal-data request): returns how many. The
    /// order's events are not touched; they belong to the order service, and a snapshot can be
    /// built from them again.
    pub async fn delete_all(&self, order_id: &str) -> Result<u64, AdminError> {
        let mut deleted = 0;
        // The table itself, not the keys index (which may lag): page until none is left.
        loop {
            let page = self.repository.list_snapshots(order_id, 100, None).await?;
            if page.snapshots.is_empty() {
                return Ok(deleted);
            }
            let versions: Vec<u64> = page.snapshots.iter().map(|s| s.version).collect();
            self.repository.delete_snapshots(order_id, &versions).await?;
            deleted += versions.len() as u64;
        }
    }

    /// The newest snapshot compared with a full replay of the order's history.
    pub async fn verify(&self, order_id: &str) -> Result<Verification, AdminError> {
        verify::verify(&self.repository, order_id).await.map_err(|e| match e {
            RepositoryError::NotFound(id) => AdminError::OrderNotFound(id),
            other => other.into(),
        })
    }

    /// The order's current state and what loading it cost.
    pub async fn order(&self, order_id: &str) -> Result<Loaded, AdminError> {
        self.repository.load(order_id).await?.ok_or_else(|| AdminError::OrderNotFound(order_id.to_owned()))
    }
}
