//! `make run`: the whole system on this machine. Starts the local DynamoDB-compatible server
//! (moto, from the project's venv), creates both tables, runs the stream function's handler
//! behind the local stream runner, writes a demo workload through the event store, prints
//! what happened, then keeps snapshotting whatever is appended until Ctrl-C.

use local::demo::{self, DemoOrder};
use local::stream_runner::{RunnerConfig, StreamRunner};
use local::{stream_arn, streams_client_for};
use shared::domain::samples::order_id as oid;
use shared::runtime::config::Config;
use shared::store::repository::OrderRepository;
use shared::store::tables;
use shared::use_cases::clock::{Clock, SystemClock};
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use testkit::{LocalDynamo, client_for};

const DEFAULT_PORT: u16 = 8000;
const DEFAULT_ADMIN_PORT: u16 = 3000;
/// The identity every local admin request carries (there is no API Gateway locally).
pub const LOCAL_ADMIN: &str = "arn:aws:iam::000000000000:user/local-admin";

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("local-stack: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A port from `variable`, or `default`.
fn port_from_env(variable: &str, default: u16) -> Result<u16, String> {
    match std::env::var(variable) {
        Ok(p) => p.parse().map_err(|_| format!("{variable}={p:?} is not a port number")),
        Err(_) => Ok(default),
    }
}

async fn run() -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    // Every port is taken or checked before anything starts, so a clash is reported at once.
    let port = port_from_env("LOCAL_DYNAMO_PORT", DEFAULT_PORT)?;
    let admin_port = port_from_env("LOCAL_ADMIN_PORT", DEFAULT_ADMIN_PORT)?;
    let clash = |what: &str, port: u16, variable: &str, e: &dyn std::fmt::Display| {
        format!("port {port} for {what} is taken ({e}); set {variable} to another port")
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", admin_port))
        .await
        .map_err(|e| clash("the admin API", admin_port, "LOCAL_ADMIN_PORT", &e))?;
    let server = LocalDynamo::start_moto_on(port)
        .map_err(|e| clash("the local DynamoDB", port, "LOCAL_DYNAMO_PORT", &e))?;
    let endpoint = server.endpoint();
    let client = client_for(&endpoint);
    tables::EVENTS.create(&client, &config.tables.events).await.map_err(|e| e.to_string())?;
    tables::SNAPSHOTS.create(&client, &config.tables.snapshots).await.map_err(|e| e.to_string())?;
    println!("Local DynamoDB (moto) on {endpoint}");
    println!(
        "  tables: {} (events, stream NEW_IMAGE), {} (snapshots)",
        config.tables.events, config.tables.snapshots
    );
    println!(
        "  strategy: default {}, threshold {} events, interval {} h",
        config.strategy.default_strategy,
        config.strategy.event_count_threshold,
        config.strategy.time_interval_hours
    );

    let repository = config.repository(client.clone());
    let service = StreamSnapshotter::new(repository.clone(), config.strategy.clone(), Arc::new(SystemClock));
    let failures = PathBuf::from(".local/stream-failures.jsonl");
    std::fs::create_dir_all(".local").map_err(|e| format!("create .local: {e}"))?;
    // template.yaml's event source mapping, as deployed
    let runner_config =
        RunnerConfig { failure_destination: Some(failures.clone()), ..RunnerConfig::from_template()? };
    let source = &runner_config.source;
    println!(
        "  stream: batches of {}, {} s window, {}, {} retries{}, from template.yaml",
        source.batch_size,
        source.batching_window.as_secs(),
        if source.filters.is_empty() {
            "every record (INSERT, MODIFY, REMOVE)".to_owned()
        } else {
            format!("{} filter pattern(s)", source.filters.len())
        },
        source.max_retries.map_or("unlimited".to_owned(), |r| r.to_string()),
        if source.bisect_on_error { ", bisect on error" } else { "" }
    );
    let arn = stream_arn(&client, &config.tables.events).await?;
    let mut runner =
        StreamRunner::new(streams_client_for(&endpoint), client.clone(), arn, runner_config).await?;
    let handler = |event| local::deliver(&service, event);

    println!("\nDemo workload: the order service appends through the event store; the stream runner");
    println!("delivers the table's stream to the snapshot-stream handler as Lambda would.\n");
    let run_id = format!("demo{}", SystemClock.now_ms() / 1000 % 100_000);
    let orders = demo::orders(&run_id);
    for (order, commands) in &orders {
        for command in commands {
            repository
                .execute(&oid(&order.id), command.clone(), SystemClock.now_ms())
                .await
                .map_err(|e| e.to_string())?;
        }
        // The appends of an order land within the template's batching window: Lambda gathers
        // them into batches of up to BatchSize, as the runner does here.
        runner.run_until_idle(handler).await?;
    }
    report(&repository, &orders).await?;
    println!(
        "\nStream runner: {} batches, {} records, {} partial failures, {} sent to {}",
        runner.stats.batches,
        runner.stats.records_delivered,
        runner.stats.partial_failures,
        runner.stats.sent_to_failure_destination,
        failures.display()
    );

    let admin = admin_router(&client, &config);
    tokio::spawn(local::admin_server::serve(listener, admin));
    let long = &orders.last().expect("demo orders").0.id;
    println!("\nAdmin API on http://127.0.0.1:{admin_port}/admin (every request is made as {LOCAL_ADMIN}):");
    println!("  curl -s http://127.0.0.1:{admin_port}/admin/orders/{long}");
    println!("  curl -s 'http://127.0.0.1:{admin_port}/admin/order-snapshots/{long}?limit=3'");
    println!("  curl -s -X POST http://127.0.0.1:{admin_port}/admin/order-snapshots/verify/{long}");

    println!(
        "\nStill running: anything appended to {} is snapshotted. From another shell:",
        config.tables.events
    );
    println!(
        "  export AWS_ENDPOINT_URL={endpoint} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test"
    );
    println!("Ctrl-C stops everything.");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop.send(true);
    });
    runner.run(handler, stopped).await?;
    server.stop();
    println!("stopped");
    Ok(())
}

