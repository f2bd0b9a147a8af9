//! The two tables' definitions, in one place. template.yaml declares the same (a test compares
//! them); tests and `make run` create tables from these.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};

/// The two tables' names (`EVENTS_TABLE`, `SNAPSHOTS_TABLE`; these defaults when unset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableNames {
    pub events: String,
    pub snapshots: String,
}

impl Default for TableNames {
    fn default() -> Self {
        TableNames { events: "order_events".into(), snapshots: "order_snapshots".into() }
    }
}

/// A table's key and stream, as declared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDef {
    /// Logical name in template.yaml.
    pub logical_id: &'static str,
    pub partition_key: (&'static str, ScalarAttributeType),
    pub sort_key: (&'static str, ScalarAttributeType),
    pub stream: Option<StreamViewType>,
    /// A global secondary index with the table's own keys and a few projected attributes.
    pub keys_index: Option<KeysIndex>,
}

/// An index holding only an item's keys and `attributes`: listing it never pays for the
/// (large) attributes left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysIndex {
    pub name: &'static str,
    pub attributes: &'static [&'static str],
}

/// The snapshot table's small index: (orderId, version, timestamp) of every snapshot. Listing
/// and retention read it instead of the items, whose `state` may be hundreds of KB.
pub const SNAPSHOT_KEYS_INDEX: KeysIndex = KeysIndex { name: "snapshot-keys", attributes: &["timestamp"] };

pub const EVENTS: TableDef = TableDef {
    logical_id: "OrderEventsTable",
    partition_key: ("orderId", ScalarAttributeType::S),
    sort_key: ("sequence", ScalarAttributeType::N),
    stream: Some(StreamViewType::NewImage),
    keys_index: None,
};

pub const SNAPSHOTS: TableDef = TableDef {
    logical_id: "OrderSnapshotsTable",
    partition_key: ("orderId", ScalarAttributeType::S),
    sort_key: ("version", ScalarAttributeType::N),
    stream: None,
    keys_index: Some(SNAPSHOT_KEYS_INDEX),
};

impl TableDef {
    /// Creates the table (on-demand billing); an existing table is left as it is.
    pub async fn create(&self, client: &Client, name: &str) -> Result<(), crate::store::dynamo::DynamoError> {
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
            .set_global_secondary_indexes(self.keys_index.as_ref().map(|index| {
                let projection = Projection::builder()
                    .projection_type(ProjectionType::Include)
                    .set_non_key_attributes(Some(index.attributes.iter().map(|a| a.to_string()).collect()))
                    .build();
                vec![
                    GlobalSecondaryIndex::builder()
                        .index_name(index.name)
                        .key_schema(key(&self.partition_key, KeyType::Hash))
                        .key_schema(key(&self.sort_key, KeyType::Range))
                        .projection(projection)
                        .build()
                        .expect("name, keys and projection set"),
                ]
            }))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(SdkError::ServiceError(e)) if e.err().is_resource_in_use_exception() => {}
            Err(e) => return Err(crate::store::dynamo::DynamoError::new("CreateTable", name, e)),
        }
        wait_until_active(client, name).await
    }
}

/// Waits until the table and its indexes are ACTIVE: DynamoDB answers a write to a table
/// still CREATING with ResourceNotFoundException (moto's tables are ACTIVE at once, dynalite's
/// a moment later, DynamoDB's after seconds).
async fn wait_until_active(client: &Client, name: &str) -> Result<(), crate::store::dynamo::DynamoError> {
    use aws_sdk_dynamodb::types::{IndexStatus, TableStatus};
    let started = std::time::Instant::now();
    let limit = std::time::Duration::from_secs(120);
    loop {
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| crate::store::dynamo::DynamoError::new("DescribeTable", name, e))?;
        let active = described.table.is_some_and(|table| {
            table.table_status() == Some(&TableStatus::Active)
                && table
                    .global_secondary_indexes()
                    .iter()
                    .all(|i| i.index_status() == Some(&IndexStatus::Active))
        });
        if active {
            return Ok(());
        }
        if started.elapsed() > limit {
            return Err(crate::store::dynamo::DynamoError::not_active(name, limit));
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}
