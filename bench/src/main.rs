//! `make bench`: measures, against the local DynamoDB-compatible server, what the product is
//! for: loads from snapshot + tail vs full replay at growing history lengths; the stream
//! function's throughput and storage requests; each function binary's size, start-up and
//! memory. Prints tables (median and min–max of several runs) and the target checks, and
//! renders docs/bench-load.svg.

mod binaries;
mod chart;
mod scenarios;
mod stats;

use chart::{Panel, Series};
use scenarios::THRESHOLD;
use std::path::Path;
use std::process::ExitCode;
use testkit::shared_server;

const FUNCTIONS: [&str; 3] = ["snapshot-stream", "snapshot-cleanup", "snapshot-admin"];

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only load|stream|binaries` runs one part.
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).cloned();
    let part = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let runs = if quick { 2 } else { 5 };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut missed = Vec::new();

    // ---- loads ---------------------------------------------------------------------------
    let lengths: &[u64] = match (part("load"), quick) {
        (false, _) => &[],
        (true, true) => &[10, 100, 1_000],
        (true, false) => &[10, 100, 1_000, 10_000],
    };
    eprintln!(
        "load: {} history lengths × {runs} runs (the 10,000-event seed takes a minute)…",
        lengths.len()
    );
    let mut rows = Vec::new();
    for &n in lengths {
        eprintln!("  {n} events…");
        rows.push(scenarios::load(n, runs).await);
    }
    println!(
        "\n## Load: full replay vs latest snapshot + tail (snapshot {} events behind, the worst case)\n",
        THRESHOLD - 1
    );
    println!(
        "| events | replay ms | snapshot ms | speed-up | items replay / snap | KB replay / snap | RCU replay / snap | round trips replay / snap |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let ratio = r.replay_ms.median / r.snapshot_ms.median;
        println!(
            "| {} | {} | {} | {:.1}× | {} / {} | {:.1} / {:.1} | {:.1} / {:.1} | {} / {} |",
            r.events,
            r.replay_ms.show(1),
            r.snapshot_ms.show(1),
            ratio,
            r.replay.items_read,
            r.snapshot.items_read,
            r.replay.bytes_read as f64 / 1024.0,
            r.snapshot.bytes_read as f64 / 1024.0,
            r.replay.read_units,
            r.snapshot.read_units,
            r.replay.round_trips,
            r.snapshot.round_trips
        );
        if r.snapshot.items_read > THRESHOLD + 1 {
            missed.push(format!(
                "{} events: snapshot load read {} items > {}",
                r.events,
                r.snapshot.items_read,
                THRESHOLD + 1
            ));
        }
        if r.snapshot.round_trips > 2 {
            missed.push(format!(
                "{} events: snapshot load took {} round trips > 2",
                r.events, r.snapshot.round_trips
            ));
        }
        if r.events == 10_000 && ratio < 20.0 {
            missed.push(format!("10,000 events: {ratio:.1}× faster than replay, target 20×"));
        }
    }
    let svg = (!rows.is_empty()).then(|| {
        chart::render(
            &[
                Panel {
                    title: "Load time (median)",
                    y_label: "milliseconds",
                    series: vec![
                        Series {
                            name: "full replay",
                            color: "#d62728",
                            points: rows.iter().map(|r| (r.events as f64, r.replay_ms.median)).collect(),
                        },
                        Series {
                            name: "snapshot + tail",
                            color: "#2ca02c",
                            points: rows.iter().map(|r| (r.events as f64, r.snapshot_ms.median)).collect(),
                        },
                    ],
                },
                Panel {
                    title: "Items read per load",
                    y_label: "items",
                    series: vec![
                        Series {
                            name: "full replay",
                            color: "#d62728",
                            points: rows
                                .iter()
                                .map(|r| (r.events as f64, r.replay.items_read as f64))
                                .collect(),
                        },
                        Series {
                            name: "snapshot + tail",
                            color: "#2ca02c",
                            points: rows
                                .iter()
                                .map(|r| (r.events as f64, r.snapshot.items_read as f64))
                                .collect(),
                        },
                    ],
                },
            ],
            "events in the order's history",
        )
    });
    if let Some(svg) = svg {
        let chart_path = root.join("docs/bench-load.svg");
        match std::fs::create_dir_all(root.join("docs")).and_then(|_| std::fs::write(&chart_path, svg)) {
            Ok(()) => println!("\nChart: docs/bench-load.svg"),
            Err(e) => eprintln!("cannot write {}: {e}", chart_path.display()),
        }
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
    println!("| function | arm64 bootstrap | start-up to ready (host, release) | peak memory |");
    println!("|---|---:|---:|---:|");
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
        ("CLEANUP_FUNCTION_NAME", "snapshot-cleanup".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for function in FUNCTIONS.iter().copied().filter(|_| part("binaries")) {
        let bootstrap = root.join(format!("target/lambda/{function}/bootstrap"));
        let size = std::fs::metadata(&bootstrap).map(|m| m.len()).ok();
        let host = root.join(format!("target/release/{function}"));
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
            "| {function} | {} | {ready} | {memory} |",
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

    println!("\n## Targets\n");
    if missed.is_empty() {
        println!(
            "Every target this run checked was met (load: ≤ {} items and ≤ 2 round trips at every length, ≥ 20× faster than replay at 10,000 events; stream: ≤ 2 reads and 1 write per order cold, 0 reads warm; binaries: bootstraps < 10 MiB, stream peak < 64 MiB).",
            THRESHOLD + 1
        );
        ExitCode::SUCCESS
    } else {
        for m in &missed {
            println!("- MISSED: {m}");
        }
        ExitCode::FAILURE
    }
}
