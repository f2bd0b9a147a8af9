//! The local stream runner as template.yaml configures Lambda's poller: the same settings as
//! the deployed event source mapping, filters before batching, bisection, retries, maximum
//! record age, the on-failure record in Lambda's shape, and repairs in place reaching the
//! function in both worlds.

use local::event_filter::{self, Pattern};
use local::event_source::EventSource;
use local::stream_runner::RunnerConfig;
use serde_json::{Value, json};
use shared::domain::samples::order_id as oid;
use shared::domain::samples::recorded;
use shared::domain::{Money, OrderEvent};
use shared::policy::settings::StrategySettings;
use shared::store::events::event_to_item;
use shared::use_cases::clock::ManualClock;
use shared::use_cases::stream_snapshots::StreamSnapshotter;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use testkit::TestTables;

const T0: i64 = 1_800_000_000_000;

fn item(seq: u64, quantity: u32) -> OrderEvent {
    OrderEvent::ItemAdded {
        sku: format!("SKU-{}", seq % 3),
        name: "Mug".into(),
        quantity,
        unit_price: Money::from_minor(990),
    }
}

/// `len` events of `order_id`, put as the order service would.
async fn append(t: &TestTables, order_id: &str, from: u64, to: u64) {
    for seq in from..=to {
        let event = if seq == 1 {
            OrderEvent::OrderCreated { customer_id: "c".into(), currency: "EUR".into() }
        } else {
            item(seq, 1)
        };
        t.event_store().append(&oid(order_id), seq - 1, &[event], T0).await.unwrap();
    }
}

/// Rewrites an event in place, as an operator's repair does: a MODIFY on the stream.
async fn repair(t: &TestTables, order_id: &str, seq: u64, event: OrderEvent) {
    let item = event_to_item(&recorded(order_id, seq, event));
    t.client.put_item().table_name(&t.events_table).set_item(Some(item)).send().await.unwrap();
}

fn service(t: &TestTables) -> StreamSnapshotter {
    StreamSnapshotter::new(t.repository(), StrategySettings::default(), Arc::new(ManualClock::at(T0)))
}

#[test]
fn the_runner_takes_the_event_source_mapping_cloudformation_receives() {
    let runner = RunnerConfig::from_template().expect("template.yaml").source;
    let template = testkit::deployed::deployed(&[]);
    let mappings = testkit::deployed::of_type(&template, "AWS::Lambda::EventSourceMapping");
    let [(_, mapping)] = mappings[..] else { panic!("one event source mapping: {mappings:?}") };
    let deployed = &mapping["Properties"];
    let number = |key: &str| deployed[key].as_i64();
    assert_eq!(number("BatchSize").map(|n| n as usize), Some(runner.batch_size), "BatchSize");
    assert_eq!(
        number("MaximumBatchingWindowInSeconds").unwrap_or(0) as u64,
        runner.batching_window.as_secs(),
        "MaximumBatchingWindowInSeconds"
    );
    assert_eq!(deployed["BisectBatchOnFunctionError"].as_bool().unwrap_or(false), runner.bisect_on_error);
    assert_eq!(number("MaximumRetryAttempts").filter(|n| *n >= 0).map(|n| n as u32), runner.max_retries);
    assert_eq!(
        number("MaximumRecordAgeInSeconds").filter(|n| *n >= 0).map(|n| Duration::from_secs(n as u64)),
        runner.max_record_age
    );
    assert_eq!(
        deployed["FunctionResponseTypes"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("ReportBatchItemFailures"))),
        runner.report_batch_item_failures
    );
    let patterns: Vec<Pattern> = deployed["FilterCriteria"]["Filters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| Pattern::parse(f["Pattern"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(patterns, runner.filters, "FilterCriteria");
    assert_eq!(!deployed["DestinationConfig"]["OnFailure"].is_null(), runner.on_failure);
    assert_eq!(
        deployed["ParallelizationFactor"].as_i64().unwrap_or(1),
        1,
        "the runner emulates one reader per shard"
    );
    assert_eq!(
        deployed["Enabled"].as_bool(),
        Some(true),
        "with the default parameters the mapping is enabled, as the runner runs it (StreamReaderEnabled)"
    );
    // and everything the translated mapping sets is something the runner read
    let known = [
        "Enabled",
        "BatchSize",
        "MaximumBatchingWindowInSeconds",
        "BisectBatchOnFunctionError",
        "MaximumRetryAttempts",
        "MaximumRecordAgeInSeconds",
        "FunctionResponseTypes",
        "FilterCriteria",
        "DestinationConfig",
        "ParallelizationFactor",
        "StartingPosition",
        "EventSourceArn",
        "FunctionName",
    ];
    for key in deployed.as_object().unwrap().keys() {
        assert!(
            known.contains(&key.as_str()),
            "the deployed mapping sets {key}, which the runner does not read"
        );
    }
}

