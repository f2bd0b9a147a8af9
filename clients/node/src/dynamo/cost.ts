// What a load cost: requests sent, the ones waited for one after another, items, bytes and
// read units, counted the way the Rust load counts them.
import { type Item, itemBytes } from "./attributes.js";

/** One read: its requests, items, bytes and read units. */
export interface ReadCost {
  roundTrips: number;
  items: number;
  bytes: number;
  readUnits: number;
}

const READ_UNIT_BYTES = 4096;

export const noCost = (): ReadCost => ({ roundTrips: 0, items: 0, bytes: 0, readUnits: 0 });

/** Adds one page of a Query to `cost`: read units round up per page, halve when eventually consistent. */
export function addPage(cost: ReadCost, items: readonly Item[], consistent: boolean): void {
  const bytes = items.reduce((sum, item) => sum + itemBytes(item), 0);
  const units = Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES));
  cost.roundTrips += 1;
  cost.items += items.length;
  cost.bytes += bytes;
  cost.readUnits += consistent ? units : units / 2;
}

/** What a load cost and how it was served. */
export interface LoadCost {
  /** Requests sent. */
  roundTrips: number;
  /** Requests waited for one after another: the latency paid. Reads sent together count once. */
  criticalRoundTrips: number;
  itemsRead: number;
  bytesRead: number;
  readUnits: number;
}

export class CostMeter implements LoadCost {
  roundTrips = 0;
  criticalRoundTrips = 0;
  itemsRead = 0;
  bytesRead = 0;
  readUnits = 0;

  /** A read waited for after the previous ones. */
  read(cost: ReadCost): void {
    this.add(cost);
    this.criticalRoundTrips += cost.roundTrips;
  }

  /** Reads sent at the same time: the load waits for the longer of them. */
  together(first: ReadCost, second: ReadCost): void {
    this.add(first);
    this.add(second);
    this.criticalRoundTrips += Math.max(first.roundTrips, second.roundTrips);
  }

  /** A read sent and never waited for. */
  sentOnly(): void {
    this.roundTrips += 1;
  }

  private add(cost: ReadCost): void {
    this.roundTrips += cost.roundTrips;
    this.itemsRead += cost.items;
    this.bytesRead += cost.bytes;
    this.readUnits += cost.readUnits;
  }

  summary(): LoadCost {
    const { roundTrips, criticalRoundTrips, itemsRead, bytesRead, readUnits } = this;
    return { roundTrips, criticalRoundTrips, itemsRead, bytesRead, readUnits };
  }
}
