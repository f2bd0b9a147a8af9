//! The operator's use cases (the admin API, minus HTTP): create a
//! snapshot now, list, delete, verify against a full replay, and look at an order with what
//! its load cost. The admin function's routes adapt HTTP to these and nothing else.

use super::clock::Clock;
use super::verify::{self, Verification};
use crate::domain::Order;
use crate::domain::OrderId;
use crate::store::StoreError;
use crate::store::repository::{LoadCost, Loaded, OrderRepository};
use crate::store::snapshots::codec::check_metadata;
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
    Store(#[from] StoreError),
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

/// One snapshot of a listing. A damaged item is listed too, as unusable, with why.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedSnapshot {
    #[serde(flatten)]
    pub item: ListedItem,
    /// Whether a load would use it: by its metadata, or by the full check when states were
    /// asked for.
    pub usable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unusable: Option<String>,
    /// Only when states were asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ListedState>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum ListedItem {
    Summary(SnapshotSummary),
    /// Its metadata cannot be read: only its key is known.
    #[serde(rename_all = "camelCase")]
    Damaged {
        order_id: String,
        version: u64,
    },
}

impl ListedItem {
    fn version(&self) -> u64 {
        match self {
            ListedItem::Summary(summary) => summary.version,
            ListedItem::Damaged { version, .. } => *version,
        }
    }

    /// Its state's size by its metadata (0 when that cannot be read).
    fn state_bytes(&self) -> u64 {
        match self {
            ListedItem::Summary(summary) => summary.metadata.state_bytes,
            ListedItem::Damaged { .. } => 0,
        }
    }
}

/// Where a page with states must end so that the states it carries stay within
/// [`MAX_PAGE_STATE_BYTES`]; `None` when all fit. The first snapshot always stays (a state
/// too large by itself is omitted, not sent), so every page makes progress.
fn page_cut(state_bytes: impl IntoIterator<Item = u64>) -> Option<usize> {
    let mut carried = 0;
    for (i, bytes) in state_bytes.into_iter().enumerate() {
        if bytes > MAX_PAGE_STATE_BYTES {
            continue;
        }
        carried += bytes;
        if carried > MAX_PAGE_STATE_BYTES && i > 0 {
            return Some(i);
        }
    }
    None
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
    /// Larger than one page may carry by itself: listed, not sent.
    Omitted {
        omitted: String,
    },
}

