use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::runtime::config::Config;
use shared::runtime::metrics::Metrics;
use shared::use_cases::clock::{Clock, SystemClock};
use shared::use_cases::maintenance::Maintenance;
use snapshot_maintenance::{FUNCTION, handle, stop_at};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::runtime::telemetry::init();
    let config = Config::from_env()?;
    let aws = shared::runtime::client::sdk_config().await;
    let repository = config.repository(shared::runtime::client::dynamodb_client((&aws).into()));
    let maintenance =
        &Maintenance::new(repository, config.retention, &config.maintenance, Arc::new(SystemClock));
    let metrics = &Metrics::emf(FUNCTION, &config.stack);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let stop_at = stop_at(event.context.deadline, SystemClock.now_ms() as u64);
        handle(maintenance, metrics, event.payload, stop_at).await
    }))
    .await
}
