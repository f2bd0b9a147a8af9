// Compile-time checks a writer gets from the generated types (`npm run typecheck`): each
// `@ts-expect-error` line must fail to compile, or the check itself fails.
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createOrderStore, type NewEvent, type OrderState } from "../../dist/esm/index.js";

declare const client: DynamoDBClient;
const store = createOrderStore({ client, eventsTable: "events", snapshotsTable: "snapshots" });

export async function writes(): Promise<void> {
  await store.append("o-1", 0, [
    { eventType: "OrderCreated", schemaVersion: 1, payload: { customerId: "c-1", currency: "EUR" } },
    { eventType: "ItemAdded", schemaVersion: 1, payload: { sku: "A", name: "Mug", quantity: 1, unitPrice: 450 } },
    { eventType: "ItemAdded", schemaVersion: 2, payload: { sku: "A", productName: "Mug", quantity: 1, unitPriceMinor: 450 } },
    { eventType: "ShippingUpdated", schemaVersion: 1, payload: { status: "hub" } },
    { eventType: "OrderConfirmed", schemaVersion: 1, payload: {} },
  ]);
}

// @ts-expect-error a money field is a number of minor units, not a string
export const priceAsText: NewEvent = { eventType: "ItemAdded", schemaVersion: 1, payload: { sku: "A", name: "Mug", quantity: 1, unitPrice: "4.50" } };
// @ts-expect-error a required field is missing
export const noCurrency: NewEvent = { eventType: "OrderCreated", schemaVersion: 1, payload: { customerId: "c-1" } };
// @ts-expect-error version 2 of ItemAdded names its fields productName and unitPriceMinor
export const mixedShapes: NewEvent = { eventType: "ItemAdded", schemaVersion: 2, payload: { sku: "A", name: "Mug", quantity: 1, unitPrice: 450 } };
// @ts-expect-error no such event type
export const unknownType: NewEvent = { eventType: "OrderLevitated", schemaVersion: 1, payload: {} };
// @ts-expect-error no published version 3
export const unknownVersion: NewEvent = { eventType: "OrderConfirmed", schemaVersion: 3, payload: {} };

export async function reads(): Promise<string | undefined> {
  const loaded = await store.load("o-1");
  const state: OrderState | undefined = loaded?.state;
  // @ts-expect-error the state's total is money (a number), not text
  const total: string | undefined = state?.total;
  return loaded?.from === "snapshot" ? `${loaded.snapshotVersion} ${total}` : loaded?.unusable?.[0]?.reason;
}
