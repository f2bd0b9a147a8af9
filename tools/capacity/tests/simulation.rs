//! The simulation's behaviour on cases whose answer is known without it.

use capacity::simulate::{BatchCost, Config, run};
use shared::policy::settings::{StrategyKind, StrategySettings};

fn config(population: u64, cache: usize, slots: usize) -> Config {
    Config {
        events_per_second: 200.0,
        slots,
        cache_capacity: cache,
        batch_size: 100,
        window_seconds: 1.0,
        population,
        zipf_exponent: 0.8,
        // orders that never end: the cache's reach alone decides what is read
        orders: vec![(1.0, u64::MAX)],
        burst_factor: 1.0,
        burst_seconds: 0.0,
        latency_median_ms: 4.0,
        latency_p99_ms: 15.0,
        followed_slots: 2,
        records_per_slot: 60_000.0,
        strategy: StrategySettings {
            default_strategy: StrategyKind::EventCount,
            event_count_threshold: 10,
            time_interval_hours: 24,
        },
        cost: BatchCost {
            per_batch_us: 50.0,
            per_record_us: 60.0,
            per_cold_order_us: 200.0,
            cold_round_trips: 1.0,
        },
        seed: 1,
    }
}

#[test]
fn a_cache_that_holds_every_order_reads_only_what_it_never_saw() {
    let warm = run(&config(500, 1_000, 1));
    // the counted half starts with every order already seen
    assert!(warm.hit_ratio > 0.99, "{warm:?}");
    let none = run(&config(500, 0, 1));
    assert_eq!(none.hit_ratio, 0.0, "no cache, no hits: {none:?}");
    // every order of every batch is read
    assert!(
        none.cold_loads_per_record > 0.5 && none.cold_loads_per_record > 20.0 * warm.cold_loads_per_record
    );
}

#[test]
fn more_containers_split_the_orders_so_each_cache_covers_more_of_its_share() {
    let one = run(&config(50_000, 1_000, 1));
    let sixteen = run(&config(50_000, 1_000, 16));
    assert!(sixteen.hit_ratio > one.hit_ratio + 0.05, "1: {one:?}\n16: {sixteen:?}");
}

#[test]
fn the_event_count_strategy_writes_one_snapshot_per_threshold_of_events() {
    // a small population: every order gets many events, so nearly every 10th is a snapshot
    let outcome = run(&config(50, 100, 1));
    let per_record = outcome.snapshot_writes_per_second / 200.0;
    assert!((per_record - 0.1).abs() < 0.01, "{per_record} snapshots per event: {outcome:?}");
}

#[test]
fn a_record_waits_for_the_window_and_no_longer_when_the_slot_keeps_up() {
    let outcome = run(&config(5_000, 1_000, 1));
    // 200 records/s fill a batch of 100 in 0.5 s, before the 1 s window
    assert!(outcome.iterator_age_max_ms <= 1_000.0, "{outcome:?}");
    assert!((outcome.records_per_invocation - 100.0).abs() < 5.0, "{outcome:?}");
}

#[test]
fn a_burst_beyond_what_a_slot_handles_leaves_a_backlog() {
    let mut burst = config(5_000, 1_000, 1);
    // 60 µs a record (the CPU of a small function) and 20× the traffic for 30 s:
    // 4,000 records/s against about 1,400/s a slot handles
    burst.burst_factor = 20.0;
    burst.burst_seconds = 30.0;
    let outcome = run(&burst);
    assert!(outcome.iterator_age_max_ms > 10_000.0, "{outcome:?}");
}

#[test]
fn every_new_order_costs_its_container_a_read_even_when_the_cache_holds_every_place() {
    // a cache far larger than the places, so finished orders never push out active ones
    let mut ten_events = config(500, 20_000, 1);
    ten_events.orders = vec![(1.0, 10)];
    let outcome = run(&ten_events);
    // one cold load per order of 10 events: its first
    assert!((outcome.cold_loads_per_record - 0.1).abs() < 0.01, "{outcome:?}");
}
