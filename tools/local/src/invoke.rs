//! The functions under AWS's Runtime Interface Emulator, as `sam local invoke` runs them but
//! without Docker: a fresh local DynamoDB server holding what the sample events refer to, each
//! function's environment resolved from `template.yaml` and an env-vars file exactly as SAM
//! resolves it (`testkit::sam_local`), and the maintenance function reachable as `sam local
//! start-lambda` would make it (`lambda_api`), so the admin API's cleanup and rebuild start real
//! runs. `make invoke`, `make invoke-all` and the emulator test run through here.

use crate::lambda_api::LocalLambda;
use serde_json::{Value, json};
use shared::domain::samples::recorded;
use shared::domain::{Money, Order, OrderEvent};
use shared::runtime::config::Config;
use shared::store::StoreError;
use shared::store::snapshots::{NewSnapshot, SnapshotStore};
use shared::store::tables;
use shared::store::tables::TableNames;
use shared::use_cases::clock::{Clock, SystemClock};
use shared::use_cases::maintenance::Maintenance;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use testkit::sam_local::{Emulator, Report, function_env};
use testkit::stream_events::inserted_events;
use testkit::{LocalDynamo, bulk_insert_events, client_for};

pub const FUNCTIONS: [&str; 3] = ["snapshot-stream", "snapshot-maintenance", "snapshot-admin"];

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The template's logical id of a function (its package name).
pub fn logical_id(function: &str) -> Result<&'static str, String> {
    match function {
        "snapshot-stream" => Ok("SnapshotStreamFunction"),
        "snapshot-maintenance" => Ok("SnapshotMaintenanceFunction"),
        "snapshot-admin" => Ok("SnapshotAdminFunction"),
        other => Err(format!("unknown function {other:?}; one of {FUNCTIONS:?}")),
    }
}

/// A function's sample events, in name order.
pub fn sample_events(function: &str) -> Result<Vec<PathBuf>, String> {
    let dir = root().join("events").join(function);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !is_expectations(p))
        .collect();
    files.sort();
    Ok(files)
}

/// `events/<function>/expected.json`: what each sample event's answer must hold.
pub fn is_expectations(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "expected.json")
}

/// What `event`'s answer must hold (`events/<function>/expected.json`, keyed by file name).
pub fn expectation(event: &Path) -> Result<Value, String> {
    let file = event.with_file_name("expected.json");
    let all: Value = serde_json::from_str(
        &std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?,
    )
    .map_err(|e| format!("{}: {e}", file.display()))?;
    let name = event.file_name().unwrap_or_default().to_string_lossy();
    all.get(name.as_ref()).cloned().ok_or_else(|| format!("{} has no entry for {name}", file.display()))
}

/// `actual` holds `expected`: every key of an expected object with a value that holds (an
/// expected string starting with `~` need only be contained), arrays and scalars equal.
pub fn holds(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => want.iter().try_for_each(|(key, value)| {
            let here = format!("{at}/{key}");
            holds(value, got.get(key).ok_or_else(|| format!("{here} is missing"))?, &here)
        }),
        (Value::String(want), Value::String(got)) if want.starts_with('~') => got
            .contains(&want[1..])
            .then_some(())
            .ok_or_else(|| format!("{at}: {got:?} does not contain {:?}", &want[1..])),
        // a JSON text (an API Gateway body) compared with an expected object
        (Value::Object(_), Value::String(text)) => {
            let parsed: Value =
                serde_json::from_str(text).map_err(|_| format!("{at}: {text:?} is not JSON"))?;
            holds(expected, &parsed, at)
        }
        _ if expected == actual => Ok(()),
        _ => Err(format!("{at}: expected {expected}, got {actual}")),
    }
}

/// A local server with the sample events' data, and the maintenance function served.
pub struct Stack {
    server: LocalDynamo,
    client: aws_sdk_dynamodb::Client,
    pub lambda: LocalLambda,
    env_vars: Value,
    template: String,
}

impl Stack {
    pub async fn start() -> Result<Stack, String> {
        let server = LocalDynamo::start_moto().map_err(|e| format!("cannot start moto_server: {e}"))?;
        let endpoint = server.endpoint();
        let client = client_for(&endpoint);
        seed(&client).await?;
        let template = std::fs::read_to_string(root().join("template.yaml")).map_err(|e| e.to_string())?;
        // tools/local/sam-env.json, with this machine's addresses for the container's
        let file = root().join("tools/local/sam-env.json");
        let mut env_vars: Value = serde_json::from_str(
            &std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?,
        )
        .map_err(|e| format!("{}: {e}", file.display()))?;
        env_vars["Parameters"]["LOCAL_ENDPOINT_URL"] = json!(endpoint);
        // the maintenance function, served as the admin API's client will ask for it
        let maintenance_env = function_env(&template, &env_vars, "SnapshotMaintenanceFunction")?;
        let config =
            Config::from_lookup(|name| maintenance_env.get(name).cloned()).map_err(|e| e.to_string())?;
        let maintenance = Maintenance::new(
            config.repository(client.clone()),
            config.retention.clone(),
            &config.maintenance,
            Arc::new(SystemClock),
        );
        let admin_env = function_env(&template, &env_vars, "SnapshotAdminFunction")?;
        let name = admin_env
            .get("MAINTENANCE_FUNCTION_NAME")
            .ok_or("the admin function names no maintenance function")?;
        let (lambda_endpoint, lambda) = LocalLambda::serve(name, maintenance).await;
        env_vars["SnapshotAdminFunction"]["LOCAL_LAMBDA_ENDPOINT_URL"] = json!(lambda_endpoint);
        Ok(Stack { server, client, lambda, env_vars, template })
    }

