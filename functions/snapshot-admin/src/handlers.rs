//! The handlers: each validates its input, calls a use case in `shared::use_cases::admin` (or the
//! cleanup), and shapes the answer. They take raw path strings so that every matched request
//! reaches a handler, even one with a malformed parameter, and gets our JSON error. What the
//! audit record says is filled in by the audit layer (`audit.rs`), not here.

use crate::audit::with_audited_version;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input;
use crate::limits::{DEFAULT_PAGE, MAX_PAGE};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use shared::use_cases::maintenance::Job;
use shared::use_cases::maintenance::rebuild::RebuildScope;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    reason: String,
}

fn reason(headers: &HeaderMap, body: &Bytes, default: &str) -> Result<String, ApiError> {
    match input::body::<ReasonBody>(headers, body)? {
        None => Ok(default.to_owned()),
        // the OpenAPI file's rule exactly: 1 to 256 characters, any characters
        Some(ReasonBody { reason }) if (1..=256).contains(&reason.chars().count()) => Ok(reason),
        Some(_) => Err(ApiError::BadRequest("reason must be 1-256 characters".into())),
    }
}

/// Path parameters that cannot even be decoded (bad percent-encoding, invalid UTF-8) are a
/// 400 in our JSON shape like any other bad input.
fn param<T>(path: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    path.map(|Path(p)| p).map_err(|e| ApiError::BadRequest(format!("malformed path: {}", e.body_text())))
}

/// The order of a route that takes no body.
fn order_without_body(path: Result<Path<String>, PathRejection>, body: &Bytes) -> Result<String, ApiError> {
    let order_id = input::order_id(&param(path)?)?;
    input::no_body(body)?;
    Ok(order_id)
}

pub async fn create(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let order_id = input::order_id(&param(path)?)?;
    let why = reason(&headers, &body, "manual snapshot")?;
    let created = state.admin.create(&order_id, &format!("admin:{caller}"), &why).await?;
    let body = json!({
        "orderId": order_id,
        "version": created.version,
        "lastEventSequence": created.version,
        "metadata": created.metadata,
        "loadCost": created.cost,
    });
    Ok(with_audited_version((StatusCode::CREATED, Json(body)).into_response(), created.version))
}

pub async fn list(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let order_id = order_without_body(path, &body)?;
    let q = input::query(query.as_deref(), &["limit", "before", "includeState"])?;
    let limit = match q.get("limit") {
        None => DEFAULT_PAGE,
        Some(raw) => match input::positive_integer(raw, "limit")? {
            n if n <= u64::from(MAX_PAGE) => n as u16,
            _ => return Err(ApiError::BadRequest(format!("limit must be at most {MAX_PAGE}"))),
        },
    };
    let before = q.get("before").map(|raw| input::positive_integer(raw, "before")).transpose()?;
    let include_state = input::boolean(q.get("includeState"), "includeState")?;
    let listing = state.admin.list(&order_id, limit, before, include_state).await?;
    Ok(Json(listing).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (raw_id, raw_version) = param(path)?;
    let order_id = input::order_id(&raw_id)?;
    let version = input::positive_integer(&raw_version, "version")?;
    let why = reason(&headers, &body, "manual delete")?;
    state.admin.delete(&order_id, version).await?;
    tracing::info!(order_id, version, reason = %why, "snapshot deleted by an admin");
    Ok(Json(json!({ "orderId": order_id, "version": version, "deleted": true })).into_response())
}

/// Every snapshot of one order (a personal-data request); its events are not touched.
pub async fn delete_all(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let order_id = input::order_id(&param(path)?)?;
    let why = reason(&headers, &body, "personal-data request")?;
    let deleted = state.admin.delete_all(&order_id).await?;
    tracing::info!(order_id, deleted, reason = %why, "every snapshot of an order deleted by an admin");
    Ok(Json(json!({ "orderId": order_id, "snapshotsDeleted": deleted, "eventsKept": true })).into_response())
}

pub async fn cleanup(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    Extension(Caller(caller)): Extension<Caller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    input::no_body(&body)?;
    let q = input::query(query.as_deref(), &["orderId"])?;
    match q.get("orderId") {
        // One order's retention fits in the request.
        Some(raw) => {
            let order_id = input::order_id(raw)?;
            let done = state.maintenance.clean_order(&order_id).await?;
            Ok(Json(done).into_response())
        }
        None => {
            let started = state.jobs.start(Job::Nightly, &caller).await.map_err(ApiError::NotStarted)?;
            Ok((StatusCode::ACCEPTED, Json(json!({ "status": "started", "cleanup": started })))
                .into_response())
        }
    }
}

pub async fn verify(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let order_id = order_without_body(path, &body)?;
    let verification = state.admin.verify(&order_id).await?;
    let version = verification.snapshot_version;
    let response = Json(verification).into_response();
    Ok(match version {
        Some(version) => with_audited_version(response, version),
        None => response,
    })
}

pub async fn get_order(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let order_id = order_without_body(path, &body)?;
    let loaded = state.admin.order(&order_id).await?;
    Ok(Json(json!({ "order": loaded.order, "loadCost": loaded.cost })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RebuildBody {
    scope: RebuildScope,
    #[serde(default)]
    replace: bool,
}

/// Starts a rebuild job and its first turn; the maintenance function's schedule continues it.
pub async fn rebuild(
    State(state): State<AppState>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(RebuildBody { scope, replace }) = input::body::<RebuildBody>(&headers, &body)? else {
        return Err(ApiError::BadRequest(
            "the body must name a scope, e.g. {\"scope\": {\"kind\": \"stale\"}}".into(),
        ));
    };
    let job = state.maintenance.rebuild().start(scope, &format!("admin:{caller}"), replace).await?;
    let started = state.jobs.start(Job::Rebuild, &caller).await.map_err(|e| {
        ApiError::NotStarted(format!(
            "{e}; job {} is recorded, and the 5-minute schedule works on it",
            job.job_id
        ))
    })?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "job": job, "started": started }))).into_response())
}

/// The current (or last) rebuild job's progress.
pub async fn rebuild_status(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    input::no_body(&body)?;
    match state.maintenance.rebuild().status().await? {
        Some(job) => Ok(Json(job).into_response()),
        None => Err(ApiError::NotFound("no rebuild job has been started".into())),
    }
}

pub async fn not_found() -> Response {
    ApiError::NotFound("no such route".into()).into_response()
}

pub async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}
