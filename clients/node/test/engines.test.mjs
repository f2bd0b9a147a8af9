// The package on the real engines the Rust tests use (moto, dynalite): the load corpus's items
// loaded to their verdicts, and appends as the contract says (one conditional put, a
// transaction, a typed conflict, a refused append writes nothing).
import assert from "node:assert/strict";
import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { after, before, describe, test } from "node:test";
import { AppendConflictError, InvalidAppendError, createOrderStore, toItem } from "../dist/esm/index.js";
import { Peer } from "./support/peer.mjs";
import { cases, put } from "./support/items.mjs";

for (const engine of ["moto", "dynalite"]) {
  describe(`on ${engine}`, () => {
    let peer;
    let client;
    let tables;
    const store = (options = {}) => createOrderStore({ client, ...tables, ...options });

    before(async () => {
      peer = await Peer.start(engine);
      client = peer.client();
      tables = { eventsTable: peer.tables.eventsTable, snapshotsTable: peer.tables.snapshotsTable };
    });
    after(async () => {
      client?.destroy();
      await peer?.stop();
    });

    test("every load case's items load to its verdict", async () => {
      for (const c of cases("load")) {
        for (const item of c.events) await put(client, tables.eventsTable, toItem(item));
        for (const item of c.snapshots) await put(client, tables.snapshotsTable, toItem(item));
      }
      // without the read-ahead, every load looks at the snapshots (with it, a short order is replayed)
      const twoStep = store({ readAhead: 0 });
      for (const c of cases("load")) {
        const loaded = await twoStep.load(c.name);
        assert.deepEqual(JSON.parse(JSON.stringify(loaded.state)), c.expected.state, c.name);
        assert.equal(loaded.from, c.expected.from, c.name);
        assert.equal(loaded.snapshotVersion, c.expected.snapshotVersion, c.name);
        assert.deepEqual((loaded.unusable ?? []).map((u) => u.reason), c.expected.unusable, c.name);
        const ahead = await store().load(c.name);
        assert.deepEqual(ahead.state, loaded.state, `${c.name}, with the read-ahead`);
      }
    });

    test("one event is one conditional put; the second writer at a version gets a conflict", async () => {
      const s = store();
      const created = { eventType: "OrderCreated", schemaVersion: 1, payload: { customerId: "c-1", currency: "EUR" } };
      assert.deepEqual((await s.append("single-1", 0, [created])).version, 1);
      await assert.rejects(s.append("single-1", 0, [created]), AppendConflictError);
      const items = await query(client, tables.eventsTable, "single-1");
      assert.equal(items.length, 1);
      assert.deepEqual(Object.keys(items[0]).sort(), [
        "eventId", "eventType", "occurredAt", "orderId", "payload", "schemaVersion", "sequence",
      ]);
      assert.equal(items[0].payload.S, '{"customerId":"c-1","currency":"EUR"}');
      assert.equal((await s.load("single-1")).state.customerId, "c-1");
    });

    test("a refused append writes nothing and says why", async () => {
      const s = store();
      const bad = [
        [{ eventType: "ItemAdded", schemaVersion: 1, payload: { sku: "A", name: "x", quantity: 1, unitPrice: 4.5 } }, "invalid_payload"],
        [{ eventType: "ItemAdded", schemaVersion: 1, payload: { sku: "A", name: "x", quantity: 1, unitPrice: 2 ** 53 } }, "amount_out_of_range"],
        [{ eventType: "OrderLevitated", schemaVersion: 1, payload: {} }, "unknown_event_type"],
        [{ eventType: "OrderConfirmed", schemaVersion: 9, payload: {} }, "unsupported_schema_version"],
      ];
      for (const [event, code] of bad) {
        await assert.rejects(s.append("refused-1", 0, [event]), (e) => e instanceof InvalidAppendError && e.code === code);
      }
      const many = Array.from({ length: 101 }, () => ({ eventType: "OrderConfirmed", schemaVersion: 1, payload: {} }));
      await assert.rejects(s.append("refused-1", 0, many), (e) => e.code === "too_many_events");
      await assert.rejects(s.append("no/such id", 0, many.slice(0, 1)), /invalid order id/);
      assert.equal((await query(client, tables.eventsTable, "refused-1")).length, 0);
    });

    test("several events go in one transaction, all or nothing", { skip: engine === "dynalite" && "dynalite has no transactions" }, async () => {
      const s = store();
      const events = (n) => Array.from({ length: n }, (_, i) => ({
        eventType: "ItemAdded", schemaVersion: 1, payload: { sku: `S-${i}`, name: "x", quantity: 1, unitPrice: 100 },
      }));
      await s.append("batch-1", 0, [{ eventType: "OrderCreated", schemaVersion: 1, payload: { customerId: "c", currency: "EUR" } }]);
      assert.equal((await s.append("batch-1", 1, events(100))).version, 101);
      // a batch that overlaps a taken sequence writes none of its events
      await assert.rejects(s.append("batch-1", 100, events(3)), AppendConflictError);
      assert.equal((await query(client, tables.eventsTable, "batch-1")).length, 101);
      const loaded = await s.load("batch-1");
      assert.equal(loaded.version, 101);
      assert.equal(loaded.state.total, 100 * 100);
    });
  });
}

async function query(client, table, orderId) {
  const page = await client.send(
    new QueryCommand({ TableName: table, KeyConditionExpression: "orderId = :id", ExpressionAttributeValues: { ":id": { S: orderId } }, ConsistentRead: true }),
  );
  return page.Items ?? [];
}
