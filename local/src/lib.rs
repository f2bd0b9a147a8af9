//! Local stand-ins for what AWS runs: the stream poller and the demo workload.

pub mod demo;
pub mod stream_runner;

use aws_sdk_dynamodbstreams::config::{BehaviorVersion, Credentials, Region};

/// A DynamoDB Streams client for the local server (the same dummy credentials as testkit).
pub fn streams_client_for(endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "local"))
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}

/// The stream ARN of `table`.
pub async fn stream_arn(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<String, String> {
    client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| format!("DescribeTable {table}: {e:?}"))?
        .table
        .and_then(|t| t.latest_stream_arn)
        .ok_or_else(|| format!("table {table} has no stream"))
}