/// The admin function's router, with the local identity made explicit and maintenance jobs
/// run in this process (the maintenance function's own entry point) instead of a Lambda
/// invocation.
fn admin_router(client: &aws_sdk_dynamodb::Client, config: &Config) -> axum::Router {
    use snapshot_admin::access::LocalCaller;
    let state = snapshot_admin::AppState::in_process(
        config.repository(client.clone()),
        config.retention.clone(),
        Arc::new(SystemClock),
        Arc::new(snapshot_admin::access::LogAudit),
        std::time::Duration::from_secs(300),
    );
    snapshot_admin::router(state).layer(axum::Extension(LocalCaller(LOCAL_ADMIN.into())))
}

async fn report(
    repository: &OrderRepository,
    orders: &[(DemoOrder, Vec<shared::domain::OrderCommand>)],
) -> Result<(), String> {
    println!("{:<28} {:>6}  snapshots (version: strategy / rule / why)", "order", "events");
    for (order, _) in orders {
        let page = repository.list_snapshots(&oid(&order.id), 100, None).await.map_err(|e| e.to_string())?;
        let last = repository.last_sequence(&oid(&order.id)).await.map_err(|e| e.to_string())?.unwrap_or(0);
        println!("{:<28} {:>6}  {}", order.id, last, order.kind);
        if page.snapshots.is_empty() {
            println!("{:<36}  (none)", "");
        }
        if page.snapshots.len() > 4 {
            println!("{:<36}  … {} older", "", page.snapshots.len() - 4);
        }
        for s in page.snapshots.iter().take(4).rev() {
            let m = &s.metadata;
            let strategy = m.strategy.map_or("-".to_owned(), |s| s.to_string());
            let rule = m.rule.map_or("-".to_owned(), |r| r.to_string());
            println!("{:<36}  v{:<4} {strategy} / {rule} / {}", "", s.version, m.reason);
        }
    }
    let long = &orders.last().expect("demo orders").0.id;
    println!("\nLoading {long}, with its snapshot and by full replay:");
    println!(
        "{:<14} {:>10} {:>8} {:>21} {:>6} {:>9} {:>9}",
        "", "snapshot", "events", "round trips waited", "items", "bytes", "time"
    );
    for (label, by_replay) in [("from snapshot", false), ("full replay", true)] {
        let started = Instant::now();
        let loaded = if by_replay {
            repository.load_by_replay(&oid(long)).await
        } else {
            repository.load(&oid(long)).await
        };
        let elapsed = started.elapsed();
        let loaded = loaded.map_err(|e| e.to_string())?.ok_or("demo order vanished")?;
        let c = &loaded.cost;
        println!(
            "{label:<14} {:>10} {:>8} {:>21} {:>6} {:>9} {:>7.1}ms",
            c.snapshot_version.map_or("-".into(), |v| format!("v{v}")),
            c.events_replayed,
            format!("{} ({} sent)", c.critical_round_trips, c.round_trips),
            c.items_read,
            c.bytes_read,
            elapsed.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
