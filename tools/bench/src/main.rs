//! `make bench`: measures, against the local DynamoDB-compatible server, what the product is
//! for: loads (one-request floor, full replay, two-step and speculative) at growing history
//! lengths, without and with injected network latency; the stream
//! function's throughput and storage requests; each function binary's size, start-up and
//! memory; the npm package's load beside the Rust load (`--only node`). Prints tables (median and min–max of several runs) and the target checks, renders
//! docs/bench-load.svg, and writes the figures the capacity model reads into
//! tools/capacity/inputs.json (`make capacity`).

mod binaries;
mod load;
mod logs;
mod node_load;
mod profile;
mod scenarios;
mod stats;

use scenarios::THRESHOLD;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use testkit::{Engine, LocalDynamo, shared_server};

const FUNCTIONS: [&str; 3] = ["snapshot-stream", "snapshot-maintenance", "snapshot-admin"];

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only load|profile|stream|binaries|logs` runs one part.
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).cloned();
    let part = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let runs = if quick { 2 } else { 5 };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // The functions' release builds sit beside this one (whatever CARGO_TARGET_DIR is).
    let release =
        std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)).unwrap_or_default();
    let mut missed = Vec::new();
    let mut measured = capacity::inputs::Measured::default();
    // the capacity model's inputs: their prices are the one price table, and this run's
    // figures are recorded into them (read first, so a broken file stops the bench at once)
    let inputs_path = capacity::inputs::default_path();
    let mut inputs = match capacity::inputs::Inputs::read(&inputs_path) {
        Ok(inputs) => inputs,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::FAILURE;
        }
    };

    // ---- loads ---------------------------------------------------------------------------
    let lengths: &[u64] = match (part("load"), quick) {
        (false, _) => &[],
        (true, true) => &[10, 100, 1_000],
        (true, false) => &[10, 100, 1_000, 10_000],
    };
    // The latency injected each way (5 ms: about an in-region round trip), and the speculative
    // load's margin (LOAD_TAIL_MARGIN).
    let delay_ms: u64 = option(&args, "--delay-ms", 5);
    let injected = Duration::from_millis(delay_ms);
    let margin: u32 = option(&args, "--tail-margin", 10);
    let read_ahead = THRESHOLD as u32 + margin + 1;
    let load_runs = if quick { 5 } else { 21 };
    eprintln!(
        "load: {} history lengths × 5 modes × {load_runs} runs, without and with {delay_ms} ms injected (the 10,000-event seed takes a minute)…",
        lengths.len()
    );
    // dynalite first: the latency targets are judged there; moto after, for what it shows
    let mut rows = Vec::new();
    for engine in [Engine::Dynalite, Engine::Moto].into_iter().filter(|_| !lengths.is_empty()) {
        let server = match LocalDynamo::start_engine(engine) {
            Ok(server) => server,
            Err(e) => {
                missed.push(format!("load on {engine:?}: cannot start it: {e}"));
                continue;
            }
        };
        let mut engine_rows = Vec::new();
        for &n in lengths {
            eprintln!("  {engine:?}: {n} events…");
            engine_rows
                .extend(load::measure(&server, n, &[Duration::ZERO, injected], load_runs, read_ahead).await);
        }
        missed.extend(load::report(engine, &engine_rows, injected, read_ahead));
        if engine == Engine::Dynalite {
            missed.extend(load::report_strategies(&load::strategies(&server, read_ahead).await));
        }
        server.stop();
        rows.extend(engine_rows);
    }
    let dynalite_rows: Vec<load::LoadRow> =
        rows.into_iter().filter(|r| r.engine == Engine::Dynalite).collect();
    measured.loads = load::measured(&dynalite_rows, injected);
    if let Some(svg) = load::chart(&dynalite_rows, injected) {
        let chart_path = root.join("docs/bench-load.svg");
        match std::fs::create_dir_all(root.join("docs")).and_then(|_| std::fs::write(&chart_path, svg)) {
            Ok(()) => println!("\nChart: docs/bench-load.svg"),
            Err(e) => eprintln!("cannot write {}: {e}", chart_path.display()),
        }
    }

    // ---- the npm package's load --------------------------------------------------------------
    if part("node") {
        let lengths: &[u64] = if quick { &[10, 100, 1_000] } else { &[10, 100, 1_000, 10_000] };
        eprintln!("node: the package's load at {} history lengths, {delay_ms} ms injected…", lengths.len());
        match LocalDynamo::start_engine(Engine::Dynalite) {
            Ok(server) => {
                let mut node_rows = Vec::new();
                for &n in lengths {
                    eprintln!("  package: {n} events…");
                    match node_load::measure(&server, n, injected, load_runs, read_ahead).await {
                        Ok(row) => node_rows.push(row),
                        Err(e) => missed.push(format!("package load, {n} events: {e}")),
                    }
                }
                missed.extend(node_load::report(&node_rows));
            }
            Err(e) => missed.push(format!("package load on dynalite: cannot start it: {e}")),
        }
    }

    if part("profile") {
        measured.cpu = Some(profile::report());
    }

    // ---- the stream function -------------------------------------------------------------
    let all_shapes = [(100, 1), (100, 10), (100, 100), (1_000, 1), (1_000, 10), (1_000, 100)];
    let shapes: &[(usize, usize)] = if part("stream") { &all_shapes } else { &[] };
    eprintln!("stream: {} batch shapes × {} runs…", shapes.len(), runs.min(3));
    println!(
        "\n## Stream function: one batch on a cold container, then the next batch on the same warm one\n"
    );
    println!(
        "| records | orders | cold records/s | warm records/s | requests/record cold / warm | reads/order cold / warm | writes/order | snapshots/batch |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &(records, orders) in shapes {
        eprintln!("  {records} records over {orders} orders…");
        let s = scenarios::stream(records, orders, runs.min(3)).await;
        if (records, orders) == (1_000, 100) {
            measured.stream = Some(s.measured());
        }
        println!(
            "| {} | {} | {} | {} | {:.3} / {:.3} | {:.1} / {:.1} | {:.1} | {} |",
            s.records,
            s.orders,
            s.cold_rps.show(0),
            s.warm_rps.show(0),
            s.cold_requests_per_record,
            s.warm_requests_per_record,
            s.cold_reads_per_order,
            s.warm_reads_per_order,
            s.writes_per_order,
            s.snapshots_per_batch
        );
        if s.cold_reads_per_order > 2.0 || s.writes_per_order > 1.0 {
            missed.push(format!(
                "{records}/{orders}: {:.1} reads and {:.1} writes per order",
                s.cold_reads_per_order, s.writes_per_order
            ));
        }
        if s.warm_reads_per_order > 0.0 {
            missed.push(format!(
                "{records}/{orders}: warm container still read {:.1} per order",
                s.warm_reads_per_order
            ));
        }
    }

    // ---- binaries ------------------------------------------------------------------------
    println!("\n## Function binaries\n");
    println!(
        "| function | arm64 bootstrap | start-up to ready (host, release) | peak memory | init under AWS's emulator (INIT REPORT) | first invocation under the emulator (REPORT) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let server = shared_server();
    let t = testkit::TestTables::new().await;
    let orders: Vec<_> = (0..100).flat_map(|o| scenarios::history(&format!("o-{o:03}"), 10)).collect();
    testkit::bulk_insert_events(&t.client, &t.events_table, &orders).await;
    let batch = testkit::stream_events::insert_batch(&orders, 1);
    let env: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL", server.endpoint()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("EVENTS_TABLE", t.events_table.clone()),
        ("SNAPSHOTS_TABLE", t.snapshots_table.clone()),
        ("MAINTENANCE_FUNCTION_NAME", "snapshot-maintenance".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for function in FUNCTIONS.iter().copied().filter(|_| part("binaries")) {
        let bootstrap = release.join(format!("../lambda/{function}/bootstrap"));
        let size = std::fs::metadata(&bootstrap).map(|m| m.len()).ok();
        let host = release.join(function);
        let event = (function == "snapshot-stream").then(|| batch.clone());
        let mut readies = Vec::new();
        let mut peak = 0;
        let mut failure = None;
        for _ in 0..runs {
            match binaries::run(&host, &env, event.clone()).await {
                Ok(run) => {
                    readies.push(run.ready);
                    peak = peak.max(run.peak_rss_kib);
                    if let Some(response) = run
                        .response
                        .filter(|r| r["batchItemFailures"].as_array().is_some_and(|f| !f.is_empty()))
                    {
                        failure = Some(format!("{function} reported failures: {response}"));
                    }
                }
                Err(e) => failure = Some(e),
            }
        }
        if let Some(f) = failure {
            missed.push(f);
        }
        // the same build under AWS's Runtime Interface Emulator, as `sam local invoke` runs it
        let emulator_event = match function {
            "snapshot-stream" => batch.clone(),
            "snapshot-maintenance" => serde_json::json!({"orderId": "o-000"}),
            _ => serde_json::from_str(
                &std::fs::read_to_string(root.join("events/snapshot-admin/get-order.json"))
                    .unwrap_or_default(),
            )
            .unwrap_or_default(),
        };
        let mut emulator_env: std::collections::BTreeMap<String, String> = env.iter().cloned().collect();
        emulator_env.insert("AWS_LAMBDA_FUNCTION_TIMEOUT".into(), "300".into());
        let (mut inits, mut firsts) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let measured = tokio::task::block_in_place(|| {
                let emulator = testkit::sam_local::Emulator::start(&host, &emulator_env)?;
                let answer = emulator.invoke(&emulator_event);
                let report = emulator.report();
                emulator.stop();
                answer.map(|_| report)
            });
            match measured {
                Ok(report) => {
                    inits.extend(report.init_ms);
                    firsts.extend(report.durations_ms.first().copied());
                }
                Err(e) => missed.push(format!("{function} under the emulator: {e}")),
            }
        }
        let spread = |samples: Vec<f64>| {
            if samples.is_empty() { "-".into() } else { format!("{} ms", stats::Spread::of(samples).show(1)) }
        };
        let (init, first) = (spread(inits), spread(firsts));
        let ready = if readies.is_empty() {
            "-".into()
        } else {
            format!("{} ms", stats::Spread::of_durations(&readies).show(1))
        };
        let memory = if function == "snapshot-stream" {
            format!("{:.1} MiB (1,000-record batch, 100 orders)", peak as f64 / 1024.0)
        } else {
            format!("{:.1} MiB (idle)", peak as f64 / 1024.0)
        };
        println!(
            "| {function} | {} | {ready} | {memory} | {init} | {first} |",
            size.map_or("not built (make build)".into(), |s| format!("{:.2} MiB", s as f64 / 1_048_576.0))
        );
        if size.is_some_and(|s| s >= 10 * 1_048_576) {
            missed.push(format!("{function}: bootstrap is {} bytes, target under 10 MiB", size.unwrap_or(0)));
        }
        if function == "snapshot-stream" && peak >= 64 * 1024 {
            missed.push(format!(
                "snapshot-stream: peak memory {peak} KiB for a 1,000-record batch, target under 64 MiB"
            ));
        }
    }

    // ---- logs ----------------------------------------------------------------------------
    if part("logs") {
        eprintln!(
            "logs: the stream binary under the emulator, 10 batches of 100 records, detailed and quiet…"
        );
        let host = release.join("snapshot-stream");
        let mut log_env: std::collections::BTreeMap<String, String> = env.iter().cloned().collect();
        log_env.insert("AWS_LAMBDA_FUNCTION_TIMEOUT".into(), "60".into());
        match logs::measure(&host, &log_env).await {
            Ok(bytes) => {
                measured.logs = Some(bytes.measured());
                let price = inputs.prices.logs_ingest_per_gb;
                println!(
                    "\n## Stream function logs (JSON, as deployed; 100-record batches, one record per order)\n"
                );
                println!(
                    "| LOG_DETAIL | bytes per 1,000 events | USD/month at 10 events/s | at 100 | at 1,000 |"
                );
                println!("|---|---:|---:|---:|---:|");
                for (label, share) in
                    [("1 (every invocation)", 1.0), ("0.01 (the template's default)", 0.01), ("0", 0.0)]
                {
                    let b = bytes.at_share(share);
                    let usd = |rate| format!("{:.2}", logs::monthly_usd(b, rate, price));
                    println!("| {label} | {b:.0} | {} | {} | {} |", usd(10.0), usd(100.0), usd(1000.0));
                }
                println!(
                    "\nIngestion at ${price:.2}/GB (CloudWatch Logs, standard class, us-east-1, from tools/capacity/inputs.json); storage comes on top for the retention kept."
                );
            }
            Err(e) => missed.push(format!("logs: {e}")),
        }
    }

    let parts = ["load", "profile", "stream", "logs"].into_iter().filter(|p| part(p)).collect();
    match record(&mut inputs, &inputs_path, measured, parts, quick) {
        Ok(()) => println!("\nThe capacity model's inputs: {} (make capacity)", inputs_path.display()),
        Err(e) => missed.push(format!("cannot record the capacity model's inputs: {e}")),
    }

    println!("\n## Targets\n");
    if missed.is_empty() {
        println!(
            "Every target this run checked was met (load: 1 round trip on the critical path and ≤ {} items at every length on both engines; on dynalite with {delay_ms} ms injected: ≤ 1.2× the floor, ≤ 0.6× the two-step load, and at 10 events ≥ 0.95× replay's speed; stream: ≤ 2 reads and 1 write per order cold, 0 reads warm; binaries: bootstraps < 10 MiB, stream peak < 64 MiB).",
            1 + read_ahead
        );
        ExitCode::SUCCESS
    } else {
        for m in &missed {
            println!("- MISSED: {m}");
        }
        ExitCode::FAILURE
    }
}

/// Writes what this run measured into the capacity model's inputs, keeping what the parts
/// that did not run measured before.
fn record(
    inputs: &mut capacity::inputs::Inputs,
    path: &Path,
    fresh: capacity::inputs::Measured,
    parts: Vec<&str>,
    quick: bool,
) -> Result<(), capacity::inputs::InputsError> {
    let kept = &mut inputs.measured;
    if !fresh.loads.is_empty() {
        kept.loads = fresh.loads;
    }
    kept.stream = fresh.stream.or(kept.stream.take());
    kept.cpu = fresh.cpu.or(kept.cpu.take());
    kept.logs = fresh.logs.or(kept.logs.take());
    let output = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    kept.run = Some(capacity::inputs::BenchRun {
        date: {
            use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
            let now = DateTime::from(std::time::SystemTime::now()).fmt(DateTimeFormat::DateTime);
            now.map(|t| t[..10].to_owned()).unwrap_or_default()
        },
        commit: output("git", &["rev-parse", "--short", "HEAD"]),
        quick,
        parts: parts.into_iter().map(str::to_owned).collect(),
    });
    inputs.write(path)
}

/// The value after `name` in `args`, or `default` when `name` is absent; a missing or
/// malformed value stops the bench, naming the option.
fn option<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T
where
    T::Err: std::fmt::Display,
{
    let Some(at) = args.iter().position(|a| a == name) else { return default };
    let value = args.get(at + 1).unwrap_or_else(|| panic!("{name} needs a value"));
    value.parse().unwrap_or_else(|e| panic!("{name} {value:?}: {e}"))
}
