//! Retention cleanup: it reads only the snapshot keys index (never a state), keeps every
//! order's newest snapshot, deletes in batches, stops before its deadline and resumes where it
//! stopped on the next run. The scan also picks the drift canary's sample (`sampler.rs`), so
//! the canary costs no scan of its own.

mod sampler;

pub use sampler::Sampler;

use crate::domain::OrderId;
use crate::policy::retention::versions_to_delete;
use crate::policy::settings::RetentionSettings;
use crate::store::StoreError;
use crate::store::control::cleanup_cursor::SavedCursor;
use crate::store::repository::OrderRepository;
use crate::store::snapshots::{Cursor, OrderKeys};
use crate::use_cases::clock::Clock;
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;
use tracing::{info, warn};

/// Keys read per scan page: one page's orders are cleaned before the deadline is checked again.
pub const SCAN_PAGE: u16 = 200;
/// Orders cleaned at once within a page.
pub const ORDER_CONCURRENCY: usize = 8;

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanupReport {
    pub orders_examined: u64,
    pub snapshots_deleted: u64,
    pub pages_scanned: u64,
    pub keys_read: u64,
    pub delete_requests: u64,
    /// Snapshot items skipped because a key attribute could not be read (logged with the key).
    pub keys_skipped: u64,
    /// Orders whose retention failed (a read or delete still failing after the SDK's retries):
    /// logged with the order and passed over, so one order cannot stop the pass.
    pub orders_failed: u64,
    /// The scan could not go on (its error): the run stopped there with its progress saved,
    /// as at a deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
    /// The whole table was covered (this run, or with the runs before it since the last
    /// finish).
    pub finished: bool,
    /// Where this run started (a previous run's cursor).
    pub resumed_from: Option<Cursor>,
    /// Where the next run starts when not finished.
    pub resume_from: Option<Cursor>,
    /// Orders picked for the drift canary.
    #[serde(skip)]
    pub canary_sample: Vec<OrderId>,
}

impl CleanupReport {
    pub fn metrics(&self) -> [(&'static str, u64); 7] {
        [
            ("OrdersExamined", self.orders_examined),
            ("CleanupOrdersFailed", self.orders_failed),
            ("KeysSkipped", self.keys_skipped),
            ("SnapshotsDeleted", self.snapshots_deleted),
            ("KeysRead", self.keys_read),
            ("DeleteRequests", self.delete_requests),
            ("CleanupUnfinished", u64::from(!self.finished)),
        ]
    }
}

/// Retention applied to one order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCleanup {
    pub order_id: String,
    pub snapshots_before: u64,
    pub deleted: Vec<u64>,
    pub delete_requests: u32,
    /// Items whose key attributes could not be read: skipped, logged with their key.
    pub malformed_skipped: u32,
}

pub struct CleanupService {
    repository: OrderRepository,
    cursor: SavedCursor,
    settings: RetentionSettings,
    clock: Arc<dyn Clock>,
    page_size: u16,
    sample_size: usize,
}

impl CleanupService {
    pub fn new(repository: OrderRepository, settings: RetentionSettings, clock: Arc<dyn Clock>) -> Self {
        let cursor = SavedCursor::new(repository.control_items());
        CleanupService { repository, cursor, settings, clock, page_size: SCAN_PAGE, sample_size: 0 }
    }

    /// Orders the run picks for the drift canary (half at random, half the most recently
    /// snapshotted) from the keys it scans anyway.
    pub fn with_canary_sample(mut self, orders: usize) -> Self {
        self.sample_size = orders;
        self
    }

    /// Keys per scan page (tests use small pages to cross page boundaries).
    pub fn with_page_size(mut self, page_size: u16) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Applies retention to every order, from the saved cursor on, until the table is covered
    /// or `deadline` is reached (checked between pages; at least one page is always done so
    /// every run makes progress). Running twice, or two runs at once, is harmless: deletes of
    /// versions already gone are no-ops and the newest snapshot is never chosen. An order that
    /// fails is counted and passed over; a scan that fails stops the run where it was, and in
    /// every case the position reached is saved before the run returns. Only a failure to read
    /// or save the position itself is an error.
    pub async fn run(&self, deadline: Instant) -> Result<CleanupReport, StoreError> {
        let resumed_from = self.cursor.load().await?;
        let mut report = CleanupReport { resumed_from: resumed_from.clone(), ..CleanupReport::default() };
        let mut cursor = resumed_from;
        let mut sampler = Sampler::new(self.sample_size, self.clock.now_ms() as u64);
        // At least one page per run, so every run makes progress.
        while report.pages_scanned == 0 || Instant::now() < deadline {
            let page = match self.repository.scan_snapshot_keys(cursor.as_ref(), self.page_size).await {
                Ok(page) => page,
                Err(error) => {
                    warn!(%error, "cleanup scan failed; stopping with its progress saved");
                    report.stopped_by = Some(error.to_string());
                    break;
                }
            };
            report.pages_scanned += 1;
            report.keys_read += page.keys.len() as u64;
            report.keys_skipped += page.malformed;
            // Each order once per page; an order spanning two pages is examined twice, harmlessly.
            let orders: BTreeSet<OrderId> = page
                .keys
                .into_iter()
                .map(|(id, key)| {
                    sampler.offer(&id, key.timestamp);
                    id
                })
                .collect();
            let results: Vec<_> = futures_util::stream::iter(orders)
                .map(|order_id| async move { (self.clean_order(&order_id).await, order_id) })
                .buffer_unordered(ORDER_CONCURRENCY)
                .collect()
                .await;
            for (result, order_id) in results {
                report.orders_examined += 1;
                match result {
                    Ok(done) => {
                        report.snapshots_deleted += done.deleted.len() as u64;
                        report.delete_requests += u64::from(done.delete_requests);
                    }
                    Err(error) => {
                        warn!(%order_id, %error, "retention of this order failed; the pass goes on");
                        report.orders_failed += 1;
                    }
                }
            }
            cursor = page.next;
            if cursor.is_none() {
                report.finished = true;
                break;
            }
        }
        report.canary_sample = sampler.sample();
        // Saving no cursor clears it: the next run starts a new pass.
        self.cursor.save(cursor.as_ref()).await?;
        report.resume_from = cursor;
        let (orders, deleted) = (report.orders_examined, report.snapshots_deleted);
        if report.finished {
            info!(orders, deleted, "cleanup finished");
        } else if report.stopped_by.is_some() {
            warn!(orders, deleted, "cleanup stopped by a failed scan; the next run resumes");
        } else {
            warn!(orders, deleted, "cleanup stopped at its deadline; the next run resumes");
        }
        Ok(report)
    }

    /// Applies retention to one order (the admin API runs this inline).
    pub async fn clean_order(&self, order_id: &OrderId) -> Result<OrderCleanup, StoreError> {
        let OrderKeys { keys, malformed, .. } = self.repository.snapshot_keys(order_id).await?;
        let deleted = versions_to_delete(&keys, &self.settings, self.clock.now_ms());
        let delete_requests =
            if deleted.is_empty() { 0 } else { self.repository.delete_snapshots(order_id, &deleted).await? };
        if !deleted.is_empty() {
            info!(%order_id, ?deleted, "snapshots deleted by retention");
        }
        Ok(OrderCleanup {
            order_id: order_id.to_string(),
            snapshots_before: keys.len() as u64,
            deleted,
            delete_requests,
            malformed_skipped: malformed,
        })
    }
}
