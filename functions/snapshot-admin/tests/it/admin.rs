//! The admin API against the local server: every route, every sample event, a table of bad
//! inputs, verification, audit records.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use shared::domain::samples::order_id as oid;
use shared::domain::{Money, Order, OrderEvent};
use shared::policy::settings::RetentionSettings;
use shared::store::snapshots::NewSnapshot;
use shared::use_cases::clock::ManualClock;
use snapshot_admin::access::LocalCaller;
use snapshot_admin::access::{AuditRecord, MemoryAudit};
use snapshot_admin::{AppState, router};
use std::sync::Arc;
use std::time::Duration;
use testkit::{TestTables, bulk_insert_events};
use tower::ServiceExt;

const NOW: i64 = 1_800_000_000_000;
const ADMIN_ARN: &str = "arn:aws:iam::123456789012:user/ops-admin";

struct Api {
    t: TestTables,
    router: Router,
    audit: Arc<MemoryAudit>,
}

fn history(order_id: &str, len: u64) -> Vec<shared::domain::RecordedEvent> {
    testkit::history(order_id, len, |seq| OrderEvent::ItemAdded {
        sku: format!("SKU-{}", seq % 3),
        name: "Mug".into(),
        quantity: 1,
        unit_price: Money::from_minor(990),
    })
}

/// o-1001: 25 events, snapshots at 10 and 20.
async fn api() -> Api {
    let t = TestTables::new().await;
    let events = history("o-1001", 25);
    bulk_insert_events(&t.client, &t.events_table, &events).await;
    for v in [10, 20] {
        let new = NewSnapshot {
            state: Order::replay("o-1001", &events[..v]).unwrap(),
            timestamp: NOW,
            created_by: "stream".into(),
            reason: "seed".into(),
            strategy: None,
            rule: None,
        };
        t.snapshot_store().put(&new).await.unwrap();
    }
    let audit = Arc::new(MemoryAudit::default());
    let state = AppState::in_process(
        t.repository(),
        RetentionSettings::default(),
        Arc::new(ManualClock::at(NOW)),
        audit.clone(),
        Duration::from_secs(60),
    );
    Api { t, router: router(state), audit }
}

impl Api {
    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("JSON body: {bytes:?}"));
        (status, body)
    }

    /// A request as `make run`'s local server sees it (explicit local admin identity).
    async fn local(&self, method: &str, uri: &str, body: Option<(&str, &str)>) -> (StatusCode, Value) {
        let mut builder = Request::builder().method(method).uri(uri).extension(LocalCaller(ADMIN_ARN.into()));
        let body = match body {
            Some((content_type, text)) => {
                builder = builder.header("content-type", content_type);
                Body::from(text.to_owned())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).unwrap()).await
    }

    /// A sample event from events/snapshot-admin/, exactly as API Gateway sends it.
    async fn event(&self, name: &str) -> (StatusCode, Value) {
        let path = format!("{}/../../events/snapshot-admin/{name}", env!("CARGO_MANIFEST_DIR"));
        let request = lambda_http::request::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let (parts, body) = request.into_parts();
        self.send(Request::from_parts(parts, Body::from(body.to_vec()))).await
    }

    fn last_audit(&self) -> AuditRecord {
        self.audit.records().last().cloned().expect("an audit record")
    }
}

// ---- every sample event ------------------------------------------------------------------

