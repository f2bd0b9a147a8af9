//! The model's one input file, `tools/capacity/inputs.json`: the prices (read on a stated date), the
//! order mix (what a retailer's traffic looks like: an assumption, stated), and the figures
//! `make bench` measured on this code, which the bench rewrites after each run so the model
//! follows the code.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Inputs {
    pub prices: Prices,
    pub mix: Mix,
    /// Written by `make bench`; absent until it has run.
    #[serde(default)]
    pub measured: Measured,
}

/// Published on-demand prices, us-east-1, USD. Free tiers are left out: at these volumes they
/// are noise, and at the smallest tier they would hide what the traffic costs.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Prices {
    pub region: String,
    /// When these were read off the pages in `sources`.
    pub read_on: String,
    pub sources: Vec<String>,
    pub lambda_requests_per_million: f64,
    /// arm64, first tier (up to 7.5 billion GB-s a month).
    pub lambda_arm_gb_second: f64,
    pub dynamodb_write_units_per_million: f64,
    pub dynamodb_read_units_per_million: f64,
    pub dynamodb_storage_gb_month: f64,
    pub logs_ingest_per_gb: f64,
    pub xray_traces_recorded_per_million: f64,
    pub cloudwatch_alarm_month: f64,
    pub api_gateway_rest_requests_per_million: f64,
}

/// The traffic: an assumption about the retailer, not a measurement.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Mix {
    /// Kinds of order, by share of orders.
    pub orders: Vec<OrderClass>,
    /// Loads by the Order Service (with this library) per event appended: each command loads
    /// the order before appending, and reads come on top.
    pub loads_per_event: f64,
    /// Events per append (more than one costs a transaction: twice the write units).
    pub events_per_append: f64,
    /// Orders that receive events at the same time, per event/s of traffic (the Zipf
    /// population the simulation draws from).
    pub active_orders_per_event_per_second: f64,
    /// Zipf exponent of order popularity among the active orders.
    pub zipf_exponent: f64,
    /// A burst: traffic times `factor` for `seconds` (a sale opening, a batch import).
    pub burst_factor: f64,
    pub burst_seconds: f64,
    /// DynamoDB request latency in the region, as seen from Lambda (log-normal).
    pub dynamodb_latency_median_ms: f64,
    pub dynamodb_latency_p99_ms: f64,
    /// Months of events kept in the event table (it never deletes them): its size decides
    /// its partitions, and so the stream's shards.
    pub history_months: f64,
    /// Admin API calls a month (operators, rebuild jobs).
    pub admin_requests_per_month: f64,
    /// The account's Lambda concurrency quota in the region (1,000 unless raised).
    pub account_concurrency: f64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct OrderClass {
    pub name: String,
    pub share_of_orders: f64,
    pub events_per_order: f64,
    /// From first to last event.
    pub lifetime_hours: f64,
}

/// What `make bench` measured. Each part is written by the bench part that measures it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Measured {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<BenchRun>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamMeasured>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loads: Vec<LoadMeasured>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuMeasured>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs: Option<LogsMeasured>,
}

/// Which bench run wrote these figures.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct BenchRun {
    pub date: String,
    pub commit: String,
    pub quick: bool,
    /// The parts that ran (a `--only` run updates just its own).
    pub parts: Vec<String>,
}

/// The stream function on one batch (cold container) and the next (warm).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct StreamMeasured {
    pub records_per_batch: u64,
    pub orders_per_batch: u64,
    pub cold_requests_per_record: f64,
    pub warm_requests_per_record: f64,
    /// Read requests for an order the container does not hold (snapshot and newest events).
    pub cold_reads_per_order: f64,
    pub warm_reads_per_order: f64,
    pub writes_per_snapshot: f64,
}

/// One speculative load and one full replay of an order of `events` events, its snapshot as
/// far behind as the stream leaves it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct LoadMeasured {
    pub events: u64,
    pub items: u64,
    pub bytes: u64,
    /// Read units of the whole load; `snapshot_read_units` of them on the snapshot table.
    pub read_units: f64,
    pub snapshot_read_units: f64,
    pub critical_round_trips: u32,
    pub replay_items: u64,
    pub replay_read_units: f64,
}

/// CPU in this process (release build, one core), per step of the stream function.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CpuMeasured {
    /// Parsing Lambda's event: the fixed part, and per record.
    pub per_batch_us: f64,
    pub per_record_us: f64,
    /// A cold order: its snapshot item checked and decoded, its tail's items decoded.
    pub per_cold_order_us: f64,
    /// One event folded onto a state.
    pub per_event_folded_us: f64,
    /// Stored bytes of an event item and of a snapshot item (the bench order's).
    pub event_item_bytes: u64,
    pub snapshot_item_bytes: u64,
}

/// The stream function's own log lines per 1,000 events, as deployed (JSON).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct LogsMeasured {
    pub bytes_per_1000_events_detailed: f64,
    pub bytes_per_1000_events_quiet: f64,
}

/// The measured figures the model needs, or which part of `make bench` has not written them.
pub struct Complete<'a> {
    pub stream: &'a StreamMeasured,
    pub loads: &'a [LoadMeasured],
    pub cpu: &'a CpuMeasured,
    pub logs: &'a LogsMeasured,
}

