//! The handlers: each validates its input, calls `shared`, and tells the audit layer what it
//! did. They take raw path strings so that every matched request reaches a handler (and so an
//! audit record with its action), even one with a malformed parameter.

use crate::AppState;
use crate::audit::AuditInfo;
use crate::error::ApiError;
use crate::input::{self, DEFAULT_PAGE, MAX_PAGE};
use crate::verify::first_difference;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::repository::RepositoryError;

/// Every route, as the OpenAPI description lists them (a test holds the two together).
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/admin/order-snapshots/create/{orderId}"),
    ("GET", "/admin/order-snapshots/{orderId}"),
    ("DELETE", "/admin/order-snapshots/{orderId}/{version}"),
    ("POST", "/admin/order-snapshots/cleanup"),
    ("POST", "/admin/order-snapshots/verify/{orderId}"),
    ("GET", "/admin/orders/{orderId}"),
];

/// The caller, as the auth layer established it (a request extension).
#[derive(Clone, Debug)]
pub struct Caller(pub String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    reason: String,
}

fn reason(headers: &HeaderMap, body: &Bytes, default: &str) -> Result<String, ApiError> {
    match input::body::<ReasonBody>(headers, body)? {
        None => Ok(default.to_owned()),
        Some(ReasonBody { reason }) if !reason.trim().is_empty() && reason.chars().count() <= 256 => {
            Ok(reason)
        }
        Some(_) => Err(ApiError::BadRequest("reason must be 1-256 characters".into())),
    }
}

/// Attaches what the audit layer needs to the response.
fn audited(info: AuditInfo, result: Result<Response, ApiError>) -> Response {
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    response.extensions_mut().insert(info);
    response
}

fn info(action: &'static str, order_id: Option<&str>, version: Option<u64>) -> AuditInfo {
    AuditInfo { action, order_id: order_id.map(str::to_owned), version }
}

/// Path parameters that cannot even be decoded (bad percent-encoding, invalid UTF-8) are a
/// 400 in our JSON shape like any other bad input.
fn param<T>(path: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    path.map(|Path(p)| p).map_err(|e| ApiError::BadRequest(format!("malformed path: {}", e.body_text())))
}

pub async fn create(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    axum::Extension(Caller(caller)): axum::Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw_id = param(path);
    let mut audit = info("snapshot.create", raw_id.as_deref().ok(), None);
    let result = async {
        let order_id = input::order_id(&raw_id?)?;
        let why = reason(&headers, &body, "manual snapshot")?;
        let created = state.snapshots.create_snapshot(&order_id, &format!("admin:{caller}"), &why).await?;
        audit.version = Some(created.version);
        let body = json!({
            "orderId": order_id,
            "version": created.version,
            "lastEventSequence": created.version,
            "metadata": created.metadata,
            "loadCost": created.cost,
        });
        Ok((StatusCode::CREATED, Json(body)).into_response())
    }
    .await;
    audited(audit, result)
}

pub async fn list(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let raw_id = param(path);
    let audit = info("snapshot.list", raw_id.as_deref().ok(), None);
    let result = async {
        let order_id = input::order_id(&raw_id?)?;
        input::no_body(&body)?;
        let q = input::query(query.as_deref(), &["limit", "before", "includeState"])?;
        let limit = match q.get("limit") {
            None => DEFAULT_PAGE,
            Some(raw) => match input::positive(raw, "limit")? {
                n if n <= u64::from(MAX_PAGE) => n as u16,
                _ => return Err(ApiError::BadRequest(format!("limit must be at most {MAX_PAGE}"))),
            },
        };
        let before = q.get("before").map(|raw| input::positive(raw, "before")).transpose()?;
        let include_state = input::boolean(q.get("includeState"), "includeState")?;
        let page = state.snapshots.repository().snapshots().list(&order_id, limit, before).await?;
        if page.snapshots.is_empty()
            && before.is_none()
            && !state
                .snapshots
                .repository()
                .events()
                .exists(&order_id)
                .await
                .map_err(RepositoryError::from)?
        {
            return Err(ApiError::NotFound(format!("order {order_id} has no events and no snapshots")));
        }
        let mut snapshots = Vec::with_capacity(page.snapshots.len());
        for summary in page.snapshots {
            let mut entry = serde_json::to_value(&summary).map_err(ApiError::internal)?;
            if include_state {
                entry["state"] =
                    match state.snapshots.repository().snapshots().get(&order_id, summary.version).await? {
                        Some(Ok(snapshot)) => {
                            serde_json::to_value(snapshot.state).map_err(ApiError::internal)?
                        }
                        Some(Err(unusable)) => json!({ "unusable": unusable.to_string() }),
                        None => Value::Null,
                    };
            }
            snapshots.push(entry);
        }
        Ok(Json(json!({ "orderId": order_id, "snapshots": snapshots, "next": page.next })).into_response())
    }
    .await;
    audited(audit, result)
}

