//! Control items: the maintenance jobs' own records (where the last cleanup stopped, the
//! rebuild job) in the snapshot table, at version 0 under ids no order can have (order ids
//! start with a letter or digit, control ids with `_`), so no second table is needed. Their
//! contents belong to their jobs; this store only reads, writes and conditions them.

pub mod cleanup_cursor;
pub mod fold_record;
pub mod job;
mod json_text;
pub mod rebuild_scope;

use super::StoreError;
use super::dynamo::{DynamoError, Item, condition_held, n, s};
use super::expression::{self, Update};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

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
    pub async fn get(&self, id: &str) -> Result<Option<Item>, StoreError> {
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

    /// The item as `T`, read strongly consistent; an item that does not fit `T` is
    /// `CorruptControl`.
    pub async fn get_as<T: DeserializeOwned>(&self, id: &str) -> Result<Option<T>, StoreError> {
        let Some(item) = self.get(id).await? else { return Ok(None) };
        serde_dynamo::from_item(item).map(Some).map_err(|e| undecodable(id, e))
    }

    /// Writes the item whole, replacing what was there.
    pub async fn put(&self, id: &str, attributes: Item) -> Result<(), StoreError> {
        self.put_when(id, attributes, None).await.map(|_| ())
    }

    /// Writes `value` as the whole item (control items are typed, never built by hand),
    /// replacing what was there.
    pub async fn put_as<T: Serialize>(&self, id: &str, value: &T) -> Result<(), StoreError> {
        self.put(id, item_of(value)).await
    }

    /// Writes `value` as the whole item if `condition` (an [`Update`]'s condition, names and
    /// values) holds for what is there now; `false` when it did not (nothing changed).
    pub async fn put_as_if<T: Serialize>(
        &self,
        id: &str,
        value: &T,
        condition: Update,
    ) -> Result<bool, StoreError> {
        self.put_when(id, item_of(value), Some(condition)).await
    }

    async fn put_when(
        &self,
        id: &str,
        attributes: Item,
        condition: Option<Update>,
    ) -> Result<bool, StoreError> {
        let mut item = Self::key(id);
        item.extend(attributes);
        Ok(expression::put_if(&self.client, &self.table, item, condition.unwrap_or_default()).await?)
    }

    /// Applies `update` and returns the item as it now is; `None` when its condition did not
    /// hold (nothing changed).
    pub async fn update(&self, id: &str, mut update: Update) -> Result<Option<Item>, StoreError> {
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
    pub async fn delete(&self, id: &str) -> Result<(), StoreError> {
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
pub fn undecodable(id: &str, reason: impl ToString) -> StoreError {
    StoreError::CorruptControl { id: id.to_owned(), reason: reason.to_string() }
}

fn item_of<T: Serialize>(value: &T) -> Item {
    serde_dynamo::to_item(value).expect("control items serialize to maps")
}
