//! The measured scenarios, each on its own freshly created tables (the local server's Query
//! time grows with a table's item count; history is seeded with BatchWriteItem, never with
//! transactions, so figures reflect the order's history, not the server's quirks).

use crate::stats::Spread;
use shared::domain::samples::{recorded, sample_address};
use shared::domain::{Money, OrderEvent, RecordedEvent};
use shared::policy::settings::StrategySettings;
use shared::use_cases::clock::ManualClock;
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::stream_events::insert_batch;
use testkit::{TestTables, bulk_insert_events};

pub const THRESHOLD: u64 = 10;

/// A long-lived order whose state stays bounded: created, eight items, then quantity
/// changes, address changes and payment authorizations/captures, in turn.
pub fn history(order_id: &str, len: u64) -> Vec<RecordedEvent> {
    (1..=len)
        .map(|seq| {
            let event = match seq {
                1 => OrderEvent::OrderCreated { customer_id: "cust-42".into(), currency: "EUR".into() },
                2..=9 => OrderEvent::ItemAdded {
                    sku: format!("SKU-{seq}"),
                    name: format!("Product number {seq}"),
                    quantity: 1,
                    unit_price: Money::from_minor(1_000 + seq as i64),
                },
                _ => match seq % 4 {
                    0 => OrderEvent::ItemQuantityChanged {
                        sku: format!("SKU-{}", 2 + seq % 8),
                        quantity: 1 + (seq % 5) as u32,
                    },
                    1 => OrderEvent::ShippingAddressSet { address: sample_address() },
                    2 => OrderEvent::PaymentAuthorized {
                        payment_id: format!("pay-{}", seq % 3),
                        amount: Money::from_minor(100),
                        method: "card".into(),
                    },
                    _ => OrderEvent::PaymentCaptured {
                        payment_id: format!("pay-{}", seq % 3),
                        amount: Money::from_minor(1),
                    },
                },
            };
            recorded(order_id, seq, event)
        })
        .collect()
}

pub struct StreamRow {
    pub records: usize,
    pub orders: usize,
    pub cold_rps: Spread,
    pub warm_rps: Spread,
    pub cold_requests_per_record: f64,
    pub warm_requests_per_record: f64,
    pub cold_reads_per_order: f64,
    pub warm_reads_per_order: f64,
    pub writes_per_order: f64,
    pub snapshots_per_batch: u64,
    /// Write requests per snapshot written (a conditional put each).
    pub writes_per_snapshot: f64,
}

/// A batch of `records` INSERTs over `orders` orders, interleaved as a stream carries them,
/// handled by a cold container; then the next batch by the same, now warm, container.
pub async fn stream(records: usize, orders: usize, runs: usize) -> StreamRow {
    let per_order = (records / orders) as u64;
    let (mut cold_rps, mut warm_rps) = (Vec::new(), Vec::new());
    let mut row = StreamRow {
        records,
        orders,
        cold_rps: Spread::of(vec![0.0]),
        warm_rps: Spread::of(vec![0.0]),
        cold_requests_per_record: 0.0,
        warm_requests_per_record: 0.0,
        cold_reads_per_order: 0.0,
        warm_reads_per_order: 0.0,
        writes_per_order: 0.0,
        snapshots_per_batch: 0,
        writes_per_snapshot: 0.0,
    };
    for _ in 0..runs {
        let t = TestTables::new().await;
        let histories: Vec<Vec<RecordedEvent>> =
            (0..orders).map(|o| history(&format!("o-{o:04}"), per_order * 2)).collect();
        let all: Vec<RecordedEvent> = histories.iter().flatten().cloned().collect();
        bulk_insert_events(&t.client, &t.events_table, &all).await;
        let batch = |half: u64| {
            let mut events = Vec::new();
            for i in 0..per_order {
                for h in &histories {
                    events.push(h[(half * per_order + i) as usize].clone());
                }
            }
            insert_batch(&events, half * records as u64 + 1)
        };
        let (first, second) = (batch(0), batch(1));
        let svc =
            StreamSnapshotter::new(t.repository(), StrategySettings::default(), Arc::new(ManualClock::at(0)));
        let changes = parse(&first);
        let started = Instant::now();
        let cold = svc.process_batch(&changes).await;
        cold_rps.push(records as f64 / started.elapsed().max(Duration::from_micros(1)).as_secs_f64());
        let changes = parse(&second);
        let started = Instant::now();
        let warm = svc.process_batch(&changes).await;
        warm_rps.push(records as f64 / started.elapsed().max(Duration::from_micros(1)).as_secs_f64());
        assert!(cold.first_failure.is_none() && warm.first_failure.is_none(), "no failures");
        let (c, w) = (&cold.report, &warm.report);
        row.cold_requests_per_record = (c.storage_reads + c.storage_writes) as f64 / records as f64;
        row.warm_requests_per_record = (w.storage_reads + w.storage_writes) as f64 / records as f64;
        row.cold_reads_per_order = c.storage_reads as f64 / orders as f64;
        row.warm_reads_per_order = w.storage_reads as f64 / orders as f64;
        row.writes_per_order = (c.storage_writes.max(w.storage_writes)) as f64 / orders as f64;
        row.snapshots_per_batch = c.snapshots_written.max(w.snapshots_written);
        let snapshots = (c.snapshots_written + w.snapshots_written).max(1);
        row.writes_per_snapshot = (c.storage_writes + w.storage_writes) as f64 / snapshots as f64;
    }
    row.cold_rps = Spread::of(cold_rps);
    row.warm_rps = Spread::of(warm_rps);
    row
}

impl StreamRow {
    /// The figures the capacity model reads.
    pub fn measured(&self) -> capacity::inputs::StreamMeasured {
        capacity::inputs::StreamMeasured {
            records_per_batch: self.records as u64,
            orders_per_batch: self.orders as u64,
            cold_requests_per_record: self.cold_requests_per_record,
            warm_requests_per_record: self.warm_requests_per_record,
            cold_reads_per_order: self.cold_reads_per_order,
            warm_reads_per_order: self.warm_reads_per_order,
            writes_per_snapshot: self.writes_per_snapshot,
        }
    }
}

/// A batch built as JSON, parsed as the stream function parses Lambda's event.
fn parse(event: &serde_json::Value) -> Vec<shared::use_cases::stream_snapshots::StreamChange> {
    let raw = snapshot_stream::RawStreamEvent::from_json(event).expect("a stream event");
    snapshot_stream::parse(&raw).expect("batch parses")
}
