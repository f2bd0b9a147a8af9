//! The one builder of a write's expressions: what an update changes, the condition a write
//! holds under, and the names and values both use; and the one conditional PutItem that
//! carries them. Every conditional write of the store (the snapshot table's puts, the control
//! items' puts and updates) is built with it.

use super::dynamo::{DynamoError, Item, condition_held};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// An update expression (empty for a put) and, optionally, the condition it holds under, with
/// the names and values both use.
#[derive(Clone, Debug, Default)]
pub struct Update {
    pub expression: String,
    pub condition: Option<String>,
    pub names: HashMap<String, String>,
    pub values: Item,
}

impl Update {
    pub fn new(expression: impl Into<String>) -> Self {
        Update { expression: expression.into(), ..Update::default() }
    }

    /// A put's condition, with nothing to update.
    pub fn only_when(condition: impl Into<String>) -> Self {
        Update::default().when(condition)
    }

    /// Holds only while `condition` does.
    pub fn when(mut self, condition: impl Into<String>) -> Self {
        self.condition = Some(condition.into());
        self
    }

    pub fn name(mut self, placeholder: &str, name: &str) -> Self {
        self.names.insert(placeholder.to_owned(), name.to_owned());
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    /// The names as a request takes them: none rather than an empty map (DynamoDB refuses one).
    pub(crate) fn names_if_any(&mut self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| std::mem::take(&mut self.names))
    }

    /// The values as a request takes them: none rather than an empty map.
    pub(crate) fn values_if_any(&mut self) -> Option<Item> {
        (!self.values.is_empty()).then(|| std::mem::take(&mut self.values))
    }
}

/// Puts `item` whole into `table` if `condition`'s condition holds (none: always); `false`
/// when it did not (nothing written). Every conditional put of the store is this one.
pub(crate) async fn put_if(
    client: &Client,
    table: &str,
    item: Item,
    mut condition: Update,
) -> Result<bool, DynamoError> {
    let result = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .set_expression_attribute_names(condition.names_if_any())
        .set_expression_attribute_values(condition.values_if_any())
        .set_condition_expression(condition.condition)
        .send()
        .await;
    Ok(condition_held(result, "PutItem", table)?.is_some())
}
