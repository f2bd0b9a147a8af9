// The event items a load holds: ascending by sequence, and whether they reach the first event.
import { type Item, integer } from "../dynamo/attributes.js";
import { type StoredEvent, decodeEventItem } from "../events/stored.js";
import { HistoryUnreadableError, Refusal } from "../errors.js";

type Keyed = [sequence: number, item: Item];

export class EventItems {
  private constructor(
    readonly orderId: string,
    private items: Keyed[],
    private reachesStart: boolean,
  ) {}

  /** Nothing in hand. */
  static none(orderId: string): EventItems {
    return new EventItems(orderId, [], false);
  }

  /**
   * `items` as a Query answered them, in either direction; `fromStart` when the read reached the
   * order's first event (or found none). Holding event 1 is holding the start: DynamoDB answers a
   * Query that stopped at its Limit with a LastEvaluatedKey even when nothing is left.
   */
  static fromQuery(orderId: string, items: Item[], fromStart: boolean): EventItems {
    const keyed = items.map((item): Keyed => {
      try {
        return [integer(item, "sequence"), item];
      } catch (error) {
        throw new HistoryUnreadableError(orderId, undefined, "malformed_item", (error as Error).message);
      }
    });
    keyed.sort(([a], [b]) => a - b);
    return new EventItems(orderId, keyed, fromStart || keyed[0]?.[0] === 1);
  }

  get first(): number | undefined {
    return this.items[0]?.[0];
  }

  get last(): number | undefined {
    return this.items.at(-1)?.[0];
  }

  get fromStart(): boolean {
    return this.reachesStart;
  }

  /** Adds events read next to these: `other` holds the ones just before the first here, or just after the last. */
  join(other: EventItems): void {
    const older = other.last !== undefined && this.first !== undefined && other.last < this.first;
    if (older || this.items.length === 0) {
      this.reachesStart = other.reachesStart;
      this.items = [...other.items, ...this.items];
    } else {
      this.items.push(...other.items);
    }
  }

  /** The events from sequence `from` on, decoded; the first that cannot be read fails them all. */
  decodeFrom(from: number): StoredEvent[] {
    return this.items
      .filter(([sequence]) => sequence >= from)
      .map(([sequence, item]) => {
        try {
          return decodeEventItem(item);
        } catch (error) {
          if (error instanceof Refusal) throw new HistoryUnreadableError(this.orderId, sequence, error.code, error.message);
          throw error;
        }
      });
  }
}
