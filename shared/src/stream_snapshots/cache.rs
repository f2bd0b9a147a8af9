//! A small LRU of order states kept between batches by a warm container. Events are
//! immutable, so a stale entry can only cost a redundant conditional write, never a wrong
//! snapshot.

use crate::domain::Order;
use crate::folded_order::{FoldedOrder, SnapshotRef};
use std::collections::HashMap;

/// Order states kept between batches in a warm container, by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 2048;

#[derive(Debug)]
pub(super) struct StateCache {
    capacity: usize,
    tick: u64,
    /// order id -> (last use, state as of its last processed event, newest known snapshot).
    entries: HashMap<String, (u64, Order, Option<SnapshotRef>)>,
}

impl StateCache {
    pub(super) fn new(capacity: usize) -> Self {
        StateCache { capacity, tick: 0, entries: HashMap::new() }
    }

    pub(super) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
    }

    /// Removes and returns the order's entry, as a fold with nothing left to fold.
    pub(super) fn take(&mut self, order_id: &str) -> Option<FoldedOrder> {
        self.entries.remove(order_id).map(|(_, state, snapshot)| FoldedOrder::settled(state, snapshot))
    }

    pub(super) fn put(&mut self, order_id: String, state: Order, snapshot: Option<SnapshotRef>) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&order_id) {
            let oldest = self.entries.iter().min_by_key(|(_, (t, ..))| *t).map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.tick += 1;
        self.entries.insert(order_id, (self.tick, state, snapshot));
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

    #[test]
    fn the_cache_evicts_the_least_recently_stored() {
        let mut cache = StateCache::new(2);
        cache.put("a".into(), at(1), None);
        cache.put("b".into(), at(2), None);
        cache.put("c".into(), at(3), None);
        assert!(cache.take("a").is_none());
        assert_eq!(cache.take("b").map(|c| c.current().version), Some(2));
        assert_eq!(cache.take("c").map(|c| c.current().version), Some(3));
    }

    #[test]
    fn a_zero_capacity_cache_holds_nothing() {
        let mut cache = StateCache::new(0);
        cache.put("a".into(), at(1), None);
        assert!(cache.take("a").is_none());
    }
}
