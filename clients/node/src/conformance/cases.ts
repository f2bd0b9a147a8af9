// The fold corpus's cases (conformance/fold/*.json): named histories of event items and what a
// conforming fold makes of them after every event.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { Json } from "../json/exact.js";

/** After one event: the state, or the code of its refusal. */
export type Expected = { state: Json } | { refused: string };

export interface FoldCase {
  /** The case, and the `orderId` of its events. */
  name: string;
  /** The rule it shows, in a sentence. */
  rule: string;
  stateSchemaVersion: number;
  /** Event items as DynamoDB JSON, in sequence order. */
  events: Record<string, DynamoJson>[];
  expected: Expected[];
}

/** An attribute value as DynamoDB JSON (`{"S": "…"}`, `{"N": "1"}`, `{"B": "<base64>"}`, `{"M": …}`). */
export type DynamoJson = { [K in "S" | "N" | "B" | "BOOL" | "NULL"]?: string | boolean } & {
  M?: Record<string, DynamoJson>;
  L?: DynamoJson[];
};

/** Every case of a corpus folder (`conformance/fold/`), in name order. */
export function readFoldCases(dir: string): FoldCase[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith(".json"))
    .sort()
    .map((file) => JSON.parse(readFileSync(join(dir, file), "utf8")) as FoldCase);
}

/** A DynamoDB JSON item as the SDK's attribute values (`B` from base64). */
export function toItem(item: Record<string, DynamoJson>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, toAttribute(value)]));
}

function toAttribute(value: DynamoJson): AttributeValue {
  if (typeof value.S === "string") return { S: value.S };
  if (typeof value.N === "string") return { N: value.N };
  if (typeof value.B === "string") return { B: Buffer.from(value.B, "base64") };
  if (typeof value.BOOL === "boolean") return { BOOL: value.BOOL };
  if (value.NULL === true) return { NULL: true };
  if (value.M) return { M: toItem(value.M) };
  if (value.L) return { L: value.L.map(toAttribute) };
  throw new Error(`not a DynamoDB JSON attribute value: ${JSON.stringify(value)}`);
}
