use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::runtime::config::Config;
use shared::runtime::metrics::Metrics;
use shared::use_cases::clock::SystemClock;
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use snapshot_stream::{FUNCTION, RawStreamEvent, handle};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::runtime::telemetry::init();
    let config = Config::from_env()?;
    let aws = shared::runtime::client::sdk_config().await;
    let client = shared::runtime::client::dynamodb_client((&aws).into());
    let repository = config.repository(client);
    let service = &StreamSnapshotter::new(repository, config.strategy, Arc::new(SystemClock));
    let metrics = &Metrics::emf(FUNCTION, &config.stack);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<RawStreamEvent>| async move {
        handle(service, metrics, event.payload).await
    }))
    .await
}
