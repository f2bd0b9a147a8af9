#!/usr/bin/env node
// order-snapshots-conformance <fold module> [--corpus <dir>]: runs every case of the fold corpus
// against the fold the module exports (`default` or `fold`), names each disagreement by case and
// rule, and prints the fingerprint the fold conforms to. Exit 0 when every case agrees, 1 when
// one does not, 2 on a usage error.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Fold } from "./fold/fold.js";
import { runConformance } from "./conformance/run.js";
import { canonical } from "./conformance/fingerprint.js";

const USAGE = "usage: order-snapshots-conformance <fold module> [--corpus <conformance/fold dir>]";

function isFold(value: unknown): value is Fold<unknown> {
  const f = value as Partial<Fold<unknown>> | undefined;
  return typeof f?.empty === "function" && typeof f?.apply === "function";
}

async function main(args: string[]): Promise<number> {
  const positional: string[] = [];
  let corpusDir: string | undefined;
  let unknownOption = false;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === "--corpus" && args[i + 1] !== undefined) corpusDir = args[(i += 1)];
    else if (arg.startsWith("--")) unknownOption = true;
    else positional.push(arg);
  }
  const [modulePath] = positional;
  if (modulePath === undefined || positional.length !== 1 || unknownOption) {
    console.error(USAGE);
    return 2;
  }
  const module = (await import(pathToFileURL(resolve(modulePath)).href)) as Record<string, unknown>;
  const fold = [module.default, module.fold].find(isFold);
  if (!fold) {
    console.error(`${modulePath} exports no fold: export { empty, apply } as default or as "fold"`);
    return 2;
  }
  const report = runConformance(fold, corpusDir === undefined ? {} : { corpusDir });
  for (const d of report.disagreements) {
    console.log(`✗ ${d.case}, event ${d.sequence}: ${d.rule}`);
    console.log(`    expected ${canonical(d.expected)}`);
    console.log(`    got      ${canonical(d.actual)}`);
  }
  const verdict = report.passed
    ? `all agree; this fold's fingerprint is ${report.fingerprint}, the corpus's`
    : `${report.disagreements.length} disagree; this fold's fingerprint is ${report.fingerprint}, not the corpus's ${report.corpusFingerprint}`;
  console.log(`${report.cases} cases, ${report.events} events: ${verdict}`);
  return report.passed ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(2);
  },
);
