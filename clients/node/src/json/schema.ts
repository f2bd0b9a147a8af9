// The published JSON Schemas, applied to exactly-read values. The contract uses a small subset
// of JSON Schema (type, properties, required, additionalProperties, items, enum, const, oneOf,
// anyOf, minimum, maximum, pattern, $ref to $defs), so reading stays the schema's, not a
// hand-written copy of it.
import { type Exact, ExactNumber, type ExactObject, parseExact } from "./exact.js";

/** Why a value does not fit a schema: where, and whether it is an amount beyond ±(2^53 − 1). */
export interface Violation {
  path: string;
  message: string;
  amountOutOfRange: boolean;
}

/** The definition whose range violations are `amount_out_of_range` rather than a type error. */
const MONEY = "Money";
/** 2^53 − 1: the largest amount every JSON reader holds exactly. */
const MAX_AMOUNT = 9007199254740991;

export class Schema {
  /** `node` checked with the `$defs` of `defs` (its own root by default). */
  private constructor(
    private readonly node: ExactObject,
    private readonly defs: ExactObject,
  ) {}

  /** A schema from its JSON text. */
  static parse(text: string): Schema {
    const root = parseExact(text);
    if (!(root instanceof Map)) throw new Error("a schema is a JSON object");
    const defs = root.get("$defs");
    return new Schema(root, defs instanceof Map ? defs : new Map());
  }

  /** The first violation of the schema by `value`, or `undefined` when it fits. */
  check(value: Exact): Violation | undefined {
    return this.at(this.node, value, "", undefined);
  }

  /** The schema of `$defs/<name>`. */
  definition(name: string): Schema {
    return new Schema(this.def(name), this.defs);
  }

  private def(name: string): ExactObject {
    const def = this.defs.get(name);
    if (!(def instanceof Map)) throw new Error(`schema has no $defs/${name}`);
    return def;
  }

  private at(schema: ExactObject, value: Exact, path: string, named: string | undefined): Violation | undefined {
    const fail = (message: string, amountOutOfRange = false): Violation => ({
      path: path || "(the value)",
      message,
      amountOutOfRange,
    });
    const ref = schema.get("$ref");
    if (typeof ref === "string") {
      const name = ref.replace("#/$defs/", "");
      return this.at(this.def(name), value, path, name);
    }
    const alternatives = schema.get("oneOf") ?? schema.get("anyOf");
    if (Array.isArray(alternatives)) {
      const misses = alternatives.map((alt) => (alt instanceof Map ? this.at(alt, value, path, named) : undefined));
      if (misses.some((miss) => miss === undefined)) return undefined;
      return misses.find((miss) => miss?.amountOutOfRange) ?? fail(`is none of the allowed forms`);
    }
    const type = schema.get("type");
    const types = Array.isArray(type) ? type : type === undefined ? [] : [type];
    if (types.length > 0 && !types.some((t) => typeof t === "string" && isOfType(value, t))) {
      if (named === MONEY && value instanceof ExactNumber && beyondSafe(Number(value.text))) {
        return fail(`amount out of range: ${value.text}`, true);
      }
      return fail(`is not of type ${types.join(" or ")}`);
    }
    const constant = schema.get("const");
    if (constant !== undefined && !sameScalar(constant, value)) return fail(`is not ${show(constant)}`);
    const allowed = schema.get("enum");
    if (Array.isArray(allowed) && !allowed.some((a) => sameScalar(a, value))) {
      return fail(`is not one of ${allowed.map(show).join(", ")}`);
    }
    if (value instanceof ExactNumber && value.isInteger) return this.range(schema, value, named, fail);
    if (typeof value === "string") {
      const pattern = schema.get("pattern");
      if (typeof pattern === "string" && !new RegExp(pattern, "u").test(value)) return fail(`does not match ${pattern}`);
    }
    if (Array.isArray(value)) {
      const items = schema.get("items");
      if (items instanceof Map) {
        for (const [i, item] of value.entries()) {
          const violation = this.at(items, item, `${path}[${i}]`, undefined);
          if (violation) return violation;
        }
      }
    }
    if (value instanceof Map) return this.object(schema, value, path, fail);
    return undefined;
  }

  private range(
    schema: ExactObject,
    value: ExactNumber,
    named: string | undefined,
    fail: (message: string, amountOutOfRange?: boolean) => Violation,
  ): Violation | undefined {
    const min = schema.get("minimum");
    const max = schema.get("maximum");
    const below = min instanceof ExactNumber && value.compare(min) < 0;
    const above = max instanceof ExactNumber && value.compare(max) > 0;
    if (!below && !above) return undefined;
    if (named === MONEY) return fail(`amount out of range: ${value.text}`, true);
    return fail(below ? `is below ${(min as ExactNumber).text}` : `is above ${(max as ExactNumber).text}`);
  }

  private object(
    schema: ExactObject,
    value: ExactObject,
    path: string,
    fail: (message: string) => Violation,
  ): Violation | undefined {
    const properties = schema.get("properties");
    const props = properties instanceof Map ? properties : new Map<string, Exact>();
    const required = schema.get("required");
    for (const name of Array.isArray(required) ? required : []) {
      if (typeof name === "string" && !value.has(name)) return fail(`lacks the field ${name}`);
    }
    for (const [name, field] of value) {
      const sub = props.get(name);
      if (sub instanceof Map) {
        const violation = this.at(sub, field, path ? `${path}.${name}` : name, undefined);
        if (violation) return violation;
      } else if (schema.get("additionalProperties") === false) {
        return fail(`has a field the schema does not allow: ${name}`);
      }
    }
    return undefined;
  }
}

function isOfType(value: Exact, type: string): boolean {
  switch (type) {
    case "object":
      return value instanceof Map;
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "integer":
      return value instanceof ExactNumber && value.isInteger;
    case "number":
      return value instanceof ExactNumber;
    case "boolean":
      return typeof value === "boolean";
    case "null":
      return value === null;
    default:
      return false;
  }
}

/** A whole number beyond ±(2^53 − 1) however it was written (`1e20`, `9007199254740992.0`). */
function beyondSafe(n: number): boolean {
  return Number.isFinite(n) && n % 1 === 0 && Math.abs(n) > MAX_AMOUNT;
}

function sameScalar(expected: Exact, value: Exact): boolean {
  if (expected instanceof ExactNumber) return value instanceof ExactNumber && expected.text === value.text;
  return expected === value;
}

function show(value: Exact): string {
  return value instanceof ExactNumber ? value.text : JSON.stringify(value);
}
