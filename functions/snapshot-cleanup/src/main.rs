use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::cleanup::CleanupService;
use shared::clock::{Clock, SystemClock};
use shared::config::Config;
use shared::metrics::Metrics;
use shared::snapshot::SnapshotStore;
use snapshot_cleanup::{FUNCTION, handle, stop_at};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let snapshots =
        SnapshotStore::new(shared::client::dynamodb_client((&aws).into()), &config.tables.snapshots);
    let service = &CleanupService::new(snapshots, config.retention, Arc::new(SystemClock));
    let metrics = &Metrics::emf(FUNCTION);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let stop_at = stop_at(event.context.deadline, SystemClock.now_ms() as u64);
        handle(service, metrics, event.payload, stop_at).await
    }))
    .await
}
