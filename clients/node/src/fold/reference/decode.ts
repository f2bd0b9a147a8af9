// Reading a stored event's payload as the current shape of its type, by the published schemas:
// an unknown type, a schema version nothing reads, a payload that is not a JSON object or does
// not fit its schema are refused with the contract's codes; fields a newer writer added are
// ignored (the schemas allow them); older or newer shapes are turned into the current one by
// an upcaster, so the fold sees one shape per type.
import { isEventType, payloadSchema, readableVersions } from "../../contract.js";
import type { EventType, Payloads } from "../../generated/contract.js";
import type { StoredEvent } from "../../events/stored.js";
import { Refusal } from "../../errors.js";
import { type Exact, type Json, JsonSyntaxError, parseExact, toPlain } from "../../json/exact.js";

/** The schema version of every type's current payload shape: what the fold reads. */
export const CURRENT_SCHEMA_VERSION = 1;

/** An event in its type's current shape. */
export type OrderEvent = { [T in EventType]: { type: T; data: Payloads[T][typeof CURRENT_SCHEMA_VERSION] } }[EventType];

type Upcaster = (payload: { [key: string]: Json }) => { [key: string]: Json };

/** Payload shapes other than the current one, by `<eventType>.v<schemaVersion>`. */
export const UPCASTERS: Readonly<Record<string, Upcaster>> = {
  "ItemAdded.v2": (v2) => ({ sku: v2.sku!, name: v2.productName!, quantity: v2.quantity!, unitPrice: v2.unitPriceMinor! }),
};

/**
 * `event`'s payload as its type's current shape, or a `Refusal`. Fields a newer writer added are
 * kept in `data` as they are; the reference fold reads only the fields of the shape.
 */
export function decodePayload(event: StoredEvent): OrderEvent {
  const { eventType, schemaVersion } = event;
  if (!isEventType(eventType)) throw new Refusal("unknown_event_type", `unknown event type ${JSON.stringify(eventType)}`);
  let payload: Exact;
  try {
    payload = parseExact(event.payloadText);
  } catch (error) {
    if (error instanceof JsonSyntaxError) {
      throw new Refusal("invalid_payload", `payload of ${eventType} is not JSON: ${error.message}`);
    }
    throw error;
  }
  if (!(payload instanceof Map)) throw new Refusal("invalid_payload", `payload of ${eventType} is not a JSON object`);
  const upcast = UPCASTERS[`${eventType}.v${schemaVersion}`];
  const schema = payloadSchema(eventType, schemaVersion);
  if (!schema || (schemaVersion !== CURRENT_SCHEMA_VERSION && !upcast)) {
    const readable = readableVersions(eventType).join(", ");
    throw new Refusal(
      "unsupported_schema_version",
      `${eventType} schema version ${schemaVersion} is not one this fold reads (${readable})`,
    );
  }
  const violation = schema.check(payload);
  if (violation) {
    const code = violation.amountOutOfRange ? "amount_out_of_range" : "invalid_payload";
    throw new Refusal(code, `payload of ${eventType} v${schemaVersion}: ${violation.path} ${violation.message}`);
  }
  const plain = toPlain(payload) as { [key: string]: Json };
  const data = upcast ? upcast(plain) : plain;
  return { type: eventType, data } as OrderEvent;
}
