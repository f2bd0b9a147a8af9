//! Who is calling. API Gateway authenticates (AWS_IAM on every route, SigV4) and IAM decides
//! which routes a principal may call (the template's read-only and operator policies); the
//! function still refuses any request that carries no authenticated identity. Deny by default.

use crate::audit::{self, AuditInfo, AuditRecord};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lambda_http::request::RequestContext;

/// The authenticated caller, as the auth layer established it (a request extension).
#[derive(Clone, Debug)]
pub struct Caller(pub String);

/// The identity `make run`'s local server gives every request (there is no API Gateway
/// locally). Never present in Lambda.
#[derive(Clone, Debug)]
pub struct LocalCaller(pub String);

pub fn caller(parts: &Parts) -> Result<String, ApiError> {
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

/// Deny by default, then one audit record for whatever happened.
pub async fn authorize_and_audit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let request_id = request_id(&request);
    let (mut parts, body) = request.into_parts();
    let caller = caller(&parts);
    let response = match &caller {
        Ok(id) => {
            parts.extensions.insert(Caller(id.clone()));
            next.run(Request::from_parts(parts, body)).await
        }
        Err(denied) => {
            tracing::warn!(path = %parts.uri.path(), reason = %denied, "request refused");
            let mut response = ApiError::Unauthenticated.into_response();
            response.extensions_mut().insert(AuditInfo { action: "unauthorized", ..AuditInfo::default() });
            response
        }
    };
    let info = response
        .extensions()
        .get::<AuditInfo>()
        .cloned()
        .unwrap_or(AuditInfo { action: "unknown", ..AuditInfo::default() });
    let status = response.status().as_u16();
    state.audit.record(AuditRecord {
        caller: caller.ok(),
        action: info.action.to_owned(),
        order_id: info.order_id,
        version: info.version,
        outcome: audit::outcome(status),
        status,
        request_id,
    });
    response
}

/// API Gateway's request id, else a fresh one (local server).
fn request_id(request: &Request) -> String {
    match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV1(context)) => context.request_id.clone(),
        _ => None,
    }
    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}
