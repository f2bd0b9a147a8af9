//! The stream function at scale, in simulated time: events arrive at a tier's rate (Poisson,
//! with one burst), each for an order drawn from a Zipf population of active orders; each
//! order's records go to one slot (its shard's partition, then ParallelizationFactor's hash of
//! its key), as DynamoDB Streams and Lambda route them. Each slot is a warm container holding
//! the real warm cache (`StateCache`), batches as Lambda does (a full batch, or the window
//! after its first record, one batch at a time), asks the real strategy whether to snapshot,
//! and takes as long as the measured CPU and DynamoDB latencies drawn from a log-normal say.
//!
//! Orders come and go: each rank of the population is a place in the active set, held by one
//! order until it has had its events (drawn from the mix's kinds of order), then by a new one,
//! whose first record the container has never seen.
//!
//! A hash spreads the orders evenly, so the orders of one slot are every `slots`-th rank of
//! the population: their popularity is again Zipf with the same exponent, over `population /
//! slots` orders, at `1 / slots` of the rate. The simulation follows a few such slots for long
//! enough to warm their caches, instead of drawing every slot's traffic; and the slot that
//! holds the most popular order, which also carries that order's own share. Everything is
//! counted after the first half of the run, when the caches are warm.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp1, LogNormal, Zipf};
use shared::domain::Order;
use shared::domain::folded_order::SnapshotRef;
use shared::policy::settings::StrategySettings;
use shared::policy::strategy::{SnapshotFacts, at_sequence, should_snapshot};
use shared::use_cases::stream_snapshots::ORDER_CONCURRENCY;
use shared::use_cases::stream_snapshots::cache::{CachedOrder, StateCache};
use std::collections::HashMap;

/// What one batch costs in CPU (µs, already scaled to the function's memory) and round trips.
#[derive(Clone, Copy, Debug)]
pub struct BatchCost {
    pub per_batch_us: f64,
    pub per_record_us: f64,
    pub per_cold_order_us: f64,
    pub cold_round_trips: f64,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub events_per_second: f64,
    /// Shards × ParallelizationFactor.
    pub slots: usize,
    pub cache_capacity: usize,
    pub batch_size: usize,
    pub window_seconds: f64,
    /// Active orders (the Zipf population) and the exponent of their popularity.
    pub population: u64,
    pub zipf_exponent: f64,
    /// Kinds of order: (share of orders, events each).
    pub orders: Vec<(f64, u64)>,
    pub burst_factor: f64,
    pub burst_seconds: f64,
    pub latency_median_ms: f64,
    pub latency_p99_ms: f64,
    /// Slots followed (besides the hottest), and the records each should see: the time
    /// simulated follows from the rate (between 10 minutes and a week).
    pub followed_slots: usize,
    pub records_per_slot: f64,
    pub strategy: StrategySettings,
    pub cost: BatchCost,
    pub seed: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub seconds: f64,
    /// Orders of a batch the container held, of all orders of its batches.
    pub hit_ratio: f64,
    pub cold_loads_per_record: f64,
    pub iterator_age_p50_ms: f64,
    pub iterator_age_p99_ms: f64,
    pub iterator_age_max_ms: f64,
    /// The slot of the most popular order: its own share of the events on top of a slot's.
    pub hottest_slot_age_max_ms: f64,
    pub hottest_slot_events_per_second: f64,
    pub snapshot_writes_per_second: f64,
    pub invocations_per_second: f64,
    pub records_per_invocation: f64,
    pub duration_ms_mean: f64,
    pub slots_followed: usize,
    pub records_followed: u64,
}

/// One event of a followed slot.
#[derive(Clone, Copy)]
struct Record {
    at: f64,
    order: u64,
    sequence: u64,
}

/// What the snapshot table holds of an order: its newest snapshot.
#[derive(Clone, Copy, Default)]
struct Truth {
    snapshot_sequence: u64,
    snapshot_at: Option<i64>,
}

#[derive(Default)]
struct Tally {
    records: u64,
    orders: u64,
    hits: u64,
    writes: u64,
    invocations: u64,
    busy_ms: f64,
    ages_ms: Vec<f64>,
}

/// The most popular order of the population (outside every slot's own ranks).
const HOT_ORDER: u64 = 0;

