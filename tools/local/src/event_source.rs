//! The stream function's event source mapping, read from template.yaml: the one place its
//! numbers live. The local runner takes its settings from here and refuses to start on a
//! property it does not emulate, so what runs locally is what deploys.

use crate::event_filter::Pattern;
use serde_yaml_ng::Value;
use std::time::Duration;

/// The template's stream function and its DynamoDB event.
pub const STREAM_FUNCTION: &str = "SnapshotStreamFunction";

/// What Lambda's poller does for the stream function, as the template configures it.
#[derive(Clone, Debug, PartialEq)]
pub struct EventSource {
    /// Records per invocation at most (`BatchSize`).
    pub batch_size: usize,
    /// How long records are gathered before a batch short of `batch_size` is invoked
    /// (`MaximumBatchingWindowInSeconds`).
    pub batching_window: Duration,
    /// Records that reach the function: any pattern matching (`FilterCriteria`); none, all.
    pub filters: Vec<Pattern>,
    /// Whether the function's `batchItemFailures` answer is read (`FunctionResponseTypes`).
    pub report_batch_item_failures: bool,
    /// A function error splits the batch in two (`BisectBatchOnFunctionError`).
    pub bisect_on_error: bool,
    /// Retries of a failing batch before it is discarded (`MaximumRetryAttempts`; `None`:
    /// until the records expire).
    pub max_retries: Option<u32>,
    /// Records older than this are discarded unprocessed (`MaximumRecordAgeInSeconds`).
    pub max_record_age: Option<Duration>,
    /// Discarded batches are described to an on-failure destination (`DestinationConfig`).
    pub on_failure: bool,
}

/// `Enabled: true`, or `!If [StreamReaderOn, true, false]`: enabled with the stack's default
/// parameters, which the local stack is deployed with (a green stack's disabled reader is not
/// emulated).
fn enabled_as_deployed_by_default(value: &Value) -> bool {
    if value.as_bool() == Some(true) {
        return true;
    }
    match value {
        Value::Tagged(tagged) if tagged.tag == "If" => tagged
            .value
            .as_sequence()
            .is_some_and(|branches| branches.get(1).and_then(Value::as_bool) == Some(true)),
        _ => false,
    }
}