    /// The environment `sam local invoke` would give `function` here.
    pub fn env(&self, function: &str) -> Result<BTreeMap<String, String>, String> {
        function_env(&self.template, &self.env_vars, logical_id(function)?)
    }

    /// Runs `events` through `function`'s `bootstrap` under the emulator (one emulator for
    /// all, as a warm container), each on freshly seeded data once the maintenance runs the
    /// previous one started have finished: each event's answer, and the emulator's reports.
    pub async fn invoke(
        &self,
        function: &str,
        bootstrap: &Path,
        events: &[PathBuf],
    ) -> Result<(Vec<Value>, Report), String> {
        let emulator = Emulator::start(bootstrap, &self.env(function)?)?;
        let mut answers = Vec::new();
        for event in events {
            let text = std::fs::read_to_string(event).map_err(|e| format!("{}: {e}", event.display()))?;
            let event: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", event.display()))?;
            self.lambda.finished(Duration::from_secs(60)).await;
            self.reseed().await?;
            // the emulator's HTTP call blocks: off the runtime, so the Invoke stand-in serves
            let answer = tokio::task::block_in_place(|| emulator.invoke(&event));
            answers.push(answer.map_err(|e| format!("{e}\n{}", emulator.output()))?);
        }
        let report = emulator.report();
        emulator.stop();
        Ok((answers, report))
    }

    /// Both tables anew, holding what the sample events refer to.
    async fn reseed(&self) -> Result<(), String> {
        let names = TableNames::default();
        for table in [&names.events, &names.snapshots] {
            let _ = self.client.delete_table().table_name(table).send().await;
        }
        seed(&self.client).await
    }

    pub fn stop(self) {
        self.server.stop();
    }
}

/// The debug build of `function`, as `cargo build` leaves it.
pub fn debug_bootstrap(function: &str) -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"));
    target.join("debug").join(function)
}

/// Seeds a server: the tables (left as they are when they exist) and the data of every
/// function's sample events.
pub async fn seed(client: &aws_sdk_dynamodb::Client) -> Result<(), String> {
    let names = TableNames::default();
    tables::EVENTS.create(client, &names.events).await.map_err(|e| e.to_string())?;
    tables::SNAPSHOTS.create(client, &names.snapshots).await.map_err(|e| e.to_string())?;
    seed_stream_samples(client, &names).await?;
    seed_order_1001(client, &names).await
}

/// The events the stream samples' INSERT records carry, as the order service appended them.
async fn seed_stream_samples(client: &aws_sdk_dynamodb::Client, names: &TableNames) -> Result<(), String> {
    for path in sample_events("snapshot-stream")? {
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let event: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        bulk_insert_events(client, &names.events, &inserted_events(&event)).await;
    }
    Ok(())
}

/// Order o-1001: 25 events and 4 snapshots of various ages, what the maintenance and admin
/// samples talk about.
async fn seed_order_1001(client: &aws_sdk_dynamodb::Client, names: &TableNames) -> Result<(), String> {
    let history: Vec<_> = (1..=25u64)
        .map(|seq| {
            let event = match seq {
                1 => OrderEvent::OrderCreated { customer_id: "cust-42".into(), currency: "EUR".into() },
                _ => OrderEvent::ItemAdded {
                    sku: format!("SKU-{:03}", seq % 6),
                    name: "Ceramic mug".into(),
                    quantity: 1,
                    unit_price: Money::from_minor(1450),
                },
            };
            recorded("o-1001", seq, event)
        })
        .collect();
    bulk_insert_events(client, &names.events, &history).await;
    let snapshots = SnapshotStore::new(client.clone(), &names.snapshots);
    for (version, days_ago) in [(5u64, 200i64), (10, 120), (15, 3), (20, 1)] {
        let new = NewSnapshot {
            state: Order::replay("o-1001", &history[..version as usize]).map_err(|e| e.to_string())?,
            timestamp: SystemClock.now_ms() - days_ago * 86_400_000,
            created_by: "local-invoke".into(),
            reason: "sample data".into(),
            strategy: None,
            rule: None,
        };
        match snapshots.put(&new).await {
            // seeded before: the snapshot is there
            Ok(_) | Err(StoreError::SnapshotExists { .. }) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}