#[tokio::test]
async fn every_sample_event_runs_through_the_router() {
    let api = api().await;
    let expectations = [
        ("list.json", StatusCode::OK),
        ("list-with-state.json", StatusCode::OK),
        ("get-order.json", StatusCode::OK),
        ("verify.json", StatusCode::OK),
        ("create.json", StatusCode::CREATED),
        ("delete.json", StatusCode::OK),
        ("cleanup-one-order.json", StatusCode::OK),
        ("cleanup.json", StatusCode::ACCEPTED),
        ("rebuild.json", StatusCode::ACCEPTED),
        ("rebuild-status.json", StatusCode::OK),
        ("unauthorized-list.json", StatusCode::FORBIDDEN),
        ("unauthorized-create.json", StatusCode::FORBIDDEN),
        ("unauthorized-cleanup.json", StatusCode::FORBIDDEN),
        ("unauthorized-verify.json", StatusCode::FORBIDDEN),
        ("unauthorized-get-order.json", StatusCode::FORBIDDEN),
    ];
    let files: Vec<_> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/snapshot-admin"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name != "expected.json")
            .collect();
    assert_eq!(files.len(), expectations.len(), "every file has an expectation: {files:?}");
    for (file, status) in expectations {
        let (got, body) = api.event(file).await;
        assert_eq!(got, status, "{file}: {body}");
    }
}

// ---- each route: success, not found, conflict --------------------------------------------