impl EventSource {
    /// The stream function's DynamoDB event source in `template.yaml`.
    pub fn from_repository_template() -> Result<EventSource, String> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        EventSource::from_template(&text)
    }

    /// The stream function's DynamoDB event source in a template's text.
    pub fn from_template(text: &str) -> Result<EventSource, String> {
        let template: Value = serde_yaml_ng::from_str(text).map_err(|e| format!("template: {e}"))?;
        let events = template["Resources"][STREAM_FUNCTION]["Properties"]["Events"]
            .as_mapping()
            .ok_or_else(|| format!("{STREAM_FUNCTION} has no Events"))?;
        let streams: Vec<&Value> = events.values().filter(|e| e["Type"] == "DynamoDB").collect();
        let [event] = streams[..] else {
            return Err(format!(
                "{STREAM_FUNCTION} must have exactly one DynamoDB event, has {}",
                streams.len()
            ));
        };
        let mut source = EventSource {
            batch_size: 100,
            batching_window: Duration::ZERO,
            filters: Vec::new(),
            report_batch_item_failures: false,
            bisect_on_error: false,
            max_retries: None,
            max_record_age: None,
            on_failure: false,
        };
        let properties = event["Properties"].as_mapping().ok_or("the DynamoDB event has no Properties")?;
        for (key, value) in properties {
            let key = key.as_str().ok_or("a property name that is not text")?;
            let number =
                || value.as_u64().ok_or_else(|| format!("{key} must be a whole number, is {value:?}"));
            let flag = || value.as_bool().ok_or_else(|| format!("{key} must be true or false, is {value:?}"));
            match key {
                // the local table's stream: what the template names is the deployed one
                "Stream" => {}
                "StartingPosition" if value == "TRIM_HORIZON" => {}
                "Enabled" if enabled_as_deployed_by_default(value) => {}
                "ParallelizationFactor" if value.as_u64() == Some(1) => {}
                "BatchSize" => source.batch_size = number()? as usize,
                "MaximumBatchingWindowInSeconds" => source.batching_window = Duration::from_secs(number()?),
                "BisectBatchOnFunctionError" => source.bisect_on_error = flag()?,
                "MaximumRetryAttempts" => {
                    source.max_retries = match value.as_i64() {
                        Some(-1) => None,
                        Some(n) if n >= 0 => Some(n as u32),
                        _ => return Err(format!("{key} must be -1 or more, is {value:?}")),
                    }
                }
                "MaximumRecordAgeInSeconds" => {
                    source.max_record_age = match value.as_i64() {
                        Some(-1) => None,
                        Some(n) if n >= 0 => Some(Duration::from_secs(n as u64)),
                        _ => return Err(format!("{key} must be -1 or more, is {value:?}")),
                    }
                }
                "FunctionResponseTypes" => {
                    let types = value.as_sequence().ok_or("FunctionResponseTypes must be a list")?;
                    for t in types {
                        match t.as_str() {
                            Some("ReportBatchItemFailures") => source.report_batch_item_failures = true,
                            other => {
                                return Err(format!(
                                    "the local runner does not emulate the response type {other:?}"
                                ));
                            }
                        }
                    }
                }
                "FilterCriteria" => {
                    let filters =
                        value["Filters"].as_sequence().ok_or("FilterCriteria.Filters must be a list")?;
                    for filter in filters {
                        let pattern = filter["Pattern"].as_str().ok_or("a filter without a Pattern")?;
                        source.filters.push(Pattern::parse(pattern)?);
                    }
                }
                "DestinationConfig" => {
                    let on_failure = &value["OnFailure"];
                    match on_failure["Type"].as_str() {
                        Some("SQS") | Some("SNS") => source.on_failure = true,
                        other => {
                            return Err(format!(
                                "the local runner does not emulate an OnFailure destination of type {other:?}"
                            ));
                        }
                    }
                }
                other => return Err(format!("the local runner does not emulate {other}: {value:?}")),
            }
        }
        if source.batch_size == 0 {
            return Err("BatchSize must be at least 1".into());
        }
        Ok(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(properties: &str) -> String {
        format!(
            "Resources:\n  {STREAM_FUNCTION}:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        S:\n          Type: DynamoDB\n          Properties:\n{}",
            properties.lines().map(|l| format!("            {l}\n")).collect::<String>()
        )
    }

    #[test]
    fn every_property_is_read() {
        let source = EventSource::from_template(&template(
            "Stream: !GetAtt T.StreamArn\nStartingPosition: TRIM_HORIZON\nBatchSize: 7\nMaximumBatchingWindowInSeconds: 2\nParallelizationFactor: 1\nFilterCriteria:\n  Filters:\n    - Pattern: '{\"eventName\": [\"INSERT\"]}'\nFunctionResponseTypes: [ReportBatchItemFailures]\nBisectBatchOnFunctionError: true\nMaximumRetryAttempts: 4\nMaximumRecordAgeInSeconds: 60\nDestinationConfig:\n  OnFailure:\n    Type: SQS\n    Destination: !GetAtt Q.Arn",
        ))
        .unwrap();
        assert_eq!(
            source,
            EventSource {
                batch_size: 7,
                batching_window: Duration::from_secs(2),
                filters: vec![Pattern::parse(r#"{"eventName": ["INSERT"]}"#).unwrap()],
                report_batch_item_failures: true,
                bisect_on_error: true,
                max_retries: Some(4),
                max_record_age: Some(Duration::from_secs(60)),
                on_failure: true,
            }
        );
    }

    #[test]
    fn lambdas_defaults_where_the_template_is_silent() {
        let source = EventSource::from_template(&template("StartingPosition: TRIM_HORIZON")).unwrap();
        assert_eq!((source.batch_size, source.batching_window), (100, Duration::ZERO));
        assert_eq!((source.max_retries, source.max_record_age), (None, None), "-1: until the records expire");
        assert!(!source.report_batch_item_failures && !source.bisect_on_error && source.filters.is_empty());
    }

    #[test]
    fn a_property_it_does_not_emulate_stops_it() {
        for (properties, named) in [
            ("TumblingWindowInSeconds: 30", "TumblingWindowInSeconds"),
            ("ParallelizationFactor: 4", "ParallelizationFactor"),
            ("StartingPosition: LATEST", "StartingPosition"),
            ("FunctionResponseTypes: [Other]", "Other"),
            (
                "FilterCriteria:\n  Filters:\n    - Pattern: '{\"eventName\": [{\"suffix\": \"T\"}]}'",
                "suffix",
            ),
            ("BatchSize: ten", "BatchSize"),
            ("Enabled: false", "Enabled"),
            ("Enabled: !If [StreamReaderOn, false, true]", "Enabled"),
        ] {
            let err = EventSource::from_template(&template(properties)).unwrap_err();
            assert!(err.contains(named), "{properties}: {err}");
        }
    }

    #[test]
    fn a_reader_enabled_by_the_stacks_default_parameters_runs() {
        for enabled in ["Enabled: true", "Enabled: !If [StreamReaderOn, true, false]"] {
            assert!(EventSource::from_template(&template(enabled)).is_ok(), "{enabled}");
        }
    }

    #[test]
    fn the_repository_template_is_read() {
        let source = EventSource::from_repository_template().expect("template.yaml's event source");
        assert!(source.batch_size >= 1 && source.on_failure);
    }
}