pub fn run(config: &Config) -> Outcome {
    let mut rng = SmallRng::seed_from_u64(config.seed);
    let slots = config.slots.max(1) as f64;
    let per_slot_orders = (config.population as f64 / slots).max(1.0);
    let zipf = Zipf::new(per_slot_orders, config.zipf_exponent).expect("a Zipf population");
    // log-normal with the given median and 99th percentile (z = 2.326)
    let sigma = (config.latency_p99_ms / config.latency_median_ms).ln() / 2.326;
    let latency =
        LogNormal::new(config.latency_median_ms.ln(), sigma.max(1e-6)).expect("a latency distribution");
    let per_slot_rate = config.events_per_second / slots;
    let hot_rate =
        config.events_per_second / crate::model::harmonic(config.population as f64, config.zipf_exponent);
    let seconds = (config.records_per_slot / per_slot_rate).clamp(600.0, 7.0 * 86_400.0);
    let burst_from = seconds * 0.75;
    let warm_from = seconds / 2.0;

    // the followed slots, then the hottest: its share plus the hot order's own
    let followed = config.followed_slots.max(1).min(config.slots.max(1));
    let mut all = Tally::default();
    let mut hottest = Tally::default();
    for slot in 0..=followed {
        let hot = slot == followed;
        let queue = arrivals(
            config,
            &zipf,
            per_slot_rate,
            if hot { hot_rate } else { 0.0 },
            seconds,
            burst_from,
            &mut rng,
        );
        let tally = container(config, &queue, &mut rng, &latency, warm_from);
        if hot {
            hottest = tally;
            continue;
        }
        all.records += tally.records;
        all.orders += tally.orders;
        all.hits += tally.hits;
        all.writes += tally.writes;
        all.invocations += tally.invocations;
        all.busy_ms += tally.busy_ms;
        all.ages_ms.extend(tally.ages_ms);
    }
    all.ages_ms.sort_by(f64::total_cmp);
    let percentile = |q: f64| {
        if all.ages_ms.is_empty() {
            0.0
        } else {
            all.ages_ms[((all.ages_ms.len() - 1) as f64 * q).round() as usize]
        }
    };
    let measured = seconds - warm_from;
    let records = all.records.max(1) as f64;
    let invocations = all.invocations.max(1) as f64;
    Outcome {
        seconds,
        hit_ratio: all.hits as f64 / all.orders.max(1) as f64,
        cold_loads_per_record: (all.orders - all.hits) as f64 / records,
        iterator_age_p50_ms: percentile(0.5),
        iterator_age_p99_ms: percentile(0.99),
        iterator_age_max_ms: percentile(1.0),
        hottest_slot_age_max_ms: hottest.ages_ms.iter().copied().fold(0.0, f64::max),
        hottest_slot_events_per_second: per_slot_rate + hot_rate,
        snapshot_writes_per_second: all.writes as f64 / measured / followed as f64 * slots,
        invocations_per_second: all.invocations as f64 / measured / followed as f64 * slots,
        records_per_invocation: records / invocations,
        duration_ms_mean: all.busy_ms / invocations,
        slots_followed: followed,
        records_followed: all.records,
    }
}

/// One slot's records in time order: Poisson at `rate` (times the burst factor during the
/// burst), each for the order holding a place drawn by popularity, plus the hot order's own at
/// `hot_rate`. An order that has had all its events gives its place to a new one.
fn arrivals(
    config: &Config,
    zipf: &Zipf<f64>,
    rate: f64,
    hot_rate: f64,
    seconds: f64,
    burst_from: f64,
    rng: &mut SmallRng,
) -> Vec<Record> {
    // place -> (order, events it has had, events it will have)
    let mut places: HashMap<u64, (u64, u64, u64)> = HashMap::new();
    let mut next_order = HOT_ORDER + 1;
    let mut hot_sequence = 0;
    let total_share: f64 = config.orders.iter().map(|(share, _)| share).sum();
    let mut new_order = |rng: &mut SmallRng| {
        let mut pick = rng.random::<f64>() * total_share;
        let events = config
            .orders
            .iter()
            .find(|(share, _)| {
                pick -= share;
                pick <= 0.0
            })
            .or(config.orders.last())
            .map_or(u64::MAX, |(_, events)| (*events).max(1));
        next_order += 1;
        (next_order, 0, events)
    };
    let mut queue = Vec::with_capacity((seconds * (rate + hot_rate)) as usize + 16);
    let total = rate + hot_rate;
    let mut at = 0.0;
    loop {
        let in_burst = at >= burst_from && at < burst_from + config.burst_seconds;
        let factor = if in_burst { config.burst_factor } else { 1.0 };
        let gap: f64 = rng.sample(Exp1);
        at += gap / (total * factor);
        if at >= seconds {
            break;
        }
        if rng.random::<f64>() * total < hot_rate {
            hot_sequence += 1;
            queue.push(Record { at, order: HOT_ORDER, sequence: hot_sequence });
            continue;
        }
        let place = zipf.sample(rng) as u64;
        let held = match places.get(&place) {
            Some(&(order, had, of)) if had < of => (order, had, of),
            _ => new_order(rng),
        };
        let (order, had, of) = held;
        places.insert(place, (order, had + 1, of));
        queue.push(Record { at, order, sequence: had + 1 });
    }
    queue
}

