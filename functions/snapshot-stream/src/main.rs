use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::clock::SystemClock;
use shared::config::Config;
use shared::repository::OrderRepository;
use shared::snapshot_service::SnapshotService;
use snapshot_stream::RawStreamEvent;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = shared::client::dynamodb_client((&aws).into());
    let repository = OrderRepository::for_tables(client, &config.tables);
    let service = SnapshotService::new(repository, config.snapshots, Arc::new(SystemClock));
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<RawStreamEvent>| async move {
        snapshot_stream::handle_raw(service, event.payload).await
    }))
    .await
}
