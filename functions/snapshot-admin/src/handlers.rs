//! The handlers: each takes its checked inputs (the extractors of `extract.rs`), calls a use
//! case in `shared::use_cases` and shapes the answer. Who called and what the audit record
//! says is `access.rs`'s, not theirs.

use crate::access::{Caller, with_audited_version};
use crate::error::ApiError;
use crate::extract::{CleanupQuery, JsonBody, ListQuery, NoBody, OrderPath, Reason, SnapshotPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use shared::store::control::rebuild_scope::RebuildScope;
use shared::use_cases::maintenance::Job;

pub async fn create(
    State(state): State<AppState>,
    OrderPath(order_id): OrderPath,
    Extension(Caller(caller)): Extension<Caller>,
    Reason(why): Reason,
) -> Result<Response, ApiError> {
    let why = why.as_deref().unwrap_or("manual snapshot");
    let created = state.admin.create(&order_id, &format!("admin:{caller}"), why).await?;
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
    OrderPath(order_id): OrderPath,
    ListQuery { limit, before, include_state }: ListQuery,
    _: NoBody,
) -> Result<Response, ApiError> {
    let listing = state.admin.list(&order_id, limit, before, include_state).await?;
    Ok(Json(listing).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    SnapshotPath { order_id, version }: SnapshotPath,
    Reason(why): Reason,
) -> Result<Response, ApiError> {
    let why = why.as_deref().unwrap_or("manual delete");
    state.admin.delete(&order_id, version).await?;
    tracing::info!(%order_id, version, reason = %why, "snapshot deleted by an admin");
    Ok(Json(json!({ "orderId": order_id, "version": version, "deleted": true })).into_response())
}

/// Every snapshot of one order (a personal-data request); its events are not touched.
pub async fn delete_all(
    State(state): State<AppState>,
    OrderPath(order_id): OrderPath,
    Reason(why): Reason,
) -> Result<Response, ApiError> {
    let why = why.as_deref().unwrap_or("personal-data request");
    let deleted = state.admin.delete_all(&order_id).await?;
    tracing::info!(%order_id, deleted, reason = %why, "every snapshot of an order deleted by an admin");
    Ok(Json(json!({ "orderId": order_id, "snapshotsDeleted": deleted, "eventsKept": true })).into_response())
}

pub async fn cleanup(
    State(state): State<AppState>,
    CleanupQuery { order_id }: CleanupQuery,
    Extension(Caller(caller)): Extension<Caller>,
    _: NoBody,
) -> Result<Response, ApiError> {
    match order_id {
        // One order's retention fits in the request.
        Some(order_id) => {
            let done = state.maintenance.clean_order(&order_id).await?;
            Ok(Json(done).into_response())
        }
        None => {
            let started =
                state.jobs.start(Job::CleanupAndCanary, &caller).await.map_err(ApiError::NotStarted)?;
            Ok((StatusCode::ACCEPTED, Json(json!({ "status": "started", "cleanup": started })))
                .into_response())
        }
    }
}

pub async fn verify(
    State(state): State<AppState>,
    OrderPath(order_id): OrderPath,
    _: NoBody,
) -> Result<Response, ApiError> {
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
    OrderPath(order_id): OrderPath,
    _: NoBody,
) -> Result<Response, ApiError> {
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
    JsonBody(body): JsonBody<RebuildBody>,
) -> Result<Response, ApiError> {
    let Some(RebuildBody { scope, replace }) = body else {
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
pub async fn rebuild_status(State(state): State<AppState>, _: NoBody) -> Result<Response, ApiError> {
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
