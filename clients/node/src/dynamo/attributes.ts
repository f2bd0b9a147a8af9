// Reading the attributes of a DynamoDB item strictly: a missing or mistyped attribute is an
// error, never a default.
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { type Exact, ExactNumber } from "../json/exact.js";

export type Item = Record<string, AttributeValue>;

export class AttributeError extends Error {
  override name = "AttributeError";
  constructor(
    readonly attribute: string,
    message: string,
  ) {
    super(`attribute ${attribute} ${message}`);
  }
}

function attribute(item: Item, name: string): AttributeValue {
  const value = item[name];
  if (value === undefined) throw new AttributeError(name, "is missing");
  return value;
}

/** An S attribute. */
export function text(item: Item, name: string): string {
  const value = attribute(item, name).S;
  if (value === undefined) throw new AttributeError(name, "is not of type S");
  return value;
}

/** `text` as a whole number JavaScript holds exactly (no fraction, no exponent), or `undefined`. */
export function safeInteger(text: string): number | undefined {
  const n = Number(text);
  return /^-?\d+$/.test(text) && Number.isSafeInteger(n) ? n : undefined;
}

/** An N attribute holding a whole number JavaScript holds exactly. */
export function integer(item: Item, name: string): number {
  const value = attribute(item, name).N;
  if (value === undefined) throw new AttributeError(name, "is not of type N");
  const n = safeInteger(value.trim());
  if (n === undefined) throw new AttributeError(name, `is not a whole number within ±(2^53 − 1): ${value}`);
  return n;
}

/** A B attribute. */
export function bytes(item: Item, name: string): Uint8Array {
  const value = attribute(item, name).B;
  if (value === undefined) throw new AttributeError(name, "is not of type B");
  return value;
}

/** An attribute as an exactly-read JSON value (N as written); `undefined` for the types JSON lacks. */
export function toExact(value: AttributeValue): Exact | undefined {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return new ExactNumber(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.L !== undefined) {
    const items = value.L.map(toExact);
    return items.every((i) => i !== undefined) ? (items as Exact[]) : undefined;
  }
  if (value.M !== undefined) {
    const fields = Object.entries(value.M).map(([k, v]) => [k, toExact(v)] as const);
    return fields.every(([, v]) => v !== undefined) ? new Map(fields as [string, Exact][]) : undefined;
  }
  return undefined;
}

const utf8 = (s: string): number => Buffer.byteLength(s, "utf8");
const numberSize = (n: string): number => Math.ceil((n.match(/\d/g)?.length ?? 0) / 2) + 1;

/** An item's size by DynamoDB's rules: attribute names plus values. */
export function itemBytes(item: Item): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueBytes(value), 0);
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.length, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueBytes(v), 0);
  if (value.M !== undefined) {
    return 3 + Object.entries(value.M).reduce((sum, [k, v]) => sum + 1 + utf8(k) + valueBytes(v), 0);
  }
  return 0;
}