/// The most state bytes (uncompressed JSON) one page of a listing carries. A Lambda response
/// is at most 6 MB, and API Gateway's proxy body is a JSON string, so the states' quotes come
/// back escaped: 4 MiB leaves room for that and the metadata.
pub const MAX_PAGE_STATE_BYTES: u64 = 4 * 1024 * 1024;

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
        order_id: &OrderId,
        created_by: &str,
        reason: &str,
    ) -> Result<SnapshotCreated, AdminError> {
        let loaded = self
            .repository
            .load_by_replay(order_id)
            .await?
            .ok_or_else(|| AdminError::OrderNotFound(order_id.to_string()))?;
        let snapshot = NewSnapshot {
            state: loaded.order,
            timestamp: self.clock.now_ms(),
            created_by: created_by.to_owned(),
            reason: reason.to_owned(),
            strategy: None,
            rule: None,
        };
        let version = snapshot.state.version;
        let metadata = self.repository.put_snapshot(&snapshot).await?.metadata;
        Ok(SnapshotCreated { version, metadata, cost: loaded.cost })
    }

    /// A page of snapshots, newest first; states only when asked for. An order with neither
    /// snapshots nor events is not found, on any page. An order that has events is found even
    /// with no snapshot (never taken yet, or all deleted): its listing is an empty page.
    pub async fn list(
        &self,
        order_id: &OrderId,
        limit: u16,
        before: Option<u64>,
        include_state: bool,
    ) -> Result<SnapshotListing, AdminError> {
        let page = self.repository.list_snapshots(order_id, limit, before).await?;
        let empty = page.snapshots.is_empty() && page.damaged.is_empty();
        if empty && !self.repository.exists(order_id).await? {
            return Err(AdminError::NothingStored(order_id.to_string()));
        }
        let mut listed: Vec<ListedSnapshot> = page
            .snapshots
            .into_iter()
            .map(|summary| {
                let unusable = check_metadata(&summary.metadata).err().map(|why| why.to_string());
                ListedSnapshot {
                    usable: unusable.is_none(),
                    unusable,
                    item: ListedItem::Summary(summary),
                    state: None,
                }
            })
            .chain(page.damaged.into_iter().map(|(version, why)| ListedSnapshot {
                item: ListedItem::Damaged { order_id: order_id.to_string(), version },
                usable: false,
                unusable: Some(why.to_string()),
                state: None,
            }))
            .collect();
        listed.sort_by_key(|s| std::cmp::Reverse(s.item.version()));
        let mut next = page.next;
        if include_state {
            if let Some(cut) = page_cut(listed.iter().map(|s| s.item.state_bytes())) {
                // The rest is the next page: it starts below the last version sent.
                next = Some(listed[cut - 1].item.version());
                listed.truncate(cut);
            }
            for snapshot in &mut listed {
                let bytes = snapshot.item.state_bytes();
                let state = if bytes > MAX_PAGE_STATE_BYTES {
                    ListedState::Omitted {
                        omitted: format!(
                            "its state is {bytes} bytes, more than one response carries ({MAX_PAGE_STATE_BYTES})"
                        ),
                    }
                } else {
                    match self.repository.snapshot(order_id, snapshot.item.version()).await? {
                        Some(Ok(stored)) => ListedState::State(Box::new(stored.state)),
                        Some(Err(unusable)) => {
                            (snapshot.usable, snapshot.unusable) = (false, Some(unusable.to_string()));
                            ListedState::Unusable { unusable: unusable.to_string() }
                        }
                        None => ListedState::Gone,
                    }
                };
                snapshot.state = Some(state);
            }
        }
        Ok(SnapshotListing { order_id: order_id.to_string(), snapshots: listed, next })
    }

    /// Deletes one snapshot; `NotFound` when there is no such version.
    pub async fn delete(&self, order_id: &OrderId, version: u64) -> Result<(), AdminError> {
        Ok(self.repository.delete_snapshot(order_id, version).await?)
    }

    /// Deletes every snapshot item of an order (a personal-data request), whatever the items
    /// hold: by key, found with strongly consistent reads, until none is left (the stream may
    /// write one meanwhile). Returns how many items were deleted. The order's events are not
    /// touched: they belong to the order service, and the stream builds a new snapshot from
    /// them when new events arrive.
    pub async fn delete_all(&self, order_id: &OrderId) -> Result<u64, AdminError> {
        let mut deleted = 0;
        loop {
            let versions = self.repository.snapshot_versions(order_id).await?;
            if versions.is_empty() {
                return Ok(deleted);
            }
            self.repository.delete_snapshots(order_id, &versions).await?;
            deleted += versions.len() as u64;
        }
    }

    /// The newest snapshot compared with a full replay of the order's history.
    pub async fn verify(&self, order_id: &OrderId) -> Result<Verification, AdminError> {
        verify::verify(&self.repository, order_id)
            .await?
            .ok_or_else(|| AdminError::OrderNotFound(order_id.to_string()))
    }

    /// The order's current state and what loading it cost.
    pub async fn order(&self, order_id: &OrderId) -> Result<Loaded, AdminError> {
        self.repository.load(order_id).await?.ok_or_else(|| AdminError::OrderNotFound(order_id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn a_page_of_states_ends_before_the_state_that_would_pass_the_budget() {
        assert_eq!(page_cut([MIB, MIB, MIB]), None);
        assert_eq!(page_cut([MIB, MIB, MIB, MIB]), None, "exactly the budget fits");
        assert_eq!(page_cut([MIB, MIB, MIB, MIB, 1]), Some(4));
        assert_eq!(page_cut([3 * MIB, 2 * MIB, 1]), Some(1));
        // 100 of DynamoDB's largest items (400 KB, uncompressed up to 16 MiB) never pass it
        let cut = page_cut(std::iter::repeat_n(400 * 1024, 100)).expect("cut");
        assert_eq!(cut, 10);
    }

    #[test]
    fn a_state_too_large_for_any_page_is_omitted_and_never_ends_the_page() {
        assert_eq!(page_cut([5 * MIB, 3 * MIB, 5 * MIB, MIB]), None);
        assert_eq!(page_cut([5 * MIB]), None, "the first always stays, omitted");
        assert_eq!(page_cut([4 * MIB, 1]), Some(1), "one full state is a page by itself");
    }
}
