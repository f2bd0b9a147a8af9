//! The drift canary: the scheduled run verifies a sample of orders (some random, some
//! recently snapshotted) against full replay. A *usable* snapshot whose state differs from
//! the replay is drift: loads trust it, so it is reported (`SnapshotDrift`, an alarm) with the
//! first differing field. A newest snapshot that loads refuse (another fold's, damaged, or not
//! the history's) is not drift: it is counted apart, as are histories that cannot be read and
//! orders that could not be checked. A check that checks nothing is alarmed
//! (`CanaryChecked` = 0).

use crate::domain::OrderId;
use crate::store::repository::OrderRepository;
use crate::use_cases::verify::{self, Difference, VerifyResult};
use serde::Serialize;
use std::time::Instant;
use tracing::{error, warn};

/// A drifted snapshot.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    pub order_id: String,
    pub snapshot_version: Option<u64>,
    pub first_difference: Option<Difference>,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryReport {
    pub checked: u64,
    pub drifted: Vec<Drift>,
    /// Newest snapshots loads refuse (another fold's, damaged, covering events the history
    /// does not have): loads replay those orders; not drift.
    pub refused_by_loads: u64,
    pub unreadable: u64,
    /// Orders that could not be checked (a storage error other than unavailability).
    pub errors: u64,
}

impl CanaryReport {
    pub fn metrics(&self) -> [(&'static str, u64); 5] {
        [
            ("CanaryChecked", self.checked),
            ("SnapshotDrift", self.drifted.len() as u64),
            ("CanaryRefusedByLoads", self.refused_by_loads),
            ("CanaryUnreadable", self.unreadable),
            ("CanaryErrors", self.errors),
        ]
    }
}

/// Verifies `orders` one by one until `deadline` (at least one). An order that cannot be checked is counted
/// and the check moves on; an unavailable table ends it early (what was checked is reported).
pub async fn check(repository: &OrderRepository, orders: &[OrderId], deadline: Instant) -> CanaryReport {
    let mut report = CanaryReport::default();
    for order_id in orders {
        // at least one order per run, as cleanup does one page: every run checks something
        if report.checked + report.errors > 0 && Instant::now() >= deadline {
            break;
        }
        let verification = match verify::verify(repository, order_id).await {
            Ok(Some(v)) => v,
            Ok(None) => {
                warn!(%order_id, "canary could not check this order: it has no events and no snapshots");
                report.errors += 1;
                continue;
            }
            Err(e) if e.is_transient() => {
                warn!(%order_id, error = %e, "canary stopped early: the table is unavailable");
                break;
            }
            Err(e) => {
                warn!(%order_id, error = %e, "canary could not check this order");
                report.errors += 1;
                continue;
            }
        };
        report.checked += 1;
        match verification.result {
            VerifyResult::Match | VerifyResult::NoSnapshot => {}
            VerifyResult::Unreadable => report.unreadable += 1,
            VerifyResult::Drift if verification.unusable.is_some() || verification.replay_error.is_some() => {
                report.refused_by_loads += 1
            }
            VerifyResult::Drift => {
                let difference = verification.first_difference.clone();
                error!(
                    %order_id,
                    snapshot = verification.snapshot_version,
                    field = difference.as_ref().map(|d| d.path.as_str()),
                    snapshot_value = ?difference.as_ref().map(|d| &d.snapshot),
                    replay_value = ?difference.as_ref().map(|d| &d.replay),
                    "snapshot drift: a usable snapshot differs from the replay of its events"
                );
                report.drifted.push(Drift {
                    order_id: order_id.to_string(),
                    snapshot_version: verification.snapshot_version,
                    first_difference: difference,
                });
            }
        }
    }
    report
}
