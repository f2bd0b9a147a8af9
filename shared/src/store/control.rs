//! Control items: the maintenance jobs' own records (where the last cleanup stopped, the
//! rebuild job) in the snapshot table, at version 0 under ids no order can have (order ids
//! start with a letter or digit, control ids with `_`), so no second table is needed. Their
//! contents belong to their jobs; this store only reads, writes and conditions them.

use super::dynamo::{DynamoError, Item, condition_held, n, s};
use super::expression::Update;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ControlError {
    #[error("control item {id} cannot be read: {reason}")]
    Undecodable { id: String, reason: String },
    // Not transparent: `dynamo::is_transient` finds the DynamoError in the source chain.
    #[error("{0}")]
    Dynamo(#[from] DynamoError),
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
        let mut condition = condition.unwrap_or_default();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_expression_attribute_names(condition.names_if_any())
            .set_expression_attribute_values(condition.values_if_any())
            .set_condition_expression(condition.condition)
            .send()
            .await;
        Ok(condition_held(result, "PutItem", &self.table)?.is_some())
    }

    /// Applies `update` and returns the item as it now is; `None` when its condition did not
    /// hold (nothing changed).
    pub async fn update(&self, id: &str, mut update: Update) -> Result<Option<Item>, ControlError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .set_expression_attribute_names(update.names_if_any())
            .set_expression_attribute_values(update.values_if_any())
            .update_expression(update.expression)
            .set_condition_expression(update.condition)
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
