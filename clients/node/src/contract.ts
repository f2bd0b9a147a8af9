// The published contract the package reads and writes by: the schemas of schemas/ (embedded at
// build time), parsed once.
import { EVENT_TYPES, type EventType } from "./generated/contract.js";
import { SCHEMA_TEXT } from "./generated/schemas.js";
import { Schema } from "./json/schema.js";

const payloadSchemas = new Map<string, Schema>();

/** The schema of `eventType`'s payload at `schemaVersion`; `undefined` when none is published. */
export function payloadSchema(eventType: string, schemaVersion: number): Schema | undefined {
  const key = `${eventType}.v${schemaVersion}`;
  const text = (SCHEMA_TEXT.payloads as Record<string, string>)[key];
  if (text === undefined) return undefined;
  let schema = payloadSchemas.get(key);
  if (!schema) {
    schema = Schema.parse(text);
    payloadSchemas.set(key, schema);
  }
  return schema;
}

/** The schema versions of `eventType` a reader reads. */
export function readableVersions(eventType: string): number[] {
  return Object.keys(SCHEMA_TEXT.payloads)
    .map((key) => /^(\w+)\.v(\d+)$/.exec(key))
    .filter((m): m is RegExpExecArray => m !== null && m[1] === eventType)
    .map((m) => Number(m[2]))
    .sort((a, b) => a - b);
}

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

let orderState: Schema | undefined;
/** order-state.schema.json: what a snapshot's state must be. */
export function orderStateSchema(): Schema {
  orderState ??= Schema.parse(SCHEMA_TEXT.orderState);
  return orderState;
}

let metadata: Schema | undefined;
/** The `metadata` map of snapshot-item.schema.json. */
export function snapshotMetadataSchema(): Schema {
  metadata ??= Schema.parse(SCHEMA_TEXT.snapshotItem).definition("SnapshotMetadata");
  return metadata;
}
