// Reading payloads exactly as the contract says, beyond what the corpus's cases show: what
// `JSON.parse` cannot tell apart (450.0 from 450, 2^53 + 1 from 2^53) is told apart here.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodePayload, Refusal } from "../dist/esm/index.js";

const stored = (eventType, payloadText, schemaVersion = 1) => ({
  orderId: "o-1",
  sequence: 1,
  eventId: "e-1",
  eventType,
  schemaVersion,
  occurredAt: 1,
  payloadText,
});
const refusal = (eventType, payloadText, schemaVersion) => {
  try {
    decodePayload(stored(eventType, payloadText, schemaVersion));
  } catch (error) {
    assert.ok(error instanceof Refusal, `${error}`);
    return error.code;
  }
  assert.fail(`${payloadText} was read`);
};
const item = (unitPrice, quantity = 1) => `{"sku":"A","name":"x","quantity":${quantity},"unitPrice":${unitPrice}}`;

test("money is a whole number as written: a fraction is refused even when it is .0", () => {
  assert.equal(refusal("ItemAdded", item("450.0")), "invalid_payload");
  assert.equal(refusal("ItemAdded", item("4.5")), "invalid_payload");
  assert.equal(refusal("ItemAdded", item("4.5e2")), "invalid_payload");
  assert.equal(refusal("ItemAdded", item('"450"')), "invalid_payload");
  assert.deepEqual(decodePayload(stored("ItemAdded", item("450"))).data.unitPrice, 450);
});

test("an amount beyond ±(2^53 − 1) is refused with its own code however it is written", () => {
  for (const beyond of ["9007199254740992", "-9007199254740992", "9007199254740993", "1e20", "18446744073709551616"]) {
    assert.equal(refusal("ItemAdded", item(beyond)), "amount_out_of_range", beyond);
  }
  assert.equal(decodePayload(stored("ItemAdded", item("9007199254740991"))).data.unitPrice, 9007199254740991);
  assert.equal(refusal("ItemAdded", item("1e400")), "invalid_payload", "not a finite number");
});

test("a quantity beyond 32 bits, negative or fractional is refused, not an amount", () => {
  assert.equal(refusal("ItemAdded", item(5, "4294967296")), "invalid_payload");
  assert.equal(refusal("ItemAdded", item(5, "-1")), "invalid_payload");
  assert.equal(refusal("ItemAdded", item(5, "1.0")), "invalid_payload");
});

test("a payload that is not a JSON object is refused", () => {
  for (const text of ["not json", "null", "[]", '["A","x",1,5]', '"{}"', "{} {}", "{,}"]) {
    assert.equal(refusal("ItemAdded", text), "invalid_payload", text);
  }
  assert.equal(refusal("OrderConfirmed", "[]"), "invalid_payload");
});

test("fields a newer writer added are ignored, optional ones may be absent, odd keys are data", () => {
  const extra = '{"sku":"A","name":"x","quantity":1,"unitPrice":5,"giftWrap":true,"__proto__":{"a":1.5}}';
  const { data } = decodePayload(stored("ItemAdded", extra));
  assert.equal(Object.getPrototypeOf(data), Object.prototype, "a __proto__ key never sets a prototype");
  assert.equal(decodePayload(stored("ShippingUpdated", '{"status":"hub"}')).data.location, undefined);
});

test("unknown types and versions nothing reads are refused with their codes", () => {
  assert.equal(refusal("OrderLevitated", "{}"), "unknown_event_type");
  assert.equal(refusal("OrderConfirmed", "{}", 2), "unsupported_schema_version");
  assert.equal(refusal("ItemAdded", item(5), 3), "unsupported_schema_version");
  assert.equal(refusal("ItemAdded", item(5), 2), "invalid_payload", "a v1 shape labelled 2 is checked as 2");
});

