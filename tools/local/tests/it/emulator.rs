//! Every sample event through its function's debug build under AWS's Runtime Interface
//! Emulator, with the environment `sam local invoke` would give it (resolved from template.yaml
//! and tools/local/sam-env.json), each answer holding what `events/<function>/expected.json` says;
//! the admin API's cleanup and rebuild start real maintenance runs through a local Invoke API;
//! with that API unreachable, the admin API answers 503 naming the function.

use local::invoke::{FUNCTIONS, Stack, debug_bootstrap, expectation, holds, sample_events};
use std::time::Duration;
use testkit::sam_local::Emulator;

#[tokio::test(flavor = "multi_thread")]
async fn every_sample_event_answers_as_expected_under_the_emulator() {
    let stack = Stack::start().await.unwrap();
    let mut checked = 0;
    for function in FUNCTIONS {
        let events = sample_events(function).unwrap();
        let (answers, report) = stack.invoke(function, &debug_bootstrap(function), &events).await.unwrap();
        for (event, answer) in events.iter().zip(&answers) {
            let want = expectation(event).unwrap();
            holds(&want, answer, "").unwrap_or_else(|why| panic!("{}: {why}\n{answer}", event.display()));
            checked += 1;
        }
        assert!(
            report.init_ms.is_some_and(|ms| ms > 0.0),
            "{function}: the emulator reports its init: {report:?}"
        );
    }
    assert_eq!(checked, 21, "every sample event");
    // the admin API's cleanup and rebuild each started a run of the real maintenance handler
    let runs = stack.lambda.finished(Duration::from_secs(60)).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(runs.iter().all(|run| run.as_ref().is_ok_and(|answer| answer["finished"] == true)), "{runs:?}");
    stack.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_maintenance_function_is_a_503_naming_it() {
    let stack = Stack::start().await.unwrap();
    let mut env = stack.env("snapshot-admin").unwrap();
    // nothing listens there
    env.insert("LOCAL_LAMBDA_ENDPOINT_URL".into(), "http://127.0.0.1:9".into());
    let emulator = Emulator::start(&debug_bootstrap("snapshot-admin"), &env).unwrap();
    let event =
        std::fs::read_to_string(local::invoke::root().join("events/snapshot-admin/cleanup.json")).unwrap();
    let answer =
        tokio::task::block_in_place(|| emulator.invoke(&serde_json::from_str(&event).unwrap())).unwrap();
    emulator.stop();
    assert_eq!(answer["statusCode"], 503, "{answer}");
    let body: serde_json::Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("SnapshotMaintenanceFunction"), "{body}");
    stack.stop();
}
