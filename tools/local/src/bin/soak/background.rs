//! What happens while the writers write: faults on the functions' connection, scheduled
//! cleanup, admin calls, and a progress line. Each is a task that ends when told to stop.

use crate::workload::{Rng, order_id};
use crate::{Tally, add};
use axum::body::Body;
use axum::http::Request;
use shared::use_cases::maintenance::cleanup::CleanupService;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use testkit::Proxy;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    pub fn start(
        proxy: &Arc<Proxy>,
        cleanup: &Arc<CleanupService>,
        admin: &axum::Router,
        tally: &Arc<Tally>,
        fault_every: Duration,
        orders: usize,
        events: usize,
    ) -> Background {
        let (stop, stopped) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(faults(proxy.clone(), tally.clone(), stopped.clone(), fault_every)),
            tokio::spawn(cleanups(cleanup.clone(), tally.clone(), stopped.clone())),
            tokio::spawn(admin_calls(admin.clone(), tally.clone(), stopped.clone(), orders)),
            tokio::spawn(progress(tally.clone(), stopped, events)),
        ];
        Background { stop, tasks }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Sleeps `period`; false when told to stop first.
async fn tick(period: Duration, stopped: &mut watch::Receiver<bool>) -> bool {
    tokio::select! { _ = tokio::time::sleep(period) => true, _ = stopped.changed() => false }
}

/// The connection cut for 2 s, stalled for 3 s, or three answers lost, in turn.
async fn faults(proxy: Arc<Proxy>, tally: Arc<Tally>, mut stopped: watch::Receiver<bool>, every: Duration) {
    for round in 0u64.. {
        if !tick(every, &mut stopped).await {
            return;
        }
        match round % 3 {
            0 => {
                add(&tally.cuts, 1);
                proxy.cut();
                tokio::time::sleep(Duration::from_secs(2)).await;
                proxy.restore().await;
            }
            1 => {
                add(&tally.stalls, 1);
                proxy.stall();
                tokio::time::sleep(Duration::from_secs(3)).await;
                proxy.unstall();
            }
            _ => {
                add(&tally.lost_answers, 3);
                proxy.lose_responses(3);
            }
        }
    }
}

/// A cleanup run every 15 s, each with a 3 s deadline.
async fn cleanups(cleanup: Arc<CleanupService>, tally: Arc<Tally>, mut stopped: watch::Receiver<bool>) {
    while tick(Duration::from_secs(15), &mut stopped).await {
        add(&tally.cleanup_runs, 1);
        match cleanup.run(Instant::now() + Duration::from_secs(3)).await {
            Ok(report) => add(&tally.cleanup_deleted, report.snapshots_deleted),
            Err(_) => add(&tally.cleanup_failed, 1),
        }
    }
}

/// An admin read or verify every 1.5 s.
async fn admin_calls(
    admin: axum::Router,
    tally: Arc<Tally>,
    mut stopped: watch::Receiver<bool>,
    orders: usize,
) {
    let mut rng = Rng(42);
    while tick(Duration::from_millis(1500), &mut stopped).await {
        let id = order_id(rng.next(orders as u64) as usize);
        let (method, uri) = match rng.next(3) {
            0 => ("GET", format!("/admin/orders/{id}")),
            1 => ("GET", format!("/admin/order-snapshots/{id}")),
            _ => ("POST", format!("/admin/order-snapshots/verify/{id}")),
        };
        let request = Request::builder()
            .method(method)
            .uri(&uri)
            .extension(snapshot_admin::access::LocalCaller("soak".into()))
            .body(Body::empty())
            .expect("request");
        let status = admin.clone().oneshot(request).await.expect("router").status().as_u16();
        match status {
            200 | 404 => add(&tally.admin_ok, 1),
            503 => add(&tally.admin_unavailable, 1),
            _ => {
                add(&tally.admin_other, 1);
                eprintln!("admin {method} {uri} -> {status}");
            }
        }
    }
}

/// A line every 30 s.
async fn progress(tally: Arc<Tally>, mut stopped: watch::Receiver<bool>, target: usize) {
    let begun = Instant::now();
    while tick(Duration::from_secs(30), &mut stopped).await {
        println!(
            "  {:>4.0} s: {} of ~{target} events appended, {} conflicts, {} faults injected",
            begun.elapsed().as_secs_f64(),
            tally.appended.load(Relaxed),
            tally.conflicts.load(Relaxed),
            tally.cuts.load(Relaxed) + tally.stalls.load(Relaxed) + tally.lost_answers.load(Relaxed),
        );
    }
}
