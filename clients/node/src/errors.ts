// The package's errors: each says what was refused and keeps what the caller needs to act on it.

/** The stable codes with which a reader refuses an event (conformance/README.md). */
export type RefusalCode =
  | "unknown_event_type"
  | "unsupported_schema_version"
  | "invalid_payload"
  | "amount_out_of_range"
  | "amount_overflow"
  | "out_of_sequence"
  | "wrong_order"
  | "malformed_item"
  | "occurred_at_in_seconds";

/** An event a fold cannot read or apply: thrown by a fold, with the contract's code. */
export class Refusal extends Error {
  override name = "Refusal";
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
  }
}

/** An order's stored history holds an event this reader refuses: no state can be given. */
export class HistoryUnreadableError extends Error {
  override name = "HistoryUnreadableError";
  constructor(
    readonly orderId: string,
    readonly sequence: number | undefined,
    readonly code: RefusalCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`order ${orderId}${sequence === undefined ? "" : `, event ${sequence}`}: ${message}`, options);
  }
}

/** Another writer took the expected version first: reload and decide again. */
export class AppendConflictError extends Error {
  override name = "AppendConflictError";
  constructor(
    readonly orderId: string,
    readonly expectedVersion: number,
    options?: { cause?: unknown },
  ) {
    super(`order ${orderId} is past version ${expectedVersion}: another writer appended first`, options);
  }
}

/** An append refused before anything was written: nothing of it is stored. */
export class InvalidAppendError extends Error {
  override name = "InvalidAppendError";
  constructor(
    readonly orderId: string,
    readonly code: RefusalCode | "too_many_events" | "invalid_version" | "invalid_event",
    message: string,
  ) {
    super(`append to ${orderId}: ${message}`);
  }
}

/** An order id the contract does not allow (1-64 of `A-Z a-z 0-9 - _`, starting with a letter or digit). */
export class InvalidOrderIdError extends Error {
  override name = "InvalidOrderIdError";
  constructor(readonly orderId: string) {
    super(`invalid order id ${JSON.stringify(orderId)}: 1-64 of A-Z a-z 0-9 - _, starting with a letter or digit`);
  }
}

const ORDER_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** `orderId`, or `InvalidOrderIdError`. */
export function checkOrderId(orderId: string): string {
  if (typeof orderId !== "string" || !ORDER_ID.test(orderId)) throw new InvalidOrderIdError(String(orderId));
  return orderId;
}
