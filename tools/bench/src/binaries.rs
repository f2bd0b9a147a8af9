//! Each function binary as Lambda runs it: start-up time to ready (its first request for an
//! invocation) and peak memory, under a local stand-in for the Lambda Runtime API.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};

#[derive(Clone)]
struct Runtime {
    /// The events to hand out, one per `next`; afterwards `next` waits forever.
    events: Arc<Mutex<Vec<Value>>>,
    ready: mpsc::UnboundedSender<Instant>,
    done: Arc<Notify>,
    response: Arc<Mutex<Option<Value>>>,
}

async fn next(State(rt): State<Runtime>) -> impl IntoResponse {
    let _ = rt.ready.send(Instant::now());
    let event = rt.events.lock().expect("events").pop();
    let Some(event) = event else { return std::future::pending::<(HeaderMap, String)>().await };
    let mut headers = HeaderMap::new();
    let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap()
        + Duration::from_secs(300);
    headers.insert("lambda-runtime-aws-request-id", "bench-request".parse().unwrap());
    headers.insert("lambda-runtime-deadline-ms", deadline.as_millis().to_string().parse().unwrap());
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:bench".parse().unwrap(),
    );
    headers.insert("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000".parse().unwrap());
    (headers, event.to_string())
}

async fn respond(State(rt): State<Runtime>, Path(_id): Path<String>, body: String) -> &'static str {
    *rt.response.lock().expect("response") = serde_json::from_str(&body).ok();
    rt.done.notify_one();
    "{}"
}

pub struct Run {
    pub ready: Duration,
    pub peak_rss_kib: i64,
    pub response: Option<Value>,
}

/// Starts `binary` with `env`, optionally hands it one event, and measures.
pub async fn run(binary: &PathBuf, env: &[(String, String)], event: Option<Value>) -> Result<Run, String> {
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let rt = Runtime {
        events: Arc::new(Mutex::new(event.clone().into_iter().collect())),
        ready: ready_tx,
        done: Arc::new(Notify::new()),
        response: Arc::new(Mutex::new(None)),
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(respond))
        .route("/2018-06-01/runtime/init/error", post(respond))
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let api = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let started = Instant::now();
    let child = Command::new(binary)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let pid = child.id() as i32;
    let ready_at = tokio::time::timeout(Duration::from_secs(30), ready_rx.recv())
        .await
        .map_err(|_| format!("{} never asked for an invocation", binary.display()))?
        .ok_or("runtime API closed")?;
    if event.is_some() {
        tokio::time::timeout(Duration::from_secs(300), rt.done.notified())
            .await
            .map_err(|_| format!("{} did not answer the invocation", binary.display()))?;
    }
    // VmHWM: the peak resident set since exec (rusage's maxrss would also count the forked
    // image of this process before exec).
    let peak = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<i64>().ok()))
        .ok_or_else(|| format!("no VmHWM for {}", binary.display()))?;
    // SAFETY: our own child, killed and reaped.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
    }
    server.abort();
    let response = rt.response.lock().expect("response").take();
    Ok(Run { ready: ready_at - started, peak_rss_kib: peak, response })
}
