// The reference fold: what this project's Rust fold decides, event by event, in TypeScript. It
// records facts (events already happened) and refuses only what would make the state a lie: an
// event out of sequence or of another order, or amounts beyond ±(2^53 − 1).
import type { LineItem, OrderState } from "../../generated/contract.js";
import type { StoredEvent } from "../../events/stored.js";
import { Refusal } from "../../errors.js";
import type { Fold } from "../fold.js";
import { decodePayload, type OrderEvent } from "./decode.js";

const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;
const MAX_QUANTITY = 4294967295;

/** `a + b`, or `undefined` beyond ±(2^53 − 1). Exact: inputs within range sum exactly when the result is. */
const add = (a: number, b: number): number | undefined => within(a + b);
const times = (price: number, quantity: number): number | undefined => within(price * quantity);
const within = (n: number): number | undefined => (Math.abs(n) > MAX_AMOUNT ? undefined : n + 0);

/** The empty order every replay starts from. */
export function emptyOrder(orderId: string): OrderState {
  return {
    id: orderId,
    customerId: null,
    currency: null,
    status: "Draft",
    items: [],
    total: 0,
    shippingAddress: null,
    payments: [],
    shipment: null,
    cancellationReason: null,
    returnReason: null,
    createdAt: null,
    updatedAt: null,
    version: 0,
    lastEventId: null,
  };
}

/** Folds one stored event onto `state` (in place: a refused event leaves it as it was). */
export function applyEvent(state: OrderState, stored: StoredEvent): OrderState {
  const event = decodePayload(stored);
  if (stored.orderId !== state.id) {
    throw new Refusal("wrong_order", `event of order ${stored.orderId} applied to order ${state.id}`);
  }
  if (stored.sequence !== state.version + 1) {
    throw new Refusal("out_of_sequence", `event ${stored.sequence} does not follow version ${state.version}`);
  }
  if (!applyFact(state, event, stored.occurredAt)) {
    throw new Refusal("amount_overflow", `amounts of order ${state.id} overflow at event ${stored.sequence}`);
  }
  state.version = stored.sequence;
  state.lastEventId = stored.eventId;
  state.updatedAt = stored.occurredAt;
  return state;
}

/** The total the items would have with `sku`'s line set to `line` (added at the end when absent; `null`: removed). */
function totalWith(items: readonly LineItem[], sku: string, line: [number, number] | null): number | undefined {
  let total: number | undefined = 0;
  let seen = false;
  for (const item of items) {
    let [quantity, price] = [item.quantity, item.unitPrice];
    if (item.sku === sku) {
      seen = true;
      if (!line) continue;
      [quantity, price] = line;
    }
    const amount = times(price, quantity);
    total = amount === undefined ? undefined : add(total, amount);
    if (total === undefined) return undefined;
  }
  if (!line || seen) return total;
  const amount = times(line[1], line[0]);
  return amount === undefined ? undefined : add(total, amount);
}

/** Applies one fact; `false` only on overflow, and then nothing has changed. */
function applyFact(state: OrderState, event: OrderEvent, at: number): boolean {
  switch (event.type) {
    case "OrderCreated":
      Object.assign(state, { customerId: event.data.customerId, currency: event.data.currency, status: "Pending", createdAt: at });
      return true;
    case "ItemAdded": {
      const { sku, name, unitPrice } = event.data;
      const existing = state.items.find((i) => i.sku === sku);
      const quantity = (existing?.quantity ?? 0) + event.data.quantity;
      const total = quantity > MAX_QUANTITY ? undefined : totalWith(state.items, sku, [quantity, unitPrice]);
      if (total === undefined) return false;
      if (existing) Object.assign(existing, { quantity, unitPrice, name });
      else state.items.push({ sku, name, quantity, unitPrice });
      state.items = state.items.filter((i) => i.quantity > 0);
      state.total = total;
      return true;
    }
    case "ItemRemoved": {
      const total = totalWith(state.items, event.data.sku, null);
      if (total === undefined) return false;
      state.total = total;
      state.items = state.items.filter((i) => i.sku !== event.data.sku);
      return true;
    }
    case "ItemQuantityChanged": {
      const { sku, quantity } = event.data;
      const line = state.items.find((i) => i.sku === sku);
      if (!line) return true;
      const total = totalWith(state.items, sku, [quantity, line.unitPrice]);
      if (total === undefined) return false;
      state.total = total;
      line.quantity = quantity;
      state.items = state.items.filter((i) => i.quantity > 0);
      return true;
    }
    case "ShippingAddressSet": {
      const { name, line1, line2, city, postalCode, country } = event.data.address;
      state.shippingAddress = { name, line1, ...(line2 == null ? {} : { line2 }), city, postalCode, country };
      return true;
    }
    case "PaymentAuthorized": {
      const { paymentId, amount, method } = event.data;
      const payment = state.payments.find((p) => p.paymentId === paymentId);
      if (!payment) {
        state.payments.push({ paymentId, method, authorized: amount, captured: 0, refunded: 0 });
        return true;
      }
      const authorized = add(payment.authorized, amount);
      if (authorized === undefined) return false;
      payment.authorized = authorized;
      return true;
    }
    case "PaymentCaptured":
    case "PaymentRefunded": {
      const field = event.type === "PaymentCaptured" ? "captured" : "refunded";
      const payment = state.payments.find((p) => p.paymentId === event.data.paymentId);
      if (!payment) return true;
      const sum = add(payment[field], event.data.amount);
      if (sum === undefined) return false;
      payment[field] = sum;
      return true;
    }
    case "OrderConfirmed":
      state.status = "Confirmed";
      return true;
    case "OrderShipped":
      state.status = "Shipped";
      state.shipment = {
        carrier: event.data.carrier,
        trackingNumber: event.data.trackingNumber,
        shippedAt: at,
        updates: [],
        deliveredAt: null,
      };
      return true;
    case "ShippingUpdated":
      state.shipment?.updates.push({ at, status: event.data.status, location: event.data.location ?? null });
      return true;
    case "OrderDelivered":
      state.status = "Delivered";
      if (state.shipment) state.shipment.deliveredAt = at;
      return true;
    case "OrderCancelled":
      state.status = "Cancelled";
      state.cancellationReason = event.data.reason;
      return true;
    case "OrderReturned":
      state.status = "Returned";
      state.returnReason = event.data.reason;
      return true;
  }
}

/** The package's reference fold, for a service that has none of its own. */
export const referenceFold: Fold<OrderState> = {
  empty: emptyOrder,
  apply: applyEvent,
  restore: (state) => state,
};
