//! The soak's audit of one order: load = replay; every snapshot = replay of its prefix;
//! within retention; the newest snapshot no more than threshold-1 events behind.

use shared::domain::Order;
use shared::domain::samples::order_id as oid;
use shared::policy::settings::{RetentionSettings, StrategySettings};
use shared::store::repository::OrderRepository;
use testkit::check_snapshots;

pub struct Audit {
    pub events: u64,
    pub snapshots: u64,
    pub lag: u64,
    pub problems: Vec<String>,
}

/// Audits one order.
pub async fn audit(
    repository: &OrderRepository,
    order_id: String,
    strategy: &StrategySettings,
    retention: &RetentionSettings,
) -> Result<Audit, String> {
    let e = |e: &dyn std::fmt::Display| format!("{order_id}: {e}");
    let events = repository.history(&oid(&order_id)).await.map_err(|x| e(&x))?;
    let mut problems = Vec::new();
    let replay = Order::replay(&order_id, &events).map_err(|x| e(&x))?;
    let loaded = repository.load(&oid(&order_id)).await.map_err(|x| e(&x))?.ok_or_else(|| e(&"no events"))?;
    if loaded.order != replay {
        problems.push(format!("{order_id}: load differs from replay"));
    }
    let versions = match check_snapshots(repository, &order_id, &events).await {
        Ok(versions) => versions,
        Err(problem) => {
            problems.push(problem);
            Vec::new()
        }
    };
    if versions.len() > retention.max_snapshots_per_order as usize {
        problems.push(format!(
            "{order_id}: {} snapshots, retention keeps {}",
            versions.len(),
            retention.max_snapshots_per_order
        ));
    }
    let newest = versions.first().copied().unwrap_or(0);
    let lag = events.len() as u64 - newest;
    if lag >= strategy.event_count_threshold {
        problems.push(format!("{order_id}: newest snapshot v{newest} is {lag} events behind"));
    }
    if loaded.cost.snapshot_version != versions.first().copied() {
        problems.push(format!("{order_id}: the load did not start from the newest snapshot"));
    }
    Ok(Audit { events: events.len() as u64, snapshots: versions.len() as u64, lag, problems })
}
