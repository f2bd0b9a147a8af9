//! `make run` (the local-stack binary) with a port already taken: it stops before starting
//! anything, naming the port and the variable that moves it.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

fn run_with(variable: &str, taken: u16, other: &str) -> (bool, String, String, Duration) {
    let free = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_local-stack"))
        .env(variable, taken.to_string())
        .env(other, free.to_string())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr), started.elapsed())
}

#[test]
fn a_taken_port_stops_make_run_before_anything_starts() {
    // something (a NestJS service, say) already listens on the port
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = held.local_addr().unwrap().port();
    for (variable, other) in
        [("LOCAL_ADMIN_PORT", "LOCAL_DYNAMO_PORT"), ("LOCAL_DYNAMO_PORT", "LOCAL_ADMIN_PORT")]
    {
        let (ok, stdout, stderr, took) = run_with(variable, taken, other);
        assert!(!ok, "{variable}: it must fail");
        assert!(
            stderr.contains(&format!("port {taken}")) && stderr.contains(variable),
            "{variable}: {stderr}"
        );
        assert!(stdout.is_empty(), "{variable}: nothing started or printed first: {stdout}");
        assert!(took < Duration::from_secs(20), "{variable}: found at once, took {took:?}");
    }
}

/// One raw HTTP/1.1 exchange with `make run`'s admin server: the status and the JSON body.
async fn exchange(port: u16, head: &str, body: &[u8]) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut request = head.as_bytes().to_vec();
    request.extend_from_slice(body);
    // the server may answer and close before it has read everything: that is its right
    let _ = stream.write_all(&request).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (headers, json) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    assert!(headers.to_ascii_lowercase().contains("content-type: application/json"), "{headers}");
    (status, serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {json:.200}")))
}

#[tokio::test]
async fn every_error_of_the_local_admin_server_is_json() {
    use shared::use_cases::clock::ManualClock;
    let t = testkit::TestTables::new().await;
    let state = snapshot_admin::AppState::in_process(
        t.repository(),
        shared::policy::settings::RetentionSettings::default(),
        std::sync::Arc::new(ManualClock::at(0)),
        std::sync::Arc::new(snapshot_admin::access::MemoryAudit::default()),
        Duration::from_secs(5),
    );
    let router = snapshot_admin::router(state)
        .layer(axum::Extension(snapshot_admin::access::LocalCaller("test".into())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(local::admin_server::serve(listener, router));

    // a 100,000-character order id: too long for the HTTP library, answered in our shape
    let id = "a".repeat(100_000);
    let head = format!("GET /admin/orders/{id} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    let (status, body) = exchange(port, &head, b"").await;
    assert_eq!((status, body["error"]["code"].as_str()), (414, Some("uri_too_long")), "{body}");
    // a 3 MB body
    let big = vec![b'x'; 3 << 20];
    let head = format!(
        "POST /admin/order-snapshots/create/o-1 HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        big.len()
    );
    let (status, body) = exchange(port, &head, &big).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")), "{body}");
    // and ordinary traffic still flows through the guard
    let head = "GET /admin/orders/nobody HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    let (status, body) = exchange(port, head, b"").await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
}
