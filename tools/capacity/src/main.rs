//! `make capacity`: per traffic tier, the month's bill and the limits that bind first, from
//! the figures `make bench` measured (tools/capacity/inputs.json), the settings template.yaml
//! deploys, and a simulation of the stream function at the tier's container count. Prints
//! tables; draws docs/capacity-cost.svg and docs/capacity-cache.svg.
//!
//! `--inputs FILE` reads another inputs file; `--no-plots` leaves docs/ alone.

use capacity::deployed::{self, Deployed};
use capacity::inputs::{self, Complete, Inputs};
use capacity::model::{self, FULL_VCPU_MB, Payer, Plan, StreamBehaviour, Tier};
use capacity::plot::{self, Panel, Scale, Series};
use capacity::simulate::{self, BatchCost, Config, Outcome};
use shared::use_cases::stream_snapshots::DEFAULT_CACHE_CAPACITY;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const TIERS: [f64; 5] = [10.0, 100.0, 1_000.0, 10_000.0, 100_000.0];
/// Slots followed per simulated tier, and the records each sees (half of them to warm up).
const SLOTS_FOLLOWED: usize = 16;
const RECORDS_PER_SLOT: f64 = 40_000.0;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .iter()
        .position(|a| a == "--inputs")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(inputs::default_path);
    let plots = !args.iter().any(|a| a == "--no-plots");
    match run(&path, plots) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("make capacity: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &Path, plots: bool) -> Result<(), String> {
    let started = Instant::now();
    let inputs = Inputs::read(path).map_err(|e| e.to_string())?;
    let measured = inputs.complete(path).map_err(|e| e.to_string())?;
    let deployed = deployed::read()?;
    header(&inputs, &deployed);

    // ---- each tier: its slots from the model, its stream behaviour from the simulation ----
    let tiers: Vec<Tier> = TIERS
        .iter()
        .map(|&e| Tier {
            events_per_second: e,
            mix: &inputs.mix,
            prices: &inputs.prices,
            measured: &measured,
            deployed: &deployed,
        })
        .collect();
    let configs: Vec<Config> = tiers
        .iter()
        .map(|t| {
            let slots = model::event_table(t).slots;
            config(&inputs, &measured, &deployed, t.events_per_second, slots as usize, DEFAULT_CACHE_CAPACITY)
        })
        .collect();
    let outcomes = in_parallel(&configs);
    let plans: Vec<Plan> = tiers
        .iter()
        .zip(&outcomes)
        .map(|(t, o)| model::plan(t, StreamBehaviour { cold_loads_per_record: o.cold_loads_per_record }))
        .collect();
    print_tiers(&plans, &outcomes);
    print_bill(&plans);
    print_limits(&plans);
    print_simulation(&plans, &outcomes, &configs);

    // ---- the cache: hit ratio by container count and cache size --------------------------
    let sizes = [128usize, 512, 2_048, 8_192, 32_768];
    let containers = [1usize, 4, 16, 64];
    let grid_rate = 1_000.0;
    let grid: Vec<Config> = containers
        .iter()
        .flat_map(|&c| sizes.iter().map(move |&k| (c, k)))
        .map(|(c, k)| Config {
            // a large cache needs many records to fill and settle
            followed_slots: 4,
            records_per_slot: 150_000.0,
            ..config(&inputs, &measured, &deployed, grid_rate, c, k)
        })
        .collect();
    let grid_outcomes = in_parallel(&grid);
    print_cache_grid(&sizes, &containers, &grid_outcomes, &inputs, grid_rate);

    // ---- the defaults: batch size, window, parallelization at two tiers -----------------
    let choices =
        [(100.0, 1.0, 1.0), (100.0, 0.0, 1.0), (100.0, 5.0, 1.0), (1_000.0, 1.0, 1.0), (100.0, 1.0, 4.0)];
    let mut rows = Vec::new();
    for &rate in &[100.0, 1_000.0, 10_000.0] {
        for &(batch, window, parallelization) in &choices {
            let mut variant = deployed.clone();
            variant.stream.batch_size = batch;
            variant.stream.window_seconds = window;
            variant.stream.parallelization = parallelization;
            rows.push((rate, variant));
        }
    }
    let variant_configs: Vec<Config> = rows
        .iter()
        .map(|(rate, d)| {
            let tier = Tier {
                events_per_second: *rate,
                mix: &inputs.mix,
                prices: &inputs.prices,
                measured: &measured,
                deployed: d,
            };
            let slots = model::event_table(&tier).slots;
            config(&inputs, &measured, d, *rate, slots as usize, DEFAULT_CACHE_CAPACITY)
        })
        .collect();
    let variant_outcomes = in_parallel(&variant_configs);
    print_defaults(&rows, &variant_outcomes, &inputs, &measured);

    if plots {
        write_plots(&plans, &sizes, &containers, &grid_outcomes)?;
    }
    println!("\n(make capacity ran in {:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// The simulation of `slots` containers at `rate` events/s, with the deployed settings.
fn config(inputs: &Inputs, m: &Complete, d: &Deployed, rate: f64, slots: usize, cache: usize) -> Config {
    let cpu_factor = (FULL_VCPU_MB / d.stream_memory_mb).max(1.0);
    Config {
        events_per_second: rate,
        slots,
        cache_capacity: cache,
        batch_size: d.stream.batch_size as usize,
        window_seconds: d.stream.window_seconds,
        population: (inputs.mix.active_orders_per_event_per_second * rate).round().max(1.0) as u64,
        zipf_exponent: inputs.mix.zipf_exponent,
        orders: inputs
            .mix
            .orders
            .iter()
            .map(|c| (c.share_of_orders, c.events_per_order.round() as u64))
            .collect(),
        burst_factor: inputs.mix.burst_factor,
        burst_seconds: inputs.mix.burst_seconds,
        latency_median_ms: inputs.mix.dynamodb_latency_median_ms,
        latency_p99_ms: inputs.mix.dynamodb_latency_p99_ms,
        followed_slots: SLOTS_FOLLOWED,
        records_per_slot: RECORDS_PER_SLOT,
        strategy: d.strategy.clone(),
        cost: BatchCost {
            per_batch_us: m.cpu.per_batch_us * cpu_factor,
            per_record_us: (m.cpu.per_record_us + m.cpu.per_event_folded_us) * cpu_factor,
            per_cold_order_us: m.cpu.per_cold_order_us * cpu_factor,
            cold_round_trips: m.cold_round_trips(),
        },
        seed: 7,
    }
}

/// Runs the simulations on every core.
fn in_parallel(configs: &[Config]) -> Vec<Outcome> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(vec![None; configs.len()]);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(config) = configs.get(i) else { break };
                    let outcome = simulate::run(config);
                    results.lock().expect("results")[i] = Some(outcome);
                }
            });
        }
    });
    results.into_inner().expect("results").into_iter().map(|o| o.expect("every run finished")).collect()
}

