//! The order aggregate's state: what a fold of its events produces (see `fold.rs`).

use super::events::Address;
use super::money::Money;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Bump when `Order`'s serialized shape changes; older snapshots then fall back to replay.
pub const STATE_SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum OrderStatus {
    /// No `OrderCreated` yet: the empty order every fold starts from.
    #[default]
    Draft,
    Pending,
    Confirmed,
    Shipped,
    Delivered,
    Cancelled,
    Returned,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineItem {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Payment {
    pub payment_id: String,
    pub method: String,
    pub authorized: Money,
    pub captured: Money,
    pub refunded: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShippingUpdate {
    pub at: i64,
    pub status: String,
    pub location: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Shipment {
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: i64,
    pub updates: Vec<ShippingUpdate>,
    pub delivered_at: Option<i64>,
}

/// The state of one order after folding its events 1..=version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Order {
    pub id: String,
    pub customer_id: Option<String>,
    pub currency: Option<String>,
    pub status: OrderStatus,
    pub items: Vec<LineItem>,
    /// Sum of quantity × unit price over `items`, kept in step by `apply`.
    pub total: Money,
    pub shipping_address: Option<Address>,
    pub payments: Vec<Payment>,
    pub shipment: Option<Shipment>,
    pub cancellation_reason: Option<String>,
    pub return_reason: Option<String>,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
    /// Sequence of the last applied event (0 for the empty order).
    pub version: u64,
    /// Id of the last applied event. A load checks the stored event at `version` still has
    /// it, so a snapshot never outlives the history it was folded from.
    pub last_event_id: Option<String>,
}

impl Order {
    /// The empty order every replay starts from.
    pub fn empty(id: impl Into<String>) -> Self {
        Order {
            id: id.into(),
            customer_id: None,
            currency: None,
            status: OrderStatus::Draft,
            items: Vec::new(),
            total: Money::ZERO,
            shipping_address: None,
            payments: Vec::new(),
            shipment: None,
            cancellation_reason: None,
            return_reason: None,
            created_at: None,
            updated_at: None,
            version: 0,
            last_event_id: None,
        }
    }

    pub fn payment(&self, payment_id: &str) -> Option<&Payment> {
        self.payments.iter().find(|p| p.payment_id == payment_id)
    }

    /// Captured minus refunded over all payments.
    pub fn amount_paid(&self) -> Money {
        self.payments.iter().fold(Money::ZERO, |acc, p| {
            acc.checked_add(p.captured).and_then(|m| m.checked_sub(p.refunded)).unwrap_or(acc)
        })
    }
}
