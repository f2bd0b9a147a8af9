//! Renewal after a fold change starts itself. The maintenance function records the fold
//! fingerprint it last saw (a control item); when a deploy changes it, the next turn starts a
//! `stale` rebuild job, which renews every snapshot the new code refuses, idle orders' too.
//! Of many containers seeing the change at once, one records it (a conditional write on the
//! fingerprint it read) and the conditional start lets one job run: one job, not one per
//! container. While another job runs, the renewal stays pending and is started on a later turn.

use super::rebuild::{RebuildError, RebuildService};
use crate::store::control::ControlStore;
use crate::store::control::fold_record::FoldRecords;
use crate::store::control::rebuild_scope::RebuildScope;
use serde::Serialize;
use tracing::{info, warn};

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
    records: FoldRecords,
    /// This code's fingerprint, computed on the first check (not at every cold start).
    current: fn() -> &'static str,
}

impl FoldWatch {
    /// Watches for this code's fingerprint to differ from the recorded one.
    pub fn new(control: ControlStore) -> Self {
        FoldWatch { records: FoldRecords::new(control), current: crate::domain::fingerprint::current }
    }

    /// Records a changed fingerprint and starts the renewal job, or starts a pending one.
    pub async fn check(&self, rebuild: &RebuildService) -> Result<Renewal, RebuildError> {
        let current = (self.current)();
        let recorded = self.records.recorded().await?;
        let seen = recorded.as_ref().map(|record| record.fingerprint.as_str());
        let pending = match &recorded {
            Some(record) if record.fingerprint == current => record.pending,
            _ => {
                // One container records the change; the others find it recorded.
                if !self.records.record_change(seen, current).await? {
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
                self.records.renewal_started(current).await?;
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
}
