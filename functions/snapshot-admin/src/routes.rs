//! The admin API's one route table: method, path, audit action and handler. The router, the
//! audit record's action, the OpenAPI description and the template's API events are all held
//! to it (the last two by tests).

use crate::audit;
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

/// The API: every route of [`ROUTES`] with its audit description, bodies limited before they
/// are buffered, every error in the API's JSON shape, and the caller authorized and audited.
pub fn router(state: AppState) -> Router {
    let mut by_path: BTreeMap<&str, MethodRouter<AppState>> = BTreeMap::new();
    for route in ROUTES {
        let action = route.action;
        let endpoint = (route.handler)().route_layer(middleware::from_fn(move |params, request, next| {
            audit::describe(action, params, request, next)
        }));
        let merged = match by_path.remove(route.path) {
            Some(other) => other.merge(endpoint),
            None => endpoint,
        };
        by_path.insert(route.path, merged);
    }
    let api = by_path
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| router.route(path, methods))
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .fallback(handlers::not_found)
        // Bodies over the limit are refused before they are buffered (json_errors words it).
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(error::json_errors));
    api.layer(middleware::from_fn_with_state(state.clone(), crate::auth::authorize_and_audit))
        .with_state(state)
}
