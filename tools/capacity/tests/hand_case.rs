//! The model against one case worked out by hand (the arithmetic is in the comments), so a
//! change to the model that changes its numbers has to change this test too.

use capacity::deployed::{Deployed, StreamSource};
use capacity::inputs::{
    Complete, CpuMeasured, LoadMeasured, LogsMeasured, Mix, OrderClass, Prices, StreamMeasured,
};
use capacity::model::{Payer, StreamBehaviour, Tier, plan};
use shared::policy::settings::{StrategyKind, StrategySettings};

fn close(actual: f64, expected: f64, what: &str) {
    let tolerance = 1e-6 * expected.abs().max(1.0);
    assert!((actual - expected).abs() <= tolerance, "{what}: {actual}, by hand {expected}");
}

#[test]
fn the_model_agrees_with_a_case_computed_by_hand() {
    let prices = Prices {
        region: "us-east-1".into(),
        read_on: "2026-11-30".into(),
        sources: vec![],
        lambda_requests_per_million: 0.2,
        lambda_arm_gb_second: 0.0000133334,
        dynamodb_write_units_per_million: 0.625,
        dynamodb_read_units_per_million: 0.125,
        dynamodb_storage_gb_month: 0.25,
        logs_ingest_per_gb: 0.5,
        xray_traces_recorded_per_million: 5.0,
        cloudwatch_alarm_month: 0.1,
        api_gateway_rest_requests_per_million: 3.5,
    };
    // one kind of order: 20 events in an hour
    let mix = Mix {
        orders: vec![OrderClass {
            name: "all".into(),
            share_of_orders: 1.0,
            events_per_order: 20.0,
            lifetime_hours: 1.0,
        }],
        loads_per_event: 1.0,
        events_per_append: 1.0,
        active_orders_per_event_per_second: 1.0,
        zipf_exponent: 1.0,
        burst_factor: 2.0,
        burst_seconds: 60.0,
        dynamodb_latency_median_ms: 5.0,
        dynamodb_latency_p99_ms: 20.0,
        history_months: 0.001,
        admin_requests_per_month: 0.0,
        account_concurrency: 1000.0,
    };
    let stream = StreamMeasured {
        records_per_batch: 1000,
        orders_per_batch: 100,
        cold_requests_per_record: 0.3,
        warm_requests_per_record: 0.1,
        cold_reads_per_order: 2.0,
        warm_reads_per_order: 0.0,
        writes_per_snapshot: 1.0,
    };
    let loads = [LoadMeasured {
        events: 100,
        items: 22,
        bytes: 5000,
        read_units: 2.0,
        snapshot_read_units: 0.5,
        critical_round_trips: 1,
        replay_items: 100,
        replay_read_units: 6.0,
    }];
    let cpu = CpuMeasured {
        per_batch_us: 100.0,
        per_record_us: 20.0,
        per_cold_order_us: 200.0,
        per_event_folded_us: 5.0,
        event_item_bytes: 1000,
        snapshot_item_bytes: 2000,
    };
    let logs =
        LogsMeasured { bytes_per_1000_events_detailed: 100_000.0, bytes_per_1000_events_quiet: 10_000.0 };
    let measured = Complete { stream: &stream, loads: &loads, cpu: &cpu, logs: &logs };
    let deployed = Deployed {
        stream: StreamSource {
            batch_size: 100.0,
            window_seconds: 1.0,
            parallelization: 1.0,
            maximum_record_age_seconds: 21_600.0,
        },
        // at or above 1,769 MB a function has a whole vCPU: measured CPU counts as is
        stream_memory_mb: 2048.0,
        maintenance_memory_mb: 2048.0,
        admin_memory_mb: 2048.0,
        stream_log_detail: 0.1,
        tracing: false,
        strategy: StrategySettings {
            default_strategy: StrategyKind::EventCount,
            event_count_threshold: 10,
            time_interval_hours: 24,
        },
        max_snapshots_per_order: 3.0,
        max_snapshot_age_days: 90.0,
        iterator_age_alarm_ms: 60_000.0,
        retention_runs_per_month: 30.0,
        rebuild_turns_per_month: 0.0,
        maintenance_timeout_seconds: 300.0,
        alarms: 10,
        stream_readers: 1,
    };
    let tier = Tier {
        events_per_second: 1000.0,
        mix: &mix,
        prices: &prices,
        measured: &measured,
        deployed: &deployed,
    };
    let p = plan(&tier, StreamBehaviour { cold_loads_per_record: 0.5 });

    // Partitions: peak writes 1,000 events/s × burst 2 × 1 WRU (1,000 B) = 2,000 WRU/s → 2;
    // size 1,000/s × 1,000 B × 0.001 month × 2,592,000 s = 2.592 GB → 1. Two shards, PF 1.
    close(p.partitions, 2.0, "partitions");
    close(p.stream_slots, 2.0, "slots");
    // 500 records/s per slot fill a 100-record batch within the 1 s window: 5 invocations/s
    // per slot, 10 in all, 100 records each.
    close(p.records_per_invocation, 100.0, "records per invocation");
    close(p.stream_invocations_per_second, 10.0, "invocations/s");
    // 50 orders/s (1,000 / 20 events); EVENT_COUNT at 10: 2 snapshots an order → 100/s.
    // TIME_BASED: the first at 5 events, none after (24 h never pass in a 1 h life) → 50/s.
    // HYBRID: the first at 5 (time rule), then at 15 (10 events later) → 100/s.
    let writes: Vec<f64> = p.snapshot_writes_per_second.iter().map(|(_, w)| *w).collect();
    for (w, by_hand) in writes.iter().zip([100.0, 50.0, 100.0]) {
        close(*w, by_hand, "snapshot writes/s");
    }
    // A batch: 100 records, 50 cold (0.5 a record), 10 snapshot writes (100 of 1,000 a second).
    // CPU: 100 + 100 × (20 + 5) + 50 × 200 = 12,600 µs = 12.6 ms.
    // I/O: 50 cold orders, 16 at a time → 4 waves × 1 round trip × 5 ms = 20 ms; 10 writes → 1
    // wave × 5 ms = 5 ms. 37.6 ms in all.
    close(p.stream_duration_ms, 37.6, "batch duration");
    // GB-s: 10/s × 0.0376 s × 2 GB × 2,592,000 s = 1,949,184 a month
    close(p.functions[0].invocations, 25_920_000.0, "stream invocations a month");
    close(p.functions[0].gb_seconds, 1_949_184.0, "stream GB-s a month");
    // Snapshot table writes: 100 snapshots/s + 50 deletes/s (each order keeps its newest),
    // 2 WRU each (2,000 B): 300 WRU/s → 777,600,000 a month → $486.00.
    let snapshot_writes = &p.lines[2];
    close(snapshot_writes.quantity, 777_600_000.0, "snapshot WRU a month");
    close(snapshot_writes.usd, 486.0, "snapshot WRU, USD");
    // Stream reads: 500 cold loads/s × 2 RRU = 1,000 RRU/s
    close(p.cold_loads_per_second, 500.0, "cold loads/s");
    // Logs: 0.1 × 100,000 + 0.9 × 10,000 = 19,000 B per 1,000 events;
    // 1,000/s × 2,592,000 s / 1,000 × 19,000 B = 49.248 GB
    close(p.log_gb_per_month, 49.248, "log GB");
    close(p.lines[5].usd, 24.624, "log USD");
    // Event table: 1 WRU an event → 2,592,000,000 a month → $1,620 (the Order Service's)
    close(p.lines[9].usd, 1620.0, "event writes USD");
    assert_eq!(p.lines[9].payer, Payer::OrderService);

    // Limits. A slot does a full batch in 37.6 ms: 100 / 0.0376 = 2,659.6 records/s; the
    // burst brings 2 × 500 = 1,000/s → 37.6 %.
    let used = |name: &str| p.limits.iter().find(|l| l.name.starts_with(name)).expect(name).used;
    close(used("shard throughput"), 1000.0 / (100.0 / 0.0376), "shard throughput");
    // No backlog: a record waits the 1 s window and the batch: 1,037.6 ms of the 60 s alarm.
    close(used("iterator age"), 1037.6 / 60_000.0, "iterator age");
    // 2 slots + maintenance + admin of 1,000
    close(used("Lambda account concurrency"), 4.0 / 1000.0, "concurrency");
    close(used("stream readers"), 0.5, "readers");
    // Retention: 50 snapshotted orders/s over the 2,592 s of history kept → 129,600 newest
    // snapshots, and as many second ones (younger than 90 days, up to 3 each) → 259,200 keys,
    // 1,296 pages of 200. A page holds 100 orders: 1 scan + 13 waves of 8 × (Query + delete)
    // = 27 round trips × 5 ms = 135 ms → a pass takes 175 s of the day's 300.
    close(used("retention"), 1296.0 * 0.135 / 300.0, "retention");
    // Zipf 1.0 over 1,000 active orders: the first takes 1 / H(1000) = 1 / 7.485471 of the
    // events: 133.59/s. Each append waits 10 ms (a load, then the write): busy 133.6 % of the
    // time → it binds first (its WCU, 133.6 of 1,000, would not).
    let hot = 1000.0 / 7.485_470_860_550_345;
    close(used("hot order"), hot * 0.010, "hot order");
    assert!(p.binding().name.starts_with("hot order"), "binds first: {}", p.binding().name);
}
