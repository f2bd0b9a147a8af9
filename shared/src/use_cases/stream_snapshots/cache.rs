//! A small LRU of what a warm container knows about orders between batches: an order's state
//! as of its last processed event (events are immutable, so a stale entry can only cost a
//! redundant conditional write, never a wrong snapshot), or that its history cannot be read
//! (so later records of it cost nothing until it is checked again).
//!
//! Public so the capacity simulation (`make capacity`) holds this very type in each of its
//! simulated containers.

use crate::domain::Order;
use crate::domain::folded_order::{FoldedOrder, SnapshotRef};
use std::collections::{BTreeMap, HashMap};

/// Orders kept between batches in a warm container, by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 2048;

/// What the container remembers of an order.
#[derive(Clone, Debug)]
pub enum CachedOrder {
    /// Folded up to its last processed event, with the newest snapshot known.
    Folded(Box<FoldedOrder>),
    /// Its history could not be read at `sequence`, as of `checked_at` (ms).
    Unreadable { sequence: Option<u64>, reason: String, checked_at: i64 },
}

#[derive(Debug)]
pub struct StateCache {
    capacity: usize,
    tick: u64,
    /// order id -> (last use, what is remembered).
    entries: HashMap<String, (u64, CachedOrder)>,
    /// last use -> order id, oldest first: eviction takes the first, not a scan of every entry
    /// (a full cache evicts on every record of an order it does not hold).
    by_use: BTreeMap<u64, String>,
}

impl StateCache {
    pub fn new(capacity: usize) -> Self {
        StateCache { capacity, tick: 0, entries: HashMap::new(), by_use: BTreeMap::new() }
    }

    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        while self.entries.len() > capacity {
            self.evict_oldest();
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes and returns what is remembered of the order.
    pub fn take(&mut self, order_id: &str) -> Option<CachedOrder> {
        let (used, remembered) = self.entries.remove(order_id)?;
        self.by_use.remove(&used);
        Some(remembered)
    }

    /// Forgets the order (one of its events changed in place: its history must be read again).
    pub fn forget(&mut self, order_id: &str) {
        self.take(order_id);
    }

    pub fn put_folded(&mut self, order_id: String, state: Order, snapshot: Option<SnapshotRef>) {
        self.put(order_id, CachedOrder::Folded(Box::new(FoldedOrder::settled(state, snapshot))));
    }

    pub fn put(&mut self, order_id: String, remembered: CachedOrder) {
        if self.capacity == 0 {
            return;
        }
        if self.take(&order_id).is_none() && self.entries.len() >= self.capacity {
            self.evict_oldest();
        }
        self.tick += 1;
        self.by_use.insert(self.tick, order_id.clone());
        self.entries.insert(order_id, (self.tick, remembered));
    }

    fn evict_oldest(&mut self) {
        if let Some((_, oldest)) = self.by_use.pop_first() {
            self.entries.remove(&oldest);
        }
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

    fn version(remembered: Option<CachedOrder>) -> Option<u64> {
        match remembered {
            Some(CachedOrder::Folded(folded)) => Some(folded.current().version),
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
        cache.put(
            "a".into(),
            CachedOrder::Unreadable { sequence: Some(6), reason: "x".into(), checked_at: 0 },
        );
        cache.forget("a");
        assert!(cache.take("a").is_none());
    }

    #[test]
    fn storing_an_order_again_makes_it_the_newest() {
        let mut cache = StateCache::new(2);
        cache.put_folded("a".into(), at(1), None);
        cache.put_folded("b".into(), at(2), None);
        cache.put_folded("a".into(), at(3), None);
        cache.put_folded("c".into(), at(4), None);
        assert!(cache.take("b").is_none(), "b was the least recently stored");
        assert_eq!(version(cache.take("a")), Some(3));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_smaller_capacity_drops_the_oldest_at_once() {
        let mut cache = StateCache::new(3);
        for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
            cache.put_folded(id.into(), at(i as u64), None);
        }
        cache.set_capacity(1);
        assert_eq!(cache.len(), 1);
        assert_eq!(version(cache.take("c")), Some(2));
    }
}