/// One warm container working through its slot's records.
fn container(
    config: &Config,
    queue: &[Record],
    rng: &mut SmallRng,
    latency: &LogNormal<f64>,
    warm_from: f64,
) -> Tally {
    let mut cache = StateCache::new(config.cache_capacity);
    let mut truth: HashMap<u64, Truth> = HashMap::new();
    let mut tally = Tally::default();
    let window = config.window_seconds.max(crate::model::POLL_SECONDS);
    let batch_size = config.batch_size.max(1);
    let (mut free_at, mut i) = (0.0f64, 0);
    while i < queue.len() {
        // Lambda invokes when a batch is full or the window since its first record has passed,
        // and never while this slot's previous batch runs
        let full = queue.get(i + batch_size - 1).map(|r| r.at);
        let ready = match full {
            Some(at) if at <= queue[i].at + window => at,
            _ => queue[i].at + window,
        };
        let start = free_at.max(ready);
        let mut end = i;
        while end < queue.len() && end - i < batch_size && queue[end].at <= start {
            end += 1;
        }
        let batch = &queue[i..end];
        let counted = batch[0].at >= warm_from;
        let (orders, hits, writes, io_ms) =
            process(config, batch, start, &mut cache, &mut truth, rng, latency);
        let cpu_us = config.cost.per_batch_us
            + batch.len() as f64 * config.cost.per_record_us
            + (orders - hits) as f64 * config.cost.per_cold_order_us;
        let duration_ms = cpu_us / 1000.0 + io_ms;
        free_at = start + duration_ms / 1000.0;
        if counted {
            tally.records += batch.len() as u64;
            tally.orders += orders;
            tally.hits += hits;
            tally.writes += writes;
            tally.invocations += 1;
            tally.busy_ms += duration_ms;
            tally.ages_ms.extend(batch.iter().map(|r| (start - r.at) * 1000.0));
        }
        i = end;
    }
    tally
}

/// One batch: each order from the cache when it continues there, else read; the strategy
/// asked with what the tables hold. Returns (orders, cache hits, snapshot writes, I/O ms).
fn process(
    config: &Config,
    batch: &[Record],
    start: f64,
    cache: &mut StateCache,
    truth: &mut HashMap<u64, Truth>,
    rng: &mut SmallRng,
    latency: &LogNormal<f64>,
) -> (u64, u64, u64, f64) {
    // orders in the order of their first record, with their first and last sequence
    let mut orders: Vec<(u64, u64, u64)> = Vec::new();
    let mut index: HashMap<u64, usize> = HashMap::new();
    for r in batch {
        match index.get(&r.order) {
            Some(&k) => orders[k].2 = r.sequence,
            None => {
                index.insert(r.order, orders.len());
                orders.push((r.order, r.sequence, r.sequence));
            }
        }
    }
    let now = (start * 1000.0) as i64;
    let (mut hits, mut writes, mut io_ms) = (0, 0, 0.0);
    for wave in orders.chunks(ORDER_CONCURRENCY) {
        let mut slowest = 0.0f64;
        for &(order, first, last) in wave {
            let id = format!("o-{order}");
            let held = match cache.take(&id) {
                Some(CachedOrder::Folded(folded)) => folded.current().version + 1 == first,
                _ => false,
            };
            let mut ms = 0.0;
            if held {
                hits += 1;
            } else {
                // the snapshot and the newest events, read at once
                let read: f64 = latency.sample(rng).max(latency.sample(rng));
                ms += read * config.cost.cold_round_trips;
            }
            let t = truth.entry(order).or_default();
            let facts = SnapshotFacts {
                last_sequence: last,
                snapshot_sequence: t.snapshot_sequence,
                snapshot_at: t.snapshot_at,
                now,
            };
            if let Some(trigger) = should_snapshot(config.strategy.default_strategy, &facts, &config.strategy)
            {
                t.snapshot_sequence = at_sequence(&trigger, &facts);
                t.snapshot_at = Some(now);
                writes += 1;
                ms += latency.sample(rng);
            }
            let mut state = Order::empty(id.clone());
            state.version = last;
            let snapshot =
                t.snapshot_at.map(|timestamp| SnapshotRef { version: t.snapshot_sequence, timestamp });
            cache.put_folded(id, state, snapshot);
            slowest = slowest.max(ms);
        }
        io_ms += slowest;
    }
    (orders.len() as u64, hits, writes, io_ms)
}
