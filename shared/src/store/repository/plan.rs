//! What a load still has to read, given the events it already holds. Pure, so every case of
//! the speculative load (the read-ahead reached the snapshot, fell short of it, or was
//! answered before the snapshot was written) is tested without a server.

/// The events a load holds: contiguous `first..=last`, and whether nothing older exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventsInHand {
    pub first: Option<u64>,
    pub last: Option<u64>,
    pub from_start: bool,
}

/// The read that completes the events from `from` on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToRead {
    /// Everything from `from` to the last event in hand is there.
    Nothing,
    /// The events before the first in hand, `from..=to`: the snapshot is further behind than
    /// the read-ahead reached (the stream lags), or the load replays.
    Older { from: u64, to: u64 },
    /// The events from `from` to the load's bound: nothing was read ahead, or the read-ahead
    /// was answered before the snapshot's own event was appended.
    From(u64),
}

/// What to read so that every stored event from `from` up to `upto` (inclusive; `None`: to
/// the end) is in hand.
pub fn to_read(from: u64, upto: Option<u64>, in_hand: EventsInHand) -> ToRead {
    let wanted = match (in_hand.first, in_hand.last) {
        (Some(_), Some(last)) if from > last => ToRead::From(last + 1),
        (Some(first), Some(_)) if from < first && !in_hand.from_start => {
            ToRead::Older { from, to: first - 1 }
        }
        (Some(_), Some(_)) => ToRead::Nothing,
        // The read-ahead found no events at all: an order without history, unless a snapshot
        // of it (`from > 1`) was written since. (A snapshot at event 1 is told apart by the
        // caller, which then holds nothing rather than an empty history.)
        _ if in_hand.from_start && from <= 1 => ToRead::Nothing,
        _ => ToRead::From(from),
    };
    match wanted {
        ToRead::From(start) if upto.is_some_and(|upto| start > upto) => ToRead::Nothing,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_hand(first: u64, last: u64, from_start: bool) -> EventsInHand {
        EventsInHand { first: Some(first), last: Some(last), from_start }
    }

    const NOTHING_READ: EventsInHand = EventsInHand { first: None, last: None, from_start: false };
    const NO_EVENTS: EventsInHand = EventsInHand { first: None, last: None, from_start: true };

    #[test]
    fn a_read_ahead_that_reaches_the_snapshot_needs_no_second_read() {
        // events 80..=100 in hand, snapshot at 91 (9 behind)
        assert_eq!(to_read(91, None, in_hand(80, 100, false)), ToRead::Nothing);
        assert_eq!(to_read(80, None, in_hand(80, 100, false)), ToRead::Nothing, "the anchor is the first");
    }

    #[test]
    fn a_snapshot_further_behind_reads_the_gap_before_the_first_event_in_hand() {
        assert_eq!(to_read(40, None, in_hand(80, 100, false)), ToRead::Older { from: 40, to: 79 });
        assert_eq!(to_read(79, Some(100), in_hand(80, 100, false)), ToRead::Older { from: 79, to: 79 });
    }

    #[test]
    fn a_replay_reads_what_lies_before_the_read_ahead_unless_it_reached_the_start() {
        assert_eq!(to_read(1, None, in_hand(80, 100, false)), ToRead::Older { from: 1, to: 79 });
        assert_eq!(to_read(1, None, in_hand(1, 12, true)), ToRead::Nothing);
    }

    #[test]
    fn a_history_read_from_its_start_holds_every_event_from_any_sequence_on() {
        // a foreign history that does not start at 1: the read still ran out of events
        assert_eq!(to_read(1, None, in_hand(3, 12, true)), ToRead::Nothing);
    }

    #[test]
    fn a_snapshot_newer_than_the_read_ahead_reads_on_from_the_last_event_in_hand() {
        // the read-ahead was answered before event 103 was appended; its snapshot was read after
        assert_eq!(to_read(103, None, in_hand(80, 100, false)), ToRead::From(101));
        assert_eq!(to_read(103, Some(104), in_hand(80, 100, true)), ToRead::From(101));
    }

    #[test]
    fn without_a_read_ahead_the_load_reads_from_the_snapshot_on() {
        assert_eq!(to_read(91, None, NOTHING_READ), ToRead::From(91));
        assert_eq!(to_read(1, Some(30), NOTHING_READ), ToRead::From(1));
    }

    #[test]
    fn an_order_without_events_needs_no_more_reads_unless_a_snapshot_says_otherwise() {
        assert_eq!(to_read(1, None, NO_EVENTS), ToRead::Nothing);
        assert_eq!(to_read(10, None, NO_EVENTS), ToRead::From(10));
    }

    #[test]
    fn nothing_is_read_past_the_loads_bound() {
        assert_eq!(to_read(101, Some(100), in_hand(80, 100, false)), ToRead::Nothing);
        assert_eq!(to_read(10, Some(5), NO_EVENTS), ToRead::Nothing);
    }
}
