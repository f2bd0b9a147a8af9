// The fold fingerprint, computed from the corpus files alone (conformance/README.md states the
// formula): what an implementation in any language computes to know which fold it matches.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** JSON with every object's keys in ascending order and no whitespace. */
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const fields = Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`);
    return `{${fields.join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Every fold case of `dir`, parsed. */
export function foldCases(dir) {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .map((name) => JSON.parse(readFileSync(join(dir, name), "utf8")));
}

/** `fold-` and the first 16 hex digits of the SHA-256 of the cases' canonical expected outputs. */
export function fingerprintOf(cases) {
  const versions = new Set(cases.map((c) => c.stateSchemaVersion));
  if (versions.size !== 1) throw new Error(`the cases disagree on stateSchemaVersion: ${[...versions]}`);
  const hash = createHash("sha256");
  hash.update(`state-schema ${[...versions][0]}\n`);
  const byName = [...cases].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const c of byName) {
    hash.update(`case ${c.name}\n`);
    for (const output of c.expected) hash.update(`${canonical(output)}\n`);
  }
  return `fold-${hash.digest("hex").slice(0, 16)}`;
}
