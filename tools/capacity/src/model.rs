//! The month at one traffic tier, in arithmetic simple enough to check by hand (the test
//! does): partitions and shards of the event table, the stream function's invocations and
//! their duration from measured CPU and drawn-from-the-mix reads, read and write units on
//! both tables, logs, traces, alarms, and what each costs; then the limits, each as the
//! share of it a tier uses, so the one that binds first is the largest.

use crate::deployed::Deployed;
use crate::inputs::{Complete, LoadMeasured, Mix, OrderClass, Prices};
use shared::policy::settings::{StrategyKind, StrategySettings};
use shared::policy::strategy::{SnapshotFacts, at_sequence, should_snapshot};
use shared::use_cases::maintenance::cleanup::{ORDER_CONCURRENCY as CLEANUP_CONCURRENCY, SCAN_PAGE};
use shared::use_cases::stream_snapshots::ORDER_CONCURRENCY;

pub const SECONDS_PER_MONTH: f64 = 30.0 * 24.0 * 3600.0;
/// Lambda gives a function one full vCPU at 1,769 MB, and a proportional share below.
pub const FULL_VCPU_MB: f64 = 1769.0;
/// Lambda polls each DynamoDB stream shard four times a second.
pub const POLL_SECONDS: f64 = 0.25;
/// DynamoDB: a partition takes at most 1,000 write units a second and holds about 10 GB.
pub const PARTITION_WRITE_UNITS: f64 = 1000.0;
pub const PARTITION_GB: f64 = 10.0;
/// DynamoDB Streams serves at most two concurrent readers per shard.
pub const READERS_PER_SHARD: f64 = 2.0;
/// X-Ray's default sampling rule: the first request each second, then 5 %.
pub const XRAY_RESERVOIR_PER_SECOND: f64 = 1.0;
pub const XRAY_RATE: f64 = 0.05;
/// Bytes of one entry of the snapshot-keys index (order id, version, timestamp): what the
/// daily retention run reads per stored snapshot.
pub const SNAPSHOT_KEY_BYTES: f64 = 64.0;

/// What the stream function's containers make of the traffic at this tier: from the
/// simulation, or given by hand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StreamBehaviour {
    /// Orders read from storage (the container did not hold them) per record.
    pub cold_loads_per_record: f64,
}

/// One line of the bill.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub item: &'static str,
    /// Who pays: this service, or the Order Service (its appends and loads, for scale).
    pub payer: Payer,
    pub quantity: f64,
    pub unit: &'static str,
    pub usd: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payer {
    Snapshots,
    OrderService,
}

/// A limit and the share of it the tier uses (1.0: at the limit).
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    pub name: &'static str,
    pub used: f64,
    pub detail: String,
}

/// One table's month: read and write units, by whom.
#[derive(Clone, Debug, PartialEq)]
pub struct TableMonth {
    pub name: &'static str,
    /// The snapshot service's reads (the stream's cold loads, retention) and the Order
    /// Service's (its loads).
    pub read_units_ours: f64,
    pub read_units_order_service: f64,
    /// Snapshots and retention's deletes, or the Order Service's appends.
    pub write_units: f64,
}

/// One function's month.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionMonth {
    pub name: &'static str,
    pub invocations: f64,
    pub gb_seconds: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub events_per_second: f64,
    pub partitions: f64,
    /// Shards × ParallelizationFactor: the stream's concurrent invocations at most.
    pub stream_slots: f64,
    pub records_per_invocation: f64,
    pub stream_invocations_per_second: f64,
    pub stream_duration_ms: f64,
    /// Invocations in flight on average (Little's law).
    pub stream_concurrency_mean: f64,
    /// Snapshot writes per second under each strategy (the default one is billed).
    pub snapshot_writes_per_second: Vec<(StrategyKind, f64)>,
    pub cold_loads_per_second: f64,
    pub functions: Vec<FunctionMonth>,
    pub tables: Vec<TableMonth>,
    /// Orders a stream batch reads from storage (the container did not hold them).
    pub cold_loads_per_invocation: f64,
    /// Read units of the Order Service's loads a month, and what the same loads would read by
    /// full replay: what the snapshots save.
    pub load_read_units_month: f64,
    pub replay_read_units_month: f64,
    pub log_gb_per_month: f64,
    pub traces_per_month: f64,
    pub lines: Vec<Line>,
    pub limits: Vec<Limit>,
}

