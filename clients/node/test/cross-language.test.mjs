// Across languages on a real engine (moto, whose stream the local runner reads): orders written
// through the package and as raw items, snapshotted by the Rust stream function, then loaded by
// the package and by the Rust load. The states agree, damaged snapshots are refused by both with
// the same reason codes, unreadable events with the same refusal codes, and the package's load
// waits for as many round trips as the Rust load (one when the read-ahead reaches the snapshot).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { after, before, test } from "node:test";
import { HistoryUnreadableError, canonical, createOrderStore } from "../dist/esm/index.js";
import { Peer } from "./support/peer.mjs";
import { put, rawEvent } from "./support/items.mjs";

let peer;
let client;
let store;
let tables;

const created = { eventType: "OrderCreated", schemaVersion: 1, payload: { customerId: "c-7", currency: "EUR" } };
const added = (i, name = `Product ${i}`, sku = `SKU-${i % 7}`) => ({
  eventType: "ItemAdded",
  schemaVersion: 1,
  payload: { sku, name, quantity: 1 + (i % 3), unitPrice: 199 + i },
});

/**
 * Events `from..=to` of an order through the package: the first five one by one (single puts),
 * the rest in batches of ten. `wide`: a line of its own per event, with a long name.
 */
async function writeThroughPackage(orderId, from, to, wide = false) {
  const event = (seq) =>
    seq === 1 ? created : wide ? added(seq, `Product ${seq} ${"with a long descriptive name ".repeat(10)}`, `W-${seq}`) : added(seq);
  let version = from - 1;
  while (version < to) {
    const size = version < 5 ? 1 : Math.min(10, to - version);
    const events = Array.from({ length: size }, (_, i) => event(version + i + 1));
    ({ version } = await store.append(orderId, version, events));
  }
}

/** A foreign writer's order: raw items, extra fields, ItemAdded at version 2, optional fields absent. */
async function writeRaw(orderId, count) {
  await put(client, tables.eventsTable, rawEvent(orderId, 1, "OrderCreated", { customerId: "c-9", currency: "EUR", channel: "app" }));
  for (let seq = 2; seq <= count - 3; seq += 1) {
    const event = seq % 2 === 0
      ? rawEvent(orderId, seq, "ItemAdded", { sku: `SKU-${seq % 5}`, productName: "Cup", quantity: 1, unitPriceMinor: 450 + seq }, 2)
      : rawEvent(orderId, seq, "ItemAdded", { sku: `SKU-${seq % 5}`, name: "Cup", quantity: 2, unitPrice: 450, giftWrap: true });
    await put(client, tables.eventsTable, event);
  }
  const address = { name: "A. Customer", line1: "1 Main St", city: "Berlin", postalCode: "10115", country: "DE", floor: 3 };
  await put(client, tables.eventsTable, rawEvent(orderId, count - 2, "ShippingAddressSet", { address }));
  await put(client, tables.eventsTable, rawEvent(orderId, count - 1, "OrderShipped", { carrier: "DHL", trackingNumber: "T-1" }));
  await put(client, tables.eventsTable, rawEvent(orderId, count, "ShippingUpdated", { status: "in transit" }));
}

const rustLoad = (orderId) => peer.ask({ op: "load", orderId });

async function drain() {
  const drained = await peer.ask({ op: "drain" });
  assert.equal(drained.partialFailures, 0, JSON.stringify(drained));
  assert.ok(drained.recordsDelivered > 0, JSON.stringify(drained));
}

before(async () => {
  peer = await Peer.start("moto");
  client = peer.client();
  tables = { eventsTable: peer.tables.eventsTable, snapshotsTable: peer.tables.snapshotsTable };
  store = createOrderStore({ client, ...tables });
  const long = ["ts-long", "ts-behind", "dmg-checksum", "dmg-fold", "dmg-encoding", "dmg-anchor"];
  // two rounds of the stream function, so the long orders have an older snapshot to fall back to
  for (const orderId of long) await writeThroughPackage(orderId, 1, 30);
  await writeThroughPackage("ts-wide", 1, 30, true);
  await writeRaw("raw-long", 33);
  await drain();
  for (const orderId of long) await writeThroughPackage(orderId, 31, 45);
  await writeThroughPackage("ts-short", 1, 6);
  await drain();
  // appended after the stream function ran: its newest snapshot (40) is 35 events behind
  await store.append("ts-behind", 45, Array.from({ length: 30 }, (_, i) => added(100 + i)));
});

after(async () => {
  client?.destroy();
  await peer?.stop();
});

test("every order loads to the Rust load's state, from the same snapshot, in as many round trips", async () => {
  const expectations = { "ts-long": 40, "ts-short": undefined, "ts-wide": 30, "ts-behind": 40, "raw-long": 30 };
  assert.deepEqual(await versions("ts-long"), [40, 30], "two rounds of the stream, two snapshots");
  for (const [orderId, snapshotVersion] of Object.entries(expectations)) {
    const [rust, ts] = [await rustLoad(orderId), await store.load(orderId)];
    assert.equal(canonical(ts.state), canonical(rust.state), orderId);
    assert.equal(ts.snapshotVersion, rust.snapshotVersion ?? undefined, orderId);
    assert.equal(ts.snapshotVersion, snapshotVersion, orderId);
    assert.equal(ts.criticalRoundTrips, rust.criticalRoundTrips, orderId);
    assert.equal(ts.criticalRoundTrips, orderId === "ts-behind" ? 2 : 1, `${orderId}, cold`);
  }
  for (const orderId of ["ts-long", "ts-short", "ts-wide", "raw-long"]) {
    const warm = await store.load(orderId);
    assert.equal(warm.criticalRoundTrips, 1, `${orderId}, warm`);
    assert.equal(warm.roundTrips, orderId === "ts-short" ? 1 : 2, `${orderId}: a short order seen whole asks for no snapshot`);
  }
  // cold, the gap back to the snapshot was one more read (the Rust load's too, compared above);
  // warm, the store remembers how far behind the order was and reads that far ahead at once
  const behind = await store.load("ts-behind");
  assert.equal(behind.criticalRoundTrips, 1, "the distance remembered");
  assert.equal(behind.version, 75);
  assert.equal(behind.itemsRead, 1 + 35 + 21, "the snapshot, the 35 events since and the read-ahead's margin");
});

