// Runs a fold against the conformance corpus: every case, event by event, each disagreement
// named by case and rule, and the fingerprint of what the fold made of them.
import { decodeEventItem } from "../events/stored.js";
import { Refusal } from "../errors.js";
import type { Fold } from "../fold/fold.js";
import { FOLD_CORPUS } from "../generated/corpus.js";
import { type Expected, type FoldCase, readFoldCases, toItem } from "./cases.js";
import { type CaseOutputs, canonical, fingerprintOf } from "./fingerprint.js";

/** What a fold made of one event where the corpus expects something else. */
export interface Disagreement {
  case: string;
  rule: string;
  /** The event's sequence (1-based position in the case). */
  sequence: number;
  expected: Expected;
  actual: Expected | { error: string };
}

export interface ConformanceReport {
  /** Every case agreed, event by event. */
  passed: boolean;
  cases: number;
  events: number;
  disagreements: Disagreement[];
  /** The fingerprint of what this fold made of the cases: the corpus's own when `passed`. */
  fingerprint: string;
  /** The fingerprint the corpus's expected outputs give. */
  corpusFingerprint: string;
  stateSchemaVersion: number;
}

export interface ConformanceOptions {
  /** A corpus folder (`conformance/fold/`); the one this package was built with when absent. */
  corpusDir?: string;
}

/** Runs every case of the corpus against `fold`. */
export function runConformance<State>(fold: Fold<State>, options: ConformanceOptions = {}): ConformanceReport {
  const cases = options.corpusDir === undefined ? FOLD_CORPUS : readFoldCases(options.corpusDir);
  const versions = new Set(cases.map((c) => c.stateSchemaVersion));
  const [stateSchemaVersion] = versions;
  if (versions.size !== 1 || stateSchemaVersion === undefined) {
    throw new Error(`the corpus's cases disagree on stateSchemaVersion: ${[...versions].join(", ")}`);
  }
  const disagreements: Disagreement[] = [];
  const made: CaseOutputs[] = [];
  let events = 0;
  for (const c of cases) {
    const outputs = runCase(fold, c);
    events += outputs.length;
    made.push({ name: c.name, outputs });
    const length = Math.max(outputs.length, c.expected.length);
    for (let i = 0; i < length; i += 1) {
      const [expected, actual] = [c.expected[i], outputs[i]];
      if (expected && actual && canonical(expected) === canonical(actual)) continue;
      disagreements.push({
        case: c.name,
        rule: c.rule,
        sequence: i + 1,
        expected: expected ?? { refused: "(no more events)" },
        actual: actual ?? { error: "(stopped before this event)" },
      });
      break;
    }
  }
  const expected = cases.map((c) => ({ name: c.name, outputs: c.expected }));
  return {
    passed: disagreements.length === 0,
    cases: cases.length,
    events,
    disagreements,
    fingerprint: fingerprintOf(stateSchemaVersion, made),
    corpusFingerprint: fingerprintOf(stateSchemaVersion, expected),
    stateSchemaVersion,
  };
}

/** The fold's output after each event of `c`, up to its first refusal. */
function runCase<State>(fold: Fold<State>, c: FoldCase): (Expected | { error: string })[] {
  const outputs: (Expected | { error: string })[] = [];
  let state = fold.empty(c.name);
  for (const item of c.events) {
    try {
      state = fold.apply(state, decodeEventItem(toItem(item)));
      outputs.push({ state: JSON.parse(JSON.stringify(state)) });
    } catch (error) {
      if (error instanceof Refusal) outputs.push({ refused: error.code });
      else outputs.push({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      break;
    }
  }
  return outputs;
}

const fingerprints = new WeakMap<object, string>();

/** The fingerprint `fold` conforms to, from the built-in corpus (computed once per fold). */
export function fingerprintOfFold<State>(fold: Fold<State>): string {
  let fingerprint = fingerprints.get(fold);
  if (fingerprint === undefined) {
    fingerprint = runConformance(fold).fingerprint;
    fingerprints.set(fold, fingerprint);
  }
  return fingerprint;
}

/** The state schema version of the built-in corpus: the one snapshots must have. */
export function corpusStateSchemaVersion(): number {
  const first = FOLD_CORPUS[0];
  if (!first) throw new Error("the built-in corpus is empty");
  return first.stateSchemaVersion;
}
