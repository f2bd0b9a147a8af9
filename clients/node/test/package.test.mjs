// `npm pack` makes a package a service can install: both module formats load by the package's
// name, the type declarations ship, and the conformance command runs from the installed copy.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const here = resolve(dirname(fileURLToPath(import.meta.url)), "..");
let service;

before(async () => {
  service = mkdtempSync(join(tmpdir(), "order-service-"));
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", service], { cwd: here });
  const [{ filename, files }] = JSON.parse(stdout);
  assert.ok(files.some((f) => f.path === "dist/esm/index.d.ts") && files.some((f) => f.path === "dist/cjs/index.js"));
  assert.ok(!files.some((f) => f.path.startsWith("src/") || f.path.startsWith("test/")), "only the build ships");
  const installed = join(service, "node_modules", "@order-snapshots");
  mkdirSync(installed, { recursive: true });
  await run("tar", ["-xzf", join(service, filename), "-C", installed]);
  await run("mv", [join(installed, "package"), join(installed, "client")]);
  // the peer dependency, as the service's own install provides it
  mkdirSync(join(service, "node_modules", "@aws-sdk"), { recursive: true });
  symlinkSync(join(here, "node_modules", "@aws-sdk", "client-dynamodb"), join(service, "node_modules", "@aws-sdk", "client-dynamodb"));
});

after(() => rmSync(service, { recursive: true, force: true }));

test("the installed package loads as CommonJS and as ESM, with its types", async () => {
  const cjs = await run(process.execPath, ["-e", "const p = require('@order-snapshots/client'); console.log(typeof p.createOrderStore, p.runConformance(p.referenceFold).passed)"], { cwd: service });
  assert.equal(cjs.stdout.trim(), "function true");
  const esm = await run(process.execPath, ["--input-type=module", "-e", "const p = await import('@order-snapshots/client'); console.log(typeof p.createOrderStore, p.EVENT_TYPES.length)"], { cwd: service });
  assert.equal(esm.stdout.trim(), "function 14");
  const manifest = JSON.parse(readFileSync(join(service, "node_modules/@order-snapshots/client/package.json"), "utf8"));
  assert.deepEqual(Object.keys(manifest.dependencies ?? {}), [], "no runtime dependency");
  assert.ok(existsSync(join(service, "node_modules/@order-snapshots/client", manifest.exports["."].require.types)));
});

test("the conformance command runs from the installed package against the service's fold", async () => {
  writeFileSync(join(service, "fold.mjs"), 'export { referenceFold as default } from "@order-snapshots/client";\n');
  const cli = join(service, "node_modules/@order-snapshots/client/dist/esm/cli.js");
  assert.match(readFileSync(cli, "utf8"), /^#!\/usr\/bin\/env node/);
  const { stdout } = await run(process.execPath, [cli, "fold.mjs"], { cwd: service });
  assert.match(stdout, /all agree; this fold's fingerprint is fold-[0-9a-f]{16}/);
});
