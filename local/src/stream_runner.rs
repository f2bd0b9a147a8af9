//! The local stand-in for Lambda's DynamoDB stream poller: reads every shard of the event
//! table's stream, hands the handler batches in exactly the Lambda event shape, and honours
//! the partial-batch response the way Lambda does (restart from the reported record; after
//! `max_retries` send the batch's description to the failure destination and move on).
//!
//! The local server is not DynamoDB in one way that matters here: to roll back a cancelled
//! transaction it swaps in a copy of the table, and shard iterators taken before stay on the
//! old copy, which never changes again and even holds the rolled-back put. So the runner keeps
//! a checkpoint per shard (the last record the handler acknowledged), re-opens the iterator
//! from it whenever a read comes back empty, and checks every INSERT against the table before
//! handing it over: a record whose item is not there is not delivered, and the shard is read
//! again from the checkpoint on a fresh iterator. (A record read again at the same place and
//! still not matching is real: its item changed or went since, and it is delivered.)

use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use aws_sdk_dynamodbstreams::Client as StreamsClient;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
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

impl RunnerConfig {
    /// Small batches, short polls: for tests.
    pub fn fast() -> Self {
        RunnerConfig { batch_size: 25, poll_interval: Duration::from_millis(10), ..RunnerConfig::default() }
    }
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
    /// Iterators re-opened from the checkpoint after an empty read.
    pub iterators_reopened: u64,
    /// INSERT records whose item was not in the table (a rolled-back put), not delivered.
    pub phantoms_dropped: u64,
}

struct Shard {
    id: String,
    iterator: Option<String>,
    /// The last record the handler acknowledged (or that was skipped after its retries).
    checkpoint: Option<String>,
    /// Sequence number of a record being retried, and how often it was.
    retrying: Option<(String, u32)>,
    /// A record that did not match the table, held back once.
    suspect: Option<String>,
}

pub struct StreamRunner {
    streams: StreamsClient,
    /// Reads the table back, to check records against it.
    dynamo: aws_sdk_dynamodb::Client,
    table: String,
    stream_arn: String,
    config: RunnerConfig,
    shards: BTreeMap<String, Shard>,
    pub stats: RunnerStats,
}

impl StreamRunner {
    pub async fn new(
        streams: StreamsClient,
        dynamo: aws_sdk_dynamodb::Client,
        stream_arn: String,
        config: RunnerConfig,
    ) -> Result<Self, String> {
        let table = stream_arn
            .split("/stream/")
            .next()
            .and_then(|t| t.rsplit_once(":table/"))
            .map(|(_, name)| name.to_owned())
            .ok_or_else(|| format!("{stream_arn} is not a DynamoDB stream ARN"))?;
        let mut runner = StreamRunner {
            streams,
            dynamo,
            table,
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
                        Shard {
                            id: id.to_owned(),
                            iterator: Some(iterator),
                            checkpoint: None,
                            retrying: None,
                            suspect: None,
                        },
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

    /// One read per shard (two when the first comes back empty); returns the records read,
    /// delivered or held back (retries included).
    async fn poll_once<H, F, E>(&mut self, handler: &H) -> Result<u64, String>
    where
        H: Fn(Value) -> F,
        F: Future<Output = Result<DynamoDbEventResponse, E>>,
        E: std::fmt::Display,
    {
        let mut read = 0;
        let ids: Vec<String> = self.shards.keys().cloned().collect();
        for id in ids {
            let Some((records, next)) = self.read(&id).await? else { continue };
            read += records.len() as u64;
            let genuine = self.genuine(&id, &records).await?;
            let (records, next) = if genuine < records.len() {
                // Stop before it; the shard is read again from the checkpoint, fresh.
                (&records[..genuine], None)
            } else {
                (&records[..], next)
            };
            if records.is_empty() {
                let iterator = self.reopen(&id).await?;
                self.shards.get_mut(&id).expect("known shard").iterator = Some(iterator);
                continue;
            }
            self.stats.batches += 1;
            self.stats.records_delivered += records.len() as u64;
            let event = lambda_event(records, &self.stream_arn);
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
                    let shard = self.shards.get_mut(&id).expect("known shard");
                    shard.retrying = None;
                    shard.checkpoint = Some(last);
                    match next {
                        Some(next) => next,
                        None => self.reopen(&id).await?,
                    }
                }
                Some(at) => {
                    self.stats.partial_failures += 1;
                    // What came before the reported record is acknowledged.
                    if let Some(before) = records.iter().take_while(|r| seq(r) != at).last() {
                        self.shards.get_mut(&id).expect("known shard").checkpoint = Some(seq(before));
                    }
                    self.retry_or_skip(&id, &at, &last, records.len()).await?
                }
            };
            self.shards.get_mut(&id).expect("known shard").iterator = Some(iterator);
        }
        Ok(read)
    }

