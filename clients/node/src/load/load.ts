// The speculative load, the same plan as the Rust load: the newest snapshot and the newest events
// do not depend on each other, so both reads go out at once. When the events read reaches back to
// the snapshot's own event (the anchor), the load took one round trip of latency; otherwise it
// reads only what is missing: the gap back to the anchor, the events after the read-ahead, or
// what lies before it when it replays. Events already read are never read twice.
import { CostMeter, type LoadCost, noCost } from "../dynamo/cost.js";
import { HistoryUnreadableError, Refusal } from "../errors.js";
import type { EventReader } from "../events/read.js";
import type { StoredEvent } from "../events/stored.js";
import type { Fold } from "../fold/fold.js";
import type { Reader, UnusableSnapshot } from "../snapshots/check.js";
import type { SnapshotLookup, SnapshotReader } from "../snapshots/lookup.js";
import { EventItems } from "./in-hand.js";
import type { ReadAheadMemory } from "./memory.js";
import { toRead } from "./plan.js";

/** An order as loaded, and what the load cost. */
export interface Loaded<State> extends LoadCost {
  state: State;
  /** The sequence of the last event folded. */
  version: number;
  from: "snapshot" | "replay";
  /** The snapshot the load started from, when `from` is `snapshot`. */
  snapshotVersion?: number;
  /** Snapshots passed over as unusable, newest first, each with its reason code. */
  unusable?: UnusableSnapshot[];
  /** Events folded onto the snapshot (or from the start, on a replay). */
  eventsFolded: number;
  /** The snapshot table could not be reached (not throttled): the load replayed. */
  snapshotsUnreachable?: boolean;
}

