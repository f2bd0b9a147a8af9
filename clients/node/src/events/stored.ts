// An event as stored: one item per event, keyed by (orderId, sequence). Decoding the item is
// the package's; reading its payload as an order event is the fold's (it decides what it reads).
// Besides this package's own layout (payload as JSON text, occurredAt in epoch milliseconds) it
// reads what a DocumentClient writes by default: the payload as a map, occurredAt as an ISO time.
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { isEventType } from "../contract.js";
import { AttributeError, type Item, integer, text } from "../dynamo/attributes.js";
import { Refusal } from "../errors.js";
import { fromNumber, fromText, type OccurredAt } from "./occurred-at.js";

/** One stored event, as a fold receives it. */
export interface StoredEvent {
  orderId: string;
  /** 1, 2, 3, … contiguous per order. */
  sequence: number;
  eventId: string;
  eventType: string;
  schemaVersion: number;
  /** Milliseconds since the Unix epoch. */
  occurredAt: number;
  /** The payload as JSON text, exactly as stored (numbers as written); a stored map as the JSON it stands for. */
  payloadText: string;
}

/**
 * Decodes an event item strictly, in the order every reader of the contract checks: the item's
 * own attributes (`malformed_item`, `occurred_at_in_seconds`), then whether its payload has a
 * JSON form at all. What the payload says is the fold's to read.
 */
export function decodeEventItem(item: Item): StoredEvent {
  let envelope;
  try {
    envelope = {
      orderId: text(item, "orderId"),
      sequence: integer(item, "sequence"),
      eventId: text(item, "eventId"),
      eventType: text(item, "eventType"),
      schemaVersion: integer(item, "schemaVersion"),
      occurredAt: occurredAt(item.occurredAt),
    };
  } catch (error) {
    if (error instanceof AttributeError) throw new Refusal("malformed_item", error.message);
    throw error;
  }
  const stored = item.payload;
  if (stored?.S !== undefined) return { ...envelope, payloadText: stored.S };
  if (stored?.M === undefined) throw new Refusal("malformed_item", "attribute payload is not of type S or M");
  const json = mapText(stored.M);
  if (typeof json === "string") return { ...envelope, payloadText: json };
  if (!isEventType(envelope.eventType)) {
    throw new Refusal("unknown_event_type", `unknown event type ${JSON.stringify(envelope.eventType)}`);
  }
  throw new Refusal("invalid_payload", `payload of ${envelope.eventType}: ${json.noJsonForm}`);
}

function occurredAt(value: AttributeValue | undefined): number {
  let read: OccurredAt;
  if (value?.N !== undefined) read = fromNumber(value.N);
  else if (value?.S !== undefined) read = fromText(value.S);
  else throw new AttributeError("occurredAt", value === undefined ? "is missing" : "is not of type N or S");
  if ("inSeconds" in read) {
    const message = `occurredAt ${read.inSeconds} looks like epoch seconds; it is milliseconds since the epoch (×1000)`;
    throw new Refusal("occurred_at_in_seconds", message);
  }
  if ("unreadable" in read) {
    throw new AttributeError("occurredAt", `${JSON.stringify(read.unreadable)} is neither epoch milliseconds within ±(2^53 − 1) nor an RFC 3339 time`);
  }
  return read.ms;
}

/** The JSON text a stored map stands for (numbers as their N text), or why it has none. */
function mapText(map: Record<string, AttributeValue>): string | { noJsonForm: string } {
  const fields: string[] = [];
  for (const [key, value] of Object.entries(map)) {
    const json = valueText(value);
    if (typeof json !== "string") return { noJsonForm: `${key}: ${json.noJsonForm}` };
    fields.push(`${JSON.stringify(key)}:${json}`);
  }
  return `{${fields.join(",")}}`;
}

function valueText(value: AttributeValue): string | { noJsonForm: string } {
  if (value.S !== undefined) return JSON.stringify(value.S);
  if (value.N !== undefined) return value.N;
  if (value.BOOL !== undefined) return String(value.BOOL);
  if (value.NULL !== undefined) return "null";
  if (value.M !== undefined) return mapText(value.M);
  if (value.L !== undefined) {
    const items: string[] = [];
    for (const [i, item] of value.L.entries()) {
      const json = valueText(item);
      if (typeof json !== "string") return { noJsonForm: `[${i}]: ${json.noJsonForm}` };
      items.push(json);
    }
    return `[${items.join(",")}]`;
  }
  const kind = value.B !== undefined ? "binary (B)" : value.BS !== undefined ? "binary set (BS)" : value.NS !== undefined ? "number set (NS)" : value.SS !== undefined ? "string set (SS)" : "non-JSON";
  return { noJsonForm: `a ${kind} attribute has no JSON form` };
}