test("the wide order's snapshot is stored deflated, and both read it", async () => {
  const item = await newestSnapshot("ts-wide");
  assert.equal(item.metadata.M.stateEncoding.S, "JSON_DEFLATE");
  assert.equal((await store.load("ts-wide")).from, "snapshot");
});

test("a load as of an earlier version is the replay up to it", async () => {
  const upto = await store.load("ts-long", { upto: 33 });
  const full = createOrderStore({ client, ...tables, readAhead: 0 });
  assert.equal(upto.version, 33);
  assert.equal(upto.snapshotVersion, 30);
  assert.equal(canonical(upto.state), canonical((await full.load("ts-long", { upto: 33 })).state));
});

test("damaged snapshots are refused by both readers with the same reason codes", async () => {
  await damage("dmg-checksum", (item) => (item.metadata.M.checksum = { S: `sha256:${sha256("not the state")}` }));
  await damage("dmg-fold", (item) => (item.metadata.M.foldFingerprint = { S: "fold-0000000000000000" }));
  await damage("dmg-encoding", (item) => (item.metadata.M.stateEncoding = { S: "JSON_GZIP" }));
  // an event repaired in place: the snapshot was folded from the old one
  const anchor = rawEvent("dmg-anchor", 40, "ItemAdded", added(40).payload);
  await put(client, tables.eventsTable, anchor);
  const expected = {
    "dmg-checksum": [["checksum_mismatch"], 30],
    "dmg-fold": [["fold_changed"], 30],
    "dmg-encoding": [["malformed_metadata"], 30],
    "dmg-anchor": [["anchor_mismatch"], undefined],
  };
  for (const [orderId, [codes, snapshotVersion]] of Object.entries(expected)) {
    const [rust, ts] = [await rustLoad(orderId), await store.load(orderId)];
    assert.deepEqual(rust.unusable, codes, `${orderId}: the Rust reader`);
    assert.deepEqual(ts.unusable.map((u) => u.reason), codes, `${orderId}: the package`);
    assert.equal(ts.snapshotVersion, snapshotVersion, orderId);
    assert.equal(rust.snapshotVersion ?? undefined, snapshotVersion, orderId);
    assert.equal(canonical(ts.state), canonical(rust.state), orderId);
  }
});

test("an event neither reader can read is refused by both with the same code and sequence", async () => {
  const histories = {
    "bad-type": [12, "unknown_event_type", rawEvent("bad-type", 12, "OrderLevitated", { height: 3 })],
    "bad-fraction": [3, "invalid_payload", rawEvent("bad-fraction", 3, "ItemAdded", '{"sku":"A","name":"x","quantity":1,"unitPrice":450.0}')],
    "bad-amount": [4, "amount_out_of_range", rawEvent("bad-amount", 4, "PaymentAuthorized", '{"paymentId":"p","amount":9007199254740993,"method":"card"}')],
  };
  for (const [orderId, [sequence, code, bad]] of Object.entries(histories)) {
    await put(client, tables.eventsTable, rawEvent(orderId, 1, "OrderCreated", { customerId: "c", currency: "EUR" }));
    for (let seq = 2; seq <= 25; seq += 1) {
      await put(client, tables.eventsTable, seq === sequence ? bad : rawEvent(orderId, seq, "OrderConfirmed", {}));
    }
    const rust = await rustLoad(orderId);
    assert.deepEqual([rust.error?.code, rust.error?.sequence], [code, sequence], `${orderId}: ${JSON.stringify(rust)}`);
    await assert.rejects(store.load(orderId), (e) => e instanceof HistoryUnreadableError && e.code === code && e.sequence === sequence);
  }
});

/** The order's snapshot items, newest first (strongly consistent). */
async function snapshotItems(orderId, options = {}) {
  const page = await client.send(new QueryCommand({
    TableName: tables.snapshotsTable,
    KeyConditionExpression: "orderId = :id",
    ExpressionAttributeValues: { ":id": { S: orderId } },
    ScanIndexForward: false,
    ConsistentRead: true,
    ...options,
  }));
  return page.Items;
}

async function versions(orderId) {
  return (await snapshotItems(orderId, { ProjectionExpression: "version" })).map((item) => Number(item.version.N));
}

async function newestSnapshot(orderId) {
  const [item] = await snapshotItems(orderId, { Limit: 1 });
  return item;
}

async function damage(orderId, edit) {
  const item = await newestSnapshot(orderId);
  assert.equal(item.version.N, "40", orderId);
  edit(item);
  await put(client, tables.snapshotsTable, item);
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");
