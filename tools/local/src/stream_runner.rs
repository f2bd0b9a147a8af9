//! The local stand-in for Lambda's DynamoDB stream poller, configured by the template's event
//! source mapping ([`EventSource`]: read from template.yaml, never a second copy). It reads
//! every shard of the event table's stream and, per shard, in order:
//! - drops records no filter pattern matches, before batching: the function never sees them
//!   and they are never retried;
//! - gathers up to `BatchSize` records, waiting at most the batching window for a short one;
//! - discards records older than the maximum record age unprocessed;
//! - invokes the handler with exactly Lambda's event, and honours its answer as Lambda does:
//!   with `ReportBatchItemFailures`, the records before the lowest reported sequence number
//!   are done and the rest is retried (an empty, null or unknown identifier fails the whole
//!   batch); without it, the answer is ignored; a function error, with bisection on, splits
//!   the batch in two (which does not count as a retry), else retries it;
//! - after `MaximumRetryAttempts` retries, discards the batch and writes the message Lambda
//!   sends to the on-failure destination (`requestContext`, `responseContext`,
//!   `DDBStreamBatchInfo`) as one JSON line.
//!
//! The local server is not DynamoDB in one way that matters here: to roll back a cancelled
//! transaction it swaps in a copy of the table, and shard iterators taken before stay on the
//! old copy, which never changes again and even holds the rolled-back put. So the runner
//! re-opens the iterator after the last record it read whenever a read comes back empty, and
//! checks every INSERT against the table before taking it: a record whose item is not there
//! is not taken, and the shard is read again on a fresh iterator. (A record read again at the
//! same place and still not matching is real: its item changed or went since.)

use crate::event_filter;
use crate::event_source::EventSource;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use aws_sdk_dynamodbstreams::Client as StreamsClient;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tracing::{info, warn};

/// The function the runner invokes, as Lambda names it in a failure record.
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:SnapshotStreamFunction";

#[derive(Clone)]
pub struct RunnerConfig {
    /// The event source mapping (template.yaml's).
    pub source: EventSource,
    /// How long an idle shard rests before it is read again (Lambda reads 4 times a second).
    pub poll_interval: Duration,
    /// Where discarded batches are described, one JSON line each: the message Lambda sends to
    /// the on-failure destination. `None`: only logged.
    pub failure_destination: Option<PathBuf>,
    /// The time records' ages are judged by (tests move it forward).
    pub now: Arc<dyn Fn() -> SystemTime + Send + Sync>,
}

impl std::fmt::Debug for RunnerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerConfig")
            .field("source", &self.source)
            .field("poll_interval", &self.poll_interval)
            .field("failure_destination", &self.failure_destination)
            .finish()
    }
}

impl RunnerConfig {
    /// The template's event source, polled as Lambda polls (4 times a second).
    pub fn from_template() -> Result<Self, String> {
        Ok(RunnerConfig {
            source: EventSource::from_repository_template()?,
            poll_interval: Duration::from_millis(250),
            failure_destination: None,
            now: Arc::new(SystemTime::now),
        })
    }

