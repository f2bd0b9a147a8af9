// The published schemas hold under a strict validator from outside Rust (Ajv, JSON Schema
// 2020-12, strict mode): every file compiles, every state of the fold corpus is an order state,
// and what the schemas exist to refuse is refused.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";
import Ajv2020 from "ajv/dist/2020.js";
import { foldCases } from "./fingerprint.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const read = (path) => JSON.parse(readFileSync(join(root, path), "utf8"));
// strict: unknown keywords and formats, ignored keywords, loose types are errors; a field
// that may be null is a union type, which strict mode allows only when told so.
const ajv = () => new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });

const schemaFiles = [
  ...readdirSync(join(root, "schemas")).filter((f) => f.endsWith(".schema.json")),
  ...readdirSync(join(root, "schemas/payloads")).map((f) => `payloads/${f}`),
];

test("every published schema compiles in strict mode", () => {
  assert.ok(schemaFiles.includes("order-state.schema.json") && schemaFiles.includes("snapshot-item.schema.json"));
  for (const file of schemaFiles) {
    assert.doesNotThrow(() => ajv().compile(read(`schemas/${file}`)), file);
  }
});

test("every state of the fold corpus is an order state", () => {
  const valid = ajv().compile(read("schemas/order-state.schema.json"));
  let states = 0;
  for (const c of foldCases(join(root, "conformance/fold"))) {
    for (const output of c.expected.filter((o) => "state" in o)) {
      assert.ok(valid(output.state), `${c.name}: ${JSON.stringify(valid.errors)}`);
      states += 1;
    }
  }
  assert.ok(states > 50, `only ${states} states`);
});

test("the state schema refuses what no reader may accept", () => {
  const valid = ajv().compile(read("schemas/order-state.schema.json"));
  const state = foldCases(join(root, "conformance/fold")).find((c) => c.name === "every-event-type").expected.at(-1).state;
  assert.ok(valid(state));
  const broken = [
    { ...state, total: 9007199254740992 },
    { ...state, unknownField: 1 },
    { ...state, status: "Teleported" },
    { ...state, items: [{ sku: "A", name: "x", quantity: 1, unitPrice: 1.5 }] },
  ];
  for (const b of broken) assert.ok(!valid(b), JSON.stringify(b).slice(0, 120));
  const { version, ...withoutVersion } = state;
  assert.ok(version > 0 && !valid(withoutVersion));
});

test("a snapshot item as a reader gets it fits the item schema", () => {
  const valid = ajv().compile(read("schemas/snapshot-item.schema.json"));
  const item = {
    orderId: "o-1",
    version: 3,
    lastEventSequence: 3,
    timestamp: 1700000000000,
    writeId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    state: Buffer.from('{"id":"o-1"}').toString("base64"),
    metadata: {
      createdBy: "stream",
      reason: "EVENT_COUNT",
      strategy: "EVENT_COUNT",
      rule: "DEFAULT",
      stateSchemaVersion: 1,
      foldFingerprint: "fold-0123456789abcdef",
      writerBuild: "0.1.0",
      stateEncoding: "JSON",
      stateBytes: 12,
      checksum: "sha256:00",
    },
  };
  assert.ok(valid(item), JSON.stringify(valid.errors));
  assert.ok(!valid({ ...item, metadata: { ...item.metadata, stateEncoding: "GZIP" } }));
  assert.ok(!valid({ ...item, orderId: "../x" }));
});

/** An item in DynamoDB JSON as its plain view: S a string, N a number, B base64 text, M an object. */
function plain(item) {
  const value = (v) => {
    if ("S" in v) return v.S;
    if ("N" in v) return Number(v.N);
    if ("B" in v) return v.B;
    if ("BOOL" in v) return v.BOOL;
    if ("NULL" in v) return null;
    if ("M" in v) return plain(v.M);
    if ("L" in v) return v.L.map(value);
    throw new Error(`no such attribute: ${JSON.stringify(v)}`);
  };
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, value(v)]));
}

const loadCases = () =>
  readdirSync(join(root, "conformance/load")).map((f) => read(`conformance/load/${f}`));

test("every snapshot a load case uses is a snapshot item, and its state inflates to an order state", () => {
  const item = ajv().compile(read("schemas/snapshot-item.schema.json"));
  const state = ajv().compile(read("schemas/order-state.schema.json"));
  let used = 0;
  for (const c of loadCases()) {
    assert.ok(state(c.expected.state), `${c.name}: ${JSON.stringify(state.errors)}`);
    if (c.expected.from !== "snapshot") continue;
    const snapshot = plain(c.snapshots.find((s) => Number(s.version.N) === c.expected.snapshotVersion));
    assert.ok(item(snapshot), `${c.name}: ${JSON.stringify(item.errors)}`);
    const bytes = Buffer.from(snapshot.state, "base64");
    const json = snapshot.metadata.stateEncoding === "JSON_DEFLATE" ? inflateRawSync(bytes) : bytes;
    assert.equal(`sha256:${createHash("sha256").update(json).digest("hex")}`, snapshot.metadata.checksum, c.name);
    assert.ok(state(JSON.parse(json)), `${c.name}: the stored state`);
    used += 1;
  }
  assert.ok(used >= 4, `only ${used} usable snapshots`);
  const encodings = new Set(loadCases().flatMap((c) => c.snapshots.map((s) => s.metadata.M.stateEncoding.S)));
  assert.ok(encodings.has("JSON") && encodings.has("JSON_DEFLATE"), [...encodings].join());
});
