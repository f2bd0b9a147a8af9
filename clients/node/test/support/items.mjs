// Writing items as another writer would: raw PutItem calls, no package code in the way.
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

/** Every case of `conformance/<kind>/`, parsed, in name order. */
export function cases(kind) {
  const dir = join(repo, "conformance", kind);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")));
}

export async function put(client, table, item) {
  await client.send(new PutItemCommand({ TableName: table, Item: item }));
}

/** An event item as a foreign writer puts it: the payload as JSON text. */
export function rawEvent(orderId, sequence, eventType, payload, schemaVersion = 1) {
  return {
    orderId: { S: orderId },
    sequence: { N: String(sequence) },
    eventId: { S: `${orderId}-${sequence}-raw` },
    eventType: { S: eventType },
    schemaVersion: { N: String(schemaVersion) },
    payload: { S: typeof payload === "string" ? payload : JSON.stringify(payload) },
    occurredAt: { N: String(1_800_000_000_000 + sequence * 1000) },
  };
}