impl Plan {
    pub fn usd(&self, payer: Payer) -> f64 {
        self.lines.iter().filter(|l| l.payer == payer).map(|l| l.usd).sum()
    }

    /// The limit with the largest share used.
    pub fn binding(&self) -> &Limit {
        self.limits.iter().max_by(|a, b| a.used.total_cmp(&b.used)).expect("limits")
    }
}

/// Snapshots one order of `class` gets over its life under `strategy`: its events spread
/// evenly over its lifetime, each offered to the real strategy as the stream offers it.
pub fn snapshots_per_order(class: &OrderClass, strategy: StrategyKind, settings: &StrategySettings) -> f64 {
    let events = class.events_per_order.round().max(1.0) as u64;
    let gap_ms = class.lifetime_hours * 3_600_000.0 / events as f64;
    let (mut snapshot_sequence, mut snapshot_at, mut written) = (0, None, 0);
    for sequence in 1..=events {
        let facts = SnapshotFacts {
            last_sequence: sequence,
            snapshot_sequence,
            snapshot_at,
            now: (sequence as f64 * gap_ms) as i64,
        };
        if let Some(trigger) = should_snapshot(strategy, &facts, settings) {
            snapshot_sequence = at_sequence(&trigger, &facts);
            snapshot_at = Some(facts.now);
            written += 1;
        }
    }
    written as f64
}

/// The invocations each stream slot (a shard's share under ParallelizationFactor) makes per
/// second at `records_per_second`: a full batch when the window would gather one, else one
/// window after the first record arrives.
pub fn invocations_per_slot(records_per_second: f64, batch_size: f64, window_seconds: f64) -> f64 {
    if records_per_second <= 0.0 {
        return 0.0;
    }
    let window = window_seconds.max(POLL_SECONDS);
    if records_per_second * window >= batch_size {
        records_per_second / batch_size
    } else {
        1.0 / (window + 1.0 / records_per_second)
    }
}

/// Expected waves of `ORDER_CONCURRENCY` orders when `orders` of a batch need a round trip:
/// a fraction of one when fewer than one is expected per batch.
fn waves(orders: f64) -> f64 {
    if orders <= 1.0 { orders.max(0.0) } else { (orders / ORDER_CONCURRENCY as f64).ceil() }
}

/// A measured figure at history length `events`, between the measured lengths (linear in the
/// length, clamped to the measured range).
fn at_length(loads: &[LoadMeasured], events: f64, figure: impl Fn(&LoadMeasured) -> f64) -> f64 {
    let mut rows: Vec<&LoadMeasured> = loads.iter().collect();
    rows.sort_by_key(|r| r.events);
    let (first, last) = (rows[0], rows[rows.len() - 1]);
    if events <= first.events as f64 {
        return figure(first);
    }
    for pair in rows.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if events <= b.events as f64 {
            let t = (events - a.events as f64) / (b.events - a.events) as f64;
            return figure(a) + t * (figure(b) - figure(a));
        }
    }
    figure(last)
}

/// The generalized harmonic number H(n, s) = Σ k^-s for k = 1..n (Euler–Maclaurin: exact
/// enough for shares, and instant for a population of millions).
pub fn harmonic(n: f64, s: f64) -> f64 {
    let n = n.max(1.0);
    if n <= 1_000.0 {
        return (1..=n as u64).map(|k| (k as f64).powf(-s)).sum();
    }
    let integral = if (s - 1.0).abs() < 1e-12 { n.ln() } else { (n.powf(1.0 - s) - 1.0) / (1.0 - s) };
    integral + 0.5 * (1.0 + n.powf(-s)) + s / 12.0 * (1.0 - n.powf(-s - 1.0))
}

