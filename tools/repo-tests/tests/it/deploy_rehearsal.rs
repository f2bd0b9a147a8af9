//! The deploy rehearsal (`tools/deploy/rehearse.py`): the template as SAM translates it, created in
//! moto's CloudFormation under two stack names in one account and region, then one deleted
//! and re-created attached to the event table it kept. Its AdminApi is a stand-in (moto
//! cannot create a REST API from an OpenAPI body); everything else is created as written.

use serde_json::Value;
use std::process::Command;
use testkit::LocalDynamo;

#[test]
fn two_stacks_deploy_side_by_side_and_a_deleted_one_re_creates_on_its_kept_events() {
    // its own server: the rehearsal creates stacks, buckets and roles that other tests never see
    let server = LocalDynamo::start_moto().expect("moto");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let output = Command::new(testkit::venv_python())
        .arg(format!("{root}/tools/deploy/rehearse.py"))
        .arg(server.endpoint())
        .output()
        .expect("run tools/deploy/rehearse.py");
    server.stop();
    assert!(output.status.success(), "the rehearsal failed: {}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("the rehearsal's report is JSON");
    let steps: Vec<(String, String, String)> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().into(),
                s["stack"].as_str().unwrap().into(),
                s["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("create", "orders-blue", "CREATE_COMPLETE"),
        ("create", "orders-green", "CREATE_COMPLETE"),
        ("delete", "orders-blue", "DELETE_COMPLETE"),
        ("re-create", "orders-blue", "CREATE_COMPLETE"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(steps, expected, "{report:#}");
    let names = |key: &str| -> Vec<String> {
        report[key].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(
        names("tables_after_create"),
        [
            "orders-blue-order-events",
            "orders-blue-order-snapshots",
            "orders-green-order-events",
            "orders-green-order-snapshots"
        ]
    );
    // the deleted stack kept its events (the orders' record) and nothing else with a name
    assert_eq!(
        names("tables_after_delete"),
        ["orders-blue-order-events", "orders-green-order-events", "orders-green-order-snapshots"]
    );
    assert!(names("log_groups_after_delete").iter().all(|g| g.contains("/orders-green/")), "{report:#}");
    assert_eq!(names("log_groups_after_create").len(), 8, "four log groups per stack");
    // re-created on the kept table: no event table of its own, its stream read
    assert!(!names("recreated_resources").contains(&"OrderEventsTable".to_owned()));
    assert!(names("recreated_resources").contains(&"OrderSnapshotsTable".to_owned()));
    assert_eq!(report["recreated_stream_sources"], serde_json::json!([report["kept_stream"]]));
    assert!(report["kept_stream"].as_str().is_some_and(|s| s.contains("orders-blue-order-events/stream/")));
}
