//! What a load still has to read, given the events it already holds. Pure, so every case of
//! the speculative load (the read-ahead reached the snapshot, fell short of it, or was
//! answered before the snapshot was written) is tested without a server.

/// The events a load holds: contiguous `first..=last`, and whether nothing older exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InHand {
    pub first: Option<u64>,
    pub last: Option<u64>,
    pub from_start: bool,
}

/// The read that completes the events from `from` on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
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
pub fn missing(from: u64, upto: Option<u64>, hand: InHand) -> Missing {
    let wanted = match (hand.first, hand.last) {
        (Some(_), Some(last)) if from > last => Missing::From(last + 1),
        (Some(first), Some(_)) if from < first && !hand.from_start => Missing::Older { from, to: first - 1 },
        (Some(_), Some(_)) => Missing::Nothing,
        // The read-ahead found no events at all: an order without history, unless a snapshot
        // of it (`from > 1`) was written since. (A snapshot at event 1 is told apart by the
        // caller, which then holds nothing rather than an empty history.)
        _ if hand.from_start && from <= 1 => Missing::Nothing,
        _ => Missing::From(from),
    };
    match wanted {
        Missing::From(start) if upto.is_some_and(|upto| start > upto) => Missing::Nothing,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hand(first: u64, last: u64, from_start: bool) -> InHand {
        InHand { first: Some(first), last: Some(last), from_start }
    }

    const NOTHING_READ: InHand = InHand { first: None, last: None, from_start: false };
    const NO_EVENTS: InHand = InHand { first: None, last: None, from_start: true };

    #[test]
    fn a_read_ahead_that_reaches_the_snapshot_needs_no_second_read() {
        // events 80..=100 in hand, snapshot at 91 (9 behind)
        assert_eq!(missing(91, None, hand(80, 100, false)), Missing::Nothing);
        assert_eq!(missing(80, None, hand(80, 100, false)), Missing::Nothing, "the anchor is the first");
    }

    #[test]
    fn a_snapshot_further_behind_reads_the_gap_before_the_first_event_in_hand() {
        assert_eq!(missing(40, None, hand(80, 100, false)), Missing::Older { from: 40, to: 79 });
        assert_eq!(missing(79, Some(100), hand(80, 100, false)), Missing::Older { from: 79, to: 79 });
    }

    #[test]
    fn a_replay_reads_what_lies_before_the_read_ahead_unless_it_reached_the_start() {
        assert_eq!(missing(1, None, hand(80, 100, false)), Missing::Older { from: 1, to: 79 });
        assert_eq!(missing(1, None, hand(1, 12, true)), Missing::Nothing);
    }

    #[test]
    fn a_history_read_from_its_start_holds_every_event_from_any_sequence_on() {
        // a foreign history that does not start at 1: the read still ran out of events
        assert_eq!(missing(1, None, hand(3, 12, true)), Missing::Nothing);
    }

    #[test]
    fn a_snapshot_newer_than_the_read_ahead_reads_on_from_the_last_event_in_hand() {
        // the read-ahead was answered before event 103 was appended; its snapshot was read after
        assert_eq!(missing(103, None, hand(80, 100, false)), Missing::From(101));
        assert_eq!(missing(103, Some(104), hand(80, 100, true)), Missing::From(101));
    }

    #[test]
    fn without_a_read_ahead_the_load_reads_from_the_snapshot_on() {
        assert_eq!(missing(91, None, NOTHING_READ), Missing::From(91));
        assert_eq!(missing(1, Some(30), NOTHING_READ), Missing::From(1));
    }

    #[test]
    fn an_order_without_events_needs_no_more_reads_unless_a_snapshot_says_otherwise() {
        assert_eq!(missing(1, None, NO_EVENTS), Missing::Nothing);
        assert_eq!(missing(10, None, NO_EVENTS), Missing::From(10));
    }

    #[test]
    fn nothing_is_read_past_the_loads_bound() {
        assert_eq!(missing(101, Some(100), hand(80, 100, false)), Missing::Nothing);
        assert_eq!(missing(10, Some(5), NO_EVENTS), Missing::Nothing);
    }
}
