//! One audit record per request: who, what, which order and version, the outcome. The
//! handlers say nothing of it: [`describe`] (a layer on every route of the route table) names
//! the route's action and the order and version from its parameters; the outer layer
//! (`auth::authorize_and_audit`) adds the caller and the status and records it.

use crate::input;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, Request};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use std::sync::Mutex;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// The authenticated caller; `None` when the request carried none.
    pub caller: Option<String>,
    /// The route's action (`routes::ROUTES`: `snapshot.create`, `snapshot.list`, …);
    /// `unauthorized` or `unknown` before routing.
    pub action: String,
    pub order_id: Option<String>,
    pub version: Option<u64>,
    /// `ok`, `denied`, `rejected` (4xx), `failed` (5xx).
    pub outcome: &'static str,
    pub status: u16,
    pub request_id: String,
}

pub trait AuditSink: Send + Sync {
    fn record(&self, record: AuditRecord);
}

/// Production: a structured log line with target `audit`.
pub struct LogAudit;

impl AuditSink for LogAudit {
    fn record(&self, r: AuditRecord) {
        tracing::info!(
            target: "audit",
            caller = r.caller.as_deref(),
            action = %r.action,
            order_id = r.order_id.as_deref(),
            version = r.version,
            outcome = r.outcome,
            status = r.status,
            request_id = %r.request_id,
            "audit"
        );
    }
}

/// Keeps records in memory (and logs them): tests assert on it field by field.
#[derive(Default)]
pub struct MemoryAudit(Mutex<Vec<AuditRecord>>);

impl MemoryAudit {
    pub fn records(&self) -> Vec<AuditRecord> {
        self.0.lock().expect("audit lock").clone()
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, record: AuditRecord) {
        LogAudit.record(record.clone());
        self.0.lock().expect("audit lock").push(record);
    }
}

/// What the request was about (a response extension the outer layer reads).
#[derive(Clone, Debug, Default)]
pub struct AuditInfo {
    pub action: &'static str,
    pub order_id: Option<String>,
    pub version: Option<u64>,
}

/// A snapshot version that only the handler learns (the one it created or verified).
#[derive(Clone, Copy, Debug)]
struct AuditedVersion(u64);

pub fn with_audited_version(mut response: Response, version: u64) -> Response {
    response.extensions_mut().insert(AuditedVersion(version));
    response
}

/// Route layer: what a matched request is about, from its route's action, path parameters
/// and query (`orderId` of a cleanup), whatever the handler then answers.
pub async fn describe(
    action: &'static str,
    params: Result<RawPathParams, RawPathParamsRejection>,
    request: Request,
    next: Next,
) -> Response {
    let param = |name: &str| {
        params.as_ref().ok().and_then(|p| p.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_owned()))
    };
    let order_id = param("orderId").or_else(|| query_order_id(request.uri().query()));
    let version = param("version").and_then(|v| input::positive_integer(&v, "version").ok());
    let mut response = next.run(request).await;
    let version = version.or_else(|| response.extensions().get::<AuditedVersion>().map(|v| v.0));
    response.extensions_mut().insert(AuditInfo { action, order_id, version });
    response
}

fn query_order_id(query: Option<&str>) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    pairs.into_iter().find(|(k, _)| k == "orderId").map(|(_, v)| v)
}

pub fn outcome(status: u16) -> &'static str {
    match status {
        200..=299 => "ok",
        401 | 403 => "denied",
        400..=499 => "rejected",
        _ => "failed",
    }
}
