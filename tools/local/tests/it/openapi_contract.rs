//! The admin API held to its OpenAPI file by an outside fuzzer: schemathesis (pinned in the
//! venv) generates requests from `functions/snapshot-admin/openapi.yaml` against the admin router
//! on a local server over real tables, and fails on any 5xx, any schema-valid request refused,
//! any schema-violating request accepted, and any answer the file does not describe. Its
//! settings are in `functions/snapshot-admin/schemathesis.toml`: a fixed seed and a fixed number
//! of cases and scenarios, no time budget, so a commit gets the same verdict on any machine.
//! Authentication is left out, on purpose: locally every request carries the local admin
//! identity (API Gateway's SigV4 has no local counterpart), so the file's security scheme is not
//! generated and the authentication checks are skipped.

use shared::domain::Order;
use shared::policy::settings::RetentionSettings;
use shared::use_cases::clock::ManualClock;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use testkit::{LocalDynamo, TestTables, bulk_insert_events, plain_history, snapshot_of};

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_disagreement_between_the_openapi_file_and_the_admin_api() {
    // its own server: the fuzzer's traffic stays off the other tests' tables
    let server = LocalDynamo::start().unwrap();
    let t = TestTables::on(&server).await;
    let events = plain_history("o-1001", 25);
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    for at in [10, 20] {
        t.snapshot_store().put(&snapshot_of(Order::replay("o-1001", &events[..at]).unwrap())).await.unwrap();
    }
    let state = snapshot_admin::AppState::in_process(
        t.repository(),
        RetentionSettings::default(),
        Arc::new(ManualClock::at(1_800_000_000_000)),
        Arc::new(snapshot_admin::access::LogAudit),
        Duration::from_secs(30),
    );
    let router = snapshot_admin::router(state)
        .layer(axum::Extension(snapshot_admin::access::LocalCaller("schemathesis".into())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(local::admin_server::serve(listener, router));

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workdir = std::env::temp_dir().join(format!("schemathesis-{}", std::process::id()));
    std::fs::create_dir_all(&workdir).unwrap();
    let admin = root.join("functions/snapshot-admin");
    let out = tokio::process::Command::new(root.join(".venv/bin/st"))
        .current_dir(&workdir)
        .arg("--config-file")
        .arg(admin.join("schemathesis.toml"))
        .arg("run")
        .arg(admin.join("openapi.yaml"))
        .args(["--url", &url, "--no-color"])
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .output()
        .await
        .expect("schemathesis runs from the venv (make venv installs it)");
    std::fs::remove_dir_all(&workdir).ok();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found disagreements:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("Tested: 9"), "every operation of the file was exercised:\n{report}");
    // the summary, in the test's output
    println!("{}", report.lines().skip_while(|l| !l.contains("SUMMARY")).collect::<Vec<_>>().join("\n"));
    server.stop();
}