export interface LoadContext<State> {
  events: EventReader;
  snapshots: SnapshotReader;
  fold: Fold<State>;
  reader: Reader;
  /** Events read beside the snapshot; 0 for the two-step load (snapshot, then its tail). */
  readAhead: number;
  memory: ReadAheadMemory;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
const settle = <T>(promise: Promise<T>): Promise<Settled<T>> =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

/** A busy table: a replay would only add load elsewhere, so the load fails instead. */
const THROTTLING = new Set(["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]);
const isThrottling = (error: unknown): boolean =>
  error instanceof Error &&
  (THROTTLING.has(error.name) || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 429);

/** The order `orderId` up to `upto` (its last event when absent); `undefined` when it has no events. */
export async function load<State>(
  ctx: LoadContext<State>,
  orderId: string,
  upto: number | undefined,
): Promise<Loaded<State> | undefined> {
  const cost = new CostMeter();
  // bounded by `upto`, so a snapshot written past it meanwhile does not cost a replay
  const readSnapshot = () => settle(ctx.snapshots.newestUsable(orderId, upto, ctx.reader));
  if (ctx.readAhead === 0) {
    const lookup = await readSnapshot();
    cost.read(lookup.ok ? lookup.value.cost : noCost());
    return fromSnapshot(ctx, orderId, upto, lookup, EventItems.none(orderId), cost);
  }
  const limit = ctx.memory.readAhead(orderId, ctx.readAhead);
  // an order this store last saw whole in its read-ahead: its snapshot is not asked for
  const seenWhole = upto === undefined && ctx.memory.whole(orderId);
  // the events first: when they hold the whole history, they are all the load waits for
  const eventsRead = settle(ctx.events.newest(orderId, upto, limit));
  const snapshotRead = seenWhole ? undefined : readSnapshot();
  const newest = await eventsRead;
  if (!newest.ok) {
    await snapshotRead; // the load ends after both reads, whichever failed
    throw newest.error;
  }
  const [inHand, eventsCost] = newest.value;
  if (upto === undefined && inHand.fromStart) {
    // the read-ahead holds the whole history: the load is its replay, the snapshot not waited for
    cost.read(eventsCost);
    if (snapshotRead) cost.sentOnly();
    ctx.memory.rememberWhole(orderId);
    return replay(ctx, orderId, upto, inHand, cost, []);
  }
  let lookup: Settled<SnapshotLookup>;
  if (snapshotRead) {
    lookup = await snapshotRead;
    cost.together(lookup.ok ? lookup.value.cost : noCost(), eventsCost);
  } else {
    // it grew past the read-ahead since: the snapshot after all, beside the read-ahead from now on
    ctx.memory.forgetWhole(orderId);
    cost.read(eventsCost);
    lookup = await readSnapshot();
    cost.read(lookup.ok ? lookup.value.cost : noCost());
  }
  return fromSnapshot(ctx, orderId, upto, lookup, inHand, cost);
}

async function fromSnapshot<State>(
  ctx: LoadContext<State>,
  orderId: string,
  upto: number | undefined,
  lookup: Settled<SnapshotLookup>,
  inHand: EventItems,
  cost: CostMeter,
): Promise<Loaded<State> | undefined> {
  if (!lookup.ok) {
    // Snapshots are a cache: when their table cannot be reached, the events still can.
    if (isThrottling(lookup.error)) throw lookup.error;
    const replayed = await replay(ctx, orderId, upto, inHand, cost, []);
    return replayed && { ...replayed, snapshotsUnreachable: true };
  }
  const { snapshot, passedOver } = lookup.value;
  if (!snapshot) return replay(ctx, orderId, upto, inHand, cost, passedOver);
  // Fold from the snapshot's own last event: it proves the history the snapshot was folded
  // from is still the stored one.
  const anchor = snapshot.lastEventSequence;
  // A read-ahead that found nothing was answered before this snapshot's events were appended.
  const held = inHand.last === undefined ? EventItems.none(orderId) : inHand;
  await readTheRest(ctx, orderId, anchor, upto, held, cost);
  const [first, ...tail] = held.decodeFrom(anchor);
  if (first?.sequence !== anchor || first.eventId !== snapshot.state.lastEventId) {
    const detail = `event ${anchor} is not the one the snapshot was folded from`;
    return replay(ctx, orderId, upto, held, cost, [
      ...passedOver,
      { version: snapshot.version, reason: "anchor_mismatch", detail },
    ]);
  }
  const restored = ctx.fold.restore ? ctx.fold.restore(snapshot.state) : (snapshot.state as State);
  const [state, version] = foldEvents(ctx.fold, orderId, restored, anchor, tail);
  ctx.memory.remember(orderId, tail.length, cost.bytesRead, cost.itemsRead);
  return {
    state,
    version,
    from: "snapshot",
    snapshotVersion: snapshot.version,
    ...(passedOver.length > 0 ? { unusable: passedOver } : {}),
    eventsFolded: tail.length,
    ...cost.summary(),
  };
}

/** The fold of every event up to `upto`, reading only what `inHand` lacks. */
async function replay<State>(
  ctx: LoadContext<State>,
  orderId: string,
  upto: number | undefined,
  inHand: EventItems,
  cost: CostMeter,
  passedOver: UnusableSnapshot[],
): Promise<Loaded<State> | undefined> {
  await readTheRest(ctx, orderId, 1, upto, inHand, cost);
  const events = inHand.decodeFrom(1);
  if (events.length === 0) return undefined;
  const [state, version] = foldEvents(ctx.fold, orderId, ctx.fold.empty(orderId), 0, events);
  return {
    state,
    version,
    from: "replay",
    ...(passedOver.length > 0 ? { unusable: passedOver } : {}),
    eventsFolded: events.length,
    ...cost.summary(),
  };
}

/** Folds `events` onto `state` at `version`, each the next in sequence. */
function foldEvents<State>(
  fold: Fold<State>,
  orderId: string,
  state: State,
  version: number,
  events: StoredEvent[],
): [State, number] {
  for (const event of events) {
    if (event.sequence !== version + 1) {
      const message = `event ${version + 1} is missing (the next stored is ${event.sequence})`;
      throw new HistoryUnreadableError(orderId, version + 1, "out_of_sequence", message);
    }
    try {
      state = fold.apply(state, event);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      throw new HistoryUnreadableError(orderId, event.sequence, error.code, error.message, { cause: error });
    }
    version = event.sequence;
  }
  return [state, version];
}

/** Completes `inHand` with every stored event from `from` up to `upto`. */
async function readTheRest<State>(
  ctx: LoadContext<State>,
  orderId: string,
  from: number,
  upto: number | undefined,
  inHand: EventItems,
  cost: CostMeter,
): Promise<void> {
  const plan = toRead(from, upto, { first: inHand.first, last: inHand.last, fromStart: inHand.fromStart });
  if (plan.read === "nothing") return;
  const [read, readCost] =
    plan.read === "older"
      ? await ctx.events.range(orderId, plan.from, plan.to)
      : await ctx.events.range(orderId, plan.from, upto);
  cost.read(readCost);
  inHand.join(read);
}
