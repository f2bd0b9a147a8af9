// JSON read exactly: every number keeps the text it was written as. `JSON.parse` reads `450.0`
// as 450 and 9007199254740993 as 9007199254740992, but the contract refuses a fraction where
// money is a whole number and an amount beyond ±(2^53 − 1): a reader must see what was written.

/** A number as written. */
export class ExactNumber {
  constructor(readonly text: string) {}

  /** Written as a whole number: no fraction, no exponent. */
  get isInteger(): boolean {
    return /^-?\d+$/.test(this.text);
  }

  /** The value of an integer literal (`isInteger` first). */
  get bigint(): bigint {
    return BigInt(this.text);
  }

  /** Whether this integer literal is below (-1), equal to (0) or above (1) `other`'s. */
  compare(other: ExactNumber): number {
    // up to 15 digits both are exact as JavaScript numbers: no BigInt needed
    const [a, b] = this.text.length < 16 && other.text.length < 16 ? [Number(this.text), Number(other.text)] : [this.bigint, other.bigint];
    return a < b ? -1 : a > b ? 1 : 0;
  }
}

/** A JSON value with its numbers as written; objects are maps (no prototype surprises). */
export type Exact = null | boolean | string | ExactNumber | Exact[] | ExactObject;
export type ExactObject = Map<string, Exact>;

export class JsonSyntaxError extends Error {
  override name = "JsonSyntaxError";
}

/** The nesting a reader accepts (serde_json's default limit is the same). */
const MAX_DEPTH = 128;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// eslint-disable-next-line no-control-regex
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** Parses `text` as one JSON value (RFC 8259), numbers kept as written. */
export function parseExact(text: string): Exact {
  const reader = new Reader(text);
  const value = reader.value(0);
  reader.skipWhitespace();
  if (reader.at < text.length) reader.fail("trailing characters");
  return value;
}

class Reader {
  at = 0;
  constructor(private readonly text: string) {}

  fail(what: string): never {
    throw new JsonSyntaxError(`${what} at character ${this.at}`);
  }

  skipWhitespace(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.at);
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return;
      this.at += 1;
    }
  }

  private match(pattern: RegExp): string | undefined {
    pattern.lastIndex = this.at;
    const found = pattern.exec(this.text);
    if (!found) return undefined;
    this.at = pattern.lastIndex;
    return found[0];
  }

  private literal(word: string): boolean {
    if (!this.text.startsWith(word, this.at)) return false;
    this.at += word.length;
    return true;
  }

  value(depth: number): Exact {
    if (depth > MAX_DEPTH) this.fail("nesting deeper than 128");
    this.skipWhitespace();
    const next = this.text[this.at];
    if (next === "{") return this.object(depth);
    if (next === "[") return this.array(depth);
    if (next === '"') return this.string();
    if (this.literal("true")) return true;
    if (this.literal("false")) return false;
    if (this.literal("null")) return null;
    const number = this.match(NUMBER);
    if (number === undefined) this.fail("unexpected character");
    return new ExactNumber(number);
  }

  private string(): string {
    // the common case, no escape: the characters between the quotes as they are
    const end = this.text.indexOf('"', this.at + 1);
    if (end > 0) {
      const plain = this.text.slice(this.at + 1, end);
      if (!/[\\\u0000-\u001f]/.test(plain)) {
        this.at = end + 1;
        return plain;
      }
    }
    const token = this.match(STRING);
    if (token === undefined) this.fail("malformed string");
    return JSON.parse(token) as string;
  }

  private object(depth: number): ExactObject {
    const fields: ExactObject = new Map();
    this.at += 1;
    this.skipWhitespace();
    if (this.literal("}")) return fields;
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.at] !== '"') this.fail("expected a key");
      const key = this.string();
      this.skipWhitespace();
      if (!this.literal(":")) this.fail("expected ':'");
      fields.set(key, this.value(depth + 1));
      this.skipWhitespace();
      if (this.literal("}")) return fields;
      if (!this.literal(",")) this.fail("expected ',' or '}'");
    }
  }

  private array(depth: number): Exact[] {
    const items: Exact[] = [];
    this.at += 1;
    this.skipWhitespace();
    if (this.literal("]")) return items;
    for (;;) {
      items.push(this.value(depth + 1));
      this.skipWhitespace();
      if (this.literal("]")) return items;
      if (!this.literal(",")) this.fail("expected ',' or ']'");
    }
  }
}

/** Plain JSON, as `JSON.parse` would give it (numbers as JavaScript numbers). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `value` as plain JSON. */
export function toPlain(value: Exact): Json {
  if (value instanceof ExactNumber) return Number(value.text);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, toPlain(v)]));
  return value;
}
