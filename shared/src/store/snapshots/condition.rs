//! The condition a snapshot write carries when it replaces an unusable snapshot: the very
//! write that was read (so of two writers replacing it exactly one wins).

use crate::store::dynamo::Item;
use crate::store::expression::Update;

/// The item is still `existing`: the same write (every write has its own `writeId`; items
/// from before it existed are told apart by their timestamp).
pub(super) fn same_as(existing: &Item) -> Update {
    let mut condition = Update::default();
    let mut parts = vec!["attribute_exists(orderId)".to_owned()];
    for (placeholder, name) in [("#wid", "writeId"), ("#ts", "timestamp")] {
        condition = condition.name(placeholder, name);
        let value = format!(":{name}");
        match existing.get(name) {
            Some(found) => {
                condition = condition.value(&value, found.clone());
                parts.push(format!("{placeholder} = {value}"));
            }
            None => parts.push(format!("attribute_not_exists({placeholder})")),
        }
    }
    condition.when(parts.join(" AND "))
}
