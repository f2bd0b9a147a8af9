//! The log sampling and the timing lines, on a captured writer.

use super::*;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Captured {
    type Writer = Captured;
    fn make_writer(&'w self) -> Captured {
        self.clone()
    }
}

fn run(share: &str, body: impl FnOnce()) -> Vec<serde_json::Value> {
    let out = Captured::default();
    let sampler = DetailSampler::parse(Some(share)).unwrap();
    tracing::subscriber::with_default(json_subscriber(out.clone(), "info", sampler), body);
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// One invocation as the stream function's: a call and an order inside, a batch line.
fn invocation() {
    let invoke = tracing::info_span!(target: "lambda_runtime", "Lambda runtime invoke", requestId = "r-1", xrayTraceId = "1-abc");
    let _invoke = invoke.enter();
    let order = tracing::info_span!(target: "shared::use_cases::stream_snapshots", "order", order_id = "o-1");
    order.in_scope(|| {
        let call = tracing::debug_span!(target: "aws_sdk_dynamodb::operation::query", "DynamoDB.Query", "rpc.method" = "Query");
        call.in_scope(|| tracing::debug!(target: "aws_sdk_dynamodb::operation::query", "a debug event"));
        drop(call);
        tracing::info!(target: "shared::use_cases::stream_snapshots::order", "snapshot written");
        tracing::warn!(target: "shared::use_cases::stream_snapshots::order", "history unreadable");
    });
    drop(order);
    tracing::info!(target: "shared::use_cases::stream_snapshots", "batch processed");
}

fn messages(lines: &[serde_json::Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| match l["span"].as_str() {
            Some(span) => format!("{span} ended"),
            None => l["fields"]["message"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

#[test]
fn a_detailed_invocation_times_each_call_and_order_at_info_with_its_request_and_trace() {
    let lines = run("1", invocation);
    assert_eq!(
        messages(&lines),
        [
            "DynamoDB.Query ended",
            "snapshot written",
            "history unreadable",
            "order ended",
            "batch processed",
            "Lambda runtime invoke ended"
        ]
    );
    let call = &lines[0];
    assert_eq!(call["level"], "INFO", "kept by Lambda's INFO filter though the SDK's span is DEBUG");
    assert!(call["ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{call}");
    assert_eq!((call["requestId"].as_str(), call["xrayTraceId"].as_str()), (Some("r-1"), Some("1-abc")));
    assert_eq!(call["fields"]["rpc.method"], "Query");
    assert_eq!(lines[3]["fields"]["order_id"], "o-1");
    assert_eq!(lines[1]["spans"][0]["xrayTraceId"], "1-abc", "events carry the invocation's span");
}

#[test]
fn a_quiet_invocation_logs_its_batch_line_and_warnings_only() {
    let lines = run("0", invocation);
    assert_eq!(messages(&lines), ["history unreadable", "batch processed"]);
}

#[test]
fn a_share_of_invocations_is_detailed_evenly_starting_with_the_first() {
    let sampler = DetailSampler::parse(Some("0.01")).unwrap();
    let detailed: Vec<usize> = (0..1000).filter(|_| sampler.next()).collect();
    assert_eq!(detailed, (0..10).map(|i| i * 100).collect::<Vec<_>>());
    let every = DetailSampler::parse(None).unwrap();
    assert!((0..50).all(|_| every.next()), "unset: every invocation");
    let none = DetailSampler::parse(Some("0")).unwrap();
    assert!((0..50).all(|_| !none.next()));
    for bad in ["2", "-0.1", "x", "NaN"] {
        let err = DetailSampler::parse(Some(bad)).unwrap_err();
        assert!(err.contains("LOG_DETAIL") && err.contains(bad), "{err}");
    }
}
