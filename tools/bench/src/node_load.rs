//! The npm package's load (clients/node/) beside the Rust load, on the same seeded tables and
//! through the same latency-injecting proxy: the one-request floor, a full replay and the
//! package's load are timed by `clients/node/bench/load.mjs` in Node, with the SDK client the
//! package uses; the Rust load is timed here. The package's targets are judged against the
//! floor and the replay measured in Node, so each language is held to its own client stack.

use crate::load::{ORDER, seeded};
use crate::stats::Spread;
use serde_json::Value;
use shared::domain::samples::order_id as oid;
use std::path::Path;
use std::time::{Duration, Instant};
use testkit::{LocalDynamo, Proxy, client_for};

pub struct NodeRow {
    pub events: u64,
    pub delay: Duration,
    pub floor_ms: Spread,
    /// The load's two Queries sent at once in Node, their answers unused: the plan's own floor.
    pub both_queries_ms: Spread,
    pub replay_ms: Spread,
    pub load_ms: Spread,
    pub rust_load_ms: Spread,
    pub critical_round_trips: u64,
    pub round_trips: u64,
    pub items_read: u64,
    pub rust_critical_round_trips: u32,
}

/// One history length: seeded, then timed in Node and in Rust with `delay` injected each way.
pub async fn measure(
    server: &LocalDynamo,
    events: u64,
    delay: Duration,
    runs: usize,
    read_ahead: u32,
) -> Result<NodeRow, String> {
    let (t, at) = seeded(server, events).await;
    let proxy = Proxy::start(server.port()).await;
    proxy.delay_each_way(delay);
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/node");
    let args = [
        proxy.endpoint(),
        t.events_table.clone(),
        t.snapshots_table.clone(),
        ORDER.to_owned(),
        at.to_string(),
        runs.to_string(),
        read_ahead.to_string(),
    ];
    let output = tokio::process::Command::new("node")
        .current_dir(&package)
        .arg("bench/load.mjs")
        .args(&args)
        .output()
        .await
        .map_err(|e| format!("node bench/load.mjs: {e}"))?;
    if !output.status.success() {
        return Err(format!("node bench/load.mjs: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let node: Value = serde_json::from_slice(&output.stdout).map_err(|e| format!("its answer: {e}"))?;
    let spread = |key: &str| -> Result<Spread, String> {
        let samples = node[key].as_array().ok_or(format!("no {key}"))?;
        Ok(Spread::of(samples.iter().filter_map(Value::as_f64).collect()))
    };
    let repo = t.repository_via(client_for(&proxy.endpoint())).with_read_ahead(Some(read_ahead));
    let mut rust_times = Vec::new();
    let mut rust_critical = 0;
    for round in 0..=runs {
        let started = Instant::now();
        let loaded = repo.load(&oid(ORDER)).await.map_err(|e| e.to_string())?.ok_or("no order")?;
        if round > 0 {
            rust_times.push(started.elapsed());
        }
        rust_critical = loaded.cost.critical_round_trips;
    }
    proxy.cut();
    let cost = |key: &str| node["load"][key].as_u64().unwrap_or(0);
    Ok(NodeRow {
        events,
        delay,
        floor_ms: spread("floorMs")?,
        both_queries_ms: spread("bothQueriesMs")?,
        replay_ms: spread("replayMs")?,
        load_ms: spread("loadMs")?,
        rust_load_ms: Spread::of_durations(&rust_times),
        critical_round_trips: cost("criticalRoundTrips"),
        round_trips: cost("roundTrips"),
        items_read: cost("itemsRead"),
        rust_critical_round_trips: rust_critical,
    })
}

/// Prints the package's load table; returns the targets missed.
pub fn report(rows: &[NodeRow]) -> Vec<String> {
    println!("\n## The npm package's load (clients/node/) on dynalite, beside the Rust load\n");
    println!(
        "Median (min–max) ms. Timed in Node with the package's SDK client: the floor (one GetItem of the snapshot), both Queries (the load's two reads sent at once, their answers unused: what this plan costs in Node before any of the package's work), full replay, the package's load; the Rust load timed in Rust. Targets: package load ≤ 1.2× the floor at every length; at 10 events ≥ 0.95× replay's speed; 1 critical round trip, as the Rust load.\n"
    );
    println!(
        "| events | injected | floor (Node) | both Queries (Node) | replay (Node) | package load | Rust load | package / floor | both Queries / floor | package / both Queries | replay / package | round trips critical / sent (Rust critical) | items |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut missed = Vec::new();
    for r in rows {
        let over_floor = r.load_ms.median / r.floor_ms.median;
        let plan_over_floor = r.both_queries_ms.median / r.floor_ms.median;
        let over_plan = r.load_ms.median / r.both_queries_ms.median;
        let speed_up = r.replay_ms.median / r.load_ms.median;
        println!(
            "| {} | {} ms | {} | {} | {} | {} | {} | {over_floor:.2}× | {plan_over_floor:.2}× | {over_plan:.2}× | {speed_up:.2}× | {} / {} ({}) | {} |",
            r.events,
            r.delay.as_millis(),
            r.floor_ms.show(2),
            r.both_queries_ms.show(2),
            r.replay_ms.show(1),
            r.load_ms.show(2),
            r.rust_load_ms.show(2),
            r.critical_round_trips,
            r.round_trips,
            r.rust_critical_round_trips,
            r.items_read,
        );
        let at = format!("package load, {} events, {} ms injected", r.events, r.delay.as_millis());
        if over_floor > 1.2 {
            missed.push(format!(
                "{at}: {over_floor:.2}× the floor, target ≤ 1.2× (its two Queries alone, in Node: {plan_over_floor:.2}×)"
            ));
        }
        if r.events <= 10 && speed_up < 0.95 {
            missed.push(format!("{at}: {speed_up:.2}× replay's speed, target ≥ 0.95×"));
        }
        if r.critical_round_trips != 1 || u64::from(r.rust_critical_round_trips) != r.critical_round_trips {
            missed.push(format!(
                "{at}: {} critical round trips (the Rust load: {}), target 1",
                r.critical_round_trips, r.rust_critical_round_trips
            ));
        }
    }
    missed
}
