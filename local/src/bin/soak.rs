//! `make soak`: a bounded load run through the local stream runner, with faults injected, that
//! ends with a full audit. Writers append orders' events the way the order service does
//! (decide on the cached state, conditional append, reload on conflict); the stream runner
//! delivers the table's stream to the snapshot-stream handler; cleanup runs on a schedule and
//! admin calls arrive while the handler's connection is cut, stalled or loses answers now
//! and then. At the end: every order's load equals its replay, every snapshot equals the
//! replay of its prefix, snapshots per order are within retention, no order's newest
//! snapshot lags by a threshold or more, and nothing went to the failure destination.
//!
//! Usage: soak [--orders N] [--events N] [--writers N] [--fault-every SECONDS]

use axum::body::Body;
use axum::http::Request;
use futures_util::StreamExt;
use local::stream_runner::{RunnerConfig, StreamRunner};
use local::{stream_arn, streams_client_for};
use shared::cleanup::CleanupService;
use shared::client::ClientTuning;
use shared::clock::{Clock, SystemClock};
use shared::config::SnapshotSettings;
use shared::config::TableNames;
use shared::domain::samples::sample_address;
use shared::domain::{Money, Order, OrderCommand, OrderStatus};
use shared::event_store::{EventStore, EventStoreError};
use shared::repository::OrderRepository;
use shared::snapshot_service::SnapshotService;
use shared::tables;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use testkit::{LocalDynamo, Proxy, check_snapshots, client_for, client_tuned};
use tower::ServiceExt;

const LOG: &str = ".local/soak.log";

