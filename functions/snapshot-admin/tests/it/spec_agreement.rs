//! The parser and the OpenAPI file agree: every route of the route table gets samples of
//! valid and invalid inputs (each path and query parameter the file lists, and the body), the
//! file's verdict on each comes from `spec_verdicts.py` (Python's jsonschema reading the file,
//! as a client generated from it would), and the router's from sending it: refused as input
//! (400, 413, 414, 415) or not (a 2xx, or a 404 or 409 about the data). They must be the same,
//! so a parser stricter, or looser, than the file fails here. (Unknown query parameters are
//! refused by the parser and cannot be forbidden by an OpenAPI file; no sample has one.)

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use shared::domain::Order;
use shared::policy::settings::RetentionSettings;
use shared::use_cases::clock::ManualClock;
use snapshot_admin::access::LocalCaller;
use snapshot_admin::routes::ROUTES;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use testkit::{TestTables, bulk_insert_events, plain_history, snapshot_of};
use tower::ServiceExt;

#[derive(Clone, Debug)]
struct Case {
    method: &'static str,
    route: &'static str,
    path: BTreeMap<String, String>,
    query: BTreeMap<String, String>,
    body: Option<Value>,
}

impl Case {
    fn uri(&self) -> String {
        let encode = |s: &str| {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        };
        let mut uri = self.route.to_owned();
        for (name, value) in &self.path {
            uri = uri.replace(&format!("{{{name}}}"), &encode(value));
        }
        let query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
        if query.is_empty() { uri } else { format!("{uri}?{}", query.join("&")) }
    }

    fn to_json(&self) -> Value {
        json!({"method": self.method, "route": self.route, "path": self.path, "query": self.query, "body": self.body})
    }
}

/// Valid samples first, then invalid ones, for a parameter of this name.
fn samples(name: &str) -> (Vec<String>, Vec<String>) {
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    match name {
        "orderId" => (
            [s(&["o-1001", "0", "A_b-9"]), vec!["a".repeat(64)]].concat(),
            [s(&["-x", "_x", "o 1", "o/1", "é", "o.1"]), vec!["a".repeat(65)]].concat(),
        ),
        "version" | "before" => (
            s(&["1", "10", "18446744073709551615"]),
            s(&["0", "-1", "01", "+1", "1.5", "1e3", "18446744073709551616", "x"]),
        ),
        "limit" => (s(&["1", "20", "100"]), s(&["0", "101", "-5", "x", "1.0", "01"])),
        "includeState" => (s(&["true", "false"]), s(&["yes", "1", "True"])),
        other => panic!("no samples for a parameter named {other}: add them here"),
    }
}

fn reason_bodies() -> (Vec<Value>, Vec<Value>) {
    (
        vec![
            json!({"reason": "x"}),
            json!({"reason": "é".repeat(256)}),
            json!({"reason": "\u{85}"}),
            json!({"reason": "  "}),
        ],
        vec![
            json!({}),
            json!({"reason": ""}),
            json!({"reason": "x".repeat(257)}),
            json!({"reason": 5}),
            json!({"reason": "x", "extra": 1}),
            json!([]),
            json!("text"),
        ],
    )
}

fn rebuild_bodies() -> (Vec<Value>, Vec<Value>) {
    let ids = |n: usize| (0..n).map(|i| format!("{i:0>64}")).collect::<Vec<_>>();
    (
        vec![
            json!({"scope": {"kind": "all"}}),
            json!({"scope": {"kind": "stale"}, "replace": true}),
            json!({"scope": {"kind": "minEvents", "events": 1}, "replace": true}),
            json!({"scope": {"kind": "minEvents", "events": u64::MAX}, "replace": true}),
            json!({"scope": {"kind": "orders", "orderIds": ["o-1"]}, "replace": true}),
            json!({"scope": {"kind": "orders", "orderIds": ids(200)}, "replace": true}),
        ],
        vec![
            json!({}),
            json!({"scope": {"kind": "every"}}),
            json!({"scope": {"kind": "stale", "x": 1}}),
            json!({"scope": {"kind": "all", "events": 3}}),
            json!({"scope": {"kind": "minEvents", "events": 0}}),
            json!({"scope": {"kind": "minEvents"}}),
            json!({"scope": {"kind": "orders", "orderIds": []}}),
            json!({"scope": {"kind": "orders", "orderIds": ids(201)}}),
            json!({"scope": {"kind": "orders", "orderIds": ["o 1"]}}),
            json!({"scope": {"kind": "all"}, "replace": "yes"}),
            json!({"scope": {"kind": "all"}, "extra": 1}),
            json!({"scope": "all"}),
        ],
    )
}

