//! `make invoke FN=<function> EVENT=<file>`: runs one function on one sample event, locally,
//! the way Lambda would: a fresh local DynamoDB server with the tables and the data the sample
//! events refer to, `cargo lambda watch` serving the function (and the Lambda Invoke API, so the
//! admin API's async cleanup reaches the cleanup function), then `cargo lambda invoke`.
//!
//! `make seed-local` (`local-invoke --seed <endpoint>`) only seeds a running local server (`make
//! run`'s) with the tables and the data every sample event refers to: for `sam local invoke`.

use serde_json::Value;
use shared::domain::samples::recorded;
use shared::domain::{Money, Order, OrderEvent};
use shared::store::snapshots::{NewSnapshot, SnapshotStore};
use shared::store::tables;
use shared::store::tables::TableNames;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use testkit::stream_events::inserted_events;
use testkit::{LocalDynamo, bulk_insert_events, client_for};

const FUNCTIONS: [&str; 3] = ["snapshot-stream", "snapshot-maintenance", "snapshot-admin"];

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("local-invoke: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<ExitCode, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, endpoint] = args.as_slice()
        && flag == "--seed"
    {
        return seed_running(endpoint).await;
    }
    let [function, event] = args.as_slice() else {
        return Err("usage: local-invoke <function> <events/function/file.json> | --seed <endpoint>".into());
    };
    if !FUNCTIONS.contains(&function.as_str()) {
        return Err(format!("unknown function {function:?}; one of {FUNCTIONS:?}"));
    }
    let event = PathBuf::from(event);
    if !event.is_file() {
        return Err(format!("{} is not a file", event.display()));
    }
    let cargo_lambda = venv_bin("cargo-lambda")?;

    let server = LocalDynamo::start().map_err(|e| format!("cannot start moto_server: {e}"))?;
    let endpoint = server.endpoint();
    let client = client_for(&endpoint);
    let names = TableNames::default();
    tables::EVENTS.create(&client, &names.events).await.map_err(|e| e.to_string())?;
    tables::SNAPSHOTS.create(&client, &names.snapshots).await.map_err(|e| e.to_string())?;
    seed(&client, &names, function).await?;
    println!("local DynamoDB on {endpoint}, tables seeded for the sample events");

    let port = free_port()?;
    let env = [
        format!("AWS_ENDPOINT_URL_DYNAMODB={endpoint}"),
        format!("AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:{port}"),
        "AWS_REGION=us-east-1".into(),
        "AWS_ACCESS_KEY_ID=test".into(),
        "AWS_SECRET_ACCESS_KEY=test".into(),
        "MAINTENANCE_FUNCTION_NAME=snapshot-maintenance".into(),
        "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH=true".into(),
    ];
    let mut watch = Command::new(&cargo_lambda);
    watch
        .args(["lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port", &port.to_string()])
        .arg("--env-var")
        .arg(env.join(","))
        .stdin(Stdio::null())
        .process_group(0);
    let watch = Guard(watch.spawn().map_err(|e| format!("cargo lambda watch: {e}"))?);
    wait_for_port(port, Duration::from_secs(120))?;

    println!("invoking {function} with {}", event.display());
    let status = Command::new(&cargo_lambda)
        .args([
            "lambda",
            "invoke",
            function,
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .arg("--data-file")
        .arg(&event)
        .args(["--output-format", "json"])
        .status()
        .map_err(|e| format!("cargo lambda invoke: {e}"))?;
    // Let an async cleanup started by the admin API finish before tearing down.
    std::thread::sleep(Duration::from_millis(500));
    drop(watch);
    server.stop();
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The data the sample events talk about: for the stream function, the events its INSERT
/// records carry (as the order service appended them); for the others, order o-1001 with 25
/// events and 4 snapshots of various ages.
/// Seeds a running server at `endpoint`: the tables (left as they are when they exist) and the
/// data of every function's sample events.
async fn seed_running(endpoint: &str) -> Result<ExitCode, String> {
    let client = client_for(endpoint);
    let names = TableNames::default();
    tables::EVENTS.create(&client, &names.events).await.map_err(|e| e.to_string())?;
    tables::SNAPSHOTS.create(&client, &names.snapshots).await.map_err(|e| e.to_string())?;
    seed_stream_samples(&client, &names).await?;
    seed_order_1001(&client, &names).await?;
    println!(
        "{endpoint}: tables {} and {} hold what the sample events refer to",
        names.events, names.snapshots
    );
    Ok(ExitCode::SUCCESS)
}

async fn seed(client: &aws_sdk_dynamodb::Client, names: &TableNames, function: &str) -> Result<(), String> {
    if function == "snapshot-stream" {
        return seed_stream_samples(client, names).await;
    }
    seed_order_1001(client, names).await
}

async fn seed_stream_samples(client: &aws_sdk_dynamodb::Client, names: &TableNames) -> Result<(), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/snapshot-stream");
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let event: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        bulk_insert_events(client, &names.events, &inserted_events(&event)).await;
    }
    Ok(())
}

async fn seed_order_1001(client: &aws_sdk_dynamodb::Client, names: &TableNames) -> Result<(), String> {
    let history: Vec<_> = (1..=25u64)
        .map(|seq| {
            let event = match seq {
                1 => OrderEvent::OrderCreated { customer_id: "cust-42".into(), currency: "EUR".into() },
                _ => OrderEvent::ItemAdded {
                    sku: format!("SKU-{:03}", seq % 6),
                    name: "Ceramic mug".into(),
                    quantity: 1,
                    unit_price: Money::from_minor(1450),
                },
            };
            recorded("o-1001", seq, event)
        })
        .collect();
    bulk_insert_events(client, &names.events, &history).await;
    let snapshots = SnapshotStore::new(client.clone(), &names.snapshots);
    for (version, days_ago) in [(5u64, 200i64), (10, 120), (15, 3), (20, 1)] {
        let new = NewSnapshot {
            state: Order::replay("o-1001", &history[..version as usize]).map_err(|e| e.to_string())?,
            timestamp: shared::use_cases::clock::Clock::now_ms(&shared::use_cases::clock::SystemClock)
                - days_ago * 86_400_000,
            created_by: "local-invoke".into(),
            reason: "sample data".into(),
            strategy: None,
            rule: None,
        };
        match snapshots.put(&new).await {
            // seeded before: the snapshot is there
            Ok(_) | Err(shared::store::snapshots::SnapshotStoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// The project's virtualenv holds cargo-lambda (`make venv`).
fn venv_bin(name: &str) -> Result<PathBuf, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin").join(name);
    if path.is_file() { Ok(path) } else { Err(format!("{} not found: run `make venv`", path.display())) }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn wait_for_port(port: u16, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("cargo lambda watch did not listen on {port} within {timeout:?}"))
}

/// Kills the process group of a child (cargo lambda watch and the functions it runs).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's process group.
        unsafe {
            libc::kill(-(self.0.id() as i32), libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}
