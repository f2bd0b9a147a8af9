//! Events a load has read but not yet decoded. A load reads more than it may use (the newest
//! events, speculatively, beside the snapshot), so it decodes only the ones it folds: an
//! unreadable event older than the snapshot must not fail a load that does not need it.

use super::event_from_item;
use crate::domain::RecordedEvent;
use crate::store::StoreError;
use crate::store::dynamo::{Item, get_n};
use crate::store::unreadable::HistoryUnreadable;

/// Stored events of one order, ascending by sequence, with no stored event missing between
/// the first and the last.
#[derive(Debug)]
pub struct EventItems {
    order_id: String,
    items: Vec<(u64, Item)>,
    /// No stored event (up to the read's bound) is older than the first one here: the read
    /// reached the start of the history.
    from_start: bool,
}

impl EventItems {
    /// Nothing read yet, nothing known.
    pub fn none(order_id: &str) -> Self {
        EventItems { order_id: order_id.to_string(), items: Vec::new(), from_start: false }
    }

    /// `items` as a Query answered them, in either direction; `from_start` when the read
    /// reached the order's first event (or found none).
    pub(super) fn from_query(order_id: &str, items: Vec<Item>, from_start: bool) -> Result<Self, StoreError> {
        let mut keyed = items
            .into_iter()
            .map(|item| match get_n(&item, "sequence") {
                Ok(sequence) => Ok((sequence, item)),
                Err(e) => Err(StoreError::from(HistoryUnreadable::decoding(order_id, None, e.into()))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        keyed.sort_unstable_by_key(|(sequence, _)| *sequence);
        // Holding event 1 is holding the start (sequences start at 1). It matters: DynamoDB
        // answers a Query that stopped at its Limit with a LastEvaluatedKey even when nothing
        // is left (dynalite does too; moto does not), so a read-ahead of exactly the whole
        // history would otherwise not know it had it.
        let from_start = from_start || keyed.first().is_some_and(|(sequence, _)| *sequence == 1);
        Ok(EventItems { order_id: order_id.to_string(), items: keyed, from_start })
    }

    pub fn first(&self) -> Option<u64> {
        self.items.first().map(|(sequence, _)| *sequence)
    }

    pub fn last(&self) -> Option<u64> {
        self.items.last().map(|(sequence, _)| *sequence)
    }

    /// The read reached the start of the history: nothing older exists.
    pub fn from_start(&self) -> bool {
        self.from_start
    }

    /// Adds events read next to these: `other` holds the ones just before the first here, or
    /// just after the last.
    pub fn join(&mut self, other: EventItems) {
        let older = other.last().zip(self.first()).is_some_and(|(theirs, ours)| theirs < ours);
        if older || self.items.is_empty() {
            self.from_start = other.from_start;
            let newer = std::mem::replace(&mut self.items, other.items);
            self.items.extend(newer);
        } else {
            self.items.extend(other.items);
        }
    }

    /// The events from `from` on, decoded; the first that cannot be read fails them all.
    pub fn decode_from(&self, from: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        let start = self.items.partition_point(|(sequence, _)| *sequence < from);
        self.items[start..]
            .iter()
            .map(|(sequence, item)| {
                event_from_item(item).map_err(|source| {
                    HistoryUnreadable::decoding(&self.order_id, Some(*sequence), source).into()
                })
            })
            .collect()
    }
}
