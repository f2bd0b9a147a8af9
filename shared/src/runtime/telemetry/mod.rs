//! Every function's logs: JSON lines when Lambda's log format is JSON (the template sets it),
//! at `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else INFO).
//!
//! Detail costs: at the stream's volume a line per order is most of the log bill. So each
//! invocation is either *detailed* or *quiet*, a share `LOG_DETAIL` (0 to 1, default 1) of
//! them detailed, spread evenly (the first of each container is always detailed):
//! - a detailed one logs everything, and one line each time a DynamoDB call, an order of a
//!   stream batch or the invocation ends, with its duration in `ms` and the invocation's
//!   request id and X-Ray trace id, so one slow batch can be explained call by call;
//! - a quiet one logs only what happens outside an order or a call (the stream's one line
//!   per batch), and warnings and errors from anywhere.
//!
//! The timing lines say `"level":"INFO"` whatever the level of the span they time (the SDK's
//! are DEBUG): Lambda drops lines below `ApplicationLogLevel`, and the template keeps INFO.

use serde_json::{Map, Value};
use std::env;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::filter::{EnvFilter, FilterExt, LevelFilter, dynamic_filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

/// The share of invocations that log in detail.
pub const LOG_DETAIL: &str = "LOG_DETAIL";

/// Installs the subscriber on stdout.
pub fn init() {
    let json = env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let level = env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| env::var("RUST_LOG")).unwrap_or_default();
    if json {
        // A bad share is reported, not fatal: a log setting must not stop the stream.
        let (sampler, bad) = match DetailSampler::parse(env::var(LOG_DETAIL).ok().as_deref()) {
            Ok(sampler) => (sampler, None),
            Err(e) => (DetailSampler::every(), Some(e)),
        };
        tracing::subscriber::set_global_default(json_subscriber(std::io::stdout, &level, sampler))
            .expect("the subscriber is installed once");
        if let Some(e) = bad {
            tracing::error!(error = %e, "every invocation logs in detail");
        }
    } else {
        // Local runs: the human format, no span timings.
        let filter =
            EnvFilter::builder().with_default_directive(LevelFilter::INFO.into()).parse_lossy(&level);
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
}

/// Which invocations are detailed: `share` of them, spread evenly, the first one included.
#[derive(Debug)]
pub struct DetailSampler {
    share: f64,
    seen: AtomicU64,
}

impl DetailSampler {
    /// Every invocation detailed.
    pub fn every() -> Self {
        DetailSampler { share: 1.0, seen: AtomicU64::new(0) }
    }

    /// `LOG_DETAIL`'s value: a number from 0 to 1; unset or empty means 1.
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        let raw = raw.map(str::trim).unwrap_or_default();
        if raw.is_empty() {
            return Ok(Self::every());
        }
        match raw.parse::<f64>() {
            Ok(share) if (0.0..=1.0).contains(&share) => Ok(DetailSampler { share, seen: AtomicU64::new(0) }),
            _ => Err(format!("{LOG_DETAIL}={raw:?} is not a share from 0 to 1")),
        }
    }

    /// Whether the next invocation is detailed: when `n × share` reaches a new whole number.
    pub fn next(&self) -> bool {
        let n = self.seen.fetch_add(1, Ordering::Relaxed) as f64;
        (n * self.share).floor() != ((n - 1.0) * self.share).floor()
    }
}

/// The Lambda subscriber, writing to `writer`.
pub fn json_subscriber<W>(writer: W, level: &str, sampler: DetailSampler) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let level = EnvFilter::builder().with_default_directive(LevelFilter::INFO.into()).parse_lossy(level);
    // Inside an order or a call of a quiet invocation, only warnings and errors.
    let quiet = dynamic_filter_fn(|meta: &Metadata<'_>, cx: &Context<'_, _>| {
        meta.is_span()
            || *meta.level() <= Level::WARN
            || cx.lookup_current().is_none_or(|span| !in_quiet_detail(&span))
    });
    let events = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(writer.clone())
        .with_filter(level.and(quiet));
    tracing_subscriber::registry().with(events).with(Timings { writer, sampler })
}

