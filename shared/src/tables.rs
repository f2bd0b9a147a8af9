//! The two tables' definitions, in one place. template.yaml declares the same (a test compares
//! them); tests and `make run` create tables from these.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, StreamSpecification,
    StreamViewType,
};

/// A table's key and stream, as declared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDef {
    /// Logical name in template.yaml.
    pub logical_id: &'static str,
    pub partition_key: (&'static str, ScalarAttributeType),
    pub sort_key: (&'static str, ScalarAttributeType),
    pub stream: Option<StreamViewType>,
}

pub const EVENTS: TableDef = TableDef {
    logical_id: "OrderEventsTable",
    partition_key: ("orderId", ScalarAttributeType::S),
    sort_key: ("sequence", ScalarAttributeType::N),
    stream: Some(StreamViewType::NewImage),
};

pub const SNAPSHOTS: TableDef = TableDef {
    logical_id: "OrderSnapshotsTable",
    partition_key: ("orderId", ScalarAttributeType::S),
    sort_key: ("version", ScalarAttributeType::N),
    stream: None,
};

impl TableDef {
    /// Creates the table (on-demand billing); an existing table is left as it is.
    pub async fn create(&self, client: &Client, name: &str) -> Result<(), crate::dynamo::DynamoError> {
        let key = |(attr, _): &(&str, ScalarAttributeType), kind| {
            KeySchemaElement::builder()
                .attribute_name(*attr)
                .key_type(kind)
                .build()
                .expect("name and type set")
        };
        let def = |(attr, ty): &(&str, ScalarAttributeType)| {
            AttributeDefinition::builder()
                .attribute_name(*attr)
                .attribute_type(ty.clone())
                .build()
                .expect("name and type set")
        };
        let stream = self.stream.clone().map(|view| {
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(view)
                .build()
                .expect("enabled set")
        });
        let result = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(&self.partition_key, KeyType::Hash))
            .key_schema(key(&self.sort_key, KeyType::Range))
            .attribute_definitions(def(&self.partition_key))
            .attribute_definitions(def(&self.sort_key))
            .set_stream_specification(stream)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_resource_in_use_exception() => Ok(()),
            Err(e) => Err(crate::dynamo::DynamoError::new("CreateTable", name, e)),
        }
    }
}
