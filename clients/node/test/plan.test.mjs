// The load's plan (what it still has to read) as a pure function: the same cases as the Rust plan.
import assert from "node:assert/strict";
import { test } from "node:test";
import { toRead } from "../dist/esm/index.js";

const inHand = (first, last, fromStart) => ({ first, last, fromStart });
const NOTHING_READ = { fromStart: false };
const NO_EVENTS = { fromStart: true };

test("a read-ahead that reaches the snapshot needs no second read", () => {
  assert.deepEqual(toRead(91, undefined, inHand(80, 100, false)), { read: "nothing" });
  assert.deepEqual(toRead(80, undefined, inHand(80, 100, false)), { read: "nothing" }, "the anchor is the first");
});

test("a snapshot further behind reads the gap before the first event in hand", () => {
  assert.deepEqual(toRead(40, undefined, inHand(80, 100, false)), { read: "older", from: 40, to: 79 });
  assert.deepEqual(toRead(79, 100, inHand(80, 100, false)), { read: "older", from: 79, to: 79 });
});

test("a replay reads what lies before the read-ahead unless it reached the start", () => {
  assert.deepEqual(toRead(1, undefined, inHand(80, 100, false)), { read: "older", from: 1, to: 79 });
  assert.deepEqual(toRead(1, undefined, inHand(1, 12, true)), { read: "nothing" });
});

test("a snapshot newer than the read-ahead reads on from the last event in hand", () => {
  assert.deepEqual(toRead(103, undefined, inHand(80, 100, false)), { read: "from", from: 101 });
  assert.deepEqual(toRead(103, 104, inHand(80, 100, true)), { read: "from", from: 101 });
});

test("without a read-ahead the load reads from the snapshot on", () => {
  assert.deepEqual(toRead(91, undefined, NOTHING_READ), { read: "from", from: 91 });
  assert.deepEqual(toRead(1, 30, NOTHING_READ), { read: "from", from: 1 });
});

test("an order without events needs no more reads unless a snapshot says otherwise", () => {
  assert.deepEqual(toRead(1, undefined, NO_EVENTS), { read: "nothing" });
  assert.deepEqual(toRead(10, undefined, NO_EVENTS), { read: "from", from: 10 });
});

test("nothing is read past the load's bound", () => {
  assert.deepEqual(toRead(101, 100, inHand(80, 100, false)), { read: "nothing" });
  assert.deepEqual(toRead(10, 5, NO_EVENTS), { read: "nothing" });
});
