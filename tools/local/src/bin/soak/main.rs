//! `make soak`: a bounded load run through the local stream runner, with faults injected, that
//! ends with a full audit. Writers append orders' events the way the order service does
//! (`workload.rs`); the stream runner delivers the table's stream to the snapshot-stream
//! handler; cleanup runs on a schedule and admin calls arrive while the handler's connection
//! is cut, stalled or loses answers now and then (`background.rs`). At the end
//! (`audit.rs`): every order's load equals its replay, every snapshot equals the replay of its
//! prefix, snapshots per order are within retention, no order's newest snapshot lags by a
//! threshold or more, and nothing went to the failure destination.
//!
//! Usage: soak [--orders N] [--events N] [--writers N] [--fault-every SECONDS]

mod audit;
mod background;
mod workload;

use background::Background;
use futures_util::StreamExt;
use local::stream_runner::{RunnerConfig, RunnerStats, StreamRunner};
use local::{stream_arn, streams_client_for};
use shared::policy::settings::{RetentionSettings, StrategySettings};
use shared::runtime::client::ClientTuning;
use shared::store::events::EventStore;
use shared::store::repository::OrderRepository;
use shared::store::tables;
use shared::store::tables::TableNames;
use shared::use_cases::clock::SystemClock;
use shared::use_cases::maintenance::cleanup::CleanupService;
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use testkit::{LocalDynamo, Proxy, client_for, client_tuned};
use workload::order_id;

const LOG: &str = ".local/soak.log";

pub struct Args {
    orders: usize,
    events: usize,
    writers: usize,
    fault_every: Duration,
}

fn args() -> Result<Args, String> {
    let mut a = Args { orders: 300, events: 30_000, writers: 8, fault_every: Duration::from_secs(10) };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let n: u64 = value.parse().map_err(|_| format!("{flag}: {value:?} is not a whole number"))?;
        match flag.as_str() {
            "--orders" => a.orders = n as usize,
            "--events" => a.events = n as usize,
            "--writers" => a.writers = n as usize,
            "--fault-every" => a.fault_every = Duration::from_secs(n),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.orders == 0 || a.writers == 0 || a.events < a.orders * 12 {
        return Err("need orders > 0, writers > 0 and at least 12 events per order".into());
    }
    Ok(a)
}

#[derive(Default)]
pub struct Tally {
    pub appended: AtomicU64,
    append_calls: AtomicU64,
    conflicts: AtomicU64,
    /// Appends of several events (one transaction each), and those that lost a race.
    transactions: AtomicU64,
    transactions_lost: AtomicU64,
    write_retries: AtomicU64,
    cuts: AtomicU64,
    stalls: AtomicU64,
    lost_answers: AtomicU64,
    cleanup_runs: AtomicU64,
    cleanup_failed: AtomicU64,
    cleanup_deleted: AtomicU64,
    admin_ok: AtomicU64,
    admin_unavailable: AtomicU64,
    admin_other: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Relaxed);
}

