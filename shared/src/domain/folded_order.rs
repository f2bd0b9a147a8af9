//! An order's state together with how it was reached: the state a fold started from (a
//! snapshot's, or the empty order) and the events folded onto it. Loads and the stream
//! function's warm cache both hand one over, and it gives the state at any sequence from its
//! base on: what a snapshot that lands on `snapshot + k × threshold` needs.

use crate::domain::{FoldError, Order, RecordedEvent};

/// The snapshot a fold started from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotRef {
    pub version: u64,
    /// When it was taken (ms).
    pub timestamp: i64,
}

#[derive(Clone, Debug)]
pub struct FoldedOrder {
    /// The state the fold started from: the snapshot's, or the empty order.
    base: Order,
    /// The snapshot `base` came from, or the newest one known to exist.
    snapshot: Option<SnapshotRef>,
    /// Events folded onto `base`, in sequence.
    tail: Vec<RecordedEvent>,
    /// `base` with `tail` folded onto it.
    current: Order,
}

impl FoldedOrder {
    /// `base` with `tail` folded onto it; `snapshot` names where `base` came from.
    pub fn fold(
        base: Order,
        snapshot: Option<SnapshotRef>,
        tail: Vec<RecordedEvent>,
    ) -> Result<Self, FoldError> {
        let mut current = base.clone();
        current.apply_all(&tail)?;
        Ok(FoldedOrder { base, snapshot, tail, current })
    }

    /// A full replay: the empty order with `events` folded onto it.
    pub fn replay(order_id: &str, events: Vec<RecordedEvent>) -> Result<Self, FoldError> {
        Self::fold(Order::empty(order_id), None, events)
    }

    /// A state already folded (nothing left to fold), e.g. what a warm container kept.
    pub fn settled(state: Order, snapshot: Option<SnapshotRef>) -> Self {
        FoldedOrder { base: state.clone(), snapshot, tail: Vec::new(), current: state }
    }

    pub fn current(&self) -> &Order {
        &self.current
    }

    pub fn into_current(self) -> Order {
        self.current
    }

    pub fn snapshot(&self) -> Option<SnapshotRef> {
        self.snapshot
    }

    /// How many events were folded onto the base.
    pub fn events_folded(&self) -> usize {
        self.tail.len()
    }

    /// Folds those of `events` (in sequence, possibly overlapping what is already folded) that
    /// come after the current state. `Ok(None)` when they leave a gap: the caller must load.
    pub fn continue_with(self, events: &[RecordedEvent]) -> Result<Option<Self>, FoldError> {
        let newer: Vec<RecordedEvent> =
            events.iter().filter(|e| e.sequence > self.current.version).cloned().collect();
        let contiguous = newer.iter().zip(self.current.version + 1..).all(|(e, s)| e.sequence == s);
        if !contiguous {
            return Ok(None);
        }
        Self::fold(self.current, self.snapshot, newer).map(Some)
    }

    /// The state at `sequence`, or `None` when it lies before the base (only a fresh load
    /// can give it) or after the current state.
    pub fn state_at_sequence(&self, sequence: u64) -> Result<Option<Order>, FoldError> {
        if sequence == self.current.version {
            return Ok(Some(self.current.clone()));
        }
        if sequence < self.base.version || sequence > self.current.version {
            return Ok(None);
        }
        let mut state = self.base.clone();
        state.apply_all(self.tail.iter().take_while(|e| e.sequence <= sequence))?;
        Ok(Some(state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::samples::recorded;
    use crate::domain::{Money, OrderEvent};

    fn history(len: u64) -> Vec<RecordedEvent> {
        (1..=len)
            .map(|seq| {
                let event = if seq == 1 {
                    OrderEvent::OrderCreated { customer_id: "c".into(), currency: "EUR".into() }
                } else {
                    OrderEvent::ItemAdded {
                        sku: format!("S{seq}"),
                        name: "thing".into(),
                        quantity: 1,
                        unit_price: Money::from_minor(100),
                    }
                };
                recorded("o-1", seq, event)
            })
            .collect()
    }

    #[test]
    fn the_state_at_any_sequence_since_the_base_equals_a_replay_to_it() {
        // given a fold that starts from the state at 4 and folds 5..=9
        let events = history(9);
        let base = Order::replay("o-1", &events[..4]).unwrap();
        let folded = FoldedOrder::fold(base, None, events[4..].to_vec()).unwrap();
        // then every sequence from 4 to 9 equals the replay up to it
        for at in 4..=9 {
            let replay = Order::replay("o-1", &events[..at as usize]).unwrap();
            assert_eq!(folded.state_at_sequence(at).unwrap(), Some(replay), "at {at}");
        }
        // and before the base or past the end it cannot say
        assert_eq!(folded.state_at_sequence(3).unwrap(), None);
        assert_eq!(folded.state_at_sequence(10).unwrap(), None);
        assert_eq!(folded.events_folded(), 5);
    }

    #[test]
    fn continuing_folds_only_newer_events_and_refuses_a_gap() {
        let events = history(8);
        let settled = FoldedOrder::settled(Order::replay("o-1", &events[..5]).unwrap(), None);
        // a redelivery that overlaps the state: only 6..=8 are folded
        let continued = settled.clone().continue_with(&events[3..]).unwrap().unwrap();
        assert_eq!(continued.current(), &Order::replay("o-1", &events).unwrap());
        assert_eq!(continued.events_folded(), 3);
        // a batch that starts past the next sequence leaves a gap
        assert!(settled.continue_with(&events[6..]).unwrap().is_none());
    }
}
