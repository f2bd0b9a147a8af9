use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::cleanup::CleanupService;
use shared::clock::{Clock, SystemClock};
use shared::config::Config;
use shared::snapshot::SnapshotStore;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let snapshots =
        SnapshotStore::new(shared::client::dynamodb_client((&aws).into()), &config.tables.snapshots);
    let service = CleanupService::new(snapshots, config.snapshots, Arc::new(SystemClock));
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let stop_at = snapshot_cleanup::stop_at(event.context.deadline, SystemClock.now_ms() as u64);
        snapshot_cleanup::handle(service, event.payload, stop_at).await
    }))
    .await
}