fn header(inputs: &Inputs, d: &Deployed) {
    let run = inputs.measured.run.as_ref();
    println!("# Capacity and cost per month (30 days)\n");
    println!(
        "Measured by `make bench` on {} (commit {}{}); prices {} as read on {}; settings from template.yaml as deployed: batch {}, window {} s, ParallelizationFactor {}, stream memory {} MB, LOG_DETAIL {}, {:?} every {} events / {} h, {} alarms, {} stream reader(s).",
        run.map_or("?", |r| r.date.as_str()),
        run.map_or("?", |r| r.commit.as_str()),
        if run.is_some_and(|r| r.quick) { ", a --quick run" } else { "" },
        inputs.prices.region,
        inputs.prices.read_on,
        d.stream.batch_size,
        d.stream.window_seconds,
        d.stream.parallelization,
        d.stream_memory_mb,
        d.stream_log_detail,
        d.strategy.default_strategy,
        d.strategy.event_count_threshold,
        d.strategy.time_interval_hours,
        d.alarms,
        d.stream_readers,
    );
    let p = &inputs.prices;
    println!("\nPrices ({}, read on {}):\n", p.region, p.read_on);
    println!("| item | USD |");
    println!("|---|---:|");
    for (item, usd) in [
        ("Lambda requests, per million", p.lambda_requests_per_million),
        ("Lambda duration, arm64, per GB-second", p.lambda_arm_gb_second),
        ("DynamoDB on-demand write request units, per million", p.dynamodb_write_units_per_million),
        ("DynamoDB on-demand read request units, per million", p.dynamodb_read_units_per_million),
        ("DynamoDB storage, per GB-month", p.dynamodb_storage_gb_month),
        ("CloudWatch Logs ingestion, per GB", p.logs_ingest_per_gb),
        ("X-Ray traces recorded, per million", p.xray_traces_recorded_per_million),
        ("CloudWatch alarm (standard), per month", p.cloudwatch_alarm_month),
        ("API Gateway REST requests, per million", p.api_gateway_rest_requests_per_million),
    ] {
        println!("| {item} | {usd} |");
    }
    println!("\nFrom: {}\n", p.sources.join(", "));
    let mix = &inputs.mix;
    let classes: Vec<String> = mix
        .orders
        .iter()
        .map(|c| {
            format!(
                "{:.0} % {} ({} events over {} h)",
                c.share_of_orders * 100.0,
                c.name,
                c.events_per_order,
                c.lifetime_hours
            )
        })
        .collect();
    println!(
        "Mix: {}; {} loads per event; {} active orders per event/s (Zipf {}); bursts {}× for {} s; DynamoDB {} ms median, {} ms p99; {} months of events kept.",
        classes.join(", "),
        mix.loads_per_event,
        mix.active_orders_per_event_per_second,
        mix.zipf_exponent,
        mix.burst_factor,
        mix.burst_seconds,
        mix.dynamodb_latency_median_ms,
        mix.dynamodb_latency_p99_ms,
        mix.history_months
    );
}

