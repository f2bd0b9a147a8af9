//! CloudWatch Embedded Metric Format: one JSON line on stdout becomes metrics, no API calls.

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "OrderSnapshots";

/// One EMF line: `metrics` (name, count) under `NAMESPACE`, dimensioned by `Function`.
pub fn emf_line(function: &str, timestamp_ms: i64, metrics: &[(&str, u64)]) -> String {
    let definitions: Vec<Value> =
        metrics.iter().map(|(name, _)| json!({ "Name": name, "Unit": "Count" })).collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": definitions,
            }],
        }),
    );
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
        let line =
            emf_line("snapshot-stream", 1_700_000_000_000, &[("SnapshotsWritten", 3), ("RecordsFailed", 0)]);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], NAMESPACE);
        assert_eq!(cw["Dimensions"], json!([["Function"]]));
        assert_eq!(cw["Metrics"][0], json!({"Name": "SnapshotsWritten", "Unit": "Count"}));
        assert_eq!(v["Function"], "snapshot-stream");
        assert_eq!(v["SnapshotsWritten"], 3);
        assert_eq!(v["RecordsFailed"], 0);
    }
}
