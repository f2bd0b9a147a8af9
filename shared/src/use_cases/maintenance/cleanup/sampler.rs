//! The drift canary's sample, picked while the cleanup scan goes by.

use crate::domain::OrderId;

/// Picks a sample while a scan goes by: up to `random` orders uniformly at random (reservoir
/// sampling over orders, not snapshot keys: an order with many snapshots is no likelier to be
/// picked) and the `recent` orders with the newest snapshots. The scan hands over an order's
/// keys one after another, so an order is new when it differs from the last one offered.
#[derive(Debug)]
pub struct Sampler {
    random: usize,
    recent: usize,
    seen: u64,
    last: Option<OrderId>,
    state: u64,
    reservoir: Vec<OrderId>,
    newest: Vec<(i64, OrderId)>,
}

impl Sampler {
    pub fn new(size: usize, seed: u64) -> Self {
        Sampler {
            random: size.div_ceil(2),
            recent: size / 2,
            seen: 0,
            last: None,
            state: seed | 1,
            reservoir: Vec::new(),
            newest: Vec::new(),
        }
    }

    /// An order seen by the scan, with its snapshot's timestamp.
    pub fn offer(&mut self, order_id: &OrderId, timestamp: i64) {
        if self.recent > 0 {
            match self.newest.iter_mut().find(|(_, id)| id == order_id) {
                Some(entry) => entry.0 = entry.0.max(timestamp),
                None => self.newest.push((timestamp, order_id.clone())),
            }
            self.newest.sort_by_key(|(timestamp, _)| std::cmp::Reverse(*timestamp));
            self.newest.truncate(self.recent);
        }
        if self.random == 0 || self.last.as_ref() == Some(order_id) {
            return;
        }
        self.last = Some(order_id.clone());
        self.seen += 1;
        if self.reservoir.len() < self.random {
            self.reservoir.push(order_id.clone());
        } else {
            let slot = self.next() % self.seen;
            if let Some(kept) = self.reservoir.get_mut(slot as usize) {
                *kept = order_id.clone();
            }
        }
    }

    /// The sample: the random ones, then the recent ones not already in it.
    pub fn sample(self) -> Vec<OrderId> {
        let mut sample = self.reservoir;
        for (_, id) in self.newest {
            if !sample.contains(&id) {
                sample.push(id);
            }
        }
        sample
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::samples::order_id as id;

    #[test]
    fn the_sample_holds_random_and_recent_orders_each_once() {
        // given 1,000 orders seen, order i's snapshot taken at time i
        let mut sampler = Sampler::new(10, 42);
        for i in 0..1000 {
            sampler.offer(&id(&format!("o-{i}")), i);
            sampler.offer(&id(&format!("o-{i}")), i); // an order seen twice (two snapshots)
        }
        let sample = sampler.sample();
        // then 5 random and the 5 most recent, without repeats
        assert!(sample.len() <= 10 && sample.len() >= 5, "{sample:?}");
        for recent in ["o-999", "o-998", "o-997", "o-996", "o-995"] {
            assert!(sample.contains(&id(recent)), "{sample:?}");
        }
        let mut unique = sample.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), sample.len());
        assert!(sample.iter().take(5).any(|id| id.trim_start_matches("o-").parse::<i32>().unwrap() < 990));
    }

    #[test]
    fn an_order_with_many_snapshots_is_no_likelier_to_be_picked() {
        // given two orders, one with a single snapshot and one with nine, over 4,000 scans
        let mut many_picked = 0;
        for seed in 0..4000 {
            let mut sampler = Sampler::new(1, seed);
            sampler.offer(&id("one"), 1);
            for _ in 0..9 {
                sampler.offer(&id("nine"), 1);
            }
            many_picked += u32::from(sampler.sample() == [id("nine")]);
        }
        // then each is picked about half the time (keys, not orders, would give "nine" 90%)
        assert!((1800..=2200).contains(&many_picked), "picked {many_picked} times of 4000");
    }

    #[test]
    fn a_zero_sample_is_empty() {
        let mut sampler = Sampler::new(0, 1);
        sampler.offer(&id("o-1"), 1);
        assert!(sampler.sample().is_empty());
    }
}