fn usd(v: f64) -> String {
    if v >= 100.0 { format!("{v:.0}") } else { format!("{v:.2}") }
}

fn count(v: f64) -> String {
    match v {
        v if v >= 1e9 => format!("{:.2} G", v / 1e9),
        v if v >= 1e6 => format!("{:.2} M", v / 1e6),
        v if v >= 1e4 => format!("{:.1} k", v / 1e3),
        v if v >= 10.0 || v.fract() == 0.0 => format!("{v:.0}"),
        v => format!("{v:.2}"),
    }
}

fn print_tiers(plans: &[Plan], outcomes: &[Outcome]) {
    println!("\n## Per tier\n");
    println!(
        "| events/s | shards | stream slots (shards × PF) | records per invocation | stream invocations / month | mean duration | concurrency (mean / max) | cache hit ratio | cold loads/s | snapshot writes/s | logs GB | X-Ray traces | USD, snapshot service | USD, Order Service's share |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (p, o) in plans.iter().zip(outcomes) {
        let default_writes = p.snapshot_writes_per_second.first().map_or(0.0, |w| w.1);
        println!(
            "| {} | {} | {} | {:.1} | {} | {:.1} ms | {:.2} / {} | {:.3} | {} | {} | {} | {} | {} | {} |",
            count(p.events_per_second),
            count(p.partitions),
            count(p.stream_slots),
            p.records_per_invocation,
            count(p.stream_invocations_per_second * model::SECONDS_PER_MONTH),
            p.stream_duration_ms,
            p.stream_concurrency_mean,
            count(p.stream_slots),
            o.hit_ratio,
            count(p.cold_loads_per_second),
            count(default_writes),
            count(p.log_gb_per_month),
            count(p.traces_per_month),
            usd(p.usd(Payer::Snapshots)),
            usd(p.usd(Payer::OrderService)),
        );
    }
    println!("\n### Per function: invocations / GB-seconds a month\n");
    tier_columns(plans, &["function"]);
    for (k, f) in plans[0].functions.iter().enumerate() {
        let cells: Vec<String> = plans
            .iter()
            .map(|p| format!("{} / {}", count(p.functions[k].invocations), count(p.functions[k].gb_seconds)))
            .collect();
        println!("| {} | {} |", f.name, cells.join(" | "));
    }
    println!("\n### Per table: read units (ours + the Order Service's) / write units a month\n");
    tier_columns(plans, &["table"]);
    for (k, t) in plans[0].tables.iter().enumerate() {
        let cells: Vec<String> = plans
            .iter()
            .map(|p| {
                let t = &p.tables[k];
                format!(
                    "{} + {} / {}",
                    count(t.read_units_ours),
                    count(t.read_units_order_service),
                    count(t.write_units)
                )
            })
            .collect();
        println!("| {} | {} |", t.name, cells.join(" | "));
    }
    let cold: Vec<String> = plans.iter().map(|p| format!("{:.2}", p.cold_loads_per_invocation)).collect();
    println!("| cold loads per stream batch (2 reads each) | {} |", cold.join(" | "));

    println!("\nSnapshot writes/s by strategy (EVENT_COUNT / TIME_BASED / HYBRID):");
    for p in plans {
        let w: Vec<String> = p.snapshot_writes_per_second.iter().map(|(_, w)| count(*w)).collect();
        println!(
            "- {} events/s: {}; the Order Service's loads read {} RRU a month ({} by full replay)",
            count(p.events_per_second),
            w.join(" / "),
            count(p.load_read_units_month),
            count(p.replay_read_units_month)
        );
    }
}

