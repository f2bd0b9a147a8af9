// The snapshot half of the corpus (conformance/load/), checked item by item without a server:
// each snapshot's reason code, the snapshot a reader uses, and the state it gives.
import assert from "node:assert/strict";
import { deflateRawSync } from "node:zlib";
import { test } from "node:test";
import { checkSnapshot, isUsable, MAX_STATE_BYTES, referenceFold, runConformance, toItem } from "../dist/esm/index.js";
import { decodeEventItem } from "../dist/esm/index.js";
import { cases } from "./support/items.mjs";

const reader = { stateSchemaVersion: 1, foldFingerprint: runConformance(referenceFold).fingerprint };

function replay(c) {
  let state = referenceFold.empty(c.name);
  for (const item of c.events) state = referenceFold.apply(state, decodeEventItem(toItem(item)));
  return JSON.parse(JSON.stringify(state));
}

/** The verdict the contract's reader reaches: the first usable snapshot whose anchor holds. */
function verdict(c) {
  const unusable = [];
  const events = c.events.map((item) => decodeEventItem(toItem(item)));
  for (const item of c.snapshots) {
    const checked = checkSnapshot(toItem(item), reader);
    if (!isUsable(checked)) {
      unusable.push(checked.reason);
      continue;
    }
    const anchor = events.find((e) => e.sequence === checked.lastEventSequence);
    if (anchor?.eventId === checked.state.lastEventId) {
      return { from: "snapshot", snapshotVersion: checked.version, unusable, state: replay(c) };
    }
    unusable.push("anchor_mismatch");
  }
  return { from: "replay", unusable, state: replay(c) };
}

for (const c of cases("load")) {
  test(`load case ${c.name}: ${c.rule}`, () => {
    assert.deepEqual(verdict(c), c.expected);
  });
}

test("a state that inflates past the 16 MiB cap is undecodable, never held in memory whole", () => {
  const c = cases("load").find((x) => x.name === "a-deflated-snapshot-and-its-tail");
  const item = toItem(c.snapshots[0]);
  item.state = { B: deflateRawSync(Buffer.alloc(MAX_STATE_BYTES + 1, 32)) };
  const checked = checkSnapshot(item, reader);
  assert.equal(checked.reason, "undecodable_state");
  assert.match(checked.detail, /inflate/);
});

test("metadata written as a JSON string, or without a field, is malformed metadata", () => {
  const c = cases("load").find((x) => x.name === "a-plain-snapshot-and-its-tail");
  const good = toItem(c.snapshots[0]);
  assert.ok(isUsable(checkSnapshot(good, reader)));
  const asString = { ...good, metadata: { S: JSON.stringify({ createdBy: "x" }) } };
  assert.equal(checkSnapshot(asString, reader).reason, "malformed_metadata");
  const { checksum: _, ...rest } = good.metadata.M;
  assert.equal(checkSnapshot({ ...good, metadata: { M: rest } }, reader).reason, "malformed_metadata");
  const { metadata: __, ...noMetadata } = good;
  assert.equal(checkSnapshot(noMetadata, reader).reason, "malformed_item");
  assert.equal(checkSnapshot({ ...good, version: { S: "3" } }, reader).reason, "malformed_item");
});
