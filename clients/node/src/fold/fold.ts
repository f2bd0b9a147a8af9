// What the package needs of a fold: the order service's own `applyEvent`, or the reference fold.
import type { OrderState } from "../generated/contract.js";
import type { StoredEvent } from "../events/stored.js";

/**
 * A fold of an order's events. Its states must serialize (`JSON.stringify`) to the published
 * order state (`schemas/order-state.schema.json`): snapshots hold them, and the conformance
 * corpus compares them. It refuses an event it cannot read or apply by throwing a `Refusal`
 * with the contract's code.
 */
export interface Fold<State = OrderState> {
  /** The empty order every replay starts from. */
  empty(orderId: string): State;
  /** The state after `event`. May update `state` in place: the package never reuses a state it passed in. */
  apply(state: State, event: StoredEvent): State;
  /** A snapshot's state as this fold's state; the state as it is when absent. */
  restore?(state: OrderState): State;
}
