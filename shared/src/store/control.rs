//! Control items: the maintenance jobs' own records (where the last cleanup stopped, the
//! rebuild job) in the snapshot table, at version 0 under ids no order can have (order ids
//! start with a letter or digit, control ids with `_`), so no second table is needed. Their
//! contents belong to their jobs; this store only reads, writes and conditions them.

use super::dynamo::{DynamoError, Item, condition_held, n, s};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use std::collections::HashMap;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ControlError {
    #[error("control item {id} cannot be read: {reason}")]
    Undecodable { id: String, reason: String },
    // Not transparent: `dynamo::is_transient` finds the DynamoError in the source chain.
    #[error("{0}")]
    Dynamo(#[from] DynamoError),
}

/// An update expression and, optionally, the condition it holds under, with the names and
/// values both use (a conditional put uses only the condition).
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
}

#[derive(Clone, Debug)]
pub struct ControlStore {
    client: Client,
    table: String,
}

impl ControlStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        ControlStore { client, table: table.into() }
    }

    fn key(id: &str) -> Item {
        Item::from([("orderId".to_owned(), s(id)), ("version".to_owned(), n(0))])
    }

    /// The item, read strongly consistent (a job decides on it).
    pub async fn get(&self, id: &str) -> Result<Option<Item>, ControlError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| DynamoError::new("GetItem", &self.table, e))?;
        Ok(out.item)
    }

    /// Writes the item whole, replacing what was there.
    pub async fn put(&self, id: &str, attributes: Item) -> Result<(), ControlError> {
        self.put_when(id, attributes, None).await.map(|_| ())
    }

    /// Writes the item whole if `condition` (an [`Update`]'s condition, names and values)
    /// holds for what is there now; `false` when it did not (nothing changed).
    pub async fn put_if(&self, id: &str, attributes: Item, condition: Update) -> Result<bool, ControlError> {
        self.put_when(id, attributes, Some(condition)).await
    }

    async fn put_when(
        &self,
        id: &str,
        attributes: Item,
        condition: Option<Update>,
    ) -> Result<bool, ControlError> {
        let mut item = Self::key(id);
        item.extend(attributes);
        let condition = condition.unwrap_or_default();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.condition)
            .set_expression_attribute_names((!condition.names.is_empty()).then_some(condition.names))
            .set_expression_attribute_values((!condition.values.is_empty()).then_some(condition.values))
            .send()
            .await;
        Ok(condition_held(result, "PutItem", &self.table)?.is_some())
    }

    /// Applies `update` and returns the item as it now is; `None` when its condition did not
    /// hold (nothing changed).
    pub async fn update(&self, id: &str, update: Update) -> Result<Option<Item>, ControlError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .update_expression(update.expression)
            .set_condition_expression(update.condition)
            .set_expression_attribute_names((!update.names.is_empty()).then_some(update.names))
            .set_expression_attribute_values((!update.values.is_empty()).then_some(update.values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let applied = condition_held(result, "UpdateItem", &self.table)?;
        Ok(applied.map(|out| out.attributes.unwrap_or_default()))
    }

    /// Removes the item (nothing happens when it is not there).
    pub async fn delete(&self, id: &str) -> Result<(), ControlError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .send()
            .await
            .map_err(|e| DynamoError::new("DeleteItem", &self.table, e))?;
        Ok(())
    }
}

/// A control item that cannot be read.
pub fn undecodable(id: &str, reason: impl ToString) -> ControlError {
    ControlError::Undecodable { id: id.to_owned(), reason: reason.to_string() }
}
