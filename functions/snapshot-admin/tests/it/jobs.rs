//! Jobs the admin API starts: locally they run in this process through the maintenance
//! function's own entry point (`Maintenance::run`), so a local nightly run does what the
//! deployed one does: retention over the table, then the drift canary on its sample.

use shared::policy::settings::{MaintenanceSettings, RetentionSettings};
use shared::use_cases::clock::ManualClock;
use shared::use_cases::maintenance::{Job, Maintenance, Outcome};
use snapshot_admin::job_starter::{InProcessJobStarter, JobStarter, payload};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::{TestTables, bulk_insert_events, plain_history, snapshot_at};

/// Waits for the starter's first finished run.
async fn first_finished(starter: &InProcessJobStarter) -> Outcome {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(outcome) = starter.finished().into_iter().next() {
            return outcome;
        }
        assert!(Instant::now() < until, "the run did not finish within a minute");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_local_nightly_run_applies_retention_and_then_runs_the_canary() {
    // given two orders with five snapshots each (retention keeps three)
    let t = TestTables::new().await;
    for order in ["night-1", "night-2"] {
        let events = plain_history(order, 5);
        bulk_insert_events(&t.client, &t.events_table, &events).await;
        for seq in 1..=5 {
            t.snapshot_store().put(&snapshot_at(&events, seq)).await.unwrap();
        }
    }
    let settings = MaintenanceSettings { canary_orders: 4, rebuild_orders_per_second: 0 };
    let clock = Arc::new(ManualClock::at(1_800_000_000_000));
    let maintenance = Maintenance::new(t.repository(), RetentionSettings::default(), &settings, clock);
    let starter = InProcessJobStarter::new(Arc::new(maintenance), Duration::from_secs(60));

    // when the admin API starts the nightly job locally
    let started = starter.start(Job::Nightly, "test").await.unwrap();
    assert_eq!(started.runner, "in-process");

    // then it applied retention and verified the sample it picked
    let Outcome::Nightly { cleanup, canary } = first_finished(&starter).await else {
        panic!("a nightly run reports retention and the canary")
    };
    assert_eq!((cleanup.orders_examined, cleanup.snapshots_deleted), (2, 4), "{cleanup:?}");
    assert!(cleanup.finished);
    assert_eq!(canary.checked, 2, "both orders sampled and verified: {canary:?}");
    assert!(canary.drifted.is_empty());
    for order in ["night-1", "night-2"] {
        assert_eq!(t.verified_snapshots(order).await, vec![5, 4, 3]);
    }
}

#[test]
fn the_deployed_starter_sends_what_the_maintenance_function_parses() {
    for job in [Job::Nightly, Job::Rebuild, Job::Order("o-1".into())] {
        let sent = payload(&job, "arn:aws:iam::1:user/admin");
        assert_eq!(snapshot_maintenance_job(&sent), job, "{sent}");
    }
}

/// How the maintenance function reads its input (its crate's own parser).
fn snapshot_maintenance_job(input: &serde_json::Value) -> Job {
    snapshot_maintenance::parse_request(input).expect("the maintenance function accepts it")
}

/// A stand-in for Lambda's Invoke API on localhost: an asynchronous invocation of the
/// maintenance function runs its real handler (`snapshot_maintenance::handle`) in this
/// process; any other function name is answered as Lambda answers an unknown function.
mod invoke_api {
    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use shared::runtime::metrics::Metrics;
    use shared::use_cases::maintenance::Maintenance;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    pub const FUNCTION: &str = "snapshot-maintenance";

    #[derive(Clone)]
    pub struct Lambda {
        maintenance: Arc<Maintenance>,
        /// The answers of the handler runs, in the order they finished.
        pub answers: Arc<Mutex<Vec<Result<serde_json::Value, String>>>>,
    }

    /// Serves on a free port; the endpoint to give the Lambda client.
    pub async fn serve(maintenance: Maintenance) -> (String, Lambda) {
        let lambda = Lambda { maintenance: Arc::new(maintenance), answers: Arc::default() };
        let app = Router::new()
            .route("/2015-03-31/functions/{name}/invocations", post(invoke))
            .with_state(lambda.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (endpoint, lambda)
    }

    async fn invoke(State(lambda): State<Lambda>, Path(name): Path<String>, payload: Bytes) -> Response {
        if name != FUNCTION {
            let body = serde_json::json!({"Type": "User", "message": format!("Function not found: {name}")});
            return (
                StatusCode::NOT_FOUND,
                [("x-amzn-errortype", "ResourceNotFoundException")],
                body.to_string(),
            )
                .into_response();
        }
        let input: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        tokio::spawn(async move {
            let metrics = Metrics::recorded(snapshot_maintenance::FUNCTION);
            let deadline = Instant::now() + Duration::from_secs(60);
            let answer = snapshot_maintenance::handle(&lambda.maintenance, &metrics, input, deadline).await;
            let answer = answer.map_err(|e| e.to_string());
            lambda.answers.lock().unwrap().push(answer);
        });
        (StatusCode::ACCEPTED, [("x-amzn-requestid", "local-invocation-1")], "").into_response()
    }
}

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
        Arc::new(snapshot_admin::audit::MemoryAudit::default()),
        |_| starter,
    );
    snapshot_admin::router(state).layer(axum::Extension(snapshot_admin::auth::LocalCaller("test".into())))
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
    let (endpoint, lambda) =
        invoke_api::serve(Maintenance::new(t.repository(), RetentionSettings::default(), &settings, clock))
            .await;
    let api = deployed_api(&t, &endpoint, invoke_api::FUNCTION);

    // when an operator starts a rebuild
    let (status, body) = post(&api, "/admin/order-snapshots/rebuild", r#"{"scope": {"kind": "all"}}"#).await;

    // then the API answered 202 with the invocation, and the maintenance handler renewed all
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["started"]["runner"], "lambda:snapshot-maintenance", "{body}");
    assert_eq!(body["started"]["invocationId"], "local-invocation-1", "{body}");
    let until = Instant::now() + Duration::from_secs(60);
    while lambda.answers.lock().unwrap().is_empty() {
        assert!(Instant::now() < until, "the maintenance handler did not answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = lambda.answers.lock().unwrap()[0].clone().expect("the handler succeeded");
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
    let (endpoint, lambda) =
        invoke_api::serve(Maintenance::new(t.repository(), RetentionSettings::default(), &settings, clock))
            .await;
    // a function name the account does not have
    let api = deployed_api(&t, &endpoint, "snapshot-maintenance-gone");

    let (status, body) = post(&api, "/admin/order-snapshots/cleanup", "").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("snapshot-maintenance-gone"), "{message}");
    assert!(lambda.answers.lock().unwrap().is_empty(), "nothing ran");
}
