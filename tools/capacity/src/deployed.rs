//! The settings the model and the simulation use, read from template.yaml as CloudFormation
//! receives it with its default parameters (SAM's translator, conditions decided): a change
//! to the template changes the plan, and nothing here restates a setting.

use serde_json::Value;
use shared::policy::settings::{StrategyKind, StrategySettings};

/// What a stack deployed with the template's defaults runs with.
#[derive(Clone, Debug, PartialEq)]
pub struct Deployed {
    pub stream: StreamSource,
    pub stream_memory_mb: f64,
    pub maintenance_memory_mb: f64,
    pub admin_memory_mb: f64,
    /// Share of stream invocations that log each order and call (LOG_DETAIL).
    pub stream_log_detail: f64,
    /// X-Ray active tracing on every function.
    pub tracing: bool,
    pub strategy: StrategySettings,
    pub max_snapshots_per_order: f64,
    pub max_snapshot_age_days: f64,
    pub iterator_age_alarm_ms: f64,
    /// Scheduled invocations of the maintenance function a month: retention passes (with the
    /// drift canary), and rebuild turns.
    pub retention_runs_per_month: f64,
    pub rebuild_turns_per_month: f64,
    pub maintenance_timeout_seconds: f64,
    pub alarms: usize,
    /// Event source mappings reading the event table's stream (DynamoDB Streams serves at most
    /// two readers per shard).
    pub stream_readers: usize,
}

/// The stream function's event source mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamSource {
    pub batch_size: f64,
    pub window_seconds: f64,
    pub parallelization: f64,
    pub maximum_record_age_seconds: f64,
}

const SECONDS_PER_MONTH: f64 = 30.0 * 24.0 * 3600.0;

/// The template with its default parameters, as deployed.
pub fn read() -> Result<Deployed, String> {
    from_template(&testkit::deployed::deployed(&[]))
}

