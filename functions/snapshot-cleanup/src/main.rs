use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::admin::SnapshotAdmin;
use shared::cleanup::CleanupService;
use shared::clock::{Clock, SystemClock};
use shared::config::Config;
use shared::metrics::Metrics;
use shared::rebuild::RebuildService;
use shared::repository::OrderRepository;
use snapshot_cleanup::{FUNCTION, Maintenance, handle, stop_at};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = Config::from_env()?;
    let aws = shared::client::sdk_config().await;
    let repository = OrderRepository::from_config(shared::client::dynamodb_client((&aws).into()), &config);
    let clock = Arc::new(SystemClock);
    let maintenance = &Maintenance {
        cleanup: CleanupService::new(repository.snapshots().clone(), config.retention, clock.clone())
            .with_canary_sample(config.maintenance.canary_orders as usize),
        rebuild: RebuildService::new(repository.clone(), clock.clone())
            .with_rate(config.maintenance.rebuild_orders_per_second),
        admin: SnapshotAdmin::new(repository, clock),
    };
    let metrics = &Metrics::emf(FUNCTION, &config.stack);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let stop_at = stop_at(event.context.deadline, SystemClock.now_ms() as u64);
        handle(maintenance, metrics, event.payload, stop_at).await
    }))
    .await
}
