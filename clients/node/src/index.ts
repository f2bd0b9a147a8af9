// @order-snapshots/client: load orders from the snapshot service's snapshots in one round trip,
// append events in the published contract, and check a fold against the conformance corpus.
export { createOrderStore, DEFAULT_READ_AHEAD } from "./store.js";
export type { LoadOptions, OrderStore, OrderStoreOptions } from "./store.js";
export type { Loaded } from "./load/load.js";
export type { LoadCost } from "./dynamo/cost.js";
export { MAX_EVENTS_PER_APPEND, eventItems } from "./events/append.js";
export type { Appended } from "./events/append.js";
export type { StoredEvent } from "./events/stored.js";
export { decodeEventItem } from "./events/stored.js";
export type { Fold } from "./fold/fold.js";
export { referenceFold, applyEvent, emptyOrder } from "./fold/reference/apply.js";
export { decodePayload, UPCASTERS, CURRENT_SCHEMA_VERSION } from "./fold/reference/decode.js";
export type { OrderEvent } from "./fold/reference/decode.js";
export { checkSnapshot, isUsable, MAX_STATE_BYTES } from "./snapshots/check.js";
export type { ReasonCode, Reader, Snapshot, UnusableSnapshot } from "./snapshots/check.js";
export { runConformance, fingerprintOfFold } from "./conformance/run.js";
export type { ConformanceOptions, ConformanceReport, Disagreement } from "./conformance/run.js";
export { readFoldCases, toItem } from "./conformance/cases.js";
export type { Expected, FoldCase } from "./conformance/cases.js";
export { canonical } from "./conformance/fingerprint.js";
export { toRead } from "./load/plan.js";
export type { EventsInHand, ToRead } from "./load/plan.js";
export {
  AppendConflictError,
  HistoryUnreadableError,
  InvalidAppendError,
  InvalidOrderIdError,
  Refusal,
} from "./errors.js";
export type { RefusalCode } from "./errors.js";
export * from "./generated/contract.js";
