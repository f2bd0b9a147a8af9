//! The condition a snapshot write carries: a free slot, or the very unusable write that was
//! read (so of two writers replacing it exactly one wins).

use crate::store::dynamo::Item;

/// A condition expression with its names and values.
#[derive(Default)]
pub(super) struct Condition {
    pub(super) expression: String,
    pub(super) names: std::collections::HashMap<String, String>,
    pub(super) values: Item,
}

impl Condition {
    /// The item is still `existing`: the same write (every write has its own `writeId`;
    /// items from before it existed are told apart by their timestamp).
    pub(super) fn same_as(existing: &Item) -> Condition {
        let mut condition = Condition::default();
        let mut parts = Vec::new();
        for (placeholder, name) in [("#wid", "writeId"), ("#ts", "timestamp")] {
            condition.names.insert(placeholder.to_owned(), name.to_owned());
            let value = format!(":{name}");
            match existing.get(name) {
                Some(found) => {
                    condition.values.insert(value.clone(), found.clone());
                    parts.push(format!("{placeholder} = {value}"));
                }
                None => parts.push(format!("attribute_not_exists({placeholder})")),
            }
        }
        condition.expression = format!("attribute_exists(orderId) AND {}", parts.join(" AND "));
        condition
    }
}