#[tokio::main]
async fn main() -> ExitCode {
    // The faults make the functions log errors by design: they go to a file, not the table.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = std::fs::create_dir_all(".local");
    match std::fs::File::create(LOG) {
        Ok(file) => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(Arc::new(file))
            .init(),
        Err(_) => tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init(),
    }
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            println!("\nSOAK FAILED: see the audit above");
            ExitCode::FAILURE
        }
        Err(message) => {
            eprintln!("soak: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<bool, String> {
    let args = Arc::new(args()?);
    let started = Instant::now();
    let stack = Stack::start().await?;
    let tally = Arc::new(Tally::default());
    println!(
        "soak: {} orders, {} events, {} writers; threshold {}, keep {}; a fault every {:?}",
        args.orders,
        args.events,
        args.writers,
        stack.strategy.event_count_threshold,
        stack.retention.max_snapshots_per_order,
        args.fault_every
    );
    let mut stream = Stream::start(&stack).await?;
    let cleanup =
        Arc::new(CleanupService::new(stack.faulty.clone(), stack.retention.clone(), Arc::new(SystemClock)));
    let admin = snapshot_admin::router(snapshot_admin::AppState::in_process(
        stack.faulty.clone(),
        stack.retention.clone(),
        Arc::new(SystemClock),
        Arc::new(snapshot_admin::access::MemoryAudit::default()),
        Duration::from_secs(10),
    ));
    let background =
        Background::start(&stack.proxy, &cleanup, &admin, &tally, args.fault_every, args.orders, args.events);

    // The load, then the faults healed.
    let writing = Instant::now();
    let gate = Arc::new(workload::TransactionGate::default());
    let writers: Vec<_> = (0..args.writers)
        .map(|w| {
            let writer = workload::writer(
                w,
                args.clone(),
                stack.direct.clone(),
                EventStore::new(stack.client.clone(), stack.events_table),
                tally.clone(),
                gate.clone(),
            );
            tokio::spawn(writer)
        })
        .collect();
    for w in writers {
        w.await.map_err(|e| e.to_string())??;
    }
    let write_time = writing.elapsed();
    background.stop().await;
    stack.proxy.restore().await;
    stack.proxy.lose_responses(0);
    println!(
        "  load done in {:.0} s; draining the stream, cleaning up, auditing every order",
        write_time.as_secs_f64()
    );

    let draining = Instant::now();
    let (stats, failed_batches) = stream.drain().await?;
    let drain_time = draining.elapsed();
    let finals = clean_completely(&cleanup, &tally).await?;
    let auditing = Instant::now();
    let mut audited = audit_all(&stack, args.orders).await;
    let audit_time = auditing.elapsed();

    let mut problems = std::mem::take(&mut audited.problems);
    if failed_batches > 0 {
        problems.push(format!("{failed_batches} batches went to the failure destination"));
    }
    if tally.admin_other.load(Relaxed) > 0 {
        problems.push("admin calls answered other than 200/404/503".into());
    }
    if audited.events != tally.appended.load(Relaxed) {
        problems.push(format!("{} events stored, {} appended", audited.events, tally.appended.load(Relaxed)));
    }
    let figures = Figures {
        write_time,
        drain_time,
        audit_time,
        total: started.elapsed(),
        finals,
        moto_rss: stack.server.pid().and_then(rss_mib),
    };
    print_figures(&args, &stack, &tally, &stats, &audited, &figures, &problems);
    stack.server.stop();
    Ok(problems.is_empty())
}

/// The local server, its tables, and two ways to them: direct (the order service) and
/// through a fault-injecting proxy with the production client (the snapshot functions).
struct Stack {
    server: LocalDynamo,
    client: aws_sdk_dynamodb::Client,
    events_table: &'static str,
    direct: OrderRepository,
    proxy: Arc<Proxy>,
    faulty: OrderRepository,
    strategy: StrategySettings,
    retention: RetentionSettings,
}

impl Stack {
    async fn start() -> Result<Stack, String> {
        let server = LocalDynamo::start_moto().map_err(|e| format!("cannot start moto_server: {e}"))?;
        let client = client_for(&server.endpoint());
        let (events_table, snapshots_table) = ("soak_events", "soak_snapshots");
        tables::EVENTS.create(&client, events_table).await.map_err(|e| e.to_string())?;
        tables::SNAPSHOTS.create(&client, snapshots_table).await.map_err(|e| e.to_string())?;
        let names = TableNames { events: events_table.into(), snapshots: snapshots_table.into() };
        let proxy = Proxy::start(server.port()).await;
        let faulty = client_tuned(&proxy.endpoint(), ClientTuning::default());
        Ok(Stack {
            direct: OrderRepository::for_tables(client.clone(), &names),
            faulty: OrderRepository::for_tables(faulty, &names),
            server,
            client,
            events_table,
            proxy,
            strategy: StrategySettings::default(),
            retention: RetentionSettings::default(),
        })
    }
}

/// The stream function behind the local runner (Lambda's retry count from template.yaml),
/// running until drained.
struct Stream {
    service: Arc<StreamSnapshotter>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<StreamRunner, String>>,
    failures_file: PathBuf,
}

impl Stream {
    async fn start(stack: &Stack) -> Result<Stream, String> {
        let service = Arc::new(StreamSnapshotter::new(
            stack.faulty.clone(),
            stack.strategy.clone(),
            Arc::new(SystemClock),
        ));
        let failures_file = std::env::temp_dir().join(format!("soak-failures-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&failures_file);
        let config = RunnerConfig {
            poll_interval: Duration::from_millis(100),
            failure_destination: Some(failures_file.clone()),
            ..RunnerConfig::from_template()?
        };
        let arn = stream_arn(&stack.client, stack.events_table).await?;
        let mut runner = StreamRunner::new(
            streams_client_for(&stack.server.endpoint()),
            stack.client.clone(),
            arn,
            config,
        )
        .await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let handler = Self::handler(service.clone());
        let task = tokio::spawn(async move { runner.run(handler, stopped).await.map(|()| runner) });
        Ok(Stream { service, stop, task, failures_file })
    }

    fn handler(
        service: Arc<StreamSnapshotter>,
    ) -> impl Fn(
        serde_json::Value,
    ) -> std::pin::Pin<
        Box<
            dyn Future<
                    Output = Result<
                        aws_lambda_events::event::streams::DynamoDbEventResponse,
                        snapshot_stream::HandlerError,
                    >,
                > + Send,
        >,
    > + Clone {
        move |event| {
            let service = service.clone();
            Box::pin(async move { local::deliver(&service, event).await })
        }
    }

    /// Stops polling, delivers what is left, and says how many batches went to the failure
    /// destination.
    async fn drain(&mut self) -> Result<(RunnerStats, usize), String> {
        let _ = self.stop.send(true);
        let task = std::mem::replace(&mut self.task, tokio::spawn(async { Err("drained".to_owned()) }));
        let mut runner = task.await.map_err(|e| e.to_string())??;
        runner.run_until_idle(Self::handler(self.service.clone())).await?;
        let failed = std::fs::read_to_string(&self.failures_file).map(|s| s.lines().count()).unwrap_or(0);
        let _ = std::fs::remove_file(&self.failures_file);
        Ok((runner.stats.clone(), failed))
    }
}

/// Finishes the pass a scheduled run left unfinished, then one whole pass from the start;
/// returns the runs it took.
async fn clean_completely(cleanup: &CleanupService, tally: &Tally) -> Result<u64, String> {
    let mut runs = 0;
    loop {
        let report =
            cleanup.run(Instant::now() + Duration::from_secs(300)).await.map_err(|e| e.to_string())?;
        add(&tally.cleanup_deleted, report.snapshots_deleted);
        runs += 1;
        if report.finished && report.resumed_from.is_none() {
            return Ok(runs);
        }
    }
}

#[derive(Default)]
struct Audited {
    events: u64,
    snapshots: u64,
    lag_max: u64,
    problems: Vec<String>,
}

async fn audit_all(stack: &Stack, orders: usize) -> Audited {
    let audits: Vec<_> = futures_util::stream::iter(0..orders)
        .map(|i| audit::audit(&stack.direct, order_id(i), &stack.strategy, &stack.retention))
        .buffer_unordered(4)
        .collect()
        .await;
    let mut all = Audited::default();
    for a in audits {
        match a {
            Ok(a) => {
                all.events += a.events;
                all.snapshots += a.snapshots;
                all.lag_max = all.lag_max.max(a.lag);
                all.problems.extend(a.problems);
            }
            Err(e) => all.problems.push(e),
        }
    }
    all
}

struct Figures {
    write_time: Duration,
    drain_time: Duration,
    audit_time: Duration,
    total: Duration,
    finals: u64,
    moto_rss: Option<u64>,
}

fn print_figures(
    args: &Args,
    stack: &Stack,
    tally: &Tally,
    s: &RunnerStats,
    audited: &Audited,
    f: &Figures,
    problems: &[String],
) {
    let t = |c: &AtomicU64| c.load(Relaxed);
    println!("\n{:<34} {:>12}", "figure", "value");
    let rows: Vec<(&str, String)> = vec![
        ("events appended", t(&tally.appended).to_string()),
        (
            "append calls (conflicts, retries)",
            format!("{} ({}, {})", t(&tally.append_calls), t(&tally.conflicts), t(&tally.write_retries)),
        ),
        (
            "append phase",
            format!(
                "{:.0} s, {:.0} events/s",
                f.write_time.as_secs_f64(),
                t(&tally.appended) as f64 / f.write_time.as_secs_f64()
            ),
        ),
        (
            "transactions (lost a race)",
            format!("{} ({})", t(&tally.transactions), t(&tally.transactions_lost)),
        ),
        ("stream batches", s.batches.to_string()),
        ("records delivered (incl. retries)", s.records_delivered.to_string()),
        ("partial failures -> restarts", s.partial_failures.to_string()),
        ("handler errors (whole batch)", s.handler_errors.to_string()),
        ("sent to failure destination", s.sent_to_failure_destination.to_string()),
        (
            "iterators re-opened / records held back",
            format!("{} / {}", s.iterators_reopened, s.phantoms_dropped),
        ),
        ("drain after the load", format!("{:.1} s", f.drain_time.as_secs_f64())),
        (
            "faults: cuts / stalls / lost answers",
            format!("{} / {} / {}", t(&tally.cuts), t(&tally.stalls), t(&tally.lost_answers)),
        ),
        (
            "cleanup runs (failed by a fault)",
            format!("{} ({})", t(&tally.cleanup_runs) + f.finals, t(&tally.cleanup_failed)),
        ),
        ("snapshots deleted by cleanup", t(&tally.cleanup_deleted).to_string()),
        (
            "admin calls ok / 503 / other",
            format!("{} / {} / {}", t(&tally.admin_ok), t(&tally.admin_unavailable), t(&tally.admin_other)),
        ),
        ("orders audited", args.orders.to_string()),
        ("events replayed in the audit", audited.events.to_string()),
        ("snapshots verified = replay", audited.snapshots.to_string()),
        (
            "largest lag behind newest event",
            format!("{} (threshold {})", audited.lag_max, stack.strategy.event_count_threshold),
        ),
        ("audit", format!("{:.0} s", f.audit_time.as_secs_f64())),
        ("moto RSS at the end", f.moto_rss.map_or("-".into(), |r| format!("{r} MiB"))),
        ("total", format!("{:.0} s", f.total.as_secs_f64())),
        ("problems", problems.len().to_string()),
    ];
    for (name, value) in rows {
        println!("{name:<34} {value:>12}");
    }
    for p in problems.iter().take(20) {
        println!("  problem: {p}");
    }
    println!("(the functions' logs, errors from injected faults included: {LOG})");
}

fn rss_mib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}
