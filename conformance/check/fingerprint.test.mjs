// The corpus is implementable outside Rust: its fingerprint, recomputed here from the files,
// is the one the Rust code commits (shared/src/domain/fold.fingerprint), and every number in
// it is one JavaScript holds exactly.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { canonical, fingerprintOf, foldCases } from "./fingerprint.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cases = foldCases(`${root}conformance/fold`);

test("the fingerprint recomputed from the files is the committed one", () => {
  const committed = readFileSync(`${root}shared/src/domain/fold.fingerprint`, "utf8").trim();
  assert.ok(cases.length >= 20, `only ${cases.length} fold cases`);
  assert.equal(fingerprintOf(cases), committed);
});

test("a changed expected output changes the fingerprint", () => {
  const changed = structuredClone(cases);
  const withState = changed.find((c) => c.expected.some((o) => "state" in o));
  withState.expected.find((o) => "state" in o).state.total += 1;
  assert.notEqual(fingerprintOf(changed), fingerprintOf(cases));
});

test("canonical JSON sorts keys at every depth", () => {
  assert.equal(canonical({ b: 1, a: { d: [true, null, { z: "x", y: -2 }], c: 'é"q' } }), '{"a":{"c":"é\\"q","d":[true,null,{"y":-2,"z":"x"}]},"b":1}');
});

test("every number in the corpus is a safe integer", () => {
  const walk = (value, path) => {
    if (typeof value === "number") assert.ok(Number.isSafeInteger(value), `${path}: ${value}`);
    else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) walk(v, `${path}/${k}`);
  };
  for (const c of cases) walk(c, c.name);
});
