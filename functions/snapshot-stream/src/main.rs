use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::clock::SystemClock;
use shared::config::Config;
use shared::metrics::Metrics;
use shared::repository::OrderRepository;
use shared::stream_snapshots::StreamSnapshotter;
use snapshot_stream::{FUNCTION, RawStreamEvent, handle};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = Config::from_env()?;
    let aws = shared::client::sdk_config().await;
    let client = shared::client::dynamodb_client((&aws).into());
    let repository = OrderRepository::from_config(client, &config);
    let service = &StreamSnapshotter::new(repository, config.strategy, Arc::new(SystemClock));
    let metrics = &Metrics::emf(FUNCTION, &config.stack);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<RawStreamEvent>| async move {
        handle(service, metrics, event.payload).await
    }))
    .await
}
