//! Every function's logs: JSON lines when Lambda's log format is JSON (the template sets it),
//! at `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else INFO), and one more line each time a
//! DynamoDB call, an order of a stream batch, or an invocation ends, with how long it took
//! (`time.busy`, `time.idle`) and the spans around it: the invocation's span carries the
//! request id and the X-Ray trace id, so one slow batch can be explained call by call from
//! its log, beside the function's X-Ray trace (active tracing in the template).

use std::env;
use tracing::Subscriber;
use tracing_subscriber::filter::{EnvFilter, LevelFilter, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::prelude::*;

/// Installs the subscriber on stdout.
pub fn init() {
    let json = env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let level = env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| env::var("RUST_LOG")).unwrap_or_default();
    if json {
        tracing::subscriber::set_global_default(json_subscriber(std::io::stdout, &level))
            .expect("the subscriber is installed once");
    } else {
        // Local runs: the human format, no span timings.
        let filter =
            EnvFilter::builder().with_default_directive(LevelFilter::INFO.into()).parse_lossy(&level);
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
}

/// The Lambda subscriber, writing to `writer`.
pub fn json_subscriber<W>(writer: W, level: &str) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let events = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(writer.clone())
        .with_filter(
            EnvFilter::builder().with_default_directive(LevelFilter::INFO.into()).parse_lossy(level),
        );
    // Span ends only (never the SDK's own debug events): the DynamoDB calls (debug spans of
    // `aws_sdk_dynamodb`), the invocation and the order spans.
    let timings = tracing_subscriber::fmt::layer()
        .json()
        .with_span_events(FmtSpan::CLOSE)
        .with_span_list(true)
        .with_writer(writer)
        .with_filter(filter_fn(|meta| {
            meta.is_span()
                && ["aws_sdk_dynamodb", "lambda_runtime", "shared"]
                    .iter()
                    .any(|t| meta.target().starts_with(t))
        }));
    tracing_subscriber::registry().with(events).with(timings)
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn a_dynamodb_call_ends_with_its_duration_inside_the_invocation_span_and_debug_events_stay_out() {
        let out = Captured::default();
        tracing::subscriber::with_default(json_subscriber(out.clone(), "info"), || {
            let invoke = tracing::info_span!(target: "lambda_runtime", "Lambda runtime invoke", requestId = "r-1", xrayTraceId = "1-abc");
            let _invoke = invoke.enter();
            let call = tracing::debug_span!(target: "aws_sdk_dynamodb::operation::query", "DynamoDB.Query", "rpc.method" = "Query");
            call.in_scope(|| tracing::debug!(target: "aws_sdk_dynamodb::operation::query", "a debug event"));
            drop(call);
            tracing::info!("an info event");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let close = lines
            .iter()
            .find(|l| l["span"]["name"] == "DynamoDB.Query")
            .unwrap_or_else(|| panic!("the call's end is logged: {text}"));
        assert_eq!(close["fields"]["message"], "close");
        assert!(close["fields"]["time.busy"].is_string(), "with its duration: {close}");
        assert_eq!(close["spans"][0]["xrayTraceId"], "1-abc", "inside the invocation: {close}");
        assert!(!text.contains("a debug event"), "the SDK's debug events stay out");
        assert!(text.contains("an info event"));
    }
}
