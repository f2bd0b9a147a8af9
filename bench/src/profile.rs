//! What a load spends in this process, step by step: the snapshot item's checks (inflate,
//! checksum, JSON), the tail's event items, the fold. Measured on the bench order (a small
//! state, stored as JSON) and on a 500-line order (stored deflated), so the table shows what
//! is worth removing next to the load's own time.

use crate::scenarios::{THRESHOLD, history};
use crate::stats::Spread;
use flate2::read::DeflateDecoder;
use shared::domain::{LineItem, Money, Order};
use shared::store::dynamo::{Item, get_b};
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

/// Prints the per-load CPU table.
pub fn report() {
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
    row("9 events folded (state cloned first)", Some(fold(&small)), Some(fold(&large)));
    row("  of which the clone a fold keeps", Some(clone(&small)), Some(clone(&large)));
}