struct Args {
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
struct Tally {
    appended: AtomicU64,
    append_calls: AtomicU64,
    conflicts: AtomicU64,
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

/// A tiny deterministic generator: the same run every time for the same arguments.
struct Rng(u64);
impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

/// An order's life: created, a basket (some above 10 items, some above 1000.00), checkout,
/// then tracking updates until it has `events` events.
fn script(index: usize, events: usize) -> Vec<OrderCommand> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut commands =
        vec![OrderCommand::Create { customer_id: format!("cust-{}", index % 37), currency: "EUR".into() }];
    let items = 1 + rng.next(14) as usize;
    let mut total = 0i64;
    for i in 0..items {
        let cents = if rng.next(10) == 0 { 80_000 } else { 500 + rng.next(5_000) as i64 };
        total += cents;
        commands.push(OrderCommand::AddItem {
            sku: format!("SKU-{i:02}"),
            name: "Soak item".into(),
            quantity: 1,
            unit_price: Money::from_minor(cents),
        });
    }
    let amount = Money::from_minor(total);
    commands.extend([
        OrderCommand::SetShippingAddress { address: sample_address() },
        OrderCommand::AuthorizePayment { payment_id: "pay-1".into(), amount, method: "card".into() },
        OrderCommand::Confirm,
        OrderCommand::CapturePayment { payment_id: "pay-1".into(), amount },
        OrderCommand::Ship { carrier: "DHL".into(), tracking_number: format!("T-{index}") },
    ]);
    while commands.len() < events {
        let location = Some(format!("Hub {}", rng.next(40)));
        commands.push(OrderCommand::UpdateShipping { status: "in transit".into(), location });
    }
    commands
}

fn order_id(i: usize) -> String {
    format!("soak-{i:04}")
}

/// One writer: its orders, round robin, one command at a time; the order service's loop.
async fn writer(
    w: usize,
    args: Arc<Args>,
    repository: OrderRepository,
    tally: Arc<Tally>,
) -> Result<(), String> {
    let per_order = args.events / args.orders;
    let mine: Vec<usize> = (0..args.orders).filter(|i| i % args.writers == w).collect();
    let mut states: Vec<Order> = mine.iter().map(|i| Order::empty(order_id(*i))).collect();
    let scripts: Vec<Vec<OrderCommand>> = mine.iter().map(|i| script(*i, per_order)).collect();
    let mut next = vec![0usize; mine.len()];
    let mut rng = Rng(w as u64 + 7);
    let events: &EventStore = repository.events();
    loop {
        let mut progressed = false;
        for k in 0..mine.len() {
            if next[k] >= scripts[k].len() {
                continue;
            }
            progressed = true;
            let command = scripts[k][next[k]].clone();
            loop {
                let decided =
                    states[k].decide(command.clone()).map_err(|e| format!("{}: {e}", states[k].id))?;
                add(&tally.append_calls, 1);
                match events.append(&states[k].id, states[k].version, &decided, SystemClock.now_ms()).await {
                    Ok(recorded) => {
                        add(&tally.appended, recorded.len() as u64);
                        states[k].apply_all(&recorded).map_err(|e| e.to_string())?;
                        break;
                    }
                    Err(EventStoreError::Conflict { .. }) => {
                        add(&tally.conflicts, 1);
                        let loaded = repository.load(&states[k].id).await.map_err(|e| e.to_string())?;
                        states[k] = loaded.ok_or("an order vanished")?.order;
                    }
                    Err(e) => {
                        add(&tally.write_retries, 1);
                        tracing::warn!(error = %e, "append failed; retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
            next[k] += 1;
            // Now and then another service instance updates someone else's order: the owner
            // then meets a conflict and reloads.
            if rng.next(150) == 0 {
                let other = order_id(rng.next(args.orders as u64) as usize);
                if let Ok(Some(loaded)) = repository.load(&other).await
                    && loaded.order.status == OrderStatus::Shipped
                {
                    let update = OrderCommand::UpdateShipping { status: "re-routed".into(), location: None };
                    if let Ok(decided) = loaded.order.decide(update) {
                        add(&tally.append_calls, 1);
                        match events
                            .append(&other, loaded.order.version, &decided, SystemClock.now_ms())
                            .await
                        {
                            Ok(recorded) => add(&tally.appended, recorded.len() as u64),
                            Err(EventStoreError::Conflict { .. }) => add(&tally.conflicts, 1),
                            Err(_) => add(&tally.write_retries, 1),
                        }
                    }
                }
            }
        }
        if !progressed {
            return Ok(());
        }
    }
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
    let server = LocalDynamo::start().map_err(|e| format!("cannot start moto_server: {e}"))?;
    let client = client_for(&server.endpoint());
    let (events_table, snapshots_table) = ("soak_events", "soak_snapshots");
    tables::EVENTS.create(&client, events_table).await.map_err(|e| e.to_string())?;
    tables::SNAPSHOTS.create(&client, snapshots_table).await.map_err(|e| e.to_string())?;
    let settings = SnapshotSettings::default();
    let names = TableNames { events: events_table.into(), snapshots: snapshots_table.into() };
    let direct = OrderRepository::for_tables(client.clone(), &names);
    // The snapshot functions reach DynamoDB through a proxy that injects faults, with the
    // production client's timeouts and retries.
    let proxy = Proxy::start(server.port()).await;
    let faulty = client_tuned(&proxy.endpoint(), ClientTuning::default());
    let faulty_repository = OrderRepository::for_tables(faulty.clone(), &names);
    let tally = Arc::new(Tally::default());
    println!(
        "soak: {} orders, {} events, {} writers; threshold {}, keep {}; a fault every {:?}",
        args.orders,
        args.events,
        args.writers,
        settings.event_count_threshold,
        settings.max_snapshots_per_order,
        args.fault_every
    );

    // The stream function behind the local runner (Lambda's retry count from template.yaml).
    let service =
        Arc::new(SnapshotService::new(faulty_repository.clone(), settings.clone(), Arc::new(SystemClock)));
    let failures_file = std::env::temp_dir().join(format!("soak-failures-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&failures_file);
    let runner_config = RunnerConfig {
        batch_size: 100,
        poll_interval: Duration::from_millis(100),
        max_retries: 5,
        failure_destination: Some(failures_file.clone()),
    };
    let arn = stream_arn(&client, events_table).await?;
    let mut runner = StreamRunner::new(streams_client_for(&server.endpoint()), arn, runner_config).await?;
    let handler = {
        let service = service.clone();
        move |event| {
            let service = service.clone();
            async move { snapshot_stream::handle_quietly(&service, event).await }
        }
    };
    let (stop_runner, runner_stopped) = tokio::sync::watch::channel(false);
    let stream_task = {
        let handler = handler.clone();
        tokio::spawn(async move { runner.run(handler, runner_stopped).await.map(|()| runner) })
    };

    // Faults: the connection cut for 2 s, stalled for 3 s, or three answers lost, in turn.
    let (stop_background, background_stopped) = tokio::sync::watch::channel(false);
    let faults = {
        let (proxy, tally, mut stopped, every) =
            (proxy.clone(), tally.clone(), background_stopped.clone(), args.fault_every);
        tokio::spawn(async move {
            for round in 0u64.. {
                tokio::select! { _ = tokio::time::sleep(every) => {}, _ = stopped.changed() => return }
                match round % 3 {
                    0 => {
                        add(&tally.cuts, 1);
                        proxy.cut();
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        proxy.restore().await;
                    }
                    1 => {
                        add(&tally.stalls, 1);
                        proxy.stall();
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        proxy.unstall();
                    }
                    _ => {
                        add(&tally.lost_answers, 3);
                        proxy.lose_responses(3);
                    }
                }
            }
        })
    };
    let cleanup = Arc::new(CleanupService::new(
        faulty_repository.snapshots().clone(),
        settings.clone(),
        Arc::new(SystemClock),
    ));
    let cleaner = {
        let (cleanup, tally, mut stopped) = (cleanup.clone(), tally.clone(), background_stopped.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! { _ = tokio::time::sleep(Duration::from_secs(15)) => {}, _ = stopped.changed() => return }
                add(&tally.cleanup_runs, 1);
                match cleanup.run(Instant::now() + Duration::from_secs(3)).await {
                    Ok(report) => add(&tally.cleanup_deleted, report.snapshots_deleted),
                    Err(_) => add(&tally.cleanup_failed, 1),
                }
            }
        })
    };
    let admin = snapshot_admin::router(snapshot_admin::AppState::in_process(
        faulty_repository.clone(),
        settings.clone(),
        Arc::new(SystemClock),
        Arc::new(snapshot_admin::audit::MemoryAudit::default()),
        Duration::from_secs(10),
    ));
    let admin_task = {
        let (admin, tally, mut stopped, orders) =
            (admin.clone(), tally.clone(), background_stopped.clone(), args.orders);
        tokio::spawn(async move {
            let mut rng = Rng(42);
            loop {
                tokio::select! { _ = tokio::time::sleep(Duration::from_millis(1500)) => {}, _ = stopped.changed() => return }
                let id = order_id(rng.next(orders as u64) as usize);
                let (method, uri) = match rng.next(3) {
                    0 => ("GET", format!("/admin/orders/{id}")),
                    1 => ("GET", format!("/admin/order-snapshots/{id}")),
                    _ => ("POST", format!("/admin/order-snapshots/verify/{id}")),
                };
                let request = Request::builder()
                    .method(method)
                    .uri(&uri)
                    .extension(snapshot_admin::auth::LocalCaller("soak".into()))
                    .body(Body::empty())
                    .expect("request");
                let status = admin.clone().oneshot(request).await.expect("router").status().as_u16();
                match status {
                    200 | 404 => add(&tally.admin_ok, 1),
                    503 => add(&tally.admin_unavailable, 1),
                    _ => {
                        add(&tally.admin_other, 1);
                        eprintln!("admin {method} {uri} -> {status}");
                    }
                }
            }
        })
    };

    let progress = {
        let (tally, mut stopped, target) = (tally.clone(), background_stopped.clone(), args.events);
        tokio::spawn(async move {
            let begun = Instant::now();
            loop {
                tokio::select! { _ = tokio::time::sleep(Duration::from_secs(30)) => {}, _ = stopped.changed() => return }
                println!(
                    "  {:>4.0} s: {} of ~{target} events appended, {} conflicts, {} faults injected",
                    begun.elapsed().as_secs_f64(),
                    tally.appended.load(Relaxed),
                    tally.conflicts.load(Relaxed),
                    tally.cuts.load(Relaxed) + tally.stalls.load(Relaxed) + tally.lost_answers.load(Relaxed),
                );
            }
        })
    };

    // The load.
    let writing = Instant::now();
    let writers: Vec<_> = (0..args.writers)
        .map(|w| tokio::spawn(writer(w, args.clone(), direct.clone(), tally.clone())))
        .collect();
    for w in writers {
        w.await.map_err(|e| e.to_string())??;
    }
    let write_time = writing.elapsed();
    let _ = stop_background.send(true);
    for task in [faults, cleaner, admin_task, progress] {
        let _ = task.await;
    }
    proxy.restore().await;
    proxy.lose_responses(0);
    println!(
        "  load done in {:.0} s; draining the stream, cleaning up, auditing every order",
        write_time.as_secs_f64()
    );

    // Drain the stream, then a complete cleanup pass.
    let draining = Instant::now();
    let _ = stop_runner.send(true);
    let mut runner = stream_task.await.map_err(|e| e.to_string())??;
    runner.run_until_idle(handler.clone()).await?;
    let drain_time = draining.elapsed();
    // finish the pass a scheduled run left unfinished, then one whole pass from the start
    let mut finals = 0;
    loop {
        let report =
            cleanup.run(Instant::now() + Duration::from_secs(300)).await.map_err(|e| e.to_string())?;
        add(&tally.cleanup_deleted, report.snapshots_deleted);
        finals += 1;
        if report.finished && report.resumed_from.is_none() {
            break;
        }
    }

    // The audit.
    let auditing = Instant::now();
    let audits: Vec<Result<Audit, String>> = futures_util::stream::iter(0..args.orders)
        .map(|i| audit(&direct, order_id(i), &settings))
        .buffer_unordered(4)
        .collect()
        .await;
    let audit_time = auditing.elapsed();
    let mut problems = Vec::new();
    let (mut events, mut snapshots, mut lag_max) = (0u64, 0u64, 0u64);
    for a in audits {
        match a {
            Ok(a) => {
                events += a.events;
                snapshots += a.snapshots;
                lag_max = lag_max.max(a.lag);
                problems.extend(a.problems);
            }
            Err(e) => problems.push(e),
        }
    }
    let failed_batches = std::fs::read_to_string(&failures_file).map(|s| s.lines().count()).unwrap_or(0);
    let _ = std::fs::remove_file(&failures_file);
    if failed_batches > 0 {
        problems.push(format!("{failed_batches} batches went to the failure destination"));
    }
    if tally.admin_other.load(Relaxed) > 0 {
        problems.push("admin calls answered other than 200/404/503".into());
    }
    if events != tally.appended.load(Relaxed) {
        problems.push(format!("{events} events stored, {} appended", tally.appended.load(Relaxed)));
    }
    let rss = server.pid().and_then(rss_mib);

    let t = |c: &AtomicU64| c.load(Relaxed);
    let s = &runner.stats;
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
                write_time.as_secs_f64(),
                t(&tally.appended) as f64 / write_time.as_secs_f64()
            ),
        ),
        ("stream batches", s.batches.to_string()),
        ("records delivered (incl. retries)", s.records_delivered.to_string()),
        ("partial failures -> restarts", s.partial_failures.to_string()),
        ("handler errors (whole batch)", s.handler_errors.to_string()),
        ("sent to failure destination", s.sent_to_failure_destination.to_string()),
        ("drain after the load", format!("{:.1} s", drain_time.as_secs_f64())),
        (
            "faults: cuts / stalls / lost answers",
            format!("{} / {} / {}", t(&tally.cuts), t(&tally.stalls), t(&tally.lost_answers)),
        ),
        (
            "cleanup runs (failed by a fault)",
            format!("{} ({})", t(&tally.cleanup_runs) + finals, t(&tally.cleanup_failed)),
        ),
        ("snapshots deleted by cleanup", t(&tally.cleanup_deleted).to_string()),
        (
            "admin calls ok / 503 / other",
            format!("{} / {} / {}", t(&tally.admin_ok), t(&tally.admin_unavailable), t(&tally.admin_other)),
        ),
        ("orders audited", args.orders.to_string()),
        ("events replayed in the audit", events.to_string()),
        ("snapshots verified = replay", snapshots.to_string()),
        (
            "largest lag behind newest event",
            format!("{lag_max} (threshold {})", settings.event_count_threshold),
        ),
        ("audit", format!("{:.0} s", audit_time.as_secs_f64())),
        ("moto RSS at the end", rss.map_or("-".into(), |r| format!("{r} MiB"))),
        ("total", format!("{:.0} s", started.elapsed().as_secs_f64())),
        ("problems", problems.len().to_string()),
    ];
    for (name, value) in rows {
        println!("{name:<34} {value:>12}");
    }
    for p in problems.iter().take(20) {
        println!("  problem: {p}");
    }
    println!("(the functions' logs, errors from injected faults included: {LOG})");
    server.stop();
    Ok(problems.is_empty())
}

struct Audit {
    events: u64,
    snapshots: u64,
    lag: u64,
    problems: Vec<String>,
}

/// One order: load = replay; every snapshot = replay of its prefix; within retention; the
/// newest snapshot no more than threshold-1 events behind.
async fn audit(
    repository: &OrderRepository,
    order_id: String,
    settings: &SnapshotSettings,
) -> Result<Audit, String> {
    let e = |e: &dyn std::fmt::Display| format!("{order_id}: {e}");
    let (events, _) = repository.events().read_from(&order_id, 1).await.map_err(|x| e(&x))?;
    let mut problems = Vec::new();
    let replay = Order::replay(&order_id, &events).map_err(|x| e(&x))?;
    let loaded = repository.load(&order_id).await.map_err(|x| e(&x))?.ok_or_else(|| e(&"no events"))?;
    if loaded.order != replay {
        problems.push(format!("{order_id}: load differs from replay"));
    }
    let versions = match check_snapshots(repository, &order_id, &events).await {
        Ok(versions) => versions,
        Err(problem) => {
            problems.push(problem);
            Vec::new()
        }
    };
    if versions.len() > settings.max_snapshots_per_order as usize {
        problems.push(format!(
            "{order_id}: {} snapshots, retention keeps {}",
            versions.len(),
            settings.max_snapshots_per_order
        ));
    }
    let newest = versions.first().copied().unwrap_or(0);
    let lag = events.len() as u64 - newest;
    if lag >= settings.event_count_threshold {
        problems.push(format!("{order_id}: newest snapshot v{newest} is {lag} events behind"));
    }
    if loaded.cost.snapshot_version != versions.first().copied() {
        problems.push(format!("{order_id}: the load did not start from the newest snapshot"));
    }
    Ok(Audit { events: events.len() as u64, snapshots: versions.len() as u64, lag, problems })
}

fn rss_mib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}
