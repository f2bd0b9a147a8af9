//! Everything the snapshot functions share, in five layers; each imports only the layers below
//! it (`tests/it/architecture.rs` holds the code to that):
//!
//! - `runtime`: what a Lambda function needs at start: configuration, the AWS client, logs,
//!   metrics;
//! - `use_cases`: what the functions do: load an order, snapshot a stream batch, the admin
//!   operations, verify, the maintenance run (cleanup, canary, rebuild);
//! - `store`: the two tables and the control items, with one error taxonomy;
//! - `policy`: the operator's settings and the pure rules that read them (strategy, retention);
//! - `domain`: the order, its events and the pure fold.
//!
//! Knows nothing of Lambda.

pub mod domain;
pub mod policy;
pub mod runtime;
pub mod store;
pub mod use_cases;

pub use aws_sdk_dynamodb::Client as DynamoClient;