/// The invocation's span, made by the Lambda runtime with the request and trace ids.
fn is_invocation(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("lambda_runtime") && meta.name() == "Lambda runtime invoke"
}

/// A span whose end is timed: the invocation, a DynamoDB call, or one of this crate's (an
/// order of a stream batch).
fn is_timed(meta: &Metadata<'_>) -> bool {
    is_invocation(meta) || is_detail(meta)
}

/// What only a detailed invocation logs: a DynamoDB call, or one of this crate's spans.
fn is_detail(meta: &Metadata<'_>) -> bool {
    ["aws_sdk_dynamodb", "shared"].iter().any(|t| meta.target().starts_with(t))
}

/// Whether this invocation logs in detail (recorded when its span began).
struct Detailed(bool);
/// When a timed span began, and its fields.
struct Timed {
    start: Instant,
    fields: Map<String, Value>,
}

/// Whether `span` is, or is inside, a detail span of a quiet invocation.
fn in_quiet_detail<S: for<'a> LookupSpan<'a>>(span: &SpanRef<'_, S>) -> bool {
    let mut detail = false;
    for s in span.scope() {
        if is_invocation(s.metadata()) {
            let quiet = s.extensions().get::<Detailed>().is_some_and(|d| !d.0);
            return detail && quiet;
        }
        detail |= is_detail(s.metadata());
    }
    false
}

/// Times the spans of detailed invocations, and writes one INFO line when each ends.
struct Timings<W> {
    writer: W,
    sampler: DetailSampler,
}

impl<S, W> Layer<S> for Timings<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if !is_timed(span.metadata()) {
            return;
        }
        // Only what a detailed invocation will log is timed: a quiet one (most of the stream's)
        // records nothing per call or order.
        let detailed = if is_invocation(span.metadata()) {
            let detailed = self.sampler.next();
            span.extensions_mut().insert(Detailed(detailed));
            detailed
        } else {
            !in_quiet_detail(&span)
        };
        if detailed {
            let mut fields = Map::new();
            attrs.record(&mut JsonFields(&mut fields));
            span.extensions_mut().insert(Timed { start: Instant::now(), fields });
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(timed) = span.extensions_mut().get_mut::<Timed>()
        {
            values.record(&mut JsonFields(&mut timed.fields));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let extensions = span.extensions();
        let Some(timed) = extensions.get::<Timed>() else { return };
        let invocation = span.scope().find(|s| is_invocation(s.metadata()));
        let mut timestamp = String::new();
        let _ = SystemTime.format_time(&mut Writer::new(&mut timestamp));
        let mut line = Map::new();
        line.insert("timestamp".into(), timestamp.into());
        line.insert("level".into(), "INFO".into());
        line.insert("message".into(), "ended".into());
        line.insert("span".into(), span.name().into());
        line.insert("target".into(), span.metadata().target().into());
        let micros = timed.start.elapsed().as_micros() as f64;
        line.insert("ms".into(), (micros / 1000.0).into());
        line.insert("fields".into(), Value::Object(timed.fields.clone()));
        if let Some(invocation) = invocation.filter(|i| i.id() != span.id())
            && let Some(outer) = invocation.extensions().get::<Timed>()
        {
            for key in ["requestId", "xrayTraceId"] {
                if let Some(v) = outer.fields.get(key) {
                    line.insert(key.into(), v.clone());
                }
            }
        }
        let mut out = serde_json::to_vec(&line).unwrap_or_default();
        out.push(b'\n');
        let _ = self.writer.make_writer().write_all(&out);
    }
}

/// Collects a span's fields as JSON values.
struct JsonFields<'a>(&'a mut Map<String, Value>);

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests;
