use lambda_http::{Error, run};
use shared::runtime::config::Config;
use shared::use_cases::clock::SystemClock;
use snapshot_admin::access::LogAudit;
use snapshot_admin::job_starter::LambdaJobStarter;
use snapshot_admin::{AppState, router};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::runtime::telemetry::init();
    let config = Config::from_env()?;
    let maintenance_function = std::env::var("MAINTENANCE_FUNCTION_NAME").map_err(
        |_| "MAINTENANCE_FUNCTION_NAME is not set: the function to start for POST /cleanup and /rebuild",
    )?;
    let log_group = std::env::var("MAINTENANCE_LOG_GROUP")
        .unwrap_or_else(|_| format!("/aws/lambda/{maintenance_function}"));
    let aws = shared::runtime::client::sdk_config().await;
    let repository = config.repository(shared::runtime::client::dynamodb_client((&aws).into()));
    // The maintenance function's Invoke API: Lambda's, or a local one (`sam local
    // start-lambda`, `make invoke`) named by LOCAL_LAMBDA_ENDPOINT_URL; AWS_ENDPOINT_URL_LAMBDA
    // works too, as for any SDK client.
    let mut lambda = aws_sdk_lambda::config::Builder::from(&aws);
    if let Some(url) = std::env::var("LOCAL_LAMBDA_ENDPOINT_URL").ok().filter(|u| !u.trim().is_empty()) {
        lambda = lambda.endpoint_url(url);
    }
    let starter = LambdaJobStarter {
        client: aws_sdk_lambda::Client::from_conf(lambda.build()),
        function_name: maintenance_function,
        log_group,
    };
    let (clock, audit) = (Arc::new(SystemClock), Arc::new(LogAudit));
    let state =
        AppState::new(repository, config.retention, &config.maintenance, clock, audit, |_| Arc::new(starter));
    run(router(state)).await
}
