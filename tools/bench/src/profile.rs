//! What a load spends in this process, step by step: the snapshot item's checks (inflate,
//! checksum, JSON), the tail's event items, the fold. Measured on the bench order (a small
//! state, stored as JSON) and on a 500-line order (stored deflated), so the table shows what
//! is worth removing next to the load's own time.

use crate::scenarios::{THRESHOLD, history};
use crate::stats::Spread;
use flate2::read::DeflateDecoder;
use shared::domain::{LineItem, Money, Order};
use shared::store::dynamo::{Item, get_b, item_size};
use shared::store::events::{event_from_item, event_to_item};
use shared::store::snapshots::{NewSnapshot, codec};
use std::hint::black_box;
use std::io::Read;
use std::time::Instant;

const ITERATIONS: usize = 2_000;

/// Median microseconds of `f` over `ITERATIONS` calls.
fn time(mut f: impl FnMut()) -> Spread {
    let samples = (0..ITERATIONS)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    Spread::of(samples)
}

struct Costs {
    json_bytes: usize,
    /// The whole item as DynamoDB sizes it.
    item_bytes: usize,
    stored_bytes: usize,
    decode: Spread,
    inflate: Option<Spread>,
    checksum: Spread,
    parse: Spread,
}

fn snapshot_costs(state: Order) -> Costs {
    let new = NewSnapshot {
        state,
        timestamp: 0,
        created_by: "bench".into(),
        reason: "bench".into(),
        strategy: None,
        rule: None,
    };
    let (item, metadata): (Item, _) = codec::encode(&new).expect("encodes");
    let stored = get_b(&item, "state").expect("state").to_vec();
    let json = serde_json::to_vec(&new.state).expect("serializes");
    let compressed = stored.len() != json.len();
    Costs {
        json_bytes: metadata.state_bytes as usize,
        item_bytes: item_size(&item),
        stored_bytes: stored.len(),
        decode: time(|| {
            black_box(codec::decode(black_box(&item)).expect("usable"));
        }),
        inflate: compressed.then(|| {
            time(|| {
                let mut out = Vec::with_capacity(json.len());
                DeflateDecoder::new(black_box(&stored[..])).read_to_end(&mut out).expect("inflates");
                black_box(out);
            })
        }),
        checksum: time(|| {
            black_box(codec::checksum(black_box(&json)));
        }),
        parse: time(|| {
            black_box(serde_json::from_slice::<Order>(black_box(&json)).expect("parses"));
        }),
    }
}

/// Median µs to parse Lambda's event of `records` INSERT records, as the stream function does.
fn parse_batch(records: usize) -> Spread {
    let events = history("o-parse", records as u64);
    let batch = testkit::stream_events::insert_batch(&events, 1);
    let text = serde_json::to_vec(&batch).expect("serializes");
    // as the runtime hands it over: the bytes straight into the raw event, then each record
    time(|| {
        let raw: snapshot_stream::RawStreamEvent =
            serde_json::from_slice(black_box(&text)).expect("an event");
        black_box(snapshot_stream::parse(&raw).expect("parses"));
    })
}

/// Prints the per-load CPU table; returns the figures the capacity model reads.
pub fn report() -> capacity::inputs::CpuMeasured {
    let events = history("o-profile", 1_000);
    let at = events.len() - (THRESHOLD as usize - 1);
    let small = Order::replay("o-profile", &events[..at]).expect("folds");
    let mut large = small.clone();
    large.items.extend((0..500).map(|i| LineItem {
        sku: format!("SKU-{i:06}"),
        name: format!("Item number {i} with a reasonably descriptive name"),
        quantity: 1 + (i % 7) as u32,
        unit_price: Money::from_minor(199 + i as i64),
    }));
    // The tail a load folds: the snapshot's own event and the 9 after it.
    let tail_items: Vec<Item> = events[at - 1..].iter().map(event_to_item).collect();
    let decode_tail = time(|| {
        for item in &tail_items {
            black_box(event_from_item(black_box(item)).expect("decodes"));
        }
    });
    let tail = &events[at..];
    let fold = |base: &Order| {
        time(|| {
            let mut state = base.clone();
            state.apply_all(black_box(tail)).expect("folds");
            black_box(state);
        })
    };
    let clone = |base: &Order| time(|| drop(black_box(base.clone())));
    let (s, l) = (snapshot_costs(small.clone()), snapshot_costs(large.clone()));
    let (one, hundred) = (parse_batch(1), parse_batch(100));
    let folded_small = fold(&small);
    println!("\n## Per-load CPU in this process (release build, median (min–max) µs of {ITERATIONS})\n");
    println!(
        "| step | bench order ({} B JSON, stored as is) | 500-line order ({} B JSON, {} B deflated) |",
        s.json_bytes, l.json_bytes, l.stored_bytes
    );
    println!("|---|---:|---:|");
    let row = |step: &str, a: Option<Spread>, b: Option<Spread>| {
        let show = |x: Option<Spread>| x.map_or("–".to_owned(), |x| x.show(1));
        println!("| {step} | {} | {} |", show(a), show(b));
    };
    row("snapshot item: every check, decoded", Some(s.decode), Some(l.decode));
    row("  of which inflate", s.inflate, l.inflate);
    row("  of which SHA-256 checksum", Some(s.checksum), Some(l.checksum));
    row("  of which JSON → state", Some(s.parse), Some(l.parse));
    row("10 event items decoded (anchor + tail)", Some(decode_tail), Some(decode_tail));
    row("9 events folded (state cloned first)", Some(folded_small), Some(fold(&large)));
    row("  of which the clone a fold keeps", Some(clone(&small)), Some(clone(&large)));
    row("Lambda's stream event parsed: 1 record", Some(one), None);
    row("Lambda's stream event parsed: 100 records", Some(hundred), None);

    // a record: its share of the event's parse, and its event item decoded
    let parse_per_record = ((hundred.median - one.median) / 99.0).max(0.0);
    let per_record = parse_per_record + decode_tail.median / tail_items.len() as f64;
    let event_bytes = events.iter().map(|e| item_size(&event_to_item(e))).sum::<usize>() / events.len();
    capacity::inputs::CpuMeasured {
        per_batch_us: (one.median - parse_per_record).max(0.0),
        per_record_us: per_record,
        per_cold_order_us: s.decode.median + decode_tail.median,
        per_event_folded_us: folded_small.median / 9.0,
        event_item_bytes: event_bytes as u64,
        snapshot_item_bytes: s.item_bytes as u64,
    }
}