/// Every route of the table, each input varied alone around a valid request.
fn cases(spec: &serde_yaml_ng::Value) -> Vec<Case> {
    let mut cases = Vec::new();
    for route in ROUTES {
        let operation = &spec["paths"][route.path][route.method.to_lowercase().as_str()];
        assert!(
            operation.is_mapping(),
            "{} {} is in the route table and not in the file",
            route.method,
            route.path
        );
        let names = |place: &str| -> Vec<String> {
            let params = operation["parameters"].as_sequence().cloned().unwrap_or_default();
            params
                .iter()
                .map(|p| match p.get("$ref").and_then(|r| r.as_str()) {
                    Some(r) => spec["components"]["parameters"][r.rsplit('/').next().unwrap()].clone(),
                    None => p.clone(),
                })
                .filter(|p| p["in"] == place)
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let (bodies_ok, bodies_bad) = match (route.action, operation.get("requestBody").is_some()) {
            ("snapshot.rebuild", _) => rebuild_bodies(),
            (_, true) => reason_bodies(),
            (_, false) => (Vec::new(), Vec::new()),
        };
        let base = Case {
            method: route.method,
            route: route.path,
            path: names("path").iter().map(|n| (n.clone(), samples(n).0[0].clone())).collect(),
            query: BTreeMap::new(),
            body: bodies_ok.first().cloned(),
        };
        cases.push(base.clone());
        for name in names("path") {
            let (ok, bad) = samples(&name);
            for value in ok.into_iter().chain(bad) {
                cases.push(Case {
                    path: [base.path.clone(), BTreeMap::from([(name.clone(), value)])].concat_map(),
                    ..base.clone()
                });
            }
        }
        for name in names("query") {
            let (ok, bad) = samples(&name);
            for value in ok.into_iter().chain(bad) {
                cases.push(Case { query: BTreeMap::from([(name.clone(), value)]), ..base.clone() });
            }
        }
        for body in bodies_ok.into_iter().chain(bodies_bad) {
            cases.push(Case { body: Some(body), ..base.clone() });
        }
        if operation.get("requestBody").is_some()
            && !operation["requestBody"]["required"].as_bool().unwrap_or(false)
        {
            cases.push(Case { body: None, ..base.clone() });
        }
    }
    cases
}

trait ConcatMap {
    fn concat_map(self) -> BTreeMap<String, String>;
}

impl ConcatMap for [BTreeMap<String, String>; 2] {
    /// The first map with the second's entries over it.
    fn concat_map(self) -> BTreeMap<String, String> {
        let [mut first, second] = self;
        first.extend(second);
        first
    }
}

/// The file's verdicts, from Python's jsonschema.
fn spec_verdicts(cases: &[Case]) -> Vec<(bool, Option<String>)> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"));
    let mut child = std::process::Command::new(testkit::venv_python())
        .arg(format!("{root}/spec_verdicts.py"))
        .arg(format!("{root}/openapi.yaml"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the venv's python (make venv)");
    let input: Vec<Value> = cases.iter().map(Case::to_json).collect();
    child.stdin.take().unwrap().write_all(serde_json::to_string(&input).unwrap().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "spec_verdicts.py failed");
    let verdicts: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    verdicts.iter().map(|v| (v["valid"].as_bool().unwrap(), v["error"].as_str().map(str::to_owned))).collect()
}

#[tokio::test]
async fn the_parser_and_the_openapi_file_agree_on_every_routes_inputs() {
    let spec: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap(),
    )
    .unwrap();
    let cases = cases(&spec);
    let verdicts = spec_verdicts(&cases);
    assert_eq!(verdicts.len(), cases.len());

    // an order the valid requests can reach
    let t = TestTables::new().await;
    let events = plain_history("o-1001", 25);
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    t.snapshot_store().put(&snapshot_of(Order::replay("o-1001", &events[..10]).unwrap())).await.unwrap();
    let state = snapshot_admin::AppState::in_process(
        t.repository(),
        RetentionSettings::default(),
        Arc::new(ManualClock::at(1_800_000_000_000)),
        Arc::new(snapshot_admin::access::LogAudit),
        Duration::from_secs(5),
    );
    let router = snapshot_admin::router(state);

    let mut disagreements = Vec::new();
    let (mut valid, mut invalid) = (0, 0);
    for (case, (spec_valid, why)) in cases.iter().zip(verdicts) {
        let mut request =
            Request::builder().method(case.method).uri(case.uri()).extension(LocalCaller("test".into()));
        let body = match &case.body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        let response = router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
        let status = response.status().as_u16();
        let refused = matches!(status, 400 | 413 | 414 | 415);
        if spec_valid {
            valid += 1
        } else {
            invalid += 1
        }
        if spec_valid == refused {
            let body = case.body.as_ref().map(|b| b.to_string().chars().take(120).collect::<String>());
            disagreements.push(format!(
                "{} {} body {body:?}: the file says {} ({}), the router answered {status}",
                case.method,
                case.uri().chars().take(160).collect::<String>(),
                if spec_valid { "valid" } else { "invalid" },
                why.unwrap_or_default()
            ));
        }
    }
    assert!(valid > 40 && invalid > 60, "{valid} valid and {invalid} invalid samples: too few to mean much");
    assert!(disagreements.is_empty(), "{} disagreements:\n{}", disagreements.len(), disagreements.join("\n"));
}