/// A table's head: `labels`, then a column per tier.
fn tier_columns(plans: &[Plan], labels: &[&str]) {
    let tiers: Vec<String> =
        plans.iter().map(|p| format!("{} events/s", count(p.events_per_second))).collect();
    println!("| {} | {} |", labels.join(" | "), tiers.join(" | "));
    println!("|{}{}", "---|".repeat(labels.len()), "---:|".repeat(plans.len()));
}

fn print_bill(plans: &[Plan]) {
    println!("\n## The bill, USD per month\n");
    tier_columns(plans, &["line item", "who pays"]);
    for (k, line) in plans[0].lines.iter().enumerate() {
        let cells: Vec<String> = plans
            .iter()
            .map(|p| format!("{} ({} {})", usd(p.lines[k].usd), count(p.lines[k].quantity), p.lines[k].unit))
            .collect();
        let payer = match line.payer {
            Payer::Snapshots => "snapshots",
            Payer::OrderService => "Order Service",
        };
        println!("| {} | {payer} | {} |", line.item, cells.join(" | "));
    }
    let total = |payer| plans.iter().map(|p| usd(p.usd(payer))).collect::<Vec<_>>().join(" | ");
    println!("| **total, snapshot service** | | {} |", total(Payer::Snapshots));
    println!("| **total, Order Service's share** | | {} |", total(Payer::OrderService));
}

fn print_limits(plans: &[Plan]) {
    println!("\n## Limits: the share used at each tier (≥ 100 % binds)\n");
    tier_columns(plans, &["limit"]);
    for (k, limit) in plans[0].limits.iter().enumerate() {
        let cells: Vec<String> = plans.iter().map(|p| format!("{:.1} %", p.limits[k].used * 100.0)).collect();
        println!("| {} | {} |", limit.name, cells.join(" | "));
    }
    let first: Vec<String> =
        plans.iter().map(|p| p.binding().name.split(':').next().unwrap_or("").to_owned()).collect();
    println!("| **binds first** | {} |", first.join(" | "));
    println!();
    for p in plans {
        let b = p.binding();
        println!("- {} events/s: {} — {}", count(p.events_per_second), b.name, b.detail);
    }
}

fn print_simulation(plans: &[Plan], outcomes: &[Outcome], configs: &[Config]) {
    println!(
        "\n## The stream simulated at each tier (default cache {DEFAULT_CACHE_CAPACITY} orders per container)\n"
    );
    println!(
        "| events/s | slots (followed) | simulated | active orders | hit ratio | cold loads / record | iterator age p50 / p99 / max | hottest slot: events/s, max age | snapshot writes/s (sim / model) | invocations/s (sim / model) | records per invocation (sim / model) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for ((p, o), c) in plans.iter().zip(outcomes).zip(configs) {
        println!(
            "| {} | {} ({}) | {:.0} s | {} | {:.3} | {:.3} | {:.2} / {:.2} / {:.2} s | {:.1}, {:.2} s | {} / {} | {} / {} | {:.1} / {:.1} |",
            count(p.events_per_second),
            count(p.stream_slots),
            o.slots_followed,
            o.seconds,
            count(c.population as f64),
            o.hit_ratio,
            o.cold_loads_per_record,
            o.iterator_age_p50_ms / 1000.0,
            o.iterator_age_p99_ms / 1000.0,
            o.iterator_age_max_ms / 1000.0,
            o.hottest_slot_events_per_second,
            o.hottest_slot_age_max_ms / 1000.0,
            count(o.snapshot_writes_per_second),
            count(p.snapshot_writes_per_second.first().map_or(0.0, |w| w.1)),
            count(o.invocations_per_second),
            count(p.stream_invocations_per_second),
            o.records_per_invocation,
            p.records_per_invocation,
        );
    }
}

