// What a load still has to read, given the events it already holds. Pure, so every case of the
// speculative load (the read-ahead reached the snapshot, fell short of it, or was answered
// before the snapshot was written) is tested without a server. The same plan as the Rust load.

/** The events a load holds: contiguous `first..=last`, and whether nothing older exists. */
export interface EventsInHand {
  first?: number;
  last?: number;
  fromStart: boolean;
}

/** The read that completes the events from `from` on. */
export type ToRead =
  /** Everything from `from` to the last event in hand is there. */
  | { read: "nothing" }
  /** The events before the first in hand, `from..=to`: the snapshot is further behind, or the load replays. */
  | { read: "older"; from: number; to: number }
  /** The events from `from` to the load's bound: nothing was read ahead, or it was answered before the snapshot's event. */
  | { read: "from"; from: number };

/** What to read so that every stored event from `from` up to `upto` (inclusive; to the end when absent) is in hand. */
export function toRead(from: number, upto: number | undefined, inHand: EventsInHand): ToRead {
  const { first, last, fromStart } = inHand;
  let wanted: ToRead;
  if (first !== undefined && last !== undefined) {
    if (from > last) wanted = { read: "from", from: last + 1 };
    else if (from < first && !fromStart) wanted = { read: "older", from, to: first - 1 };
    else wanted = { read: "nothing" };
  } else if (fromStart && from <= 1) {
    // no events at all: an order without history, unless a snapshot of it was written since
    wanted = { read: "nothing" };
  } else {
    wanted = { read: "from", from };
  }
  if (wanted.read === "from" && upto !== undefined && wanted.from > upto) return { read: "nothing" };
  return wanted;
}
