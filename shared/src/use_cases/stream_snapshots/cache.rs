//! A small LRU of what a warm container knows about orders between batches: an order's state
//! as of its last processed event (events are immutable, so a stale entry can only cost a
//! redundant conditional write, never a wrong snapshot), or that its history cannot be read
//! (so later records of it cost nothing until it is checked again).

use crate::domain::Order;
use crate::domain::folded_order::{FoldedOrder, SnapshotRef};
use std::collections::HashMap;

/// Orders kept between batches in a warm container, by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 2048;

/// What the container remembers of an order.
#[derive(Clone, Debug)]
pub(super) enum Remembered {
    /// Folded up to its last processed event, with the newest snapshot known.
    Folded(Box<FoldedOrder>),
    /// Its history could not be read at `sequence`, as of `checked_at` (ms).
    Unreadable { sequence: Option<u64>, reason: String, checked_at: i64 },
}

#[derive(Debug)]
pub(super) struct StateCache {
    capacity: usize,
    tick: u64,
    /// order id -> (last use, what is remembered).
    entries: HashMap<String, (u64, Remembered)>,
}

impl StateCache {
    pub(super) fn new(capacity: usize) -> Self {
        StateCache { capacity, tick: 0, entries: HashMap::new() }
    }

    pub(super) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
    }

    /// Removes and returns what is remembered of the order.
    pub(super) fn take(&mut self, order_id: &str) -> Option<Remembered> {
        self.entries.remove(order_id).map(|(_, remembered)| remembered)
    }

    /// Forgets the order (one of its events changed in place: its history must be read again).
    pub(super) fn forget(&mut self, order_id: &str) {
        self.entries.remove(order_id);
    }

    pub(super) fn put_folded(&mut self, order_id: String, state: Order, snapshot: Option<SnapshotRef>) {
        self.put(order_id, Remembered::Folded(Box::new(FoldedOrder::settled(state, snapshot))));
    }

    pub(super) fn put(&mut self, order_id: String, remembered: Remembered) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&order_id) {
            let oldest = self.entries.iter().min_by_key(|(_, (t, _))| *t).map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.tick += 1;
        self.entries.insert(order_id, (self.tick, remembered));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(version: u64) -> Order {
        let mut state = Order::empty("o");
        state.version = version;
        state
    }

    fn version(remembered: Option<Remembered>) -> Option<u64> {
        match remembered {
            Some(Remembered::Folded(folded)) => Some(folded.current().version),
            _ => None,
        }
    }

    #[test]
    fn the_cache_evicts_the_least_recently_stored() {
        let mut cache = StateCache::new(2);
        cache.put_folded("a".into(), at(1), None);
        cache.put_folded("b".into(), at(2), None);
        cache.put_folded("c".into(), at(3), None);
        assert!(cache.take("a").is_none());
        assert_eq!(version(cache.take("b")), Some(2));
        assert_eq!(version(cache.take("c")), Some(3));
    }

    #[test]
    fn a_zero_capacity_cache_holds_nothing() {
        let mut cache = StateCache::new(0);
        cache.put_folded("a".into(), at(1), None);
        assert!(cache.take("a").is_none());
    }

    #[test]
    fn a_forgotten_order_is_read_again() {
        let mut cache = StateCache::new(4);
        cache
            .put("a".into(), Remembered::Unreadable { sequence: Some(6), reason: "x".into(), checked_at: 0 });
        cache.forget("a");
        assert!(cache.take("a").is_none());
    }
}
