//! The local stand-in for Lambda's DynamoDB stream poller: reads every shard of the event
//! table's stream, hands the handler batches in exactly the Lambda event shape, and honours
//! the partial-batch response the way Lambda does (restart from the reported record; after
//! `max_retries` send the batch's description to the failure destination and move on).

use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::Client as StreamsClient;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};

#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// Records per batch (Lambda's BatchSize).
    pub batch_size: i32,
    pub poll_interval: Duration,
    /// Retries of a failing record before it goes to the failure destination.
    pub max_retries: u32,
    /// Where failed batches are described (one JSON line each), like Lambda's on-failure
    /// destination; `None`: only logged.
    pub failure_destination: Option<PathBuf>,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            batch_size: 100,
            poll_interval: Duration::from_millis(200),
            max_retries: 3,
            failure_destination: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunnerStats {
    pub batches: u64,
    pub records_delivered: u64,
    pub partial_failures: u64,
    pub handler_errors: u64,
    pub sent_to_failure_destination: u64,
}

struct Shard {
    id: String,
    iterator: Option<String>,
    /// Sequence number of a record being retried, and how often it was.
    retrying: Option<(String, u32)>,
}

pub struct StreamRunner {
    streams: StreamsClient,
    stream_arn: String,
    config: RunnerConfig,
    shards: BTreeMap<String, Shard>,
    pub stats: RunnerStats,
}

impl StreamRunner {
    pub async fn new(
        streams: StreamsClient,
        stream_arn: String,
        config: RunnerConfig,
    ) -> Result<Self, String> {
        let mut runner = StreamRunner {
            streams,
            stream_arn,
            config,
            shards: BTreeMap::new(),
            stats: RunnerStats::default(),
        };
        runner.discover_shards().await?;
        Ok(runner)
    }

    /// New shards start at the oldest record still in the stream.
    async fn discover_shards(&mut self) -> Result<(), String> {
        let mut start = None;
        loop {
            let out = self
                .streams
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start.take())
                .send()
                .await
                .map_err(|e| format!("DescribeStream: {e:?}"))?;
            let description = out.stream_description.ok_or("DescribeStream: no description")?;
            for shard in description.shards() {
                let Some(id) = shard.shard_id() else { continue };
                if !self.shards.contains_key(id) {
                    let iterator = self.iterator(id, ShardIteratorType::TrimHorizon, None).await?;
                    self.shards.insert(
                        id.to_owned(),
                        Shard { id: id.to_owned(), iterator: Some(iterator), retrying: None },
                    );
                }
            }
            match description.last_evaluated_shard_id {
                Some(last) => start = Some(last),
                None => return Ok(()),
            }
        }
    }

    async fn iterator(
        &self,
        shard: &str,
        kind: ShardIteratorType,
        at: Option<&str>,
    ) -> Result<String, String> {
        self.streams
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard)
            .shard_iterator_type(kind)
            .set_sequence_number(at.map(str::to_owned))
            .send()
            .await
            .map_err(|e| format!("GetShardIterator: {e:?}"))?
            .shard_iterator
            .ok_or_else(|| "GetShardIterator: no iterator".to_owned())
    }

    /// Polls until `shutdown` turns true.
    pub async fn run<H, F, E>(
        &mut self,
        handler: H,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), String>
    where
        H: Fn(Value) -> F,
        F: Future<Output = Result<DynamoDbEventResponse, E>>,
        E: std::fmt::Display,
    {
        while !*shutdown.borrow() {
            let delivered = self.poll_once(&handler).await?;
            if delivered == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(self.config.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
                self.discover_shards().await?;
            }
        }
        Ok(())
    }

    /// Polls until a full pass over every shard finds nothing new.
    pub async fn run_until_idle<H, F, E>(&mut self, handler: H) -> Result<(), String>
    where
        H: Fn(Value) -> F,
        F: Future<Output = Result<DynamoDbEventResponse, E>>,
        E: std::fmt::Display,
    {
        self.discover_shards().await?;
        while self.poll_once(&handler).await? > 0 {}
        Ok(())
    }

    /// One GetRecords per shard; returns the records delivered (retries included).
    async fn poll_once<H, F, E>(&mut self, handler: &H) -> Result<u64, String>
    where
        H: Fn(Value) -> F,
        F: Future<Output = Result<DynamoDbEventResponse, E>>,
        E: std::fmt::Display,
    {
        let mut delivered = 0;
        let ids: Vec<String> = self.shards.keys().cloned().collect();
        for id in ids {
            let Some(iterator) = self.shards[&id].iterator.clone() else { continue };
            let out = self
                .streams
                .get_records()
                .shard_iterator(iterator)
                .limit(self.config.batch_size)
                .send()
                .await
                .map_err(|e| format!("GetRecords: {e:?}"))?;
            let records = out.records.unwrap_or_default();
            let next = out.next_shard_iterator;
            if records.is_empty() {
                self.shards.get_mut(&id).expect("known shard").iterator = next;
                continue;
            }
            delivered += records.len() as u64;
            self.stats.batches += 1;
            self.stats.records_delivered += records.len() as u64;
            let event = lambda_event(&records, &self.stream_arn);
            let first = seq(&records[0]);
            let last = seq(&records[records.len() - 1]);
            let restart_at = match handler(event).await {
                Ok(response) => response.batch_item_failures.into_iter().find_map(|f| f.item_identifier),
                Err(e) => {
                    warn!(shard = %id, error = %e, "handler failed the whole batch; retrying it");
                    self.stats.handler_errors += 1;
                    Some(first.clone())
                }
            };
            let iterator = match restart_at {
                None => {
                    self.shards.get_mut(&id).expect("known shard").retrying = None;
                    next
                }
                Some(at) => {
                    self.stats.partial_failures += 1;
                    Some(self.retry_or_skip(&id, &at, &last, records.len()).await?)
                }
            };
            self.shards.get_mut(&id).expect("known shard").iterator = iterator;
        }
        Ok(delivered)
    }

    /// Restart at `at` (Lambda's behaviour for a reported failure), or once retries are spent,
    /// describe the batch to the failure destination and continue after it.
    async fn retry_or_skip(
        &mut self,
        shard: &str,
        at: &str,
        last: &str,
        size: usize,
    ) -> Result<String, String> {
        let attempts = match &self.shards[shard].retrying {
            Some((pos, n)) if pos == at => n + 1,
            _ => 1,
        };
        if attempts <= self.config.max_retries {
            info!(shard, at, attempts, "restarting from the first failed record");
            self.shards.get_mut(shard).expect("known shard").retrying = Some((at.to_owned(), attempts));
            tokio::time::sleep(self.config.poll_interval).await;
            return self.iterator(shard, ShardIteratorType::AtSequenceNumber, Some(at)).await;
        }
        warn!(shard, at, "retries exhausted; batch sent to the failure destination");
        self.stats.sent_to_failure_destination += 1;
        let info = json!({
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": at,
                "endSequenceNumber": last,
                "batchSize": size,
                "streamArn": self.stream_arn,
            },
            "requestContext": { "condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts },
        });
        if let Some(path) = &self.config.failure_destination {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("open {}: {e}", path.display()))?;
            writeln!(file, "{info}").map_err(|e| format!("write {}: {e}", path.display()))?;
        }
        self.shards.get_mut(shard).expect("known shard").retrying = None;
        // Lambda skips the failed batch from the failed record on; the handler reported only
        // the first failure, so continue right after it.
        self.iterator(shard, ShardIteratorType::AfterSequenceNumber, Some(at)).await
    }

    pub fn shard_ids(&self) -> Vec<String> {
        self.shards.values().map(|s| s.id.clone()).collect()
    }
}