    /// The next records of a shard. An empty read re-opens the iterator from the checkpoint
    /// and reads once more: the iterator may be on a copy of the table the server dropped.
    /// `None` when the shard is closed.
    async fn read(&mut self, id: &str) -> Result<Option<(Vec<Record>, Option<String>)>, String> {
        let Some(iterator) = self.shards[id].iterator.clone() else { return Ok(None) };
        let (records, next) = self.get_records(iterator).await?;
        if !records.is_empty() || next.is_none() {
            return Ok(Some((records, next)));
        }
        self.stats.iterators_reopened += 1;
        let fresh = self.reopen(id).await?;
        let (records, next) = self.get_records(fresh).await?;
        if records.is_empty() {
            self.shards.get_mut(id).expect("known shard").iterator = next;
            return Ok(None);
        }
        Ok(Some((records, next)))
    }

    async fn get_records(&self, iterator: String) -> Result<(Vec<Record>, Option<String>), String> {
        let out = self
            .streams
            .get_records()
            .shard_iterator(iterator)
            .limit(self.config.batch_size)
            .send()
            .await
            .map_err(|e| format!("GetRecords: {e:?}"))?;
        Ok((out.records.unwrap_or_default(), out.next_shard_iterator))
    }

    /// An iterator right after the shard's checkpoint (from its start without one).
    async fn reopen(&self, id: &str) -> Result<String, String> {
        match self.shards[id].checkpoint.clone() {
            Some(at) => self.iterator(id, ShardIteratorType::AfterSequenceNumber, Some(&at)).await,
            None => self.iterator(id, ShardIteratorType::TrimHorizon, None).await,
        }
    }

    /// How many of `records`, from the first, may be delivered: every INSERT up to there holds
    /// the item the table holds (read back with one consistent BatchGetItem per 100 keys).
    async fn genuine(&mut self, id: &str, records: &[Record]) -> Result<usize, String> {
        let inserts: Vec<(usize, Item, Item)> = records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.event_name().is_some_and(|n| n.as_str() == "INSERT"))
            .filter_map(|(i, r)| {
                let d = r.dynamodb()?;
                Some((i, to_item(d.keys.as_ref()?), to_item(d.new_image.as_ref()?)))
            })
            .collect();
        let stored = self.items(inserts.iter().map(|(_, keys, _)| keys.clone()).collect()).await?;
        for (i, keys, image) in inserts {
            if stored.get(&key_text(&keys)) == Some(&image) {
                continue;
            }
            let position = seq(&records[i]);
            let shard = self.shards.get_mut(id).expect("known shard");
            if shard.suspect.as_deref() == Some(position.as_str()) {
                // Read again from the checkpoint, and still not the table's: a real record
                // whose item changed or went since.
                shard.suspect = None;
                continue;
            }
            warn!(shard = %id, %position, "record not in the table (a rolled-back put); reading the shard again");
            shard.suspect = Some(position);
            self.stats.phantoms_dropped += 1;
            return Ok(i);
        }
        Ok(records.len())
    }

    /// The table's items at `keys`, by key.
    async fn items(&self, keys: Vec<Item>) -> Result<HashMap<String, Item>, String> {
        let mut found = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        let unique: Vec<Item> = keys.into_iter().filter(|key| seen.insert(key_text(key))).collect();
        for chunk in unique.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| e.to_string())?,
            );
            while let Some(request) = pending.take() {
                let out = self
                    .dynamo
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| format!("BatchGetItem: {e:?}"))?;
                for item in out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                    let keys: Item = chunk
                        .first()
                        .map(|k| {
                            k.keys()
                                .filter_map(|name| Some((name.clone(), item.get(name)?.clone())))
                                .collect()
                        })
                        .unwrap_or_default();
                    found.insert(key_text(&keys), item);
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
            }
        }
        Ok(found)
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
        let skipped = self.shards.get_mut(shard).expect("known shard");
        skipped.retrying = None;
        skipped.checkpoint = Some(at.to_owned());
        // Lambda skips the failed batch from the failed record on; the handler reported only
        // the first failure, so continue right after it.
        self.iterator(shard, ShardIteratorType::AfterSequenceNumber, Some(at)).await
    }

    pub fn shard_ids(&self) -> Vec<String> {
        self.shards.values().map(|s| s.id.clone()).collect()
    }
}

type Item = HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// A stream image as a table item.
fn to_item(image: &HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>) -> Item {
    let item: serde_dynamo::Item = image.clone().into();
    item.into()
}

/// A key as text, to look items up by.
fn key_text(keys: &Item) -> String {
    let mut parts: Vec<String> = keys.iter().map(|(name, value)| format!("{name}={value:?}")).collect();
    parts.sort();
    parts.join("&")
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
