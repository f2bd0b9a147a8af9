//! Who may call, and one audit record of what they did: [`guard`], the one middleware every
//! route (and the fallbacks) runs in. API Gateway authenticates (AWS_IAM on every route, SigV4)
//! and IAM decides which routes a principal may call (the template's read-only and operator
//! policies); the function still refuses any request that carries no authenticated identity
//! (deny by default). The record names the caller, the route's action from the route table,
//! the order and version from the path, the outcome; the handlers say nothing of it.

use crate::error::ApiError;
use crate::extract::positive_integer;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lambda_http::request::RequestContext;
use serde::Serialize;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// The authenticated caller; `None` when the request carried none.
    pub caller: Option<String>,
    /// The route's action (`routes::ROUTES`: `snapshot.create`, `snapshot.list`, …);
    /// `unauthorized` without an identity, `unknown` for no route.
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

/// A snapshot version that only the handler learns (the one it created or verified).
#[derive(Clone, Copy, Debug)]
struct AuditedVersion(u64);

pub fn with_audited_version(mut response: Response, version: u64) -> Response {
    response.extensions_mut().insert(AuditedVersion(version));
    response
}

fn outcome(status: u16) -> &'static str {
    match status {
        200..=299 => "ok",
        401 | 403 => "denied",
        400..=499 => "rejected",
        _ => "failed",
    }
}

/// The authenticated caller, as [`guard`] established it (a request extension).
#[derive(Clone, Debug)]
pub struct Caller(pub String);

/// The identity `make run`'s local server gives every request (there is no API Gateway
/// locally). Never present in Lambda.
#[derive(Clone, Debug)]
pub struct LocalCaller(pub String);

/// Names the action of the route at (method, matched path); `None` when none is there.
pub type ActionOf = fn(&str, &str) -> Option<&'static str>;

/// Deny by default, then one audit record for whatever happened. A layer on every endpoint
/// (axum applies `Router::layer` per route, after routing), so the matched route and its path
/// parameters are known here; `action_of` names the route's action from the route table.
pub async fn guard(audit: Arc<dyn AuditSink>, action_of: ActionOf, request: Request, next: Next) -> Response {
    let request_id = request_id(&request);
    let (mut parts, body) = request.into_parts();
    let caller = match caller(&parts) {
        Ok(caller) => caller,
        Err(denied) => {
            tracing::warn!(path = %parts.uri.path(), reason = %denied, "request refused");
            let refused = ApiError::Unauthenticated.into_response();
            return record(&*audit, None, "unauthorized", (None, None), request_id, refused);
        }
    };
    let (action, order_id, version) = about(&mut parts, action_of).await;
    parts.extensions.insert(Caller(caller.clone()));
    let response = next.run(Request::from_parts(parts, body)).await;
    let version = version.or_else(|| response.extensions().get::<AuditedVersion>().map(|v| v.0));
    record(&*audit, Some(caller), action, (order_id, version), request_id, response)
}

fn record(
    audit: &dyn AuditSink,
    caller: Option<String>,
    action: &str,
    (order_id, version): (Option<String>, Option<u64>),
    request_id: String,
    response: Response,
) -> Response {
    let status = response.status().as_u16();
    audit.record(AuditRecord {
        caller,
        action: action.to_owned(),
        order_id,
        version,
        outcome: outcome(status),
        status,
        request_id,
    });
    response
}

/// The route's action, and the order and version the request names (the path's, or a
/// cleanup's `orderId` query), as sent: a record describes refused requests too.
async fn about(parts: &mut Parts, action_of: ActionOf) -> (&'static str, Option<String>, Option<u64>) {
    let matched = parts.extensions.get::<MatchedPath>();
    let action = matched.and_then(|path| action_of(parts.method.as_str(), path.as_str()));
    let params = RawPathParams::from_request_parts(parts, &()).await.ok();
    let param = |name: &str| params.as_ref()?.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_owned());
    let order_id = param("orderId").or_else(|| query_order_id(parts.uri.query()));
    let version = param("version").and_then(|v| positive_integer(&v, "version").ok());
    (action.unwrap_or("unknown"), order_id, version)
}

fn query_order_id(query: Option<&str>) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    pairs.into_iter().find(|(k, _)| k == "orderId").map(|(_, v)| v)
}

fn caller(parts: &Parts) -> Result<String, ApiError> {
    if let Some(LocalCaller(id)) = parts.extensions.get::<LocalCaller>() {
        return Ok(id.clone());
    }
    let Some(RequestContext::ApiGatewayV1(context)) = parts.extensions.get::<RequestContext>() else {
        return Err(ApiError::Unauthenticated);
    };
    // AWS_IAM: API Gateway verified the SigV4 signature and put the principal here.
    match context.identity.user_arn.as_deref().filter(|arn| arn.starts_with("arn:")) {
        Some(arn) => Ok(arn.to_owned()),
        None => Err(ApiError::Unauthenticated),
    }
}

/// API Gateway's request id, else a fresh one (local server).
fn request_id(request: &Request) -> String {
    match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV1(context)) => context.request_id.clone(),
        _ => None,
    }
    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}
