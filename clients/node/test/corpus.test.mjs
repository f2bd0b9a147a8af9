// The reference fold against the whole corpus, the fingerprint it computes, and the conformance
// command as a service runs it (passing, and naming the case a broken fold breaks).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { referenceFold, runConformance } from "../dist/esm/index.js";
import { repo } from "./support/items.mjs";

const run = promisify(execFile);
const committed = readFileSync(join(repo, "shared/src/domain/fold.fingerprint"), "utf8").trim();
const cli = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../dist/esm/cli.js");

test("the reference fold agrees with every case, event by event", () => {
  const report = runConformance(referenceFold);
  assert.deepEqual(report.disagreements, []);
  assert.equal(report.cases, 29);
  assert.ok(report.events > 90, `${report.events} events`);
});

test("its fingerprint is the corpus's, the one the Rust code commits", () => {
  const report = runConformance(referenceFold);
  assert.equal(report.corpusFingerprint, committed);
  assert.equal(report.fingerprint, committed);
});

test("the corpus built into the package is the repository's", () => {
  const fromFiles = runConformance(referenceFold, { corpusDir: join(repo, "conformance/fold") });
  assert.equal(fromFiles.corpusFingerprint, runConformance(referenceFold).corpusFingerprint);
  assert.equal(fromFiles.passed, true);
});

test("a fold that disagrees is named by case and rule, and has another fingerprint", async () => {
  const broken = (await import("./fixtures/broken-fold.mjs")).default;
  const report = runConformance(broken);
  assert.equal(report.passed, false);
  const names = report.disagreements.map((d) => d.case);
  assert.ok(names.includes("re-adding-a-sku-sums-the-quantity-and-takes-the-new-price-name"), names.join(", "));
  const first = report.disagreements[0];
  assert.match(first.rule, /\w/);
  assert.notEqual(report.fingerprint, committed);
});

test("a fold that throws something other than a refusal is a disagreement, not a crash", () => {
  const throwing = { empty: referenceFold.empty, apply: () => { throw new TypeError("boom"); } };
  const report = runConformance(throwing);
  assert.equal(report.disagreements.length, report.cases);
  assert.deepEqual(report.disagreements[0].actual, { error: "TypeError: boom" });
});

test("the command passes with the reference fold and prints its fingerprint", async () => {
  const { stdout } = await run(process.execPath, [cli, join("test", "fixtures", "reference-fold.mjs")]);
  assert.match(stdout, new RegExp(`29 cases, \\d+ events: all agree; this fold's fingerprint is ${committed}`));
});

test("the command fails on a broken fold and names the case it breaks", async () => {
  const failed = await run(process.execPath, [cli, join("test", "fixtures", "broken-fold.mjs")]).then(
    () => assert.fail("the command passed a broken fold"),
    (error) => error,
  );
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /✗ re-adding-a-sku-sums-the-quantity-and-takes-the-new-price-name, event \d+: /);
  assert.match(failed.stdout, /disagree; this fold's fingerprint is fold-[0-9a-f]{16}, not the corpus's/);
});

test("the command refuses a module without a fold and a bad usage with exit 2", async () => {
  for (const args of [[], [join("test", "support", "items.mjs")], ["a.mjs", "--nope"]]) {
    const failed = await run(process.execPath, [cli, ...args]).then(() => ({ code: 0 }), (error) => error);
    assert.equal(failed.code, 2, `${args}`);
  }
});