fn seq(record: &Record) -> String {
    record.dynamodb().and_then(|d| d.sequence_number()).unwrap_or_default().to_owned()
}

/// The records as Lambda's DynamoDB event.
pub fn lambda_event(records: &[Record], stream_arn: &str) -> Value {
    let records: Vec<Value> = records.iter().map(|r| lambda_record(r, stream_arn)).collect();
    json!({ "Records": records })
}

fn lambda_record(record: &Record, stream_arn: &str) -> Value {
    let image =
        |m: Option<&std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
            m.map(|m| {
                let item: serde_dynamo::Item = m.clone().into();
                serde_json::to_value(item).expect("items serialize")
            })
        };
    let mut change = serde_json::Map::new();
    if let Some(d) = record.dynamodb() {
        if let Some(at) = d.approximate_creation_date_time() {
            change.insert("ApproximateCreationDateTime".into(), json!(at.secs()));
        }
        change.insert("Keys".into(), image(d.keys.as_ref()).unwrap_or_else(|| json!({})));
        if let Some(new) = image(d.new_image.as_ref()) {
            change.insert("NewImage".into(), new);
        }
        if let Some(old) = image(d.old_image.as_ref()) {
            change.insert("OldImage".into(), old);
        }
        change.insert("SequenceNumber".into(), json!(d.sequence_number()));
        change.insert("SizeBytes".into(), json!(d.size_bytes().unwrap_or_default()));
        if let Some(view) = d.stream_view_type() {
            change.insert("StreamViewType".into(), json!(view.as_str()));
        }
    }
    let mut out = json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|n| n.as_str()),
        "eventVersion": record.event_version().unwrap_or("1.1"),
        "eventSource": record.event_source().unwrap_or("aws:dynamodb"),
        "awsRegion": record.aws_region(),
        "dynamodb": Value::Object(change),
        "eventSourceARN": stream_arn,
    });
    if let Some(identity) = record.user_identity() {
        out["userIdentity"] = json!({ "type": identity.r#type(), "principalId": identity.principal_id() });
    }
    out
}
