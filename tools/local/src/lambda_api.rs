//! A stand-in for Lambda's Invoke API on localhost, what `sam local start-lambda` would give:
//! an asynchronous invocation of the maintenance function runs its real handler
//! (`snapshot_maintenance::handle`, on the maintenance use case the function's own
//! configuration builds) in this process and answers 202; any other function name is answered
//! as Lambda answers an unknown function (404 `ResourceNotFoundException`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use shared::runtime::metrics::Metrics;
use shared::use_cases::maintenance::Maintenance;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct LocalLambda {
    function: String,
    maintenance: Arc<Maintenance>,
    /// The handler's answers, in the order its runs finished.
    pub answers: Arc<Mutex<Vec<Result<serde_json::Value, String>>>>,
    started: Arc<AtomicUsize>,
}

impl LocalLambda {
    /// Serves `function` (the name the admin API invokes) on a free port; the endpoint to give
    /// a Lambda client.
    pub async fn serve(function: &str, maintenance: Maintenance) -> (String, LocalLambda) {
        let lambda = LocalLambda {
            function: function.to_owned(),
            maintenance: Arc::new(maintenance),
            answers: Arc::default(),
            started: Arc::default(),
        };
        let app = Router::new()
            .route("/2015-03-31/functions/{name}/invocations", post(invoke))
            .with_state(lambda.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().expect("bound"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (endpoint, lambda)
    }

    /// Waits until every run started so far has answered (or `within` passed); the answers.
    pub async fn finished(&self, within: Duration) -> Vec<Result<serde_json::Value, String>> {
        let until = Instant::now() + within;
        while self.answers.lock().expect("answers lock").len() < self.started.load(Ordering::SeqCst)
            && Instant::now() < until
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.answers.lock().expect("answers lock").clone()
    }
}

async fn invoke(State(lambda): State<LocalLambda>, Path(name): Path<String>, payload: Bytes) -> Response {
    if name != lambda.function {
        let body = serde_json::json!({"Type": "User", "message": format!("Function not found: {name}")});
        return (
            StatusCode::NOT_FOUND,
            [("x-amzn-errortype", "ResourceNotFoundException")],
            body.to_string(),
        )
            .into_response();
    }
    let Ok(input) = serde_json::from_slice::<serde_json::Value>(&payload) else {
        let body = serde_json::json!({"Type": "User", "message": "the payload is not JSON"});
        return (
            StatusCode::BAD_REQUEST,
            [("x-amzn-errortype", "InvalidRequestContentException")],
            body.to_string(),
        )
            .into_response();
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    lambda.started.fetch_add(1, Ordering::SeqCst);
    tokio::spawn(async move {
        let metrics = Metrics::recorded(snapshot_maintenance::FUNCTION);
        let deadline = Instant::now() + Duration::from_secs(60);
        let answer = snapshot_maintenance::handle(&lambda.maintenance, &metrics, input, deadline).await;
        lambda.answers.lock().expect("answers lock").push(answer.map_err(|e| e.to_string()));
    });
    (StatusCode::ACCEPTED, [("x-amzn-requestid", request_id)], "").into_response()
}
