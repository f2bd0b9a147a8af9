// How far behind its newest snapshot each recently loaded order was, remembered by a store so
// that the order's next load reads that far ahead (one round trip even when its snapshot lags
// further than the default read-ahead), and which orders fit whole in the read-ahead (their
// next load does not ask for a snapshot at all). The same memory as the Rust load's: bounded to
// a few thousand orders, and a read-ahead of at most a byte budget.

/** The most a remembered distance makes a load read ahead, in bytes of events. */
export const READ_AHEAD_BYTE_BUDGET = 256 * 1024;
/** Orders remembered per store (the oldest forgotten first). */
const REMEMBERED_ORDERS = 4096;

interface Seen {
  /** Events folded after the snapshot on the last load. */
  behind: number;
  /** Average stored bytes per event read then. */
  bytesPerEvent: number;
  /** The read-ahead held the order's whole history. */
  whole: boolean;
}

export class ReadAheadMemory {
  // a Map iterates in insertion order: its first key is the oldest remembered
  private readonly seen = new Map<string, Seen>();

  /** Events to read ahead for `orderId`: `base`, or the distance it was behind last time plus `base`, within the byte budget. */
  readAhead(orderId: string, base: number): number {
    const seen = this.seen.get(orderId);
    if (!seen || seen.behind < base) return base;
    const affordable = Math.floor(READ_AHEAD_BYTE_BUDGET / Math.max(1, seen.bytesPerEvent));
    return Math.max(base, Math.min(seen.behind + base, affordable));
  }

  /** Whether the last load of `orderId` found its whole history in the read-ahead. */
  whole(orderId: string): boolean {
    return this.seen.get(orderId)?.whole ?? false;
  }

  /** A load of `orderId` folded `behind` events after its snapshot, reading `bytes` in `items` items. */
  remember(orderId: string, behind: number, bytes: number, items: number): void {
    this.insert(orderId, { behind, bytesPerEvent: Math.floor(bytes / Math.max(1, items)), whole: false });
  }

  /** A load of `orderId` found its whole history in the read-ahead. */
  rememberWhole(orderId: string): void {
    this.insert(orderId, { behind: 0, bytesPerEvent: 1, whole: true });
  }

  /** A load of `orderId` found more than its read-ahead: the next one asks for the snapshot again. */
  forgetWhole(orderId: string): void {
    const seen = this.seen.get(orderId);
    if (seen) seen.whole = false;
  }

  get size(): number {
    return this.seen.size;
  }

  private insert(orderId: string, seen: Seen): void {
    const known = this.seen.has(orderId);
    this.seen.set(orderId, seen);
    if (known || this.seen.size <= REMEMBERED_ORDERS) return;
    const oldest = this.seen.keys().next().value;
    if (oldest !== undefined) this.seen.delete(oldest);
  }
}
