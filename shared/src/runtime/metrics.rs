//! The functions' metrics: CloudWatch Embedded Metric Format, one JSON line on stdout that
//! CloudWatch turns into metrics with no API call. One emitter for every function.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;

pub const NAMESPACE: &str = "OrderSnapshots";

/// Where a function's metrics go.
pub struct Metrics {
    function: &'static str,
    /// The stack the function belongs to: two stacks in one account keep their metrics apart.
    stack: String,
    sink: Sink,
}

enum Sink {
    /// EMF lines on stdout (Lambda).
    Emf,
    /// Nowhere: the local runner's console.
    Off,
    /// Kept in memory: tests read what a handler emitted.
    Recorded(Mutex<Vec<BTreeMap<&'static str, u64>>>),
}

impl Metrics {
    /// EMF on stdout, dimensioned by `stack` and `function`.
    pub fn emf(function: &'static str, stack: &str) -> Self {
        Metrics { function, stack: stack.to_owned(), sink: Sink::Emf }
    }

    pub fn off(function: &'static str) -> Self {
        Metrics { function, stack: String::new(), sink: Sink::Off }
    }

    pub fn recorded(function: &'static str) -> Self {
        Metrics { function, stack: String::new(), sink: Sink::Recorded(Mutex::default()) }
    }

    /// Emits one set of counts (one batch or run).
    pub fn emit(&self, metrics: &[(&'static str, u64)]) {
        match &self.sink {
            // EMF must be a line of its own on stdout, not inside a tracing record.
            Sink::Emf => println!("{}", emf_line(&self.stack, self.function, now_ms(), metrics)),
            Sink::Off => {}
            Sink::Recorded(all) => all.lock().expect("metrics lock").push(metrics.iter().copied().collect()),
        }
    }

    /// The last set emitted (recorded metrics only).
    pub fn last(&self) -> Option<BTreeMap<&'static str, u64>> {
        self.all().pop()
    }

    /// Every set emitted, in order (recorded metrics only).
    pub fn all(&self) -> Vec<BTreeMap<&'static str, u64>> {
        match &self.sink {
            Sink::Recorded(all) => all.lock().expect("metrics lock").clone(),
            _ => Vec::new(),
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// One EMF line: `metrics` (name, count) under `NAMESPACE`, dimensioned by `Stack` and
/// `Function`.
pub fn emf_line(stack: &str, function: &str, timestamp_ms: i64, metrics: &[(&str, u64)]) -> String {
    let definitions: Vec<Value> =
        metrics.iter().map(|(name, _)| json!({ "Name": name, "Unit": "Count" })).collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Stack", "Function"]],
                "Metrics": definitions,
            }],
        }),
    );
    root.insert("Stack".into(), json!(stack));
    root.insert("Function".into(), json!(function));
    for (name, value) in metrics {
        root.insert((*name).into(), json!(value));
    }
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_declares_and_carries_each_metric() {
        let metrics = [("SnapshotsWritten", 3), ("RecordsFailed", 0)];
        let line = emf_line("orders-prod", "snapshot-stream", 1_700_000_000_000, &metrics);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], NAMESPACE);
        assert_eq!(cw["Dimensions"], json!([["Stack", "Function"]]));
        assert_eq!(v["Stack"], "orders-prod");
        assert_eq!(cw["Metrics"][0], json!({"Name": "SnapshotsWritten", "Unit": "Count"}));
        assert_eq!(v["Function"], "snapshot-stream");
        assert_eq!(v["SnapshotsWritten"], 3);
        assert_eq!(v["RecordsFailed"], 0);
    }

    #[test]
    fn recorded_metrics_keep_each_emission() {
        let metrics = Metrics::recorded("snapshot-stream");
        assert_eq!(metrics.last(), None);
        metrics.emit(&[("Records", 2)]);
        metrics.emit(&[("Records", 5), ("OrdersFailed", 1)]);
        let last = metrics.last().unwrap();
        assert_eq!((last["Records"], last["OrdersFailed"]), (5, 1));
        assert_eq!(Metrics::off("x").last(), None);
    }
}