    /// The template's event source, polled often: for tests.
    pub fn fast() -> Self {
        RunnerConfig {
            poll_interval: Duration::from_millis(10),
            ..Self::from_template().expect("template.yaml")
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunnerStats {
    pub batches: u64,
    pub records_delivered: u64,
    /// Records no filter pattern matched: never delivered.
    pub records_filtered: u64,
    pub partial_failures: u64,
    pub handler_errors: u64,
    /// Failed batches split in two.
    pub bisections: u64,
    pub sent_to_failure_destination: u64,
    /// Records discarded unprocessed for their age.
    pub records_expired: u64,
    /// Iterators re-opened after an empty read.
    pub iterators_reopened: u64,
    /// INSERT records whose item was not in the table (a rolled-back put), not taken.
    pub phantoms_dropped: u64,
}

/// A record read and past the filter, waiting for its batch.
struct Taken {
    sequence: String,
    /// `ApproximateCreationDateTime`, seconds.
    arrival: Option<i64>,
    event: Value,
}

struct Shard {
    id: String,
    iterator: Option<String>,
    /// The last record read from the stream (taken or filtered out).
    read_up_to: Option<String>,
    /// Taken, not yet done, in stream order.
    taken: VecDeque<Taken>,
    /// When the oldest of `taken` was read: the batching window runs from there.
    gathering_since: Option<Instant>,
    /// Failed invocations of the batch at the head of `taken` (its first is not a retry).
    attempts: u32,
    /// Batches already formed at the head of `taken`, by size, in the order they go: a failed
    /// batch being retried, or the halves of a bisected one.
    queued: VecDeque<usize>,
    /// A record that did not match the table, held back once.
    suspect: Option<String>,
}

impl Shard {
    /// Removes the first `count` taken records, and them from the batches formed at the head.
    fn take_front(&mut self, count: usize) -> Vec<Taken> {
        let taken: Vec<Taken> = self.taken.drain(..count).collect();
        let mut left = count;
        while left > 0 {
            let Some(front) = self.queued.front_mut() else { break };
            let used = left.min(*front);
            *front -= used;
            left -= used;
            if *front == 0 {
                self.queued.pop_front();
            }
        }
        self.gathering_since = (!self.taken.is_empty()).then(Instant::now);
        taken
    }
}

/// How one invocation ended, for the records of its batch.
enum Verdict {
    /// Every record is done.
    Done,
    /// The records before this index are done; the rest failed (a partial batch response).
    FailedFrom(usize),
    /// The whole batch failed (a function error, or an answer Lambda reads as one).
    Failed,
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

    /// New shards start at the oldest record still in the stream (TRIM_HORIZON).
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
                            read_up_to: None,
                            taken: VecDeque::new(),
                            gathering_since: None,
                            attempts: 0,
                            queued: VecDeque::new(),
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
            if self.poll_once(&handler).await? == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(self.config.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
                self.discover_shards().await?;
            }
        }
        Ok(())
    }

    /// Polls until nothing is left to read or to deliver (the batching window is waited out).
    pub async fn run_until_idle<H, F, E>(&mut self, handler: H) -> Result<(), String>
    where
        H: Fn(Value) -> F,
        F: Future<Output = Result<DynamoDbEventResponse, E>>,
        E: std::fmt::Display,
    {
        self.discover_shards().await?;
        loop {
            let progress = self.poll_once(&handler).await?;
            if progress == 0 {
                if self.shards.values().all(|s| s.taken.is_empty()) {
                    return Ok(());
                }
                tokio::time::sleep(self.config.poll_interval.min(Duration::from_millis(50))).await;
            }
        }
    }

    /// One read per shard that has room, then an invocation per shard whose batch is ready;
    /// returns the records read and the records settled (done, discarded).
    async fn poll_once<H, F, E>(&mut self, handler: &H) -> Result<u64, String>
    where
        H: Fn(Value) -> F,
        F: Future<Output = Result<DynamoDbEventResponse, E>>,
        E: std::fmt::Display,
    {
        let mut progress = 0;
        let ids: Vec<String> = self.shards.keys().cloned().collect();
        for id in ids {
            if self.shards[&id].taken.len() < self.config.source.batch_size {
                progress += self.fill(&id).await?;
            }
            progress += self.expire(&id)?;
            if let Some(size) = self.ready(&id) {
                progress += self.invoke(&id, size, handler).await?;
            }
        }
        Ok(progress)
    }

    /// Reads the shard's next records; takes those that pass the filter. Returns how many
    /// were read.
    async fn fill(&mut self, id: &str) -> Result<u64, String> {
        let room = self.config.source.batch_size - self.shards[id].taken.len();
        let Some((records, next)) = self.read(id, room).await? else { return Ok(0) };
        let genuine = self.genuine(id, &records).await?;
        let shard = self.shards.get_mut(id).expect("known shard");
        for record in &records[..genuine] {
            let sequence = seq(record);
            shard.read_up_to = Some(sequence.clone());
            let event = lambda_record(record, &self.stream_arn);
            if !event_filter::passes(&self.config.source.filters, &event) {
                self.stats.records_filtered += 1;
                continue;
            }
            let arrival =
                record.dynamodb().and_then(|d| d.approximate_creation_date_time()).map(|t| t.secs());
            shard.gathering_since.get_or_insert_with(Instant::now);
            shard.taken.push_back(Taken { sequence, arrival, event });
        }
        if genuine < records.len() {
            // read again after what was taken, on a fresh iterator
            let fresh = self.reopen(id).await?;
            self.shards.get_mut(id).expect("known shard").iterator = Some(fresh);
        } else {
            shard.iterator = next;
        }
        Ok(records.len() as u64)
    }

    /// Discards the records at the head that passed the maximum record age, as Lambda does
    /// before an invocation; returns how many.
    fn expire(&mut self, id: &str) -> Result<u64, String> {
        let Some(age) = self.config.source.max_record_age else { return Ok(0) };
        let now = (self.config.now)().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?.as_secs() as i64;
        let shard = &self.shards[id];
        let expired = shard
            .taken
            .iter()
            .take_while(|t| t.arrival.is_some_and(|a| now - a > age.as_secs() as i64))
            .count();
        if expired == 0 {
            return Ok(0);
        }
        warn!(shard = %id, expired, "records past the maximum record age discarded");
        self.stats.records_expired += expired as u64;
        self.discard(id, expired, "RecordAgeExceeded", None)?;
        Ok(expired as u64)
    }

    /// The size of the batch to invoke now, if one is ready: one already formed (a retry, a
    /// half of a bisected batch), a full batch, or the batching window passed.
    fn ready(&self, id: &str) -> Option<usize> {
        let shard = &self.shards[id];
        let source = &self.config.source;
        if shard.taken.is_empty() {
            return None;
        }
        if let Some(formed) = shard.queued.front() {
            return Some((*formed).min(shard.taken.len()));
        }
        let full = shard.taken.len() >= source.batch_size;
        let waited = shard.gathering_since.is_none_or(|since| since.elapsed() >= source.batching_window);
        (full || waited).then(|| shard.taken.len().min(source.batch_size))
    }

    /// Invokes the handler with the first `size` taken records and settles them by its answer.
    async fn invoke<H, F, E>(&mut self, id: &str, size: usize, handler: &H) -> Result<u64, String>
    where
        H: Fn(Value) -> F,
        F: Future<Output = Result<DynamoDbEventResponse, E>>,
        E: std::fmt::Display,
    {
        let batch: Vec<Value> = self.shards[id].taken.iter().take(size).map(|t| t.event.clone()).collect();
        let sequences: Vec<String> =
            self.shards[id].taken.iter().take(size).map(|t| t.sequence.clone()).collect();
        self.stats.batches += 1;
        self.stats.records_delivered += size as u64;
        let (verdict, function_error) = match handler(json!({ "Records": batch })).await {
            Err(e) => {
                warn!(shard = %id, error = %e, "the function failed the whole batch");
                self.stats.handler_errors += 1;
                (Verdict::Failed, true)
            }
            Ok(_) if !self.config.source.report_batch_item_failures => (Verdict::Done, false),
            Ok(response) => (verdict(&response, &sequences), false),
        };
        match verdict {
            Verdict::Done => {
                self.settle(id, size);
                Ok(size as u64)
            }
            Verdict::FailedFrom(done) => {
                // the records before the reported one are done; the rest of the batch is retried
                self.stats.partial_failures += 1;
                self.form(id, size);
                if done > 0 {
                    self.settle(id, done);
                }
                self.failed(id, size - done, function_error).await?;
                Ok(done as u64)
            }
            Verdict::Failed if function_error && self.config.source.bisect_on_error && size > 1 => {
                // split in two, each half its own batch (splitting is not a retry)
                self.stats.bisections += 1;
                let shard = self.shards.get_mut(id).expect("known shard");
                if !shard.queued.is_empty() {
                    shard.queued.pop_front();
                }
                shard.queued.push_front(size / 2);
                shard.queued.push_front(size.div_ceil(2));
                info!(shard = %id, size, "batch bisected after a function error");
                Ok(0)
            }
            Verdict::Failed => {
                self.form(id, size);
                self.failed(id, size, function_error).await?;
                Ok(0)
            }
        }
    }

    /// The batch of `size` just invoked stays formed at the head (it failed and is retried).
    fn form(&mut self, id: &str, size: usize) {
        let shard = self.shards.get_mut(id).expect("known shard");
        if shard.queued.is_empty() {
            shard.queued.push_front(size);
        }
    }

    /// The first `count` taken records are done.
    fn settle(&mut self, id: &str, count: usize) {
        let shard = self.shards.get_mut(id).expect("known shard");
        shard.take_front(count);
        shard.attempts = 0;
    }

    /// The batch of `size` records at the head failed: retried, or discarded once the retries
    /// are spent.
    async fn failed(&mut self, id: &str, size: usize, function_error: bool) -> Result<(), String> {
        let shard = self.shards.get_mut(id).expect("known shard");
        shard.attempts += 1;
        let retries = shard.attempts - 1;
        if self.config.source.max_retries.is_some_and(|max| retries >= max) {
            warn!(shard = %id, attempts = shard.attempts, "retries exhausted; batch discarded to the on-failure destination");
            self.discard(id, size, "RetryAttemptsExhausted", Some(function_error))?;
            return Ok(());
        }
        // the batch stays formed at the head and is retried as it is
        info!(shard = %id, at = %shard.taken[0].sequence, attempts = shard.attempts, "retrying the batch from its first failed record");
        tokio::time::sleep(self.config.poll_interval).await;
        Ok(())
    }

    /// Drops the first `count` taken records and describes them to the on-failure destination
    /// in the message Lambda sends there.
    fn discard(
        &mut self,
        id: &str,
        count: usize,
        condition: &str,
        function_error: Option<bool>,
    ) -> Result<(), String> {
        let shard = self.shards.get_mut(id).expect("known shard");
        let dropped = shard.take_front(count);
        let invokes = shard.attempts;
        shard.attempts = 0;
        self.stats.sent_to_failure_destination += 1;
        let (first, last) = (&dropped[0], &dropped[dropped.len() - 1]);
        let arrival =
            |t: &Taken| t.arrival.map(|secs| iso8601(UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64)));
        let mut response = json!({ "statusCode": 200, "executedVersion": "$LATEST" });
        if function_error == Some(true) {
            response["functionError"] = json!("Unhandled");
        }
        let message = json!({
            "requestContext": {
                "requestId": uuid::Uuid::new_v4().to_string(),
                "functionArn": FUNCTION_ARN,
                "condition": condition,
                "approximateInvokeCount": invokes,
            },
            "responseContext": if function_error.is_some() { response } else { Value::Null },
            "version": "1.0",
            "timestamp": iso8601((self.config.now)()),
            "DDBStreamBatchInfo": {
                "shardId": id,
                "startSequenceNumber": first.sequence,
                "endSequenceNumber": last.sequence,
                "approximateArrivalOfFirstRecord": arrival(first),
                "approximateArrivalOfLastRecord": arrival(last),
                "batchSize": dropped.len(),
                "streamArn": self.stream_arn,
            },
        });
        if !self.config.source.on_failure {
            return Ok(());
        }
        if let Some(path) = &self.config.failure_destination {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("open {}: {e}", path.display()))?;
            writeln!(file, "{message}").map_err(|e| format!("write {}: {e}", path.display()))?;
        }
        Ok(())
    }

    /// Up to `limit` next records of a shard. An empty read re-opens the iterator after the
    /// last record read and reads once more: the iterator may be on a copy of the table the
    /// server dropped. `None` when there is nothing (or the shard is closed).
    async fn read(
        &mut self,
        id: &str,
        limit: usize,
    ) -> Result<Option<(Vec<Record>, Option<String>)>, String> {
        let Some(iterator) = self.shards[id].iterator.clone() else { return Ok(None) };
        let (records, next) = self.get_records(iterator, limit).await?;
        if !records.is_empty() || next.is_none() {
            return Ok(Some((records, next)));
        }
        self.stats.iterators_reopened += 1;
        let fresh = self.reopen(id).await?;
        let (records, next) = self.get_records(fresh, limit).await?;
        if records.is_empty() {
            self.shards.get_mut(id).expect("known shard").iterator = next;
            return Ok(None);
        }
        Ok(Some((records, next)))
    }

    async fn get_records(
        &self,
        iterator: String,
        limit: usize,
    ) -> Result<(Vec<Record>, Option<String>), String> {
        let out = self
            .streams
            .get_records()
            .shard_iterator(iterator)
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(|e| format!("GetRecords: {e:?}"))?;
        Ok((out.records.unwrap_or_default(), out.next_shard_iterator))
    }

    /// An iterator right after the last record read (from the shard's start before any).
    async fn reopen(&self, id: &str) -> Result<String, String> {
        match self.shards[id].read_up_to.clone() {
            Some(at) => self.iterator(id, ShardIteratorType::AfterSequenceNumber, Some(&at)).await,
            None => self.iterator(id, ShardIteratorType::TrimHorizon, None).await,
        }
    }

    /// How many of `records`, from the first, may be taken: every INSERT up to there holds
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
                // Read again from the same place, and still not the table's: a real record
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

    pub fn shard_ids(&self) -> Vec<String> {
        self.shards.values().map(|s| s.id.clone()).collect()
    }
}

/// How Lambda reads a partial batch response for a batch of these sequence numbers: none
/// failed, the lowest failed one, or (an empty, null or unknown identifier) all.
fn verdict(response: &DynamoDbEventResponse, sequences: &[String]) -> Verdict {
    let mut lowest = None;
    for failure in &response.batch_item_failures {
        let position = failure
            .item_identifier
            .as_deref()
            .filter(|id| !id.is_empty())
            .and_then(|id| sequences.iter().position(|s| s == id));
        match position {
            Some(p) => lowest = Some(lowest.map_or(p, |l: usize| l.min(p))),
            None => return Verdict::Failed,
        }
    }
    lowest.map_or(Verdict::Done, Verdict::FailedFrom)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC), as Lambda writes times in failure records.
fn iso8601(t: SystemTime) -> String {
    use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    DateTime::from_secs(secs).fmt(DateTimeFormat::DateTime).expect("a time since 1970 formats")
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