/// Write units of an item of `bytes` (1 KB each, rounded up).
fn write_units(bytes: f64) -> f64 {
    (bytes / 1024.0).ceil().max(1.0)
}

pub struct Tier<'a> {
    pub events_per_second: f64,
    pub mix: &'a Mix,
    pub prices: &'a Prices,
    pub measured: &'a Complete<'a>,
    pub deployed: &'a Deployed,
}

/// The event table at a tier: what an event costs to write, its size, and its partitions,
/// hence the stream's shards and slots.
pub struct EventTable {
    pub event_wcu: f64,
    pub table_gb: f64,
    pub partitions: f64,
    /// Shards × ParallelizationFactor: one container at a time each.
    pub slots: f64,
}

/// DynamoDB gives a partition at most 1,000 write units a second and about 10 GB, and its
/// stream one shard per partition: the partitions are the larger of the peak writes' and the
/// size's.
pub fn event_table(tier: &Tier) -> EventTable {
    let (mix, m, e) = (tier.mix, tier.measured, tier.events_per_second);
    let transaction = if mix.events_per_append > 1.0 { 2.0 } else { 1.0 };
    let event_wcu = write_units(m.cpu.event_item_bytes as f64) * transaction;
    let table_gb = e * m.cpu.event_item_bytes as f64 * mix.history_months * SECONDS_PER_MONTH / 1e9;
    let partitions = 1f64
        .max((e * mix.burst_factor * event_wcu / PARTITION_WRITE_UNITS).ceil())
        .max((table_gb / PARTITION_GB).ceil());
    EventTable { event_wcu, table_gb, partitions, slots: partitions * tier.deployed.stream.parallelization }
}

