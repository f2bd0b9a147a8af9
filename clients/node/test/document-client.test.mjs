// Items as a NestJS writer's DocumentClient writes them by default (`@aws-sdk/lib-dynamodb`):
// the payload as a map, occurredAt as an ISO string or epoch milliseconds. On both engines the
// Rust code snapshots them (the stream function on moto, the admin create on dynalite), the
// snapshot verifies as a match, and the package's load agrees with the Rust load. Epoch seconds
// are refused by both readers with the same code instead of being read 1,000× off.
import assert from "node:assert/strict";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { after, before, describe, test } from "node:test";
import { HistoryUnreadableError, canonical, createOrderStore } from "../dist/esm/index.js";
import { Peer } from "./support/peer.mjs";

const T0 = Date.UTC(2026, 11, 8, 2, 3, 19, 123);
const address = { name: "A. Customer", line1: "1 Main St", city: "Berlin", postalCode: "10115", country: "DE" };

/** The history a NestJS service writes: plain objects, the SDK's marshalling. */
function history(count) {
  const events = [["OrderCreated", { customerId: "c-1", currency: "EUR", channel: "app" }]];
  for (let i = 2; i <= count - 2; i += 1) {
    events.push(["ItemAdded", { sku: `SKU-${i % 4}`, name: "Cup", quantity: 1 + (i % 2), unitPrice: 450 + i, tags: ["a", i] }]);
  }
  events.push(["ShippingAddressSet", { address }], ["PaymentAuthorized", { paymentId: "p-1", amount: 9900, method: "card" }]);
  return events;
}

for (const engine of ["moto", "dynalite"]) {
  describe(`a DocumentClient writer on ${engine}`, () => {
    let peer;
    let client;
    let documents;
    let store;

    const write = async (orderId, count, occurredAt) => {
      for (const [i, [eventType, payload]] of history(count).entries()) {
        const sequence = i + 1;
        const Item = { orderId, sequence, eventId: `${orderId}-${sequence}`, eventType, schemaVersion: 1, payload, occurredAt: occurredAt(sequence) };
        await documents.send(new PutCommand({ TableName: peer.tables.eventsTable, Item, ConditionExpression: "attribute_not_exists(orderId)" }));
      }
    };

    before(async () => {
      peer = await Peer.start(engine);
      client = peer.client();
      documents = DynamoDBDocumentClient.from(client);
      store = createOrderStore({ client, eventsTable: peer.tables.eventsTable, snapshotsTable: peer.tables.snapshotsTable });
      // ISO strings on odd sequences, epoch milliseconds on even ones
      await write("doc-1", 25, (seq) => (seq % 2 ? new Date(T0 + seq * 1000).toISOString() : T0 + seq * 1000));
    });
    after(async () => {
      client?.destroy();
      await peer?.stop();
    });

    test("its items are snapshotted by the Rust code and verify as a match", async () => {
      if (engine === "moto") {
        const drained = await peer.ask({ op: "drain" });
        assert.equal(drained.partialFailures, 0, JSON.stringify(drained));
      } else {
        assert.equal((await peer.ask({ op: "snapshot", orderId: "doc-1" })).version, 25);
      }
      const verified = await peer.ask({ op: "verify", orderId: "doc-1" });
      assert.equal(verified.result, "match", JSON.stringify(verified));
      assert.equal(verified.snapshotVersion, engine === "moto" ? 20 : 25);
    });

    test("the package's load equals the Rust load, times read as milliseconds", async () => {
      const [rust, ts] = [await peer.ask({ op: "load", orderId: "doc-1" }), await store.load("doc-1")];
      assert.equal(canonical(ts.state), canonical(rust.state));
      assert.equal(ts.from, "snapshot");
      assert.equal(ts.state.createdAt, T0 + 1000, "an ISO time");
      assert.equal(ts.state.updatedAt, T0 + 25 * 1000);
      assert.equal(ts.state.payments[0].authorized, 9900);
    });

    test("epoch seconds are refused by both readers with the same code", async () => {
      await write("doc-seconds", 5, (seq) => Math.floor((T0 + seq * 1000) / 1000));
      const rust = await peer.ask({ op: "load", orderId: "doc-seconds" });
      assert.deepEqual([rust.error?.code, rust.error?.sequence], ["occurred_at_in_seconds", 1], JSON.stringify(rust));
      await assert.rejects(store.load("doc-seconds"), (e) => e instanceof HistoryUnreadableError && e.code === "occurred_at_in_seconds" && /epoch seconds/.test(e.message));
    });
  });
}
