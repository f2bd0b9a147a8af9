//! What a function needs at cold start: configuration from the environment, the AWS SDK
//! client, JSON logs and CloudWatch metrics.

pub mod client;
pub mod config;
pub mod metrics;
pub mod telemetry;
