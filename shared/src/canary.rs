//! The drift canary: the scheduled run verifies a sample of orders (some random, some
//! recently snapshotted) against full replay. A *usable* snapshot whose state differs from
//! the replay is drift: loads trust it, so it is reported (`SnapshotDrift`, an alarm) with the
//! first differing field. An unusable newest snapshot is not drift (loads already refuse it);
//! it is counted apart, as are histories that cannot be read.

use crate::admin::{Difference, SnapshotAdmin, VerifyResult};
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
pub async fn check(admin: &SnapshotAdmin, orders: &[String], deadline: Instant) -> CanaryReport {
    let mut report = CanaryReport::default();
    for order_id in orders {
        if Instant::now() >= deadline {
            break;
        }
        let verification = match admin.verify(order_id).await {
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

/// Picks a sample while a scan goes by: up to `random` orders uniformly at random (reservoir
/// sampling) and the `recent` orders with the newest snapshots.
#[derive(Debug)]
pub struct Sampler {
    random: usize,
    recent: usize,
    seen: u64,
    state: u64,
    reservoir: Vec<String>,
    newest: Vec<(i64, String)>,
}

impl Sampler {
    pub fn new(size: usize, seed: u64) -> Self {
        Sampler {
            random: size.div_ceil(2),
            recent: size / 2,
            seen: 0,
            state: seed | 1,
            reservoir: Vec::new(),
            newest: Vec::new(),
        }
    }

    /// An order seen by the scan, with its snapshot's timestamp.
    pub fn offer(&mut self, order_id: &str, timestamp: i64) {
        if self.recent > 0 {
            match self.newest.iter_mut().find(|(_, id)| id == order_id) {
                Some(entry) => entry.0 = entry.0.max(timestamp),
                None => self.newest.push((timestamp, order_id.to_owned())),
            }
            self.newest.sort_by_key(|(timestamp, _)| std::cmp::Reverse(*timestamp));
            self.newest.truncate(self.recent);
        }
        if self.random == 0 || self.reservoir.iter().any(|id| id == order_id) {
            return;
        }
        self.seen += 1;
        if self.reservoir.len() < self.random {
            self.reservoir.push(order_id.to_owned());
        } else {
            let slot = self.next() % self.seen;
            if let Some(kept) = self.reservoir.get_mut(slot as usize) {
                *kept = order_id.to_owned();
            }
        }
    }

    /// The sample: the random ones, then the recent ones not already in it.
    pub fn sample(self) -> Vec<String> {
        let mut sample = self.reservoir;
        for (_, id) in self.newest {
            if !sample.contains(&id) {
                sample.push(id);
            }
        }
        sample
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_holds_random_and_recent_orders_each_once() {
        // given 1,000 orders seen, order i's snapshot taken at time i
        let mut sampler = Sampler::new(10, 42);
        for i in 0..1000 {
            sampler.offer(&format!("o-{i}"), i);
            sampler.offer(&format!("o-{i}"), i); // an order seen twice (two snapshots)
        }
        let sample = sampler.sample();
        // then 5 random and the 5 most recent, without repeats
        assert!(sample.len() <= 10 && sample.len() >= 5, "{sample:?}");
        for recent in ["o-999", "o-998", "o-997", "o-996", "o-995"] {
            assert!(sample.contains(&recent.to_owned()), "{sample:?}");
        }
        let mut unique = sample.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), sample.len());
        assert!(sample.iter().take(5).any(|id| id.trim_start_matches("o-").parse::<i32>().unwrap() < 990));
    }

    #[test]
    fn a_zero_sample_is_empty() {
        let mut sampler = Sampler::new(0, 1);
        sampler.offer("o-1", 1);
        assert!(sampler.sample().is_empty());
    }
}
