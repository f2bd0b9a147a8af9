use lambda_http::{Error, run};
use shared::cleanup::CleanupService;
use shared::clock::SystemClock;
use shared::config::Config;
use shared::repository::OrderRepository;
use shared::snapshot_service::SnapshotService;
use snapshot_admin::audit::LogAudit;
use snapshot_admin::auth::AuthPolicy;
use snapshot_admin::cleanup_starter::LambdaCleanupStarter;
use snapshot_admin::{AppState, router};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let cleanup_function = std::env::var("CLEANUP_FUNCTION_NAME")
        .map_err(|_| "CLEANUP_FUNCTION_NAME is not set: the function to start for POST /cleanup")?;
    let log_group =
        std::env::var("CLEANUP_LOG_GROUP").unwrap_or_else(|_| format!("/aws/lambda/{cleanup_function}"));
    let admin_group = std::env::var("ADMIN_GROUP").unwrap_or_else(|_| AuthPolicy::default().admin_group);
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamo = shared::client::dynamodb_client((&aws).into());
    let repository = OrderRepository::for_tables(dynamo, &config.tables);
    let snapshots = repository.snapshots().clone();
    let clock = Arc::new(SystemClock);
    let state = AppState {
        snapshots: Arc::new(SnapshotService::new(repository, config.snapshots.clone(), clock.clone())),
        cleanup: Arc::new(CleanupService::new(snapshots, config.snapshots, clock)),
        cleanup_starter: Arc::new(LambdaCleanupStarter {
            client: aws_sdk_lambda::Client::new(&aws),
            function_name: cleanup_function,
            log_group,
        }),
        audit: Arc::new(LogAudit),
        auth: Arc::new(AuthPolicy { admin_group }),
    };
    run(router(state)).await
}
