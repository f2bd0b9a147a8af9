// Whether a stored snapshot can be used, step by step as the contract names the checks
// (docs/data-model.md, "Reading a snapshot: the contract"); each refusal has the contract's
// reason code, the same the Rust reader gives.
import { createHash } from "node:crypto";
import { inflateRawSync } from "node:zlib";
import { snapshotMetadataSchema, orderStateSchema } from "../contract.js";
import { AttributeError, bytes, type Item, integer, text, toExact } from "../dynamo/attributes.js";
import type { OrderState, SnapshotMetadata } from "../generated/contract.js";
import { JsonSyntaxError, parseExact, toPlain } from "../json/exact.js";

/** Why a stored snapshot is not used (conformance/README.md, "Reason codes"). */
export type ReasonCode =
  | "malformed_item"
  | "malformed_metadata"
  | "unknown_state_schema"
  | "fold_changed"
  | "undecodable_state"
  | "checksum_mismatch"
  | "inconsistent_keys"
  | "anchor_mismatch";

/** A snapshot that passed every check of its own (the anchor is checked against the events). */
export interface Snapshot {
  orderId: string;
  version: number;
  lastEventSequence: number;
  timestamp: number;
  metadata: SnapshotMetadata;
  state: OrderState;
}

/** A snapshot passed over, and why. */
export interface UnusableSnapshot {
  version?: number;
  reason: ReasonCode;
  detail: string;
}

/** What the reader reads: its state schema version and its fold's fingerprint. */
export interface Reader {
  stateSchemaVersion: number;
  foldFingerprint: string;
}

/** A decompressed state larger than this is refused (a damaged or hostile item). */
export const MAX_STATE_BYTES = 16 * 1024 * 1024;

class Unusable extends Error {
  constructor(
    readonly reason: ReasonCode,
    detail: string,
  ) {
    super(detail);
  }
}

/** The snapshot in `item`, or why it cannot be used. */
export function checkSnapshot(item: Item, reader: Reader): Snapshot | UnusableSnapshot {
  try {
    return decode(item, reader);
  } catch (error) {
    const version = item.version?.N === undefined ? undefined : Number(item.version.N);
    if (error instanceof Unusable) return { version, reason: error.reason, detail: error.message };
    if (error instanceof AttributeError) return { version, reason: "malformed_item", detail: error.message };
    throw error;
  }
}

export function isUsable(checked: Snapshot | UnusableSnapshot): checked is Snapshot {
  return "state" in checked;
}

function decode(item: Item, reader: Reader): Snapshot {
  const metadata = readMetadata(item);
  const orderId = text(item, "orderId");
  const version = integer(item, "version");
  const lastEventSequence = integer(item, "lastEventSequence");
  const timestamp = integer(item, "timestamp");
  if (metadata.stateSchemaVersion !== reader.stateSchemaVersion) {
    throw new Unusable(
      "unknown_state_schema",
      `state schema version ${metadata.stateSchemaVersion}; this reader reads ${reader.stateSchemaVersion}`,
    );
  }
  if (metadata.foldFingerprint !== reader.foldFingerprint) {
    throw new Unusable(
      "fold_changed",
      `made by a fold with fingerprint ${metadata.foldFingerprint ?? "(none)"}; this fold's is ${reader.foldFingerprint}`,
    );
  }
  const json = stateBytes(bytes(item, "state"), metadata);
  const computed = `sha256:${createHash("sha256").update(json).digest("hex")}`;
  if (computed !== metadata.checksum) {
    throw new Unusable("checksum_mismatch", `stored ${metadata.checksum}, computed ${computed}`);
  }
  const state = readState(json);
  if (state.id !== orderId) throw new Unusable("inconsistent_keys", "state belongs to another order");
  if (state.version !== lastEventSequence || version !== lastEventSequence) {
    throw new Unusable("inconsistent_keys", "state version, version and lastEventSequence differ");
  }
  return { orderId, version, lastEventSequence, timestamp, metadata, state };
}

function readMetadata(item: Item): SnapshotMetadata {
  const stored = item.metadata;
  if (stored === undefined) throw new AttributeError("metadata", "is missing");
  const exact = stored.M === undefined ? undefined : toExact(stored);
  if (exact === undefined) throw new Unusable("malformed_metadata", "metadata is not a map of JSON values");
  const violation = snapshotMetadataSchema().check(exact);
  if (violation) throw new Unusable("malformed_metadata", `metadata ${violation.path} ${violation.message}`);
  return toPlain(exact) as SnapshotMetadata;
}

function stateBytes(stored: Uint8Array, metadata: SnapshotMetadata): Buffer {
  if (metadata.stateEncoding === "JSON") return Buffer.from(stored);
  try {
    return inflateRawSync(stored, { maxOutputLength: MAX_STATE_BYTES });
  } catch (error) {
    throw new Unusable("undecodable_state", `state does not inflate: ${(error as Error).message}`);
  }
}

function readState(json: Buffer): OrderState {
  let exact;
  try {
    exact = parseExact(new TextDecoder("utf-8", { fatal: true }).decode(json));
  } catch (error) {
    if (error instanceof JsonSyntaxError || error instanceof TypeError) {
      throw new Unusable("undecodable_state", `state is not JSON: ${error.message}`);
    }
    throw error;
  }
  const violation = orderStateSchema().check(exact);
  if (violation) throw new Unusable("undecodable_state", `state is not an order: ${violation.path} ${violation.message}`);
  return toPlain(exact) as OrderState;
}
