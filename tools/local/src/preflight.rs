//! `make preflight`: before the stack is attached to the order service's event table, checks
//! that table as the stack will use it: its key schema, its stream (view type, and that the ARN
//! to deploy with is its current one), its encryption key, the readers its stream already has,
//! and a sample of its items against the event contract. Each check gets a verdict, the
//! parameters to deploy with are printed, and a blocker fails the command: every one of these
//! would otherwise be found only after deploying, as poison records or a silent stream.

use aws_sdk_dynamodb::types::{KeyType, ScalarAttributeType, SseType, StreamViewType};
use shared::store::dynamo::{Item, get_n, get_s};
use shared::store::events::event_from_item;
use std::fmt;

/// What to check: the table, the stream ARN the stack would be deployed with (when already
/// chosen), and how many items to read.
pub struct Target {
    pub table: String,
    pub stream_arn: Option<String>,
    pub sample: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Deployable, with something to know.
    Warn,
    /// Deploying would fail quietly: fix it first.
    Blocker,
}

#[derive(Debug)]
pub struct Check {
    pub name: &'static str,
    pub verdict: Verdict,
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
    /// `(parameter, value)` to deploy the stack with.
    pub parameters: Vec<(&'static str, String)>,
}

impl Report {
    fn add(&mut self, name: &'static str, verdict: Verdict, detail: impl Into<String>) {
        self.checks.push(Check { name, verdict, detail: detail.into() });
    }

    pub fn blocked(&self) -> bool {
        self.checks.iter().any(|c| c.verdict == Verdict::Blocker)
    }

    /// The check named `name`, if it ran.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            let verdict = match c.verdict {
                Verdict::Ok => "ok",
                Verdict::Warn => "WARN",
                Verdict::Blocker => "BLOCKER",
            };
            writeln!(f, "{verdict:>7}  {:<10} {}", c.name, c.detail)?;
        }
        if self.blocked() {
            writeln!(f, "\nNot deployable yet: fix each BLOCKER, then run the preflight again.")
        } else {
            let overrides: Vec<String> = self.parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
            writeln!(f, "\nDeploy with: sam deploy --parameter-overrides {}", overrides.join(" "))
        }
    }
}

/// Runs every check against `target`.
pub async fn run(
    dynamo: &aws_sdk_dynamodb::Client,
    lambda: &aws_sdk_lambda::Client,
    target: &Target,
) -> Report {
    let mut report = Report::default();
    let table = match dynamo.describe_table().table_name(&target.table).send().await {
        Ok(out) => out.table.unwrap_or_else(|| aws_sdk_dynamodb::types::TableDescription::builder().build()),
        Err(e) => {
            let detail = format!(
                "{} cannot be described: {}",
                target.table,
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            );
            report.add("table", Verdict::Blocker, detail);
            return report;
        }
    };
    report.parameters.push(("ExistingEventsTableName", target.table.clone()));
    check_keys(&mut report, &table);
    let stream = check_stream(&mut report, &table, target.stream_arn.as_deref());
    check_key(&mut report, &table);
    if let Some(stream) = &stream {
        check_readers(&mut report, lambda, stream).await;
    }
    check_items(&mut report, dynamo, target).await;
    report
}

fn check_keys(report: &mut Report, table: &aws_sdk_dynamodb::types::TableDescription) {
    let type_of = |name: &str| {
        table
            .attribute_definitions()
            .iter()
            .find(|a| a.attribute_name() == name)
            .map(|a| a.attribute_type().clone())
    };
    let keys: Vec<String> = table
        .key_schema()
        .iter()
        .map(|k| {
            format!("{} ({}, {:?})", k.attribute_name(), k.key_type().as_str(), type_of(k.attribute_name()))
        })
        .collect();
    let is = |name: &str, kind: KeyType, scalar: ScalarAttributeType| {
        table.key_schema().iter().any(|k| k.attribute_name() == name && *k.key_type() == kind)
            && type_of(name) == Some(scalar)
    };
    if table.key_schema().len() == 2
        && is("orderId", KeyType::Hash, ScalarAttributeType::S)
        && is("sequence", KeyType::Range, ScalarAttributeType::N)
    {
        report.add("keys", Verdict::Ok, "orderId (S, partition) + sequence (N, sort)");
    } else {
        let detail = format!(
            "found {}; the contract is orderId (S, partition) + sequence (N, sort)",
            keys.join(" + ")
        );
        report.add("keys", Verdict::Blocker, detail);
    }
}

