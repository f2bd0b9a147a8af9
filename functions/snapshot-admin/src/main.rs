use lambda_http::{Error, run};
use shared::clock::SystemClock;
use shared::config::Config;
use shared::repository::OrderRepository;
use snapshot_admin::audit::LogAudit;
use snapshot_admin::job_starter::LambdaJobStarter;
use snapshot_admin::{AppState, router};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = Config::from_env()?;
    let cleanup_function = std::env::var("CLEANUP_FUNCTION_NAME")
        .map_err(|_| "CLEANUP_FUNCTION_NAME is not set: the function to start for POST /cleanup")?;
    let log_group =
        std::env::var("CLEANUP_LOG_GROUP").unwrap_or_else(|_| format!("/aws/lambda/{cleanup_function}"));
    let aws = shared::client::sdk_config().await;
    let repository = OrderRepository::from_config(shared::client::dynamodb_client((&aws).into()), &config);
    let starter = LambdaJobStarter {
        client: aws_sdk_lambda::Client::new(&aws),
        function_name: cleanup_function,
        log_group,
    };
    let state =
        AppState::new(repository, config.retention, Arc::new(SystemClock), Arc::new(LogAudit), |_, _| {
            Arc::new(starter)
        });
    run(router(state)).await
}