#[derive(Debug, thiserror::Error)]
pub enum InputsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid inputs: {source}")]
    Parse { path: PathBuf, source: serde_path_to_error::Error<serde_json::Error> },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
    #[error(
        "{path} has no measured {part} figures yet: run `make bench` (or `make bench BENCH_ARGS=\"--only {part}\"`)"
    )]
    NotMeasured { path: PathBuf, part: &'static str },
}

/// Where the inputs live in the repository.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs.json")
}

impl Inputs {
    pub fn read(path: &Path) -> Result<Inputs, InputsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| InputsError::Read { path: path.to_owned(), source })?;
        let inputs: Inputs = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(&text))
            .map_err(|source| InputsError::Parse { path: path.to_owned(), source })?;
        inputs.mix.validate()?;
        inputs.prices.validate()?;
        Ok(inputs)
    }

    pub fn write(&self, path: &Path) -> Result<(), InputsError> {
        let mut text = serde_json::to_string_pretty(self).expect("inputs serialize");
        text.push('\n');
        std::fs::write(path, text).map_err(|source| InputsError::Write { path: path.to_owned(), source })
    }

    /// Every measured part, or the first one missing.
    pub fn complete(&self, path: &Path) -> Result<Complete<'_>, InputsError> {
        let missing = |part| InputsError::NotMeasured { path: path.to_owned(), part };
        let m = &self.measured;
        Ok(Complete {
            stream: m.stream.as_ref().ok_or_else(|| missing("stream"))?,
            loads: if m.loads.is_empty() { return Err(missing("load")) } else { &m.loads },
            cpu: m.cpu.as_ref().ok_or_else(|| missing("profile"))?,
            logs: m.logs.as_ref().ok_or_else(|| missing("logs"))?,
        })
    }
}

impl Complete<'_> {
    /// The measured load that stands for the stream's cold loads: the longest history's (a
    /// bounded load of an order within its read-ahead of the newest snapshot).
    pub fn stream_load(&self) -> &LoadMeasured {
        self.loads.iter().max_by_key(|l| l.events).expect("measured loads are never empty")
    }

    /// Round trips a cold order's load waits for (reads sent together count once).
    pub fn cold_round_trips(&self) -> f64 {
        f64::from(self.stream_load().critical_round_trips)
    }
}

impl Prices {
    pub fn validate(&self) -> Result<(), InputsError> {
        let prices = [
            ("lambda_requests_per_million", self.lambda_requests_per_million),
            ("lambda_arm_gb_second", self.lambda_arm_gb_second),
            ("dynamodb_write_units_per_million", self.dynamodb_write_units_per_million),
            ("dynamodb_read_units_per_million", self.dynamodb_read_units_per_million),
            ("dynamodb_storage_gb_month", self.dynamodb_storage_gb_month),
            ("logs_ingest_per_gb", self.logs_ingest_per_gb),
            ("xray_traces_recorded_per_million", self.xray_traces_recorded_per_million),
            ("cloudwatch_alarm_month", self.cloudwatch_alarm_month),
            ("api_gateway_rest_requests_per_million", self.api_gateway_rest_requests_per_million),
        ];
        match prices.iter().find(|(_, usd)| !usd.is_finite() || *usd < 0.0) {
            Some((name, usd)) => {
                Err(InputsError::Invalid(format!("prices.{name} must be a price, not {usd}")))
            }
            None if self.read_on.is_empty() => {
                Err(InputsError::Invalid("prices.read_on: when were they read?".into()))
            }
            None => Ok(()),
        }
    }
}

impl Mix {
    pub fn validate(&self) -> Result<(), InputsError> {
        let share: f64 = self.orders.iter().map(|c| c.share_of_orders).sum();
        if self.orders.is_empty() || (share - 1.0).abs() > 1e-6 {
            return Err(InputsError::Invalid(format!("mix.orders: shares of orders sum to {share}, not 1")));
        }
        if let Some(c) = self.orders.iter().find(|c| c.events_per_order < 1.0 || c.lifetime_hours <= 0.0) {
            return Err(InputsError::Invalid(format!(
                "mix.orders {:?}: needs at least one event and a positive lifetime",
                c.name
            )));
        }
        let positive = [
            ("events_per_append", self.events_per_append),
            ("active_orders_per_event_per_second", self.active_orders_per_event_per_second),
            ("burst_factor", self.burst_factor),
            ("dynamodb_latency_median_ms", self.dynamodb_latency_median_ms),
            ("account_concurrency", self.account_concurrency),
        ];
        if let Some((name, value)) = positive.iter().find(|(_, v)| v.is_nan() || *v <= 0.0) {
            return Err(InputsError::Invalid(format!("mix.{name} must be positive, not {value}")));
        }
        if self.dynamodb_latency_p99_ms < self.dynamodb_latency_median_ms {
            return Err(InputsError::Invalid("mix: the latency p99 is below its median".into()));
        }
        Ok(())
    }

    /// Mean events per order.
    pub fn events_per_order(&self) -> f64 {
        self.orders.iter().map(|c| c.share_of_orders * c.events_per_order).sum()
    }
}
