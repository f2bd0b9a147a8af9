//! `local-peer`: the Rust side of the Node package's tests across languages
//! (`clients/node/test/`). It starts a DynamoDB-compatible server (`--engine moto` or
//! `--engine dynalite`) with an event table and a snapshot table, prints where they are as one
//! JSON line, then answers one JSON line per request read from stdin:
//!
//! - `{"op":"drain"}`: the local stream runner delivers the event table's stream to the stream
//!   function's handler until the stream is idle (moto: dynalite has no streams);
//! - `{"op":"load","orderId":…}`: the order as the Rust load gives it, what that load cost, and
//!   the reason code of every snapshot a reader passes over;
//! - `{"op":"snapshot","orderId":…}`: a snapshot of the order now, as the admin API's create
//!   takes it (dynalite's way to a snapshot);
//! - `{"op":"verify","orderId":…}`: the admin API's verify (the newest snapshot against a replay).
//!
//! When stdin closes it stops the server and exits, so a test that dies takes it along.

use local::stream_runner::{RunnerConfig, StreamRunner};
use serde_json::{Value, json};
use shared::domain::OrderId;
use shared::policy::settings::StrategySettings;
use shared::store::StoreError;
use shared::store::snapshots::ANCHOR_MISMATCH;
use shared::use_cases::admin::SnapshotAdmin;
use shared::use_cases::clock::SystemClock;
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use std::process::ExitCode;
use std::sync::Arc;
use testkit::{Engine, LocalDynamo, TestTables};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("local-peer: {message}");
            ExitCode::FAILURE
        }
    }
}

fn engine_from_args() -> Result<Engine, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] | ["--engine", "moto"] => Ok(Engine::Moto),
        ["--engine", "dynalite"] => Ok(Engine::Dynalite),
        _ => Err("usage: local-peer [--engine moto|dynalite]".into()),
    }
}

async fn run() -> Result<(), String> {
    let engine = engine_from_args()?;
    let server = LocalDynamo::start_engine(engine).map_err(|e| format!("start {engine:?}: {e}"))?;
    let tables = TestTables::on(&server).await;
    let mut runner = match engine {
        Engine::Moto => Some(runner(&tables).await?),
        Engine::Dynalite => None,
    };
    let stream =
        StreamSnapshotter::new(tables.repository(), StrategySettings::default(), Arc::new(SystemClock));
    let ready = json!({
        "engine": format!("{engine:?}").to_lowercase(),
        "endpoint": tables.endpoint,
        "eventsTable": tables.events_table,
        "snapshotsTable": tables.snapshots_table,
    });
    println!("{ready}");
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await.map_err(|e| format!("stdin: {e}"))? {
        let answer = match serde_json::from_str::<Value>(&line) {
            Ok(request) => answer(&request, &tables, runner.as_mut(), &stream).await,
            Err(e) => json!({ "error": { "code": "bad_request", "message": format!("not JSON: {e}") } }),
        };
        println!("{answer}");
    }
    drop(server);
    Ok(())
}

async fn runner(tables: &TestTables) -> Result<StreamRunner, String> {
    let arn = local::stream_arn(&tables.client, &tables.events_table).await?;
    let streams = local::streams_client_for(&tables.endpoint);
    StreamRunner::new(streams, tables.client.clone(), arn, RunnerConfig::fast()).await
}

async fn answer(
    request: &Value,
    tables: &TestTables,
    runner: Option<&mut StreamRunner>,
    stream: &StreamSnapshotter,
) -> Value {
    let failure = |code: &str, message: String| json!({ "error": { "code": code, "message": message } });
    match request["op"].as_str() {
        Some("drain") => match runner {
            None => {
                failure("no_stream", "this engine has no streams: start the peer with --engine moto".into())
            }
            Some(runner) => match runner.run_until_idle(|event| local::deliver(stream, event)).await {
                Ok(()) => json!({
                    "batches": runner.stats.batches,
                    "recordsDelivered": runner.stats.records_delivered,
                    "partialFailures": runner.stats.partial_failures,
                }),
                Err(message) => failure("drain_failed", message),
            },
        },
        Some(op @ ("load" | "snapshot" | "verify")) => {
            let order_id = match request["orderId"].as_str().map(OrderId::parse) {
                Some(Ok(order_id)) => order_id,
                Some(Err(e)) => return failure("invalid_order_id", e.to_string()),
                None => return failure("bad_request", format!("{op} needs an orderId")),
            };
            let admin = SnapshotAdmin::new(tables.repository(), Arc::new(SystemClock));
            let answered = match op {
                "load" => return load(tables, &order_id).await,
                "snapshot" => admin
                    .create(&order_id, "local-peer", "requested")
                    .await
                    .map(|c| json!({ "version": c.version })),
                _ => admin.verify(&order_id).await.map(|v| serde_json::to_value(v).unwrap_or_default()),
            };
            answered.unwrap_or_else(|e| failure("admin", e.to_string()))
        }
        _ => failure("bad_request", format!("unknown request {request}")),
    }
}

/// The Rust load of `order_id`, and the reason codes of the snapshots a reader passes over.
async fn load(tables: &TestTables, order_id: &OrderId) -> Value {
    let loaded = match tables.repository().load(order_id).await {
        Ok(loaded) => loaded,
        Err(StoreError::Unreadable(unreadable)) => {
            let (code, sequence) = (unreadable.code(), unreadable.sequence);
            return json!({ "error": { "code": code, "sequence": sequence, "message": unreadable.to_string() } });
        }
        Err(other) => return json!({ "error": { "code": "store", "message": other.to_string() } }),
    };
    let Some(loaded) = loaded else { return json!({ "state": null }) };
    let unusable = match passed_over(tables, order_id).await {
        Ok(codes) => codes,
        Err(e) => return json!({ "error": { "code": "store", "message": e.to_string() } }),
    };
    json!({
        "state": loaded.order,
        "snapshotVersion": loaded.cost.snapshot_version,
        "roundTrips": loaded.cost.round_trips,
        "criticalRoundTrips": loaded.cost.critical_round_trips,
        "itemsRead": loaded.cost.items_read,
        "unusableSnapshots": loaded.cost.unusable_snapshots,
        "unusable": unusable,
    })
}

/// The reason code of each snapshot newer than the newest usable one, as the contract's reader
/// decides: every check of the item, then the anchor event's id.
async fn passed_over(tables: &TestTables, order_id: &OrderId) -> Result<Vec<&'static str>, StoreError> {
    let lookup = tables.snapshot_store().latest_usable(order_id).await?;
    let mut codes: Vec<&'static str> = lookup.passed_over.iter().map(|p| p.reason.code()).collect();
    if let Some(snapshot) = lookup.snapshot {
        let (events, _) = tables.event_store().read_from(order_id, snapshot.last_event_sequence).await?;
        let anchor = events.first().filter(|e| e.sequence == snapshot.last_event_sequence);
        if anchor.map(|e| &e.event_id) != snapshot.state.last_event_id.as_ref() {
            codes.push(ANCHOR_MISMATCH);
        }
    }
    Ok(codes)
}