/// The month at this tier, the stream behaving as `stream` says.
pub fn plan(tier: &Tier, stream: StreamBehaviour) -> Plan {
    let (mix, p, m, d) = (tier.mix, tier.prices, tier.measured, tier.deployed);
    let e = tier.events_per_second;
    let month = |per_second: f64| per_second * SECONDS_PER_MONTH;
    let per_million = |count: f64, usd: f64| count / 1e6 * usd;

    let EventTable { event_wcu, table_gb, partitions, slots } = event_table(tier);

    // ---- snapshots per strategy ----------------------------------------------------------
    let orders_per_second = e / mix.events_per_order();
    let snapshots_under = |strategy| {
        orders_per_second
            * mix
                .orders
                .iter()
                .map(|c| c.share_of_orders * snapshots_per_order(c, strategy, &d.strategy))
                .sum::<f64>()
    };
    let strategies = [StrategyKind::EventCount, StrategyKind::TimeBased, StrategyKind::Hybrid];
    let snapshot_writes: Vec<(StrategyKind, f64)> =
        strategies.iter().map(|&s| (s, snapshots_under(s))).collect();
    // under the default strategy, per kind of order (in the mix's order)
    let written: Vec<f64> =
        mix.orders.iter().map(|c| snapshots_per_order(c, d.strategy.default_strategy, &d.strategy)).collect();
    let per_order = |f: &dyn Fn(f64) -> f64| {
        orders_per_second
            * mix.orders.iter().zip(&written).map(|(c, w)| c.share_of_orders * f(*w)).sum::<f64>()
    };
    let writes_per_second = per_order(&|w| w);
    let snapshotted_orders_per_second = per_order(&|w| if w >= 1.0 { 1.0 } else { 0.0 });

    // ---- the stream function -------------------------------------------------------------
    let per_slot = e / slots;
    let invocations_slot = invocations_per_slot(per_slot, d.stream.batch_size, d.stream.window_seconds);
    let records = if invocations_slot > 0.0 { per_slot / invocations_slot } else { 0.0 };
    let cpu_factor = (FULL_VCPU_MB / d.stream_memory_mb).max(1.0);
    let latency = mix.dynamodb_latency_median_ms;
    let duration_ms = |records: f64| {
        let cold = records * stream.cold_loads_per_record;
        let writes = records * writes_per_second / e;
        let cpu_us = m.cpu.per_batch_us
            + records * (m.cpu.per_record_us + m.cpu.per_event_folded_us)
            + cold * m.cpu.per_cold_order_us;
        cpu_us * cpu_factor / 1000.0
            + waves(cold) * m.cold_round_trips() * latency
            + waves(writes) * m.stream.writes_per_snapshot * latency
    };
    let stream_duration = duration_ms(records);
    let invocations = slots * invocations_slot;
    let stream_gb_s = invocations * stream_duration / 1000.0 * d.stream_memory_mb / 1024.0;

    // ---- reads ---------------------------------------------------------------------------
    // The stream's cold loads are bounded loads of an order within its read-ahead of the
    // newest snapshot: the measured load of the longest history stands for them.
    let stream_load = m.stream_load();
    let cold_loads = e * stream.cold_loads_per_record;
    let stream_event_rru = cold_loads * (stream_load.read_units - stream_load.snapshot_read_units);
    let stream_snapshot_rru = cold_loads * stream_load.snapshot_read_units;
    // The Order Service loads an order along its life: on average at half its final length.
    let events_share = |c: &OrderClass| c.share_of_orders * c.events_per_order / mix.events_per_order();
    let per_load = |figure: &dyn Fn(&LoadMeasured) -> f64| {
        mix.orders
            .iter()
            .map(|c| events_share(c) * at_length(m.loads, c.events_per_order / 2.0, figure))
            .sum::<f64>()
    };
    let loads = e * mix.loads_per_event;
    let load_snapshot_rru = loads * per_load(&|l| l.snapshot_read_units);
    let load_event_rru = loads * per_load(&|l| l.read_units - l.snapshot_read_units);
    let replay_rru = loads * per_load(&|l| l.replay_read_units);

    // ---- the snapshot table: writes, retention, storage ----------------------------------
    let snapshot_wcu = write_units(m.cpu.snapshot_item_bytes as f64);
    // every snapshot is deleted in time except each order's newest, kept for good
    let deletes_per_second = (writes_per_second - snapshotted_orders_per_second).max(0.0);
    // each order snapshotted in the history kept keeps its newest; those younger than the
    // age limit keep up to the count limit
    let kept_within_age_per_second = per_order(&|w| (w.min(d.max_snapshots_per_order) - 1.0).max(0.0));
    let history_seconds = mix.history_months * SECONDS_PER_MONTH;
    let age_window = (d.max_snapshot_age_days * 86_400.0).min(history_seconds);
    let orders_in_index = snapshotted_orders_per_second * history_seconds;
    let stored_snapshots = orders_in_index + kept_within_age_per_second * age_window;
    let snapshot_gb = stored_snapshots * m.cpu.snapshot_item_bytes as f64 / 1e9;

    // ---- maintenance: the retention pass over the keys index, rebuild turns, admin -------
    // A pass reads the index a page at a time; per page, each order's keys (a Query) and its
    // deletes (a batch), `CLEANUP_CONCURRENCY` orders at once. A pass longer than the day's
    // runs allow resumes the next day: retention lags, nothing else.
    let page = f64::from(SCAN_PAGE);
    let orders_per_page =
        if stored_snapshots > 0.0 { (page * orders_in_index / stored_snapshots).min(page) } else { 0.0 };
    // a wave waits for its keys Query, and for a delete when one of its orders has something
    // to delete: the share of orders that do is a day's deletes over the orders indexed
    let deleting = ((deletes_per_second * 86_400.0) / orders_in_index.max(1.0)).min(1.0);
    let wave_round_trips = 1.0 + (CLEANUP_CONCURRENCY as f64 * deleting).min(1.0);
    let page_round_trips = 1.0 + (orders_per_page / CLEANUP_CONCURRENCY as f64).ceil() * wave_round_trips;
    let pass_seconds = stored_snapshots / page * page_round_trips * latency / 1000.0;
    let retention_budget = d.retention_runs_per_month / 30.0 * d.maintenance_timeout_seconds;
    let passes_per_day = if pass_seconds > 0.0 { (retention_budget / pass_seconds).min(1.0) } else { 1.0 };
    // the index is eventually consistent (0.5 a 4 KB page); each order's keys Query 0.5 at least
    let retention_rru_month = 30.0
        * passes_per_day
        * (stored_snapshots * SNAPSHOT_KEY_BYTES / 4096.0 * 0.5 + orders_in_index * 0.5);
    let maintenance_ms =
        30.0 * pass_seconds.min(retention_budget) * 1000.0 + d.rebuild_turns_per_month * latency;
    let maintenance_runs = d.retention_runs_per_month + d.rebuild_turns_per_month;
    let maintenance_gb_s = maintenance_ms / 1000.0 * d.maintenance_memory_mb / 1024.0;
    let admin_ms_each = m.cold_round_trips() * latency + m.cpu.per_cold_order_us * cpu_factor / 1000.0;
    let admin_gb_s = mix.admin_requests_per_month * admin_ms_each / 1000.0 * d.admin_memory_mb / 1024.0;

    // ---- logs and traces -----------------------------------------------------------------
    let log_bytes = d.stream_log_detail * m.logs.bytes_per_1000_events_detailed
        + (1.0 - d.stream_log_detail) * m.logs.bytes_per_1000_events_quiet;
    let log_gb = month(e) / 1000.0 * log_bytes / 1e9;
    let sampled = |per_second: f64| {
        per_second.min(XRAY_RESERVOIR_PER_SECOND)
            + XRAY_RATE * (per_second - XRAY_RESERVOIR_PER_SECOND).max(0.0)
    };
    let traces = if d.tracing {
        month(sampled(invocations))
            + maintenance_runs
            + mix.admin_requests_per_month.min(month(XRAY_RESERVOIR_PER_SECOND))
    } else {
        0.0
    };

    // ---- the bill ------------------------------------------------------------------------
    let stream_invocations_month = month(invocations);
    let lambda_requests = stream_invocations_month + maintenance_runs + mix.admin_requests_per_month;
    let gb_s = month(stream_gb_s) + maintenance_gb_s + admin_gb_s;
    let snapshot_write_units = month(writes_per_second + deletes_per_second) * snapshot_wcu;
    let our_rru = month(stream_event_rru + stream_snapshot_rru) + retention_rru_month;
    let lines = vec![
        Line {
            item: "Lambda requests (stream, maintenance, admin)",
            payer: Payer::Snapshots,
            quantity: lambda_requests,
            unit: "requests",
            usd: per_million(lambda_requests, p.lambda_requests_per_million),
        },
        Line {
            item: "Lambda duration (arm64)",
            payer: Payer::Snapshots,
            quantity: gb_s,
            unit: "GB-s",
            usd: gb_s * p.lambda_arm_gb_second,
        },
        Line {
            item: "DynamoDB writes, snapshot table (snapshots + retention deletes)",
            payer: Payer::Snapshots,
            quantity: snapshot_write_units,
            unit: "WRU",
            usd: per_million(snapshot_write_units, p.dynamodb_write_units_per_million),
        },
        Line {
            item: "DynamoDB reads by the stream's cold loads and retention (both tables)",
            payer: Payer::Snapshots,
            quantity: our_rru,
            unit: "RRU",
            usd: per_million(our_rru, p.dynamodb_read_units_per_million),
        },
        Line {
            item: "DynamoDB storage, snapshot table",
            payer: Payer::Snapshots,
            quantity: snapshot_gb,
            unit: "GB-month",
            usd: snapshot_gb * p.dynamodb_storage_gb_month,
        },
        Line {
            item: "CloudWatch Logs ingestion (stream function)",
            payer: Payer::Snapshots,
            quantity: log_gb,
            unit: "GB",
            usd: log_gb * p.logs_ingest_per_gb,
        },
        Line {
            item: "X-Ray traces recorded",
            payer: Payer::Snapshots,
            quantity: traces,
            unit: "traces",
            usd: per_million(traces, p.xray_traces_recorded_per_million),
        },
        Line {
            item: "CloudWatch alarms",
            payer: Payer::Snapshots,
            quantity: d.alarms as f64,
            unit: "alarms",
            usd: d.alarms as f64 * p.cloudwatch_alarm_month,
        },
        Line {
            item: "API Gateway (admin API)",
            payer: Payer::Snapshots,
            quantity: mix.admin_requests_per_month,
            unit: "requests",
            usd: per_million(mix.admin_requests_per_month, p.api_gateway_rest_requests_per_million),
        },
        Line {
            item: "DynamoDB writes, event table (the Order Service's appends)",
            payer: Payer::OrderService,
            quantity: month(e * event_wcu),
            unit: "WRU",
            usd: per_million(month(e * event_wcu), p.dynamodb_write_units_per_million),
        },
        Line {
            item: "DynamoDB reads by the Order Service's loads (with snapshots)",
            payer: Payer::OrderService,
            quantity: month(load_snapshot_rru + load_event_rru),
            unit: "RRU",
            usd: per_million(month(load_snapshot_rru + load_event_rru), p.dynamodb_read_units_per_million),
        },
        Line {
            item: "DynamoDB storage, event table",
            payer: Payer::OrderService,
            quantity: table_gb,
            unit: "GB-month",
            usd: table_gb * p.dynamodb_storage_gb_month,
        },
    ];

    // ---- limits --------------------------------------------------------------------------
    let full_batch_ms = duration_ms(d.stream.batch_size);
    let slot_capacity = d.stream.batch_size / (full_batch_ms / 1000.0);
    let burst_rate = per_slot * mix.burst_factor;
    let backlog = ((burst_rate - slot_capacity) * mix.burst_seconds).max(0.0);
    let wait = d.stream.window_seconds.max(POLL_SECONDS);
    let burst_age_ms = (wait + backlog / slot_capacity) * 1000.0 + full_batch_ms;
    let append_ms = 2.0 * latency; // a load, then the conditional append
    // the most popular order takes 1 / H(P, s) of the events (Zipf over P active orders)
    let population = mix.active_orders_per_event_per_second * e;
    let hot_order = e / harmonic(population, mix.zipf_exponent);
    let hot_wcu = hot_order * event_wcu;
    let hot_appends = hot_order * append_ms / 1000.0;
    let admin_concurrency = 1.0;
    // each slot is busy a share of the time; slots run independently, so the count running
    // at once is about Poisson: its 99.9th percentile is the mean + 3.1 standard deviations
    // (at most every slot), at the burst's rate
    let burst_invocations = invocations_per_slot(burst_rate, d.stream.batch_size, d.stream.window_seconds);
    let burst_records = if burst_invocations > 0.0 { burst_rate / burst_invocations } else { 0.0 };
    let busy = (burst_invocations * duration_ms(burst_records) / 1000.0).min(1.0);
    let mean_running = slots * busy;
    let stream_concurrency_peak = (mean_running + 3.1 * mean_running.sqrt()).min(slots);
    let limits = vec![
        Limit {
            name: "hot order: one partition's writes, one order's appends",
            used: (hot_wcu / PARTITION_WRITE_UNITS).max(hot_appends),
            detail: format!(
                "the most popular order takes {hot_order:.1} events/s: {hot_wcu:.0} WCU/s of its partition's {PARTITION_WRITE_UNITS:.0}; its appends busy {:.0} % of the time (each waits for a load and a conditional write, {append_ms:.0} ms)",
                hot_appends * 100.0
            ),
        },
        Limit {
            name: "shard throughput: one stream slot at the burst's peak",
            used: burst_rate / slot_capacity,
            detail: format!(
                "{burst_rate:.1} records/s arrive per slot at the burst, a slot handles {slot_capacity:.0}/s ({:.0}-record batches of {full_batch_ms:.1} ms)",
                d.stream.batch_size
            ),
        },
        Limit {
            name: "Lambda account concurrency",
            used: (stream_concurrency_peak + 1.0 + admin_concurrency) / mix.account_concurrency,
            detail: format!(
                "the stream runs {:.1} at once on average, {stream_concurrency_peak:.0} at the burst's 99.9th percentile (at most {slots:.0}: {partitions:.0} shards × ParallelizationFactor {:.0}), of {:.0} for the whole account",
                invocations * stream_duration / 1000.0,
                d.stream.parallelization,
                mix.account_concurrency
            ),
        },
        Limit {
            name: "retention: a pass over the keys index within the day's runs",
            used: if retention_budget > 0.0 { pass_seconds / retention_budget } else { 0.0 },
            detail: format!(
                "a pass over {} snapshot keys takes {:.0} s; the day's runs allow {retention_budget:.0} s",
                stored_snapshots.round(),
                pass_seconds
            ),
        },
        Limit {
            name: "stream readers per shard",
            used: d.stream_readers as f64 / READERS_PER_SHARD,
            detail: format!(
                "{} of {READERS_PER_SHARD:.0}: one more consumer fits; a third would be throttled",
                d.stream_readers
            ),
        },
        Limit {
            name: "iterator age under a burst",
            used: burst_age_ms / d.iterator_age_alarm_ms,
            detail: format!(
                "{:.1} s at the end of a {:.0}× burst of {:.0} s (the alarm at {:.0} s; records older than {:.0} h are dropped to the failure queue)",
                burst_age_ms / 1000.0,
                mix.burst_factor,
                mix.burst_seconds,
                d.iterator_age_alarm_ms / 1000.0,
                d.stream.maximum_record_age_seconds / 3600.0
            ),
        },
    ];

    Plan {
        events_per_second: e,
        partitions,
        stream_slots: slots,
        records_per_invocation: records,
        stream_invocations_per_second: invocations,
        stream_duration_ms: stream_duration,
        stream_concurrency_mean: invocations * stream_duration / 1000.0,
        snapshot_writes_per_second: snapshot_writes,
        cold_loads_per_second: cold_loads,
        tables: vec![
            TableMonth {
                name: "event table",
                read_units_ours: month(stream_event_rru),
                read_units_order_service: month(load_event_rru),
                write_units: month(e * event_wcu),
            },
            TableMonth {
                name: "snapshot table",
                read_units_ours: month(stream_snapshot_rru) + retention_rru_month,
                read_units_order_service: month(load_snapshot_rru),
                write_units: snapshot_write_units,
            },
        ],
        cold_loads_per_invocation: records * stream.cold_loads_per_record,
        functions: vec![
            FunctionMonth {
                name: "snapshot-stream",
                invocations: month(invocations),
                gb_seconds: month(stream_gb_s),
            },
            FunctionMonth {
                name: "snapshot-maintenance",
                invocations: maintenance_runs,
                gb_seconds: maintenance_gb_s,
            },
            FunctionMonth {
                name: "snapshot-admin",
                invocations: mix.admin_requests_per_month,
                gb_seconds: admin_gb_s,
            },
        ],
        load_read_units_month: month(load_snapshot_rru + load_event_rru),
        replay_read_units_month: month(replay_rru),
        log_gb_per_month: log_gb,
        traces_per_month: traces,
        lines,
        limits,
    }
}