#[tokio::test]
async fn list_pages_and_includes_state_on_request() {
    let api = api().await;
    let (status, body) = api.event("list.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["snapshots"].as_array().unwrap().len(), 2);
    assert_eq!(body["snapshots"][0]["version"], 20);
    assert!(body["snapshots"][0].get("state").is_none(), "metadata only by default");
    let (_, with_state) = api.event("list-with-state.json").await;
    assert_eq!(with_state["snapshots"][0]["state"]["version"], 20);
    let (_, page) = api.local("GET", "/admin/order-snapshots/o-1001?limit=1", None).await;
    assert_eq!(page["next"], 20);
    let (_, older) = api.local("GET", "/admin/order-snapshots/o-1001?limit=1&before=20", None).await;
    assert_eq!(older["snapshots"][0]["version"], 10);
    let (status, _) = api.local("GET", "/admin/order-snapshots/o-none", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn create_snapshots_the_current_state_and_refuses_a_duplicate() {
    let api = api().await;
    let (status, body) = api.event("create.json").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["version"], 25);
    assert_eq!(body["metadata"]["createdBy"], format!("admin:{ADMIN_ARN}"));
    assert_eq!(body["metadata"]["reason"], "before a data migration");
    assert_eq!(api.t.verified_snapshots("o-1001").await, vec![25, 20, 10]);
    let (status, body) = api.event("create.json").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = api.local("POST", "/admin/order-snapshots/create/o-none", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn delete_removes_one_version_and_404s_after() {
    let api = api().await;
    let (status, body) = api.event("delete.json").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.t.verified_snapshots("o-1001").await, vec![20]);
    let (status, body) = api.event("delete.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn a_personal_data_request_deletes_every_snapshot_of_the_order_and_keeps_its_events() {
    let api = api().await;
    let events_before = api.t.event_store().read_from(&oid("o-1001"), 1).await.unwrap().0;
    let (status, body) = api.local("DELETE", "/admin/order-snapshots/o-1001", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["snapshotsDeleted"].as_u64(), body["eventsKept"].as_bool()), (Some(2), Some(true)));
    assert!(api.t.verified_snapshots("o-1001").await.is_empty(), "no snapshot left");
    assert_eq!(
        api.t.event_store().read_from(&oid("o-1001"), 1).await.unwrap().0,
        events_before,
        "events untouched"
    );
    let record = api.last_audit();
    assert_eq!(
        (record.action.as_str(), record.order_id.as_deref(), record.status),
        ("snapshot.delete-all", Some("o-1001"), 200)
    );
    // again: nothing left to delete, still 200
    let (status, body) = api.local("DELETE", "/admin/order-snapshots/o-1001", None).await;
    assert_eq!((status, body["snapshotsDeleted"].as_u64()), (StatusCode::OK, Some(0)));
    // the order is still there (its events are): its listing is an empty page on every page,
    // not a 404, which says that nothing at all is stored for the order
    for page in ["", "?before=11258766463526"] {
        let (status, body) = api.local("GET", &format!("/admin/order-snapshots/o-1001{page}"), None).await;
        assert_eq!(status, StatusCode::OK, "{page}: {body}");
        assert_eq!((body["snapshots"].clone(), body["next"].clone()), (json!([]), json!(null)), "{page}");
        let (status, body) = api.local("GET", &format!("/admin/order-snapshots/o-none{page}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{page}: {body}");
    }
}

#[tokio::test]
async fn cleanup_starts_asynchronously_or_runs_one_order_inline() {
    let api = api().await;
    let (status, body) = api.event("cleanup.json").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["status"], "started");
    assert!(body["cleanup"]["follow"].as_str().unwrap().contains("task"));
    let (status, body) = api.event("cleanup-one-order.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["orderId"], "o-1001");
    assert_eq!(body["snapshotsBefore"], 2);
    assert_eq!(body["deleted"], json!([]));
}

#[tokio::test]
async fn get_order_reports_state_and_load_cost() {
    let api = api().await;
    let (status, body) = api.event("get-order.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["order"]["version"], 25);
    assert_eq!(body["loadCost"]["snapshotVersion"], 20);
    assert_eq!(body["loadCost"]["eventsReplayed"], 5);
    assert_eq!(body["loadCost"]["roundTrips"], 2);
    let (status, _) = api.local("GET", "/admin/orders/o-none", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---- verify ------------------------------------------------------------------------------

#[tokio::test]
async fn verify_reports_a_match_for_a_good_snapshot_and_drift_for_corrupted_ones() {
    let api = api().await;
    let (_, body) = api.event("verify.json").await;
    assert_eq!((body["result"].clone(), body["snapshotVersion"].clone()), (json!("match"), json!(20)));

    // a snapshot whose state is wrong but whose checksum is consistent (a bug, not bit rot)
    let events = history("o-1001", 25);
    let mut wrong = Order::replay("o-1001", &events[..22]).unwrap();
    wrong.items[0].quantity += 1;
    let new = NewSnapshot {
        state: wrong,
        timestamp: NOW,
        created_by: "bug".into(),
        reason: "bug".into(),
        strategy: None,
        rule: None,
    };
    api.t.snapshot_store().put(&new).await.unwrap();
    let (_, body) = api.local("POST", "/admin/order-snapshots/verify/o-1001", None).await;
    assert_eq!(body["result"], "drift", "{body}");
    assert_eq!(body["snapshotVersion"], 22);
    assert_eq!(body["firstDifference"]["path"], "/items/0/quantity");

    // a snapshot whose bytes were damaged: unusable
    api.t
        .client
        .update_item()
        .table_name(&api.t.snapshots_table)
        .key("orderId", aws_sdk_dynamodb::types::AttributeValue::S("o-1001".into()))
        .key("version", aws_sdk_dynamodb::types::AttributeValue::N("22".into()))
        .update_expression("SET #s = :v")
        .expression_attribute_names("#s", "state")
        .expression_attribute_values(":v", aws_sdk_dynamodb::types::AttributeValue::B(b"{}".to_vec().into()))
        .send()
        .await
        .unwrap();
    let (_, body) = api.local("POST", "/admin/order-snapshots/verify/o-1001", None).await;
    assert_eq!(body["result"], "drift");
    assert!(body["unusable"].as_str().unwrap().contains("checksum"), "{body}");

    let (status, _) = api.local("POST", "/admin/order-snapshots/verify/o-none", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---- bad input ---------------------------------------------------------------------------

#[tokio::test]
async fn bad_inputs_get_the_right_4xx_and_never_a_500() {
    let api = api().await;
    let huge = "a".repeat(10_000);
    let big_body = format!("{{\"reason\":\"{}\"}}", "x".repeat(20_000));
    // past axum's own 2 MB default, which answered in plain text before
    let huge_body = format!("{{\"reason\":\"{}\"}}", "x".repeat(3 << 20));
    // (method, uri, optional (content type, body), expected status)
    type Case<'a> = (&'a str, String, Option<(&'a str, &'a str)>, u16);
    let cases: Vec<Case> = vec![
        // path tricks and ids
        ("GET", "/admin/order-snapshots/..%2F..%2Fetc%2Fpasswd".into(), None, 400),
        ("GET", "/admin/order-snapshots/a%2Fb".into(), None, 400),
        ("GET", "/admin/order-snapshots/%2E%2E".into(), None, 400),
        ("GET", "/admin/order-snapshots/o%201001".into(), None, 400),
        ("GET", "/admin/order-snapshots/-o".into(), None, 400),
        ("GET", "/admin/order-snapshots/%FF%FE".into(), None, 400),
        ("DELETE", "/admin/order-snapshots/%C0/1".into(), None, 400),
        ("GET", "/admin/orders/%".into(), None, 400),
        ("GET", format!("/admin/order-snapshots/{}", "a".repeat(65)), None, 400),
        ("GET", format!("/admin/orders/{huge}"), None, 400),
        ("GET", "/admin/order-snapshots/o-1001/../../x".into(), None, 404),
        // versions
        ("DELETE", "/admin/order-snapshots/o-1001/-1".into(), None, 400),
        ("DELETE", "/admin/order-snapshots/o-1001/0".into(), None, 400),
        ("DELETE", "/admin/order-snapshots/o-1001/abc".into(), None, 400),
        ("DELETE", "/admin/order-snapshots/o-1001/1.5".into(), None, 400),
        ("DELETE", "/admin/order-snapshots/o-1001/010".into(), None, 400),
        ("DELETE", "/admin/order-snapshots/o-1001/99999999999999999999".into(), None, 400),
        ("DELETE", "/admin/order-snapshots/o-1001/999".into(), None, 404),
        // query strings
        ("GET", "/admin/order-snapshots/o-1001?limit=0".into(), None, 400),
        ("GET", "/admin/order-snapshots/o-1001?limit=1000".into(), None, 400),
        ("GET", "/admin/order-snapshots/o-1001?limit=ten".into(), None, 400),
        ("GET", "/admin/order-snapshots/o-1001?includeState=yes".into(), None, 400),
        // ids API Gateway would route elsewhere: refused wherever they reach the function
        ("POST", "/admin/order-snapshots/create/cleanup".into(), None, 400),
        ("POST", "/admin/order-snapshots/verify/rebuild".into(), None, 400),
        ("GET", "/admin/orders/create".into(), None, 400),
        ("GET", "/admin/order-snapshots/verify".into(), None, 400),
        ("POST", "/admin/order-snapshots/cleanup?orderId=rebuild".into(), None, 400),
        ("GET", "/admin/order-snapshots/o-1001?color=red".into(), None, 400),
        ("GET", "/admin/order-snapshots/o-1001?limit=1&limit=2".into(), None, 400),
        ("POST", "/admin/order-snapshots/cleanup?orderId=../x".into(), None, 400),
        // bodies
        ("POST", "/admin/order-snapshots/create/o-1001".into(), Some(("application/json", "{not json")), 400),
        (
            "POST",
            "/admin/order-snapshots/create/o-1001".into(),
            Some(("application/json", "{\"reason\":\"\"}")),
            400,
        ),
        (
            "POST",
            "/admin/order-snapshots/create/o-1001".into(),
            Some(("application/json", "{\"why\":\"x\"}")),
            400,
        ),
        ("POST", "/admin/order-snapshots/create/o-1001".into(), Some(("text/plain", "reason")), 415),
        (
            "POST",
            "/admin/order-snapshots/create/o-1001".into(),
            Some(("application/json", big_body.as_str())),
            413,
        ),
        (
            "POST",
            "/admin/order-snapshots/create/o-1001".into(),
            Some(("application/json", huge_body.as_str())),
            413,
        ),
        (
            "DELETE",
            "/admin/order-snapshots/o-1001/1".into(),
            Some(("application/json", huge_body.as_str())),
            413,
        ),
        ("GET", "/admin/order-snapshots/o-1001".into(), Some(("application/json", "{\"a\":1}")), 400),
        // routes and methods
        ("GET", "/admin/nothing-here".into(), None, 404),
        ("GET", "/".into(), None, 404),
        ("PUT", "/admin/order-snapshots/o-1001".into(), None, 405),
        ("GET", "/admin/order-snapshots/a/b/c".into(), None, 404),
        ("GET", "/admin/order-snapshots/cleanup/now".into(), None, 405),
        ("PATCH", "/admin/orders/o-1001".into(), None, 405),
    ];
    let count = cases.len();
    for (method, uri, body, expected) in cases {
        let (status, response) = api.local(method, &uri, body).await;
        let uri = &uri[..uri.len().min(120)];
        assert_eq!(status.as_u16(), expected, "{method} {uri}: {response}");
        assert!(
            response["error"]["code"].is_string() && response["error"]["message"].is_string(),
            "{response}"
        );
    }
    assert!(api.audit.records().iter().all(|r| r.status < 500), "no 500 for any bad input");
    assert_eq!(api.audit.records().len(), count, "one audit record each");
}

// ---- authorization and audit -------------------------------------------------------------

#[tokio::test]
async fn requests_without_an_admin_identity_are_refused_even_on_unknown_routes() {
    let api = api().await;
    let (status, body) = api.event("unauthorized-list.json").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert_eq!(api.t.verified_snapshots("o-1001").await, vec![20, 10], "the refused delete did nothing");
    // every route refuses a request that carries no identity, and changes nothing
    for route in snapshot_admin::routes::ROUTES {
        let (method, path) = (route.method, route.path);
        let uri = path.replace("{orderId}", "o-1001").replace("{version}", "10");
        let bare = Request::builder().method(method).uri(&uri).body(Body::empty()).unwrap();
        let (status, body) = api.send(bare).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}: {body}");
    }
    assert_eq!(api.t.verified_snapshots("o-1001").await, vec![20, 10]);
    // no API Gateway context and no local identity: refused
    let bare = Request::builder().uri("/admin/nothing").body(Body::empty()).unwrap();
    assert_eq!(api.send(bare).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_request_leaves_one_audit_record_field_by_field() {
    let api = api().await;
    api.event("delete.json").await;
    assert_eq!(
        api.last_audit(),
        AuditRecord {
            caller: Some(ADMIN_ARN.into()),
            action: "snapshot.delete".into(),
            order_id: Some("o-1001".into()),
            version: Some(10),
            outcome: "ok",
            status: 200,
            request_id: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef".into(),
        }
    );
    api.event("unauthorized-list.json").await;
    assert_eq!(
        api.last_audit(),
        AuditRecord {
            caller: None,
            action: "unauthorized".into(),
            order_id: None,
            version: None,
            outcome: "denied",
            status: 403,
            request_id: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef".into(),
        }
    );
    api.event("get-order.json").await;
    let record = api.last_audit();
    assert_eq!(record.caller.as_deref(), Some(ADMIN_ARN));
    assert_eq!((record.action.as_str(), record.outcome, record.status), ("order.get", "ok", 200));
    api.local("DELETE", "/admin/order-snapshots/o-1001/abc", None).await;
    let record = api.last_audit();
    assert_eq!(
        (record.action.as_str(), record.order_id.as_deref(), record.version, record.outcome, record.status),
        ("snapshot.delete", Some("o-1001"), None, "rejected", 400)
    );
    assert!(!record.request_id.is_empty());
    api.local("POST", "/admin/order-snapshots/create/o-1001", None).await;
    let record = api.last_audit();
    assert_eq!((record.action.as_str(), record.version, record.status), ("snapshot.create", Some(25), 201));
    assert_eq!(api.audit.records().len(), 5, "one record per request");
}

// ---- the OpenAPI description -------------------------------------------------------------

#[tokio::test]
async fn the_openapi_description_lists_exactly_the_routes_the_router_serves() {
    let spec: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap(),
    )
    .unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for (method, _) in item.as_mapping().unwrap() {
            documented.push((method.as_str().unwrap().to_uppercase(), path.as_str().unwrap().to_owned()));
        }
    }
    documented.sort();
    let mut routes: Vec<(String, String)> =
        snapshot_admin::routes::ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
    routes.sort();
    assert_eq!(documented, routes);

    // and the router serves each (a concrete request is not the 404/405 fallback)
    let api = api().await;
    for (method, path) in routes {
        let uri = path.replace("{orderId}", "o-1001").replace("{version}", "20");
        let (status, body) = api.local(&method, &uri, None).await;
        let fallback =
            body["error"]["message"] == "no such route" || status == StatusCode::METHOD_NOT_ALLOWED;
        assert!(!fallback, "{method} {uri} is not routed: {status} {body}");
    }
}

#[test]
fn the_admin_api_doc_names_every_audit_action() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/admin-api.md")).unwrap();
    for route in snapshot_admin::routes::ROUTES {
        assert!(
            doc.contains(&format!("`{}`", route.action)),
            "docs/admin-api.md does not name {}",
            route.action
        );
    }
}

#[test]
fn the_template_routes_are_the_routers() {
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")).unwrap(),
    )
    .unwrap();
    let events = template["Resources"]["SnapshotAdminFunction"]["Properties"]["Events"].as_mapping().unwrap();
    let mut declared: Vec<(String, String)> = events
        .values()
        .map(|e| {
            let p = &e["Properties"];
            (p["Method"].as_str().unwrap().to_uppercase(), p["Path"].as_str().unwrap().to_owned())
        })
        .collect();
    declared.sort();
    let mut routes: Vec<(String, String)> =
        snapshot_admin::routes::ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
    routes.sort();
    assert_eq!(declared, routes);
}

// ---- concurrency -------------------------------------------------------------------------

#[tokio::test]
async fn concurrent_admin_creates_write_one_snapshot_and_the_rest_conflict() {
    let api = Arc::new(api().await);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let api = Arc::clone(&api);
            tokio::spawn(
                async move { api.local("POST", "/admin/order-snapshots/create/o-1001", None).await.0 },
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for call in calls {
        statuses.push(call.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT), "{statuses:?}");
    assert_eq!(api.t.verified_snapshots("o-1001").await, vec![25, 20, 10]);
}

// ---- damaged items are data, not a 500 ----------------------------------------------------

/// Puts a snapshot item at `version` of o-1001 whose metadata no reader understands.
async fn put_damaged(api: &Api, version: u64) {
    let events = history("o-1001", 25);
    let new = NewSnapshot {
        state: Order::replay("o-1001", &events[..version as usize]).unwrap(),
        timestamp: NOW,
        created_by: "stream".into(),
        reason: "test".into(),
        strategy: None,
        rule: None,
    };
    let (mut item, _) = shared::store::snapshots::codec::encode(&new).unwrap();
    item.insert("metadata".into(), aws_sdk_dynamodb::types::AttributeValue::S("{not a map".into()));
    api.t.client.put_item().table_name(&api.t.snapshots_table).set_item(Some(item)).send().await.unwrap();
}

#[tokio::test]
async fn a_damaged_snapshot_item_is_listed_as_unusable_with_why() {
    let api = api().await;
    put_damaged(&api, 15).await;
    for uri in ["/admin/order-snapshots/o-1001", "/admin/order-snapshots/o-1001?includeState=true"] {
        let (status, body) = api.local("GET", uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        let versions: Vec<_> =
            body["snapshots"].as_array().unwrap().iter().map(|s| s["version"].clone()).collect();
        assert_eq!(versions, [20, 15, 10], "{uri}: newest first, the damaged one in its place");
        let damaged = &body["snapshots"][1];
        assert_eq!(
            (damaged["usable"].as_bool(), damaged["orderId"].as_str()),
            (Some(false), Some("o-1001")),
            "{damaged}"
        );
        assert!(damaged["unusable"].as_str().unwrap().contains("metadata"), "{damaged}");
        assert_eq!(body["snapshots"][0]["usable"], true, "{uri}");
    }
}

#[tokio::test]
async fn the_personal_data_delete_removes_damaged_items_too_and_counts_them_all() {
    let api = api().await;
    put_damaged(&api, 15).await;
    let (status, body) = api.local("DELETE", "/admin/order-snapshots/o-1001", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["snapshotsDeleted"], 3, "two good items and the damaged one: {body}");
    assert!(
        api.t.snapshot_store().versions(&oid("o-1001")).await.unwrap().is_empty(),
        "nothing of the order is left"
    );
    assert_eq!(api.t.repository().history(&oid("o-1001")).await.unwrap().len(), 25, "its events are kept");
    let (_, again) = api.local("DELETE", "/admin/order-snapshots/o-1001", None).await;
    assert_eq!(again["snapshotsDeleted"], 0);
}

// ---- rebuild scopes -------------------------------------------------------------------------

#[tokio::test]
async fn an_orders_scope_takes_200_of_the_longest_ids_and_refuses_201() {
    let api = api().await;
    let longest = |i: usize| format!("{i:0>64}");
    let body = |count: usize| {
        let ids: Vec<String> = (0..count).map(longest).collect();
        serde_json::json!({"scope": {"kind": "orders", "orderIds": ids}}).to_string()
    };
    let fits = body(200);
    assert!(fits.len() < snapshot_admin::limits::MAX_BODY_BYTES, "{} bytes", fits.len());
    let (status, answer) =
        api.local("POST", "/admin/order-snapshots/rebuild", Some(("application/json", &fits))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["job"]["scope"]["orderIds"].as_array().unwrap().len(), 200);
    let too_many = body(201);
    let replace = too_many.replacen("{\"scope\"", "{\"replace\":true,\"scope\"", 1);
    let (status, answer) =
        api.local("POST", "/admin/order-snapshots/rebuild", Some(("application/json", &replace))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("1 to 200"), "{answer}");
    // and the OpenAPI file says the same
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    assert!(spec.contains("orderIds: { type: array, minItems: 1, maxItems: 200,"), "openapi.yaml's orderIds");
}

#[tokio::test]
async fn a_second_rebuild_while_one_runs_is_409_and_a_bad_scope_is_400() {
    let api = api().await;
    let start = |body: &'static str| {
        api.local("POST", "/admin/order-snapshots/rebuild", Some(("application/json", body)))
    };
    // a scope no job can have
    let (status, body) = start(r#"{"scope": {"kind": "minEvents", "events": 0}}"#).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request")),
        "{body}"
    );
    // given a job that is running (started, no turn taken yet)
    let clock = Arc::new(ManualClock::at(NOW));
    let rebuild = shared::use_cases::maintenance::rebuild::RebuildService::new(api.t.repository(), clock);
    let running = rebuild
        .start(shared::store::control::rebuild_scope::RebuildScope::All, "other", false)
        .await
        .unwrap();
    // then another start is a 409 naming it, and changes nothing
    let (status, body) = start(r#"{"scope": {"kind": "stale"}}"#).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains(&running.job_id), "{body}");
    assert_eq!(rebuild.status().await.unwrap().unwrap().job_id, running.job_id);
}

// ---- a page with states stays under Lambda's 6 MB response ---------------------------------

#[tokio::test]
async fn a_page_with_states_ends_before_its_states_pass_4_mib_and_the_rest_come_next() {
    let api = api().await;
    // o-big: each event adds a line of 400 KiB (it compresses well, so snapshots still fit an
    // item); snapshots at 3, 6, 9 and 14 events hold states of about 0.8, 2, 3.2 and 5.2 MiB.
    let name = "x".repeat(400 * 1024);
    let events = testkit::history("o-big", 14, |seq| OrderEvent::ItemAdded {
        sku: format!("SKU-{seq}"),
        name: name.clone(),
        quantity: 1,
        unit_price: Money::from_minor(100),
    });
    for v in [3, 6, 9, 14] {
        let new = NewSnapshot {
            state: Order::replay("o-big", &events[..v]).unwrap(),
            timestamp: NOW,
            created_by: "stream".into(),
            reason: "seed".into(),
            strategy: None,
            rule: None,
        };
        api.t.snapshot_store().put(&new).await.unwrap();
    }
    let mut pages = Vec::new();
    let mut before = None::<u64>;
    loop {
        let uri = match before {
            Some(b) => format!("/admin/order-snapshots/o-big?includeState=true&limit=100&before={b}"),
            None => "/admin/order-snapshots/o-big?includeState=true&limit=100".to_owned(),
        };
        let response = api
            .router
            .clone()
            .oneshot(
                Request::builder()
                    .uri(&uri)
                    .extension(LocalCaller(ADMIN_ARN.into()))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await.unwrap();
        // API Gateway's proxy response carries the body as a JSON string: measure that
        let proxied = serde_json::to_string(&String::from_utf8(bytes.to_vec()).unwrap()).unwrap();
        assert!(proxied.len() < 6_000_000, "{uri}: {} bytes", proxied.len());
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        let page: Vec<(u64, bool)> = body["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["version"].as_u64().unwrap(), s["state"]["omitted"].is_string()))
            .collect();
        pages.push(page);
        match body["next"].as_u64() {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(
        pages,
        vec![vec![(14, true), (9, false)], vec![(6, false), (3, false)]],
        "the 5.2 MiB state is listed but not sent; 3.2 + 2 MiB would pass 4 MiB"
    );
}

/// `schemas/order-state.schema.json` (JSON Schema 2020-12) in OpenAPI 3.0's dialect: its
/// definitions as `State<Name>` components, `null` in a type as `nullable`, `const` as a
/// one-value `enum`.
fn in_openapi_dialect(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$schema" | "$defs", _) => {}
                    ("$ref", Value::String(r)) => {
                        let name = r.rsplit('/').next().unwrap();
                        out.insert(key.clone(), json!(format!("#/components/schemas/State{name}")));
                    }
                    ("const", v) => {
                        out.insert("enum".into(), json!([v]));
                    }
                    ("type", Value::Array(types)) if types.contains(&json!("null")) => {
                        let rest: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
                        assert_eq!(rest.len(), 1, "one type beside null: {types:?}");
                        out.insert("type".into(), rest[0].clone());
                        out.insert("nullable".into(), json!(true));
                    }
                    ("anyOf", Value::Array(options)) if options.contains(&json!({"type": "null"})) => {
                        let rest: Vec<Value> = options
                            .iter()
                            .filter(|o| **o != json!({"type": "null"}))
                            .map(in_openapi_dialect)
                            .collect();
                        out.insert("anyOf".into(), Value::Array(rest));
                        out.insert("nullable".into(), json!(true));
                    }
                    (_, v) => {
                        out.insert(key.clone(), in_openapi_dialect(v));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(in_openapi_dialect).collect()),
        other => other.clone(),
    }
}

#[test]
fn the_openapi_file_describes_the_order_with_the_published_state_schema() {
    let published: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schemas/order-state.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let spec: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap(),
    )
    .unwrap();
    let components = &spec["components"]["schemas"];
    let mut expected = vec![("OrderState".to_owned(), in_openapi_dialect(&published))];
    for (name, definition) in published["$defs"].as_object().unwrap() {
        expected.push((format!("State{name}"), in_openapi_dialect(definition)));
    }
    for (name, schema) in &expected {
        assert_eq!(
            &components[name], schema,
            "components/schemas/{name} in openapi.yaml is not the published state schema; write:\n    {name}: {schema}"
        );
    }
    let order = &spec["paths"]["/admin/orders/{orderId}"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"]["properties"]["order"];
    assert_eq!(order, &json!({"$ref": "#/components/schemas/OrderState"}));
}