/// The table's current stream, when it is one the stack can read.
fn check_stream(
    report: &mut Report,
    table: &aws_sdk_dynamodb::types::TableDescription,
    given: Option<&str>,
) -> Option<String> {
    let spec = table.stream_specification().filter(|s| s.stream_enabled());
    let view = spec.and_then(|s| s.stream_view_type().cloned());
    let current = table.latest_stream_arn().map(str::to_owned);
    match (&view, &current) {
        (Some(StreamViewType::NewImage | StreamViewType::NewAndOldImages), Some(arn)) => {
            report.add(
                "stream",
                Verdict::Ok,
                format!("{} ({arn})", view.as_ref().map(|v| v.as_str()).unwrap_or("")),
            );
        }
        (Some(other), _) => {
            let detail = format!(
                "view type {}: the stream function needs each new item (NEW_IMAGE or NEW_AND_OLD_IMAGES)",
                other.as_str()
            );
            report.add("stream", Verdict::Blocker, detail);
            return None;
        }
        (None, _) => {
            report.add(
                "stream",
                Verdict::Blocker,
                "no stream enabled: enable one with NEW_IMAGE (or NEW_AND_OLD_IMAGES)",
            );
            return None;
        }
    }
    let current = current?;
    match given {
        Some(arn) if arn != current => {
            let detail = format!(
                "{arn} is not this table's current stream ({current}): another table's, another region's, or one replaced when the stream was re-enabled"
            );
            report.add("stream ARN", Verdict::Blocker, detail);
        }
        Some(_) => report.add("stream ARN", Verdict::Ok, "the one given is the table's current stream"),
        None => report.add("stream ARN", Verdict::Ok, "none given: deploy with the current one"),
    }
    report.parameters.push(("ExistingEventsStreamArn", current.clone()));
    Some(current)
}

fn check_key(report: &mut Report, table: &aws_sdk_dynamodb::types::TableDescription) {
    let sse = table.sse_description();
    match sse.filter(|s| s.sse_type() == Some(&SseType::Kms)).and_then(|s| s.kms_master_key_arn()) {
        Some(key) => {
            let detail =
                format!("encrypted with the KMS key {key}: the stack's roles get to use it through DynamoDB");
            report.add("key", Verdict::Ok, detail);
            report.parameters.push(("ExistingEventsTableKeyArn", key.to_owned()));
        }
        None => report.add("key", Verdict::Ok, "an AWS owned key: nothing to grant"),
    }
}

async fn check_readers(report: &mut Report, lambda: &aws_sdk_lambda::Client, stream: &str) {
    let mappings = match lambda.list_event_source_mappings().event_source_arn(stream).send().await {
        Ok(out) => out.event_source_mappings.unwrap_or_default(),
        Err(e) => {
            let detail = format!(
                "cannot list the stream's readers: {}",
                aws_sdk_lambda::error::DisplayErrorContext(e)
            );
            report.add("readers", Verdict::Warn, detail);
            return;
        }
    };
    let reading: Vec<String> = mappings
        .iter()
        .filter(|m| !matches!(m.state(), Some("Disabled" | "Disabling" | "Deleting")))
        .map(|m| m.function_arn().unwrap_or("?").rsplit(':').next().unwrap_or("?").to_owned())
        .collect();
    match reading.len() {
        0 => report.add("readers", Verdict::Ok, "no Lambda reads the stream yet"),
        1 => report.add(
            "readers",
            Verdict::Warn,
            format!("{} reads it already: this stack makes two, the most a stream serves unthrottled; a further stack deploys with StreamReaderEnabled=false", reading[0]),
        ),
        _ => report.add(
            "readers",
            Verdict::Blocker,
            format!("{} read it already ({}): a third reader throttles them all; deploy with StreamReaderEnabled=false and switch over", reading.len(), reading.join(", ")),
        ),
    }
}

async fn check_items(report: &mut Report, dynamo: &aws_sdk_dynamodb::Client, target: &Target) {
    let page = match dynamo.scan().table_name(&target.table).limit(target.sample.max(1)).send().await {
        Ok(page) => page,
        Err(e) => {
            let detail = format!("cannot be scanned: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e));
            report.add("items", Verdict::Warn, detail);
            return;
        }
    };
    let items: &[Item] = page.items();
    let unreadable: Vec<String> = items
        .iter()
        .filter_map(|item| {
            event_from_item(item).err().map(|e| {
                let order = get_s(item, "orderId").unwrap_or("?");
                let sequence = get_n::<u64>(item, "sequence").map(|s| s.to_string()).unwrap_or("?".into());
                format!("{order} event {sequence}: {} ({e})", e.code())
            })
        })
        .collect();
    if unreadable.is_empty() {
        report.add("items", Verdict::Ok, format!("{} sampled, every one readable", items.len()));
    } else {
        let shown: Vec<&str> = unreadable.iter().take(5).map(String::as_str).collect();
        let detail = format!(
            "{} of {} sampled cannot be read, so their orders would never snapshot: {}{}",
            unreadable.len(),
            items.len(),
            shown.join("; "),
            if unreadable.len() > shown.len() { "; …" } else { "" }
        );
        report.add("items", Verdict::Blocker, detail);
    }
}
