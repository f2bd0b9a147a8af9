//! Local stand-ins for what AWS runs: the stream poller, the demo workload, the functions under
//! AWS's Runtime Interface Emulator (`make invoke`) and Lambda's Invoke API for them.

pub mod admin_server;
pub mod demo;
pub mod event_filter;
pub mod event_source;
pub mod invoke;
pub mod lambda_api;
pub mod preflight;
pub mod stream_runner;

use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::config::{BehaviorVersion, Credentials, Region};
use shared::runtime::metrics::Metrics;
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use snapshot_stream::{HandlerError, RawStreamEvent};
use std::collections::BTreeMap;

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

/// A stream runner on `t`'s event table (tests): the local server testkit shares.
pub async fn runner_for(
    t: &testkit::TestTables,
    config: stream_runner::RunnerConfig,
) -> stream_runner::StreamRunner {
    let arn = stream_arn(&t.client, &t.events_table).await.expect("the events table has a stream");
    let streams = streams_client_for(&testkit::shared_server().endpoint());
    stream_runner::StreamRunner::new(streams, t.client.clone(), arn, config).await.expect("a runner")
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

/// The stream function's handler on an event as the local runner builds it (JSON). Its
/// metrics stay off the console, which is for people.
pub async fn deliver(
    service: &StreamSnapshotter,
    event: serde_json::Value,
) -> Result<DynamoDbEventResponse, HandlerError> {
    deliver_measured(service, event).await.map(|(response, _)| response)
}

/// [`deliver`], with the metrics the handler emitted for the batch.
pub async fn deliver_measured(
    service: &StreamSnapshotter,
    event: serde_json::Value,
) -> Result<(DynamoDbEventResponse, BTreeMap<&'static str, u64>), HandlerError> {
    let metrics = Metrics::recorded(snapshot_stream::FUNCTION);
    let response = snapshot_stream::handle(service, &metrics, RawStreamEvent::from_json(&event)?).await?;
    Ok((response, metrics.last().unwrap_or_default()))
}
