//! The admin API (the seed's OrderSnapshotController, completed): an axum router served by
//! lambda_http behind API Gateway, and by `make run` on localhost.

pub mod audit;
pub mod auth;
pub mod cleanup_starter;
pub mod error;
pub mod input;
pub mod routes;
pub mod verify;

use audit::{AuditInfo, AuditRecord, AuditSink};
use auth::AuthPolicy;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use cleanup_starter::CleanupStarter;
use cleanup_starter::InProcessCleanupStarter;
use lambda_http::request::RequestContext;
use routes::Caller;
use shared::cleanup::CleanupService;
use shared::clock::Clock;
use shared::config::SnapshotSettings;
use shared::repository::OrderRepository;
use shared::snapshot_service::SnapshotService;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub snapshots: Arc<SnapshotService>,
    pub cleanup: Arc<CleanupService>,
    pub cleanup_starter: Arc<dyn CleanupStarter>,
    pub audit: Arc<dyn AuditSink>,
    pub auth: Arc<AuthPolicy>,
}

impl AppState {
    /// The admin API over `repository` with cleanup run in this process rather than by a
    /// Lambda invocation, within `cleanup_budget`: `make run`, the soak and tests.
    pub fn in_process(
        repository: OrderRepository,
        settings: SnapshotSettings,
        clock: Arc<dyn Clock>,
        audit: Arc<dyn AuditSink>,
        cleanup_budget: Duration,
    ) -> Self {
        let cleanup =
            Arc::new(CleanupService::new(repository.snapshots().clone(), settings.clone(), clock.clone()));
        AppState {
            snapshots: Arc::new(SnapshotService::new(repository, settings, clock)),
            cleanup: cleanup.clone(),
            cleanup_starter: Arc::new(InProcessCleanupStarter { cleanup, budget: cleanup_budget }),
            audit,
            auth: Arc::new(AuthPolicy::default()),
        }
    }
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/admin/order-snapshots/create/{orderId}", post(routes::create))
        .route("/admin/order-snapshots/cleanup", post(routes::cleanup))
        .route("/admin/order-snapshots/verify/{orderId}", post(routes::verify))
        .route("/admin/order-snapshots/{orderId}", get(routes::list))
        .route("/admin/order-snapshots/{orderId}/{version}", delete(routes::delete))
        .route("/admin/orders/{orderId}", get(routes::get_order))
        .method_not_allowed_fallback(routes::method_not_allowed)
        .fallback(routes::not_found);
    api.layer(axum::middleware::from_fn_with_state(state.clone(), authorize_and_audit)).with_state(state)
}

/// Deny by default, then one audit record for whatever happened.
async fn authorize_and_audit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let request_id = request_id(&request);
    let (mut parts, body) = request.into_parts();
    let caller = auth::caller(&parts, &state.auth);
    let response = match &caller {
        Ok(id) => {
            parts.extensions.insert(Caller(id.clone()));
            next.run(Request::from_parts(parts, body)).await
        }
        Err(denied) => {
            tracing::warn!(path = %parts.uri.path(), reason = %denied, "request refused");
            let mut response = error::ApiError::from_auth(denied).into_response();
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
