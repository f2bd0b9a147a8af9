// The fold fingerprint (conformance/README.md, "The fingerprint"): the hash of what a fold makes
// of every corpus case. A fold that agrees with every case computes the corpus's own.
import { createHash } from "node:crypto";

/** JSON with every object's keys in ascending order and no whitespace. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const fields = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(record[key])}`);
    return `{${fields.join(",")}}`;
  }
  return JSON.stringify(value);
}

/** One case's outputs, one per event folded (a refusal ends it). */
export interface CaseOutputs {
  name: string;
  outputs: unknown[];
}

/** `fold-` and the first 16 hex digits of the SHA-256 of the cases' canonical outputs. */
export function fingerprintOf(stateSchemaVersion: number, cases: readonly CaseOutputs[]): string {
  const hash = createHash("sha256");
  hash.update(`state-schema ${stateSchemaVersion}\n`);
  const byName = [...cases].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const c of byName) {
    hash.update(`case ${c.name}\n`);
    for (const output of c.outputs) hash.update(`${canonical(output)}\n`);
  }
  return `fold-${hash.digest("hex").slice(0, 16)}`;
}