#[test]
fn a_repair_in_place_reaches_the_function_as_deployed() {
    // the repair decision: every record reaches the function, MODIFY and REMOVE included
    let deployed = EventSource::from_repository_template().unwrap();
    for name in ["INSERT", "MODIFY", "REMOVE"] {
        let record = json!({"eventName": name, "dynamodb": {"Keys": {"orderId": {"S": "o-1"}}}});
        assert!(event_filter::passes(&deployed.filters, &record), "{name} is filtered out");
    }
}

#[tokio::test]
async fn a_filtered_out_modify_never_reaches_the_function_and_is_not_retried() {
    let t = TestTables::new().await;
    let svc = service(&t);
    let mut config = RunnerConfig::fast();
    config.source.filters = vec![Pattern::parse(r#"{"eventName": ["INSERT"]}"#).unwrap()];
    let mut runner = local::runner_for(&t, config).await;
    append(&t, "f-1", 1, 4).await;
    repair(&t, "f-1", 3, item(3, 2)).await;
    append(&t, "f-1", 5, 6).await;
    let names = Mutex::new(Vec::<String>::new());
    runner
        .run_until_idle(|event: Value| {
            let batch = event["Records"].as_array().unwrap();
            names.lock().unwrap().extend(batch.iter().map(|r| r["eventName"].as_str().unwrap().to_owned()));
            local::deliver(&svc, event)
        })
        .await
        .unwrap();
    assert_eq!(names.into_inner().unwrap(), vec!["INSERT"; 6], "the MODIFY never reached it");
    assert_eq!(runner.stats.records_filtered, 1);
    assert_eq!((runner.stats.partial_failures, runner.stats.handler_errors), (0, 0));
}

#[tokio::test]
async fn a_repair_in_place_of_a_readable_order_is_in_its_next_snapshot_and_a_filter_would_have_hidden_it() {
    // Two worlds on two tables: the template's (every record) and one with an INSERT filter.
    let (open, filtered) = (TestTables::new().await, TestTables::new().await);
    let mut results = Vec::new();
    for (t, insert_only) in [(&open, false), (&filtered, true)] {
        let svc = service(t);
        let mut config = RunnerConfig::fast();
        if insert_only {
            config.source.filters = vec![Pattern::parse(r#"{"eventName": ["INSERT"]}"#).unwrap()];
        }
        let mut runner = local::runner_for(t, config).await;
        append(t, "r-1", 1, 9).await;
        runner.run_until_idle(|event| local::deliver(&svc, event)).await.unwrap();
        // a warm container now holds the order's fold; event 5 is repaired in place
        repair(t, "r-1", 5, item(5, 7)).await;
        append(t, "r-1", 10, 10).await;
        runner.run_until_idle(|event| local::deliver(&svc, event)).await.unwrap();
        let repo = t.repository();
        let events = repo.history(&oid("r-1")).await.unwrap();
        results.push(testkit::check_snapshots(&repo, "r-1", &events).await);
    }
    assert_eq!(results[0], Ok(vec![10]), "the snapshot folds the repaired event");
    assert!(results[1].is_err(), "behind an INSERT filter the warm fold is stale: {:?}", results[1]);
}

#[tokio::test]
async fn a_failing_batch_is_bisected_to_the_record_and_its_failure_record_has_lambdas_shape() {
    let t = TestTables::new().await;
    let svc = service(&t);
    let destination = std::env::temp_dir().join(format!("bisect-{}.jsonl", t.events_table));
    let config = RunnerConfig { failure_destination: Some(destination.clone()), ..RunnerConfig::fast() };
    let retries = config.source.max_retries.unwrap();
    let mut runner = local::runner_for(&t, config).await;
    append(&t, "b-1", 1, 8).await;
    // the function fails whole every invocation that carries event 6
    let failing = |batch: &Value| {
        batch["Records"].as_array().unwrap().iter().any(|r| r["dynamodb"]["Keys"]["sequence"]["N"] == "6")
    };
    let sizes = Mutex::new(Vec::new());
    runner
        .run_until_idle(|event: Value| {
            sizes.lock().unwrap().push(event["Records"].as_array().unwrap().len());
            let fail = failing(&event);
            let svc = &svc;
            async move {
                if fail {
                    return Err("the function crashed".to_owned());
                }
                local::deliver(svc, event).await.map_err(|e| e.to_string())
            }
        })
        .await
        .unwrap();
    let sizes = sizes.into_inner().unwrap();
    // 8 fails: halves 1-4 (done) and 5-8; 5-8 fails: 5-6 and 7-8; 5-6 fails: 5 (done) and 6;
    // 6 alone until the retries are spent, then discarded; 7-8 done
    let retried = vec![1; retries as usize];
    let expected: Vec<usize> = [vec![8, 4, 4, 2, 1, 1], retried, vec![2]].concat();
    assert_eq!(sizes, expected, "each half its own batch, halved down to the record");
    assert_eq!(runner.stats.bisections, 3, "{:?}", runner.stats);
    assert_eq!(runner.stats.sent_to_failure_destination, 1);
    let text = std::fs::read_to_string(&destination).unwrap();
    let message: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let context = &message["requestContext"];
    assert_eq!(context["condition"], "RetryAttemptsExhausted");
    assert_eq!(context["approximateInvokeCount"], 1 + retries, "{message}");
    assert!(context["requestId"].as_str().is_some_and(|id| id.len() == 36), "{message}");
    assert!(context["functionArn"].as_str().is_some_and(|a| a.starts_with("arn:aws:lambda:")), "{message}");
    assert_eq!(
        message["responseContext"],
        json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"})
    );
    assert_eq!(message["version"], "1.0");
    let iso = regex_lite::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$").unwrap();
    assert!(iso.is_match(message["timestamp"].as_str().unwrap()), "{message}");
    let info = &message["DDBStreamBatchInfo"];
    assert_eq!(info["shardId"], runner.shard_ids()[0]);
    assert_eq!(info["batchSize"], 1);
    assert_eq!(info["startSequenceNumber"], info["endSequenceNumber"]);
    for arrival in ["approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord"] {
        assert!(iso.is_match(info[arrival].as_str().unwrap_or_default()), "{arrival}: {message}");
    }
    assert!(info["streamArn"].as_str().is_some_and(|a| a.contains("/stream/")));
    let events = t.repository().history(&oid("b-1")).await.unwrap();
    assert_eq!(events.len(), 8);
    std::fs::remove_file(destination).unwrap();
}

#[tokio::test]
async fn records_past_the_maximum_record_age_are_discarded_unprocessed() {
    let t = TestTables::new().await;
    let svc = service(&t);
    let destination = std::env::temp_dir().join(format!("aged-{}.jsonl", t.events_table));
    let mut config = RunnerConfig { failure_destination: Some(destination.clone()), ..RunnerConfig::fast() };
    let age = config.source.max_record_age.expect("the template bounds record age");
    // the runner's clock is past every record's age
    config.now = Arc::new(move || SystemTime::now() + age + Duration::from_secs(60));
    let mut runner = local::runner_for(&t, config).await;
    append(&t, "a-1", 1, 3).await;
    let invoked = Mutex::new(0);
    runner
        .run_until_idle(|event| {
            *invoked.lock().unwrap() += 1;
            local::deliver(&svc, event)
        })
        .await
        .unwrap();
    assert_eq!(invoked.into_inner().unwrap(), 0, "never delivered");
    assert_eq!(runner.stats.records_expired, 3);
    let message: Value =
        serde_json::from_str(std::fs::read_to_string(&destination).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(message["requestContext"]["condition"], "RecordAgeExceeded");
    assert_eq!(message["DDBStreamBatchInfo"]["batchSize"], 3);
    std::fs::remove_file(destination).unwrap();
}
