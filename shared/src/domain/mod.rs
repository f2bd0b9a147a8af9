//! The order aggregate: its events, its state, the pure fold and the command rules.

mod commands;
pub mod corpus;
mod events;
pub mod fingerprint;
mod fold;
pub mod folded_order;
mod money;
mod order;
mod order_id;
pub mod samples;
mod upcast;

pub use commands::{DomainError, OrderCommand};
pub use events::{Address, EVENT_TYPES, EventDecodeError, OrderEvent, RecordedEvent};
pub use fold::FoldError;
pub use money::{MAX_AMOUNT, MAX_SAFE_INTEGER, Money};
pub use order::{LineItem, Order, OrderStatus, Payment, STATE_SCHEMA_VERSION, Shipment, ShippingUpdate};
pub use order_id::{InvalidOrderId, MAX_ORDER_ID_LEN, OrderId};
pub use upcast::{EVENT_SCHEMA_VERSION, ItemAddedV2, UPCASTERS, Upcaster, readable_versions};

#[cfg(test)]
pub(crate) mod testing {
    pub use super::samples::{one_of_each_event, recorded as event};
}