fn print_cache_grid(sizes: &[usize], containers: &[usize], outcomes: &[Outcome], inputs: &Inputs, rate: f64) {
    println!(
        "\n## Cache hit ratio by container count and cache size ({} events/s, {} active orders, Zipf {})\n",
        count(rate),
        count(inputs.mix.active_orders_per_event_per_second * rate),
        inputs.mix.zipf_exponent
    );
    let head: Vec<String> = sizes.iter().map(|k| format!("{k} orders")).collect();
    println!("| containers | {} |", head.join(" | "));
    println!("|---:|{}", "---:|".repeat(sizes.len()));
    for (i, c) in containers.iter().enumerate() {
        let cells: Vec<String> =
            (0..sizes.len()).map(|j| format!("{:.3}", outcomes[i * sizes.len() + j].hit_ratio)).collect();
        println!("| {c} | {} |", cells.join(" | "));
    }
}

fn print_defaults(rows: &[(f64, Deployed)], outcomes: &[Outcome], inputs: &Inputs, measured: &Complete) {
    println!("\n## Choosing the stream's settings (simulated; cost is the stream function's Lambda bill)\n");
    println!(
        "| events/s | batch | window | PF | slots | invocations/month | records per invocation | iterator age p99 / max | hit ratio | stream Lambda USD/month |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for ((rate, d), o) in rows.iter().zip(outcomes) {
        let tier = Tier {
            events_per_second: *rate,
            mix: &inputs.mix,
            prices: &inputs.prices,
            measured,
            deployed: d,
        };
        let plan = model::plan(&tier, StreamBehaviour { cold_loads_per_record: o.cold_loads_per_record });
        let lambda: f64 = plan.lines.iter().take(2).map(|l| l.usd).sum();
        println!(
            "| {} | {} | {} s | {} | {} | {} | {:.1} | {:.2} / {:.2} s | {:.3} | {} |",
            count(*rate),
            d.stream.batch_size,
            d.stream.window_seconds,
            d.stream.parallelization,
            count(plan.stream_slots),
            count(o.invocations_per_second * model::SECONDS_PER_MONTH),
            o.records_per_invocation,
            o.iterator_age_p99_ms / 1000.0,
            o.iterator_age_max_ms / 1000.0,
            o.hit_ratio,
            usd(lambda),
        );
    }
}

fn write_plots(
    plans: &[Plan],
    sizes: &[usize],
    containers: &[usize],
    grid: &[Outcome],
) -> Result<(), String> {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let cost = |payer| plans.iter().map(|p| (p.events_per_second, p.usd(payer))).collect();
    let cost_svg = plot::render(
        &[Panel {
            title: "Monthly cost vs traffic",
            y_label: "USD per month",
            y_scale: Scale::Log,
            series: vec![
                Series { name: "snapshot service", color: "#2ca02c", points: cost(Payer::Snapshots) },
                Series {
                    name: "Order Service's share (appends, loads)",
                    color: "#7f7f7f",
                    points: cost(Payer::OrderService),
                },
            ],
        }],
        "events per second",
    );
    let colors = ["#d62728", "#ff7f0e", "#2ca02c", "#1f77b4"];
    let names: Vec<String> = containers.iter().map(|c| format!("{c} container(s)")).collect();
    let series = containers
        .iter()
        .enumerate()
        .map(|(i, _)| Series {
            name: &names[i],
            color: colors[i % colors.len()],
            points: sizes
                .iter()
                .enumerate()
                .map(|(j, k)| (*k as f64, grid[i * sizes.len() + j].hit_ratio))
                .collect(),
        })
        .collect();
    let cache_svg = plot::render(
        &[Panel {
            title: "Cache hit ratio vs cache size",
            y_label: "hit ratio",
            y_scale: Scale::Linear,
            series,
        }],
        "orders held per container",
    );
    for (name, svg) in [("capacity-cost.svg", cost_svg), ("capacity-cache.svg", cache_svg)] {
        std::fs::write(docs.join(name), svg).map_err(|e| format!("cannot write docs/{name}: {e}"))?;
    }
    println!("\nPlots: docs/capacity-cost.svg, docs/capacity-cache.svg");
    Ok(())
}
