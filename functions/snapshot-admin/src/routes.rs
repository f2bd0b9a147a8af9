//! The admin API's one route table: method, path, audit action and handler. The router, the
//! audit record's action, the OpenAPI description and the template's API events are all held
//! to it (the last two by tests). Each handler's inputs are checked by its extractors
//! (`extract.rs`); every request passes `access::guard` (who, and the audit record).

use crate::access;
use crate::error;
use crate::handlers;
use crate::limits::MAX_BODY_BYTES;
use crate::paths;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{MethodRouter, delete, get, post};
use std::collections::BTreeMap;

pub struct Route {
    pub method: &'static str,
    /// In axum's (and OpenAPI's) form: `{orderId}`.
    pub path: &'static str,
    /// What the audit record says was done.
    pub action: &'static str,
    handler: fn() -> MethodRouter<AppState>,
}

/// Every route of the admin API.
pub static ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: paths::CREATE,
        action: "snapshot.create",
        handler: || post(handlers::create),
    },
    Route {
        method: "GET",
        path: paths::ORDER_SNAPSHOTS,
        action: "snapshot.list",
        handler: || get(handlers::list),
    },
    Route {
        method: "DELETE",
        path: paths::SNAPSHOT,
        action: "snapshot.delete",
        handler: || delete(handlers::delete),
    },
    Route {
        method: "DELETE",
        path: paths::ORDER_SNAPSHOTS,
        action: "snapshot.delete-all",
        handler: || delete(handlers::delete_all),
    },
    Route {
        method: "POST",
        path: paths::CLEANUP,
        action: "snapshot.cleanup",
        handler: || post(handlers::cleanup),
    },
    Route {
        method: "POST",
        path: paths::VERIFY,
        action: "snapshot.verify",
        handler: || post(handlers::verify),
    },
    Route { method: "GET", path: paths::ORDER, action: "order.get", handler: || get(handlers::get_order) },
    Route {
        method: "POST",
        path: paths::REBUILD,
        action: "snapshot.rebuild",
        handler: || post(handlers::rebuild),
    },
    Route {
        method: "GET",
        path: paths::REBUILD_STATUS,
        action: "snapshot.rebuild.status",
        handler: || get(handlers::rebuild_status),
    },
];

/// The action of the route at (method, path), for the audit record.
fn action_of(method: &str, path: &str) -> Option<&'static str> {
    ROUTES.iter().find(|route| route.method == method && route.path == path).map(|route| route.action)
}

/// The API: every route of [`ROUTES`], bodies limited before they are buffered, every error in
/// the API's JSON shape, and each request (routed or not) authorized and audited.
pub fn router(state: AppState) -> Router {
    let mut by_path: BTreeMap<&str, MethodRouter<AppState>> = BTreeMap::new();
    for route in ROUTES {
        let endpoint = (route.handler)();
        let merged = match by_path.remove(route.path) {
            Some(other) => other.merge(endpoint),
            None => endpoint,
        };
        by_path.insert(route.path, merged);
    }
    let audit = state.audit.clone();
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| router.route(path, methods))
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .fallback(handlers::not_found)
        // Bodies over the limit are refused before they are buffered (json_errors words it).
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(error::json_errors))
        // Router::layer wraps each endpoint after routing: the guard sees the matched route.
        .layer(middleware::from_fn(move |request, next| {
            access::guard(audit.clone(), action_of, request, next)
        }))
        .with_state(state)
}
