// Appending events in the contract's layout: one conditional put for one event, a transaction
// for up to 100, each item written only if its (orderId, sequence) is free, so of two writers at
// the same expected version exactly one wins. Every payload is checked against its published
// schema first: a refused append writes nothing.
import { randomUUID } from "node:crypto";
import {
  type DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
  TransactionCanceledException,
  ConditionalCheckFailedException,
} from "@aws-sdk/client-dynamodb";
import { isEventType, payloadSchema } from "../contract.js";
import type { Item } from "../dynamo/attributes.js";
import { AppendConflictError, InvalidAppendError, checkOrderId } from "../errors.js";
import type { NewEvent } from "../generated/contract.js";
import { JsonSyntaxError, parseExact } from "../json/exact.js";

/** The most events one append writes: DynamoDB's transaction limit. */
export const MAX_EVENTS_PER_APPEND = 100;

export interface Appended {
  /** The order's version after the append. */
  version: number;
  /** The ids of the events written, in order. */
  eventIds: string[];
}

/** Writes `events` as sequences `expectedVersion + 1, …`, or throws `AppendConflictError`. */
export async function append(
  client: DynamoDBClient,
  table: string,
  orderId: string,
  expectedVersion: number,
  events: readonly NewEvent[],
): Promise<Appended> {
  const items = eventItems(orderId, expectedVersion, events);
  const condition = { ConditionExpression: "attribute_not_exists(orderId)" };
  try {
    if (items.length === 1) {
      await client.send(new PutItemCommand({ TableName: table, Item: items[0], ...condition }));
    } else if (items.length > 1) {
      const puts = items.map((Item) => ({ Put: { TableName: table, Item, ...condition } }));
      await client.send(new TransactWriteItemsCommand({ TransactItems: puts }));
    }
  } catch (error) {
    if (isConflict(error)) throw new AppendConflictError(orderId, expectedVersion, { cause: error });
    throw error;
  }
  return { version: expectedVersion + items.length, eventIds: items.map((item) => item.eventId!.S!) };
}

function isConflict(error: unknown): boolean {
  if (error instanceof ConditionalCheckFailedException) return true;
  return (
    error instanceof TransactionCanceledException &&
    (error.CancellationReasons ?? []).some((reason) => reason.Code === "ConditionalCheckFailed")
  );
}

/** The items of `events`, each checked against the contract. */
export function eventItems(orderId: string, expectedVersion: number, events: readonly NewEvent[]): Item[] {
  checkOrderId(orderId);
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
    throw new InvalidAppendError(orderId, "invalid_version", `expected version ${expectedVersion} is not a whole number ≥ 0`);
  }
  if (!Array.isArray(events)) throw new InvalidAppendError(orderId, "invalid_event", "events must be an array");
  if (events.length > MAX_EVENTS_PER_APPEND) {
    const message = `${events.length} events; one append writes at most ${MAX_EVENTS_PER_APPEND}`;
    throw new InvalidAppendError(orderId, "too_many_events", message);
  }
  return events.map((event, i) => eventItem(orderId, expectedVersion + i + 1, event, i));
}

function eventItem(orderId: string, sequence: number, event: NewEvent, index: number): Item {
  function refuse(code: InvalidAppendError["code"], message: string): never {
    throw new InvalidAppendError(orderId, code, `event ${index} (${event?.eventType}): ${message}`);
  }
  if (!isEventType(event?.eventType)) refuse("unknown_event_type", "not an event type of the contract");
  const schema = payloadSchema(event.eventType, event.schemaVersion);
  if (!schema) refuse("unsupported_schema_version", `no published schema for version ${event.schemaVersion}`);
  // undefined for a function or undefined payload: not JSON
  const payload: string | undefined = JSON.stringify(event.payload);
  if (payload === undefined) refuse("invalid_payload", "the payload is not JSON");
  let violation;
  try {
    violation = schema.check(parseExact(payload));
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    refuse("invalid_payload", "the payload is not JSON");
  }
  if (violation) {
    const code = violation.amountOutOfRange ? "amount_out_of_range" : "invalid_payload";
    refuse(code, `${violation.path} ${violation.message}`);
  }
  const occurredAt = event.occurredAt ?? Date.now();
  if (!Number.isSafeInteger(occurredAt)) refuse("invalid_event", `occurredAt ${occurredAt} is not whole milliseconds`);
  const eventId = event.eventId ?? randomUUID();
  if (typeof eventId !== "string" || eventId.length === 0) refuse("invalid_event", "eventId must be a non-empty string");
  return {
    orderId: { S: orderId },
    sequence: { N: String(sequence) },
    eventId: { S: eventId },
    eventType: { S: event.eventType },
    schemaVersion: { N: String(event.schemaVersion) },
    payload: { S: payload },
    occurredAt: { N: String(occurredAt) },
  };
}
