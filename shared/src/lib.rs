//! Everything the snapshot functions share: the order domain, the event and snapshot stores,
//! the strategies that decide when to snapshot, the use cases of each function, and
//! configuration. Knows nothing of Lambda.

pub mod admin;
pub mod canary;
pub mod cleanup;
pub mod client;
pub mod clock;
pub mod config;
pub mod contract;
pub mod domain;
pub mod dynamo;
pub mod event_store;
pub mod folded_order;
pub mod metrics;
pub mod order_id;
pub mod rebuild;
pub mod repository;
pub mod retention;
pub mod settings;
pub mod snapshot;
pub mod strategy;
pub mod stream_snapshots;
pub mod tables;
pub mod telemetry;
pub mod unreadable;

pub use aws_sdk_dynamodb::Client as DynamoClient;
