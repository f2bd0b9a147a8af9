// An event as stored: one item per event, keyed by (orderId, sequence). Decoding the item is
// the package's; reading its payload as an order event is the fold's (it decides what it reads).
import { AttributeError, type Item, integer, text } from "../dynamo/attributes.js";
import { Refusal } from "../errors.js";

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
  /** The payload as JSON text, exactly as stored (numbers as written). */
  payloadText: string;
}

/** Decodes an event item strictly: every attribute present with its type (`malformed_item` otherwise). */
export function decodeEventItem(item: Item): StoredEvent {
  try {
    return {
      orderId: text(item, "orderId"),
      sequence: integer(item, "sequence"),
      eventId: text(item, "eventId"),
      eventType: text(item, "eventType"),
      schemaVersion: integer(item, "schemaVersion"),
      occurredAt: integer(item, "occurredAt"),
      payloadText: text(item, "payload"),
    };
  } catch (error) {
    if (error instanceof AttributeError) throw new Refusal("malformed_item", error.message);
    throw error;
  }
}
