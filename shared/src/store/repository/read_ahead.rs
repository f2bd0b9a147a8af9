//! How far behind its newest snapshot each recently loaded order was, remembered by a warm
//! container so that the order's next load reads that far ahead. The default read-ahead follows
//! the event-count threshold; an order whose strategy lets its snapshot fall further behind
//! (TIME_BASED: a day of events) would otherwise pay a second round trip on every load. Bounded
//! twice: a few thousand orders remembered, and a read-ahead of at most a byte budget.

use std::collections::{HashMap, VecDeque};

/// The most a remembered distance makes a load read ahead, in bytes of events (a Query
/// answers at most 1 MB; a read-ahead never comes near it).
pub const READ_AHEAD_BYTE_BUDGET: u64 = 256 * 1024;
/// Orders remembered per container (oldest forgotten first).
const REMEMBERED_ORDERS: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    /// Events folded after the snapshot on the last load.
    behind: u32,
    /// Average stored bytes per event read then.
    bytes_per_event: u32,
    /// The read-ahead held the order's whole history: the next load need not ask for its
    /// snapshot at all.
    whole: bool,
}

#[derive(Debug, Default)]
pub struct ReadAheadMemory {
    seen: HashMap<String, Seen>,
    arrival: VecDeque<String>,
}

impl ReadAheadMemory {
    /// Events to read ahead for `order_id`: `base`; or, when the order was further behind its
    /// snapshot last time than `base` reaches, that distance plus `base` (for what arrived
    /// since), at most what the byte budget allows.
    pub fn read_ahead(&self, order_id: &str, base: u32) -> u32 {
        let Some(seen) = self.seen.get(order_id).filter(|s| s.behind >= base) else { return base };
        let wanted = seen.behind.saturating_add(base);
        let affordable = READ_AHEAD_BYTE_BUDGET / u64::from(seen.bytes_per_event.max(1));
        wanted.min(u32::try_from(affordable).unwrap_or(u32::MAX)).max(base)
    }

    /// Whether the last load of `order_id` found its whole history in the read-ahead.
    pub fn whole(&self, order_id: &str) -> bool {
        self.seen.get(order_id).is_some_and(|s| s.whole)
    }

    /// A load of `order_id` folded `behind` events after its snapshot, reading `bytes` in
    /// `items` items.
    pub fn remember(&mut self, order_id: &str, behind: u64, bytes: u64, items: u64) {
        let seen = Seen {
            behind: u32::try_from(behind).unwrap_or(u32::MAX),
            bytes_per_event: u32::try_from(bytes / items.max(1)).unwrap_or(u32::MAX),
            whole: false,
        };
        self.insert(order_id, seen);
    }

    /// A load of `order_id` found more than its read-ahead: the next one asks for the snapshot
    /// beside its read-ahead again.
    pub fn forget_whole(&mut self, order_id: &str) {
        if let Some(seen) = self.seen.get_mut(order_id) {
            seen.whole = false;
        }
    }

    /// A load of `order_id` found its whole history in the read-ahead.
    pub fn remember_whole(&mut self, order_id: &str) {
        self.insert(order_id, Seen { behind: 0, bytes_per_event: 1, whole: true });
    }

    fn insert(&mut self, order_id: &str, seen: Seen) {
        if self.seen.insert(order_id.to_string(), seen).is_none() {
            self.arrival.push_back(order_id.to_string());
            if self.arrival.len() > REMEMBERED_ORDERS
                && let Some(oldest) = self.arrival.pop_front()
            {
                self.seen.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_not_seen_reads_the_default() {
        assert_eq!(ReadAheadMemory::default().read_ahead("o-1", 21), 21);
    }

    #[test]
    fn an_order_seen_far_behind_reads_that_far_plus_the_default() {
        let mut d = ReadAheadMemory::default();
        d.remember("o-1", 180, 180 * 300, 180);
        assert_eq!(d.read_ahead("o-1", 21), 201);
        d.remember("o-1", 30, 30 * 300, 30);
        assert_eq!(d.read_ahead("o-1", 21), 51, "the last load counts");
        d.remember("o-1", 9, 9 * 300, 9);
        assert_eq!(d.read_ahead("o-1", 21), 21, "within the default: the default");
        assert_eq!(d.read_ahead("o-2", 21), 21, "per order");
    }

    #[test]
    fn the_byte_budget_bounds_the_read_ahead_but_never_below_the_default() {
        let mut d = ReadAheadMemory::default();
        d.remember("big", 5_000, 5_000 * 1_000, 5_000);
        assert_eq!(d.read_ahead("big", 21), (READ_AHEAD_BYTE_BUDGET / 1_000) as u32);
        d.remember("huge", 50, 50 * 100_000, 50);
        assert_eq!(d.read_ahead("huge", 21), 21);
    }

    #[test]
    fn a_whole_history_is_remembered_until_a_load_needs_the_snapshot_again() {
        let mut d = ReadAheadMemory::default();
        assert!(!d.whole("o-1"));
        d.remember_whole("o-1");
        assert!(d.whole("o-1"));
        assert_eq!(d.read_ahead("o-1", 21), 21);
        d.remember("o-1", 4, 4 * 300, 4);
        assert!(!d.whole("o-1"));
        d.remember_whole("o-1");
        d.forget_whole("o-1");
        assert!(!d.whole("o-1"), "it outgrew its read-ahead");
    }

    #[test]
    fn the_oldest_order_is_forgotten_past_the_limit() {
        let mut d = ReadAheadMemory::default();
        for o in 0..=REMEMBERED_ORDERS {
            d.remember(&format!("o-{o}"), 100, 100 * 300, 100);
        }
        assert_eq!(d.read_ahead("o-0", 21), 21, "forgotten");
        assert_eq!(d.read_ahead(&format!("o-{REMEMBERED_ORDERS}"), 21), 121);
        assert_eq!(d.seen.len(), REMEMBERED_ORDERS);
    }
}
