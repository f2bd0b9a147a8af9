//! Renewal after a fold change starts itself. The maintenance function records the fold
//! fingerprint it last saw (a control item); when a deploy changes it, the next turn starts a
//! `stale` rebuild job, which renews every snapshot the new code refuses, idle orders' too.
//! Of many containers seeing the change at once, one records it (a conditional write on the
//! fingerprint it read) and the conditional start lets one job run: one job, not one per
//! container. While another job runs, the renewal stays pending and is started on a later turn.

use super::rebuild::{RebuildError, RebuildScope, RebuildService};
use crate::store::control::{ControlError, ControlStore, undecodable};
use crate::store::dynamo::{get_s, s};
use crate::store::expression::Update;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use tracing::{info, warn};

/// The control item's id.
pub const FOLD_RECORD_ID: &str = "_fold-fingerprint";
/// Who a renewal job says asked for it.
pub const RENEWAL_REQUESTER: &str = "maintenance:fold-changed";

/// What the check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "renewal")]
pub enum Renewal {
    /// The fingerprint is the recorded one, and no renewal is pending.
    Unchanged,
    /// A stale job renews the snapshots of the previous fold.
    Started { job_id: String },
    /// Another job is running; the renewal starts on a later turn.
    Pending,
}

pub struct FoldWatch {
    control: ControlStore,
    /// This code's fingerprint, computed on the first check (not at every cold start).
    current: fn() -> &'static str,
}

impl FoldWatch {
    /// Watches for this code's fingerprint to differ from the recorded one.
    pub fn new(control: ControlStore) -> Self {
        FoldWatch { control, current: crate::domain::fingerprint::current }
    }

    /// Records a changed fingerprint and starts the renewal job, or starts a pending one.
    pub async fn check(&self, rebuild: &RebuildService) -> Result<Renewal, RebuildError> {
        let current = (self.current)();
        let recorded = self.recorded().await?;
        let seen = recorded.as_ref().map(|(fingerprint, _)| fingerprint.as_str());
        let pending = match &recorded {
            Some((fingerprint, pending)) if fingerprint == current => *pending,
            _ => {
                // One container records the change; the others find it recorded.
                if !self.record_change(seen).await? {
                    return Box::pin(self.check(rebuild)).await;
                }
                info!(from = ?seen, to = current, "fold fingerprint changed");
                true
            }
        };
        if !pending {
            return Ok(Renewal::Unchanged);
        }
        match rebuild.start(RebuildScope::Stale, RENEWAL_REQUESTER, false).await {
            Ok(job) => {
                let done = Update::new("SET pending = :no")
                    .when("fingerprint = :current")
                    .value(":no", AttributeValue::Bool(false))
                    .value(":current", s(current));
                self.control.update(FOLD_RECORD_ID, done).await?;
                info!(job = %job.job_id, "snapshots of the previous fold are renewed by a stale job");
                Ok(Renewal::Started { job_id: job.job_id })
            }
            Err(RebuildError::Running { job_id, .. }) => {
                warn!(running = %job_id, "fold changed while a rebuild job runs; the renewal waits for it");
                Ok(Renewal::Pending)
            }
            Err(other) => Err(other),
        }
    }

    /// The recorded fingerprint and whether its renewal is pending.
    async fn recorded(&self) -> Result<Option<(String, bool)>, ControlError> {
        let Some(item) = self.control.get(FOLD_RECORD_ID).await? else { return Ok(None) };
        let fingerprint = get_s(&item, "fingerprint").map_err(|e| undecodable(FOLD_RECORD_ID, e))?;
        let pending = matches!(item.get("pending"), Some(AttributeValue::Bool(true)));
        Ok(Some((fingerprint.to_owned(), pending)))
    }

    /// Records this code's fingerprint with a renewal pending, if the record still holds
    /// `seen`; `false` when another container changed it first.
    async fn record_change(&self, seen: Option<&str>) -> Result<bool, ControlError> {
        let update = Update::new("SET fingerprint = :current, pending = :yes")
            .value(":current", s((self.current)()))
            .value(":yes", AttributeValue::Bool(true));
        let update = match seen {
            Some(seen) => update.when("fingerprint = :seen").value(":seen", s(seen)),
            None => update.when("attribute_not_exists(fingerprint)"),
        };
        Ok(self.control.update(FOLD_RECORD_ID, update).await?.is_some())
    }
}
