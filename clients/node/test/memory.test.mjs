// What a store remembers of the orders it loaded: the same rules as the Rust load's memory.
import assert from "node:assert/strict";
import { test } from "node:test";
import { READ_AHEAD_BYTE_BUDGET, ReadAheadMemory } from "../dist/esm/load/memory.js";

test("an order not seen reads the default", () => {
  assert.equal(new ReadAheadMemory().readAhead("o-1", 21), 21);
});

test("an order seen far behind reads that far plus the default", () => {
  const m = new ReadAheadMemory();
  m.remember("o-1", 180, 180 * 300, 180);
  assert.equal(m.readAhead("o-1", 21), 201);
  m.remember("o-1", 30, 30 * 300, 30);
  assert.equal(m.readAhead("o-1", 21), 51, "the last load counts");
  m.remember("o-1", 9, 9 * 300, 9);
  assert.equal(m.readAhead("o-1", 21), 21, "within the default: the default");
  assert.equal(m.readAhead("o-2", 21), 21, "per order");
});

test("the byte budget bounds the read-ahead but never below the default", () => {
  const m = new ReadAheadMemory();
  m.remember("big", 5000, 5000 * 1000, 5000);
  assert.equal(m.readAhead("big", 21), Math.floor(READ_AHEAD_BYTE_BUDGET / 1000));
  m.remember("huge", 50, 50 * 100_000, 50);
  assert.equal(m.readAhead("huge", 21), 21);
});

test("a whole history is remembered until a load needs the snapshot again", () => {
  const m = new ReadAheadMemory();
  assert.equal(m.whole("o-1"), false);
  m.rememberWhole("o-1");
  assert.equal(m.whole("o-1"), true);
  m.remember("o-1", 4, 4 * 300, 4);
  assert.equal(m.whole("o-1"), false);
  m.rememberWhole("o-1");
  m.forgetWhole("o-1");
  assert.equal(m.whole("o-1"), false, "it outgrew its read-ahead");
});

test("the oldest order is forgotten past the limit", () => {
  const m = new ReadAheadMemory();
  for (let o = 0; o <= 4096; o += 1) m.remember(`o-${o}`, 100, 100 * 300, 100);
  assert.equal(m.readAhead("o-0", 21), 21, "forgotten");
  assert.equal(m.readAhead("o-4096", 21), 121);
  assert.equal(m.size, 4096);
});
