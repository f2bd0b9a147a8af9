// The order store a service uses: loads from the snapshot service's snapshots, appends events.
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { corpusStateSchemaVersion, fingerprintOfFold } from "./conformance/run.js";
import { type Appended, append } from "./events/append.js";
import { EventReader } from "./events/read.js";
import { checkOrderId } from "./errors.js";
import type { Fold } from "./fold/fold.js";
import { referenceFold } from "./fold/reference/apply.js";
import type { NewEvent, OrderState } from "./generated/contract.js";
import { type Loaded, load } from "./load/load.js";
import { ReadAheadMemory } from "./load/memory.js";
import { SnapshotReader } from "./snapshots/lookup.js";

/**
 * Events read beside the snapshot by default: the stream's snapshot threshold (10) + its load
 * tail margin (10) + 1, as the Rust load reads. A snapshot at most that far behind the newest
 * event is reached in one round trip.
 */
export const DEFAULT_READ_AHEAD = 21;

export interface OrderStoreOptions<State> {
  client: DynamoDBClient;
  eventsTable: string;
  snapshotsTable: string;
  /** The service's own fold; the package's reference fold when absent. */
  fold?: Fold<State>;
  /** Events read beside the snapshot (default 21); 0 for the two-step load. */
  readAhead?: number;
}

export interface LoadOptions {
  /** Load the order as of this sequence. */
  upto?: number;
}

export interface OrderStore<State> {
  /** The order, from its newest usable snapshot and the events after it; `undefined` when it has no events. */
  load(orderId: string, options?: LoadOptions): Promise<Loaded<State> | undefined>;
  /** Appends `events` after `expectedVersion`, or throws `AppendConflictError`. */
  append(orderId: string, expectedVersion: number, events: readonly NewEvent[]): Promise<Appended>;
  /** The fingerprint this store's fold conforms to: snapshots of any other are not used. */
  readonly foldFingerprint: string;
}

export function createOrderStore(options: OrderStoreOptions<OrderState> & { fold?: undefined }): OrderStore<OrderState>;
export function createOrderStore<State>(options: OrderStoreOptions<State> & { fold: Fold<State> }): OrderStore<State>;
export function createOrderStore<State>(options: OrderStoreOptions<State>): OrderStore<State> {
  const { client, eventsTable, snapshotsTable } = options;
  const fold = options.fold ?? (referenceFold as unknown as Fold<State>);
  const readAhead = options.readAhead ?? DEFAULT_READ_AHEAD;
  if (!Number.isSafeInteger(readAhead) || readAhead < 0) throw new Error(`readAhead ${readAhead} is not a whole number ≥ 0`);
  // what the fold makes of the corpus decides which snapshots it may use (computed once)
  const foldFingerprint = fingerprintOfFold(fold);
  const context = {
    events: new EventReader(client, eventsTable),
    snapshots: new SnapshotReader(client, snapshotsTable),
    fold,
    reader: { stateSchemaVersion: corpusStateSchemaVersion(), foldFingerprint },
    readAhead,
    // per store, as per warm container in the Rust load
    memory: new ReadAheadMemory(),
  };
  return {
    foldFingerprint,
    load(orderId, { upto } = {}) {
      checkOrderId(orderId);
      if (upto !== undefined && (!Number.isSafeInteger(upto) || upto < 1)) {
        return Promise.reject(new RangeError(`upto ${upto} is not a sequence (a whole number ≥ 1)`));
      }
      return load(context, orderId, upto);
    },
    append(orderId, expectedVersion, events) {
      return append(client, eventsTable, orderId, expectedVersion, events);
    },
  };
}