test("ItemAdded version 2 reads as the current shape", () => {
  const v2 = '{"sku":"A","productName":"Mug","quantity":2,"unitPriceMinor":450,"extra":1}';
  const v1 = '{"sku":"A","name":"Mug","quantity":2,"unitPrice":450}';
  assert.deepEqual(decodePayload(stored("ItemAdded", v2, 2)), decodePayload(stored("ItemAdded", v1)));
});

test("nesting deeper than 128 is refused, not a stack overflow", () => {
  const deep = `{"sku":"A","name":"x","quantity":1,"unitPrice":5,"x":${"[".repeat(200)}${"]".repeat(200)}}`;
  assert.equal(refusal("ItemAdded", deep), "invalid_payload");
});

test("a stored map payload and an ISO time read as the text and milliseconds they stand for", async () => {
  const { decodeEventItem } = await import("../dist/esm/index.js");
  const item = (payload, occurredAt) => ({
    orderId: { S: "o-1" }, sequence: { N: "1" }, eventId: { S: "e-1" }, eventType: { S: "ItemAdded" },
    schemaVersion: { N: "1" }, payload, occurredAt,
  });
  const asMap = { M: { sku: { S: "A" }, name: { S: 'Mug "XL"' }, quantity: { N: "2" }, unitPrice: { N: "450" }, tags: { L: [{ BOOL: true }, { NULL: true }] } } };
  const fromMap = decodeEventItem(item(asMap, { S: "2026-12-08T03:03:19.1239+01:00" }));
  assert.equal(fromMap.occurredAt, 1796695399123);
  assert.deepEqual(decodePayload(fromMap), decodePayload(stored("ItemAdded", '{"sku":"A","name":"Mug \\"XL\\"","quantity":2,"unitPrice":450,"tags":[true,null]}')));
  const fraction = { M: { ...asMap.M, unitPrice: { N: "4.5" } } };
  assert.equal(refusalOf(() => decodePayload(decodeEventItem(item(fraction, { N: "1796695399123" })))), "invalid_payload");
  const binary = { M: { sku: { B: new Uint8Array([1]) } } };
  assert.equal(refusalOf(() => decodeEventItem(item(binary, { N: "1" }))), "invalid_payload");
  assert.equal(refusalOf(() => decodeEventItem(item(asMap, { N: "1796695399" }))), "occurred_at_in_seconds");
  assert.equal(refusalOf(() => decodeEventItem(item(asMap, { S: "08/12/2026" }))), "malformed_item");
  assert.equal(refusalOf(() => decodeEventItem(item({ BOOL: true }, { N: "1" }))), "malformed_item");
});

test("RFC 3339 times: the grammar the Rust reader accepts, and nothing else", async () => {
  const { fromText } = await import("../dist/esm/events/occurred-at.js");
  assert.deepEqual(fromText("1970-01-01T00:00:00Z"), { ms: 0 });
  assert.deepEqual(fromText("2024-02-29T00:00:00.5Z"), { ms: 1709164800500 });
  assert.deepEqual(fromText("1969-12-31T23:59:59.999Z"), { ms: -1 });
  assert.deepEqual(fromText("2026-12-07T21:03:19.1234567-05:00"), { ms: 1796695399123 });
  for (const text of ["2026-12-08", "2026-12-08 02:03:19Z", "2026-12-08T02:03:19", "2026-12-08T02:03:19z", "2026-13-08T02:03:19Z",
    "2023-02-29T00:00:00Z", "2026-12-08T24:00:00Z", "2026-12-08T02:03:60Z", "2026-12-08T02:03:19.Z", "2026-12-08T02:03:19.1234567890Z",
    "2026-12-08T02:03:19+0100", "+2026-12-08T02:03:19Z", "yesterday"]) {
    assert.ok("unreadable" in fromText(text), text);
  }
});

function refusalOf(read) {
  try {
    read();
  } catch (error) {
    assert.ok(error instanceof Refusal, `${error}`);
    return error.code;
  }
  assert.fail("it was read");
}
