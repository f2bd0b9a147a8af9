//! The drift canary: the scheduled run verifies a sample of orders (some random, some
//! recently snapshotted) against full replay. A *usable* snapshot whose state differs from
//! the replay is drift: loads trust it, so it is reported (`SnapshotDrift`, an alarm) with the
//! first differing field. An unusable newest snapshot is not drift (loads already refuse it);
//! it is counted apart, as are histories that cannot be read.

use crate::use_cases::repository::OrderRepository;
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
    /// Newest snapshots that cannot be used (another fold's, say): loads replay those orders.
    pub unusable: u64,
    pub unreadable: u64,
}

impl CanaryReport {
    pub fn metrics(&self) -> [(&'static str, u64); 4] {
        [
            ("CanaryChecked", self.checked),
            ("SnapshotDrift", self.drifted.len() as u64),
            ("CanaryUnusable", self.unusable),
            ("CanaryUnreadable", self.unreadable),
        ]
    }
}

/// Verifies `orders` one by one until `deadline`; a storage error ends the check early (what
/// was checked is reported).
pub async fn check(repository: &OrderRepository, orders: &[String], deadline: Instant) -> CanaryReport {
    let mut report = CanaryReport::default();
    for order_id in orders {
        if Instant::now() >= deadline {
            break;
        }
        let verification = match verify::verify(repository, order_id).await {
            Ok(v) => v,
            Err(e) => {
                warn!(order_id, error = %e, "canary stopped early");
                break;
            }
        };
        report.checked += 1;
        match verification.result {
            VerifyResult::Match | VerifyResult::NoSnapshot => {}
            VerifyResult::Unreadable => report.unreadable += 1,
            VerifyResult::Drift if verification.unusable.is_some() => report.unusable += 1,
            VerifyResult::Drift => {
                let difference = verification.first_difference.clone();
                error!(
                    order_id,
                    snapshot = verification.snapshot_version,
                    field = difference.as_ref().map(|d| d.path.as_str()),
                    snapshot_value = ?difference.as_ref().map(|d| &d.snapshot),
                    replay_value = ?difference.as_ref().map(|d| &d.replay),
                    "snapshot drift: a usable snapshot differs from the replay of its events"
                );
                report.drifted.push(Drift {
                    order_id: order_id.clone(),
                    snapshot_version: verification.snapshot_version,
                    first_difference: difference,
                });
            }
        }
    }
    report
}
