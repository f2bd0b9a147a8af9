//! The admin API (the seed's OrderSnapshotController, completed): an axum router served by
//! lambda_http behind API Gateway, and by `make run` on localhost. Routes adapt HTTP to the
//! use cases in `shared::admin`; `error.rs` is the one place errors become HTTP.

pub mod audit;
pub mod auth;
pub mod error;
pub mod input;
pub mod job_starter;
pub mod routes;

use audit::{AuditInfo, AuditRecord, AuditSink};
use auth::Caller;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use job_starter::{InProcessJobStarter, JobStarter};
use lambda_http::request::RequestContext;
use shared::admin::SnapshotAdmin;
use shared::cleanup::CleanupService;
use shared::clock::Clock;
use shared::rebuild::RebuildService;
use shared::repository::OrderRepository;
use shared::settings::RetentionSettings;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub admin: Arc<SnapshotAdmin>,
    pub cleanup: Arc<CleanupService>,
    pub rebuild: Arc<RebuildService>,
    pub jobs: Arc<dyn JobStarter>,
    pub audit: Arc<dyn AuditSink>,
}

impl AppState {
    /// The admin API over `repository`; `starter` is given the cleanup and the rebuild and
    /// says how their jobs are started.
    pub fn new(
        repository: OrderRepository,
        retention: RetentionSettings,
        clock: Arc<dyn Clock>,
        audit: Arc<dyn AuditSink>,
        starter: impl FnOnce(Arc<CleanupService>, Arc<RebuildService>) -> Arc<dyn JobStarter>,
    ) -> Self {
        let cleanup = Arc::new(CleanupService::new(repository.snapshots().clone(), retention, clock.clone()));
        let rebuild = Arc::new(RebuildService::new(repository.clone(), clock.clone()));
        AppState {
            admin: Arc::new(SnapshotAdmin::new(repository, clock)),
            jobs: starter(cleanup.clone(), rebuild.clone()),
            rebuild,
            cleanup,
            audit,
        }
    }

    /// The admin API with cleanup run in this process rather than by a Lambda invocation,
    /// within `cleanup_budget`: `make run`, the soak and tests.
    pub fn in_process(
        repository: OrderRepository,
        retention: RetentionSettings,
        clock: Arc<dyn Clock>,
        audit: Arc<dyn AuditSink>,
        cleanup_budget: Duration,
    ) -> Self {
        Self::new(repository, retention, clock, audit, |cleanup, rebuild| {
            Arc::new(InProcessJobStarter { cleanup, rebuild, budget: cleanup_budget })
        })
    }
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/admin/order-snapshots/create/{orderId}", post(routes::create))
        .route("/admin/order-snapshots/cleanup", post(routes::cleanup))
        .route("/admin/order-snapshots/verify/{orderId}", post(routes::verify))
        .route("/admin/order-snapshots/rebuild", post(routes::rebuild))
        .route("/admin/order-snapshots/rebuild/status", get(routes::rebuild_status))
        .route("/admin/order-snapshots/{orderId}", get(routes::list).delete(routes::delete_all))
        .route("/admin/order-snapshots/{orderId}/{version}", delete(routes::delete))
        .route("/admin/orders/{orderId}", get(routes::get_order))
        .route_layer(middleware::from_fn(audit::describe))
        .method_not_allowed_fallback(routes::method_not_allowed)
        .fallback(routes::not_found)
        // Bodies over the limit are refused before they are buffered (json_errors words it).
        .layer(DefaultBodyLimit::max(input::MAX_BODY_BYTES))
        .layer(middleware::from_fn(error::json_errors));
    api.layer(middleware::from_fn_with_state(state.clone(), authorize_and_audit)).with_state(state)
}

/// Deny by default, then one audit record for whatever happened.
async fn authorize_and_audit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let request_id = request_id(&request);
    let (mut parts, body) = request.into_parts();
    let caller = auth::caller(&parts);
    let response = match &caller {
        Ok(id) => {
            parts.extensions.insert(Caller(id.clone()));
            next.run(Request::from_parts(parts, body)).await
        }
        Err(denied) => {
            tracing::warn!(path = %parts.uri.path(), reason = %denied, "request refused");
            let mut response = error::ApiError::Unauthenticated.into_response();
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