pub async fn delete(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw = param(path);
    let mut audit = info("snapshot.delete", raw.as_ref().ok().map(|(id, _)| id.as_str()), None);
    let result = async {
        let (raw_id, raw_version) = raw?;
        let order_id = input::order_id(&raw_id)?;
        let version = input::positive(&raw_version, "version")?;
        audit.version = Some(version);
        let why = reason(&headers, &body, "manual delete")?;
        state.snapshots.repository().snapshots().delete(&order_id, version).await?;
        tracing::info!(order_id, version, reason = %why, "snapshot deleted by an admin");
        Ok(Json(json!({ "orderId": order_id, "version": version, "deleted": true })).into_response())
    }
    .await;
    audited(audit, result)
}

pub async fn cleanup(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    axum::Extension(Caller(caller)): axum::Extension<Caller>,
    body: Bytes,
) -> Response {
    let mut audit = AuditInfo { action: "snapshot.cleanup", ..AuditInfo::default() };
    let result = async {
        input::no_body(&body)?;
        let q = input::query(query.as_deref(), &["orderId"])?;
        match q.get("orderId") {
            // One order's retention fits in the request.
            Some(raw) => {
                audit.order_id = Some(raw.clone());
                let order_id = input::order_id(raw)?;
                let done = state.cleanup.clean_order(&order_id).await?;
                Ok(Json(done).into_response())
            }
            None => {
                let started =
                    state.cleanup_starter.start(&caller).await.map_err(|e| ApiError::Internal(e.into()))?;
                Ok((StatusCode::ACCEPTED, Json(json!({ "status": "started", "cleanup": started })))
                    .into_response())
            }
        }
    }
    .await;
    audited(audit, result)
}

pub async fn verify(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let raw_id = param(path);
    let mut audit = info("snapshot.verify", raw_id.as_deref().ok(), None);
    let result = async {
        let order_id = input::order_id(&raw_id?)?;
        input::no_body(&body)?;
        let repository = state.snapshots.repository();
        let Some((version, snapshot)) = repository.snapshots().newest(&order_id).await? else {
            if !repository.events().exists(&order_id).await.map_err(RepositoryError::from)? {
                return Err(ApiError::NotFound(format!("order {order_id} has no events")));
            }
            return Ok(Json(json!({ "orderId": order_id, "result": "no-snapshot" })).into_response());
        };
        audit.version = Some(version);
        let snapshot = match snapshot {
            Ok(s) => s,
            Err(unusable) => {
                let body = json!({ "orderId": order_id, "result": "drift", "snapshotVersion": version, "unusable": unusable.to_string() });
                return Ok(Json(body).into_response());
            }
        };
        let (events, _) = repository.events().read_range(&order_id, 1, Some(snapshot.last_event_sequence)).await.map_err(RepositoryError::from)?;
        let replayed = shared::domain::Order::replay(&order_id, &events);
        let body = match replayed {
            Ok(replay) => {
                let a = serde_json::to_value(&snapshot.state).map_err(ApiError::internal)?;
                let b = serde_json::to_value(&replay).map_err(ApiError::internal)?;
                match first_difference(&a, &b) {
                    None => json!({ "orderId": order_id, "result": "match", "snapshotVersion": version, "eventsReplayed": events.len() }),
                    Some(d) => json!({ "orderId": order_id, "result": "drift", "snapshotVersion": version, "eventsReplayed": events.len(), "firstDifference": d }),
                }
            }
            Err(fold) => json!({ "orderId": order_id, "result": "drift", "snapshotVersion": version, "replayError": fold.to_string() }),
        };
        Ok(Json(body).into_response())
    }
    .await;
    audited(audit, result)
}

pub async fn get_order(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let raw_id = param(path);
    let audit = info("order.get", raw_id.as_deref().ok(), None);
    let result = async {
        let order_id = input::order_id(&raw_id?)?;
        input::no_body(&body)?;
        let loaded = state
            .snapshots
            .repository()
            .load(&order_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("order {order_id} has no events")))?;
        Ok(Json(json!({ "order": loaded.order, "loadCost": loaded.cost })).into_response())
    }
    .await;
    audited(audit, result)
}

pub async fn not_found() -> Response {
    ApiError::NotFound("no such route".into()).into_response()
}

pub async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}