/// The settings of a deployed template (see `testkit::deployed`).
pub fn from_template(template: &Value) -> Result<Deployed, String> {
    let resources = template["Resources"].as_object().ok_or("the template has no resources")?;
    let parameter = |name: &str| -> Result<f64, String> {
        let value = &template["ParameterValues"][name];
        value.as_str().and_then(|v| v.parse().ok()).ok_or(format!("parameter {name}: {value}"))
    };
    let of_type = |kind: &str| testkit::deployed::of_type(template, kind).into_iter();
    let function = |logical: &str| -> Result<&Value, String> {
        let f = &resources.get(logical).ok_or(format!("no {logical} in the template"))?["Properties"];
        Ok(f)
    };
    let memory = |logical: &str| -> Result<f64, String> {
        function(logical)?["MemorySize"].as_f64().ok_or(format!("{logical}: no MemorySize"))
    };
    let stream_fn = function("SnapshotStreamFunction")?;
    let mappings: Vec<&Value> =
        of_type("AWS::Lambda::EventSourceMapping").map(|(_, r)| &r["Properties"]).collect();
    let source = mappings
        .iter()
        .find(|m| m["FunctionName"] == serde_json::json!({"Ref": "SnapshotStreamFunction"}))
        .ok_or("no event source mapping for the stream function")?;
    let number = |key: &str, default: f64| source[key].as_f64().unwrap_or(default);
    let stream = StreamSource {
        // Lambda's defaults for a DynamoDB stream when the template leaves one out
        batch_size: number("BatchSize", 100.0),
        window_seconds: number("MaximumBatchingWindowInSeconds", 0.0),
        parallelization: number("ParallelizationFactor", 1.0),
        maximum_record_age_seconds: number("MaximumRecordAgeInSeconds", -1.0),
    };
    let log_detail = stream_fn["Environment"]["Variables"]["LOG_DETAIL"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .ok_or("the stream function has no LOG_DETAIL")?;
    let tracing = ["SnapshotStreamFunction", "SnapshotMaintenanceFunction", "SnapshotAdminFunction"]
        .iter()
        .all(|f| function(f).is_ok_and(|f| f["TracingConfig"]["Mode"] == "Active"));
    let strategy_name = template["ParameterValues"]["DefaultSnapshotStrategy"].as_str().unwrap_or("");
    let default_strategy = match strategy_name {
        "EVENT_COUNT" => StrategyKind::EventCount,
        "TIME_BASED" => StrategyKind::TimeBased,
        "HYBRID" => StrategyKind::Hybrid,
        other => return Err(format!("DefaultSnapshotStrategy {other:?}")),
    };
    let strategy = StrategySettings {
        default_strategy,
        event_count_threshold: parameter("EventCountSnapshotThreshold")? as u64,
        time_interval_hours: parameter("TimeBasedSnapshotIntervalHours")? as u64,
    };
    let (mut retention_runs_per_month, mut rebuild_turns_per_month) = (0.0, 0.0);
    for (name, rule) in of_type("AWS::Events::Rule") {
        let targets_maintenance =
            rule["Properties"]["Targets"].as_array().into_iter().flatten().any(|t| {
                t["Arn"] == serde_json::json!({"Fn::GetAtt": ["SnapshotMaintenanceFunction", "Arn"]})
            });
        if targets_maintenance {
            let expression = rule["Properties"]["ScheduleExpression"].as_str().unwrap_or("");
            let per_second = schedule_rate(expression).ok_or(format!("{name}: schedule {expression:?}"))?;
            let rebuild = rule["Properties"]["Targets"].to_string().contains("rebuild");
            let runs = if rebuild { &mut rebuild_turns_per_month } else { &mut retention_runs_per_month };
            *runs += per_second * SECONDS_PER_MONTH;
        }
    }
    let events_stream = |m: &&&Value| {
        let arn = serde_json::to_string(&m["EventSourceArn"]).unwrap_or_default();
        arn.contains("OrderEventsTable") || arn.contains("ExistingEventsStreamArn")
    };
    Ok(Deployed {
        stream,
        stream_memory_mb: memory("SnapshotStreamFunction")?,
        maintenance_memory_mb: memory("SnapshotMaintenanceFunction")?,
        admin_memory_mb: memory("SnapshotAdminFunction")?,
        stream_log_detail: log_detail,
        tracing,
        strategy,
        max_snapshots_per_order: parameter("MaxSnapshotsPerOrder")?,
        max_snapshot_age_days: parameter("MaxSnapshotAgeDays")?,
        iterator_age_alarm_ms: parameter("IteratorAgeAlarmMillis")?,
        retention_runs_per_month,
        rebuild_turns_per_month,
        maintenance_timeout_seconds: function("SnapshotMaintenanceFunction")?["Timeout"]
            .as_f64()
            .ok_or("the maintenance function has no Timeout")?,
        alarms: of_type("AWS::CloudWatch::Alarm").count(),
        stream_readers: mappings.iter().filter(events_stream).count(),
    })
}

/// Runs per second of an EventBridge schedule: `rate(N unit)`, or a `cron(...)` firing once a
/// day at fixed minutes and hours (the only cron shape the model needs to read).
pub fn schedule_rate(expression: &str) -> Option<f64> {
    if let Some(rate) = expression.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        let (n, unit) = rate.split_once(' ')?;
        let n: f64 = n.parse().ok()?;
        let seconds = match unit.trim_end_matches('s') {
            "minute" => 60.0,
            "hour" => 3600.0,
            "day" => 86_400.0,
            _ => return None,
        };
        return Some(1.0 / (n * seconds));
    }
    let cron = expression.strip_prefix("cron(")?.strip_suffix(')')?;
    let fields: Vec<&str> = cron.split_whitespace().collect();
    let fixed = |f: &str| f.split(',').all(|v| v.parse::<u32>().is_ok());
    let daily = fields.len() == 6
        && fixed(fields[0])
        && fixed(fields[1])
        && fields[2..5].iter().all(|f| matches!(*f, "*" | "?"));
    daily.then(|| {
        let times = fields[0].split(',').count() * fields[1].split(',').count();
        times as f64 / 86_400.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_read_as_runs_per_second() {
        assert_eq!(schedule_rate("rate(5 minutes)"), Some(1.0 / 300.0));
        assert_eq!(schedule_rate("rate(1 hour)"), Some(1.0 / 3600.0));
        assert_eq!(schedule_rate("cron(0 0 * * ? *)"), Some(1.0 / 86_400.0));
        assert_eq!(schedule_rate("cron(0,30 0 * * ? *)"), Some(2.0 / 86_400.0));
        assert_eq!(schedule_rate("cron(0 0 ? * MON *)"), None, "weekly: not read, refused");
        assert_eq!(schedule_rate("rate(5 fortnights)"), None);
    }
}
