//! Payload shapes other than the current one. Each event type has one current shape (what
//! `OrderEvent` holds, schema version [`EVENT_SCHEMA_VERSION`]); a stored payload at another
//! schema version is turned into the current shape here, before it is decoded, so the fold only
//! ever sees one shape (Axon calls these upcasters).
//!
//! To change an event's payload incompatibly:
//! 1. the writer starts writing the new shape with the next `schemaVersion` for that type;
//! 2. add an [`Upcaster`] for (type, new version) that turns it into the current shape, and a
//!    payload struct deriving `JsonSchema` so `contract` publishes its schema;
//! 3. run `make schemas` and commit `schemas/`; the contract test holds the two together.
//!
//! When the current shape itself changes, the old version gets the upcaster instead.
//! `ItemAdded` version 2 is the worked example: the same event with `name` renamed
//! `productName` and `unitPrice` renamed `unitPriceMinor`.

use super::money::Money;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The schema version of every event type's current payload shape: the one this code writes,
/// and reads without an upcaster.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// Turns one (event type, schema version) payload into the current shape.
pub struct Upcaster {
    pub event_type: &'static str,
    pub schema_version: u32,
    upcast: fn(Value) -> Result<Value, String>,
}

impl Upcaster {
    pub const fn new(
        event_type: &'static str,
        schema_version: u32,
        upcast: fn(Value) -> Result<Value, String>,
    ) -> Self {
        Upcaster { event_type, schema_version, upcast }
    }
}

/// The upcasters this code reads with.
pub const UPCASTERS: &[Upcaster] = &[Upcaster::new("ItemAdded", 2, item_added_v2)];

/// The schema versions of `event_type` this code reads, current first.
pub fn readable_versions(event_type: &str) -> Vec<u32> {
    let older_or_newer = UPCASTERS.iter().filter(|u| u.event_type == event_type).map(|u| u.schema_version);
    std::iter::once(EVENT_SCHEMA_VERSION).chain(older_or_newer).collect()
}

/// `payload` in the current shape, by `upcasters`; `None` when none reads this version.
pub(super) fn to_current(
    upcasters: &[Upcaster],
    event_type: &str,
    schema_version: u32,
    payload: Value,
) -> Option<Result<Value, String>> {
    if schema_version == EVENT_SCHEMA_VERSION {
        return Some(Ok(payload));
    }
    upcasters
        .iter()
        .find(|u| u.event_type == event_type && u.schema_version == schema_version)
        .map(|u| (u.upcast)(payload))
}

/// `ItemAdded` as written at schema version 2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemAddedV2 {
    pub sku: String,
    pub product_name: String,
    pub quantity: u32,
    /// Minor units (cents).
    pub unit_price_minor: Money,
}

fn item_added_v2(payload: Value) -> Result<Value, String> {
    let v2: ItemAddedV2 = serde_json::from_value(payload).map_err(|e| e.to_string())?;
    Ok(serde_json::json!({
        "sku": v2.sku,
        "name": v2.product_name,
        "quantity": v2.quantity,
        "unitPrice": v2.unit_price_minor,
    }))
}
