//! The admin API as deployed starts maintenance jobs by invoking the maintenance function:
//! here through a local stand-in for Lambda's Invoke API that runs the real maintenance
//! handler (`local::lambda_api`), and with a function the account does not have.

use local::lambda_api::LocalLambda;
use shared::policy::settings::{MaintenanceSettings, RetentionSettings};
use shared::use_cases::clock::ManualClock;
use shared::use_cases::maintenance::Maintenance;
use std::sync::Arc;
use std::time::Duration;
use testkit::{TestTables, bulk_insert_events, plain_history};

const FUNCTION: &str = "snapshot-maintenance";

fn lambda_client(endpoint: &str) -> aws_sdk_lambda::Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_lambda::config::Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}

/// The admin API as deployed: jobs start by invoking `function` through `endpoint`.
fn deployed_api(t: &TestTables, endpoint: &str, function: &str) -> axum::Router {
    use snapshot_admin::job_starter::LambdaJobStarter;
    let starter: Arc<dyn snapshot_admin::job_starter::JobStarter> = Arc::new(LambdaJobStarter {
        client: lambda_client(endpoint),
        function_name: function.into(),
        log_group: format!("/aws/lambda/{function}"),
    });
    let state = snapshot_admin::AppState::new(
        t.repository(),
        RetentionSettings::default(),
        &MaintenanceSettings { canary_orders: 2, rebuild_orders_per_second: 0 },
        Arc::new(ManualClock::at(1_800_000_000_000)),
        Arc::new(snapshot_admin::access::MemoryAudit::default()),
        |_| starter,
    );
    snapshot_admin::router(state).layer(axum::Extension(snapshot_admin::access::LocalCaller("test".into())))
}

async fn post(router: &axum::Router, uri: &str, body: &str) -> (u16, serde_json::Value) {
    use tower::ServiceExt;
    let request = axum::http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_owned()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn deployed_the_admin_api_starts_the_real_maintenance_handler_through_lambdas_invoke_api() {
    // given orders without snapshots and a stand-in for Lambda serving the maintenance function
    let t = TestTables::new().await;
    for order in ["inv-1", "inv-2", "inv-3"] {
        bulk_insert_events(&t.client, &t.events_table, &plain_history(order, 6)).await;
    }
    let settings = MaintenanceSettings { canary_orders: 2, rebuild_orders_per_second: 0 };
    let clock = Arc::new(ManualClock::at(1_800_000_000_000));
    let maintenance = Maintenance::new(t.repository(), RetentionSettings::default(), &settings, clock);
    let (endpoint, lambda) = LocalLambda::serve(FUNCTION, maintenance).await;
    let api = deployed_api(&t, &endpoint, FUNCTION);

    // when an operator starts a rebuild
    let (status, body) = post(&api, "/admin/order-snapshots/rebuild", r#"{"scope": {"kind": "all"}}"#).await;

    // then the API answered 202 with the invocation, and the maintenance handler renewed all
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["started"]["runner"], "lambda:snapshot-maintenance", "{body}");
    assert!(body["started"]["invocationId"].is_string(), "the invocation's request id: {body}");
    let answers = lambda.finished(Duration::from_secs(60)).await;
    let answer = answers.first().cloned().expect("the maintenance handler answered").expect("and succeeded");
    assert_eq!((answer["finished"].as_bool(), answer["rebuilt"].as_u64()), (Some(true), Some(3)), "{answer}");
    for order in ["inv-1", "inv-2", "inv-3"] {
        assert_eq!(t.verified_snapshots(order).await, vec![6]);
    }
}

#[tokio::test]
async fn an_invoke_that_fails_is_a_503_naming_the_function_not_a_500() {
    let t = TestTables::new().await;
    let settings = MaintenanceSettings::default();
    let clock = Arc::new(ManualClock::at(1_800_000_000_000));
    let maintenance = Maintenance::new(t.repository(), RetentionSettings::default(), &settings, clock);
    let (endpoint, lambda) = LocalLambda::serve(FUNCTION, maintenance).await;
    // a function name the account does not have
    let api = deployed_api(&t, &endpoint, "snapshot-maintenance-gone");

    let (status, body) = post(&api, "/admin/order-snapshots/cleanup", "").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("snapshot-maintenance-gone"), "{message}");
    assert!(lambda.finished(Duration::from_secs(1)).await.is_empty(), "nothing ran");
}
