//! The admin API's one route table: method, path, audit action and handler. The router, the
//! audit record's action, the OpenAPI description and the template's API events are all held
//! to it (the last two by tests).

use crate::audit;
use crate::error;
use crate::handlers;
use crate::limits::MAX_BODY_BYTES;
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
        path: "/admin/order-snapshots/create/{orderId}",
        action: "snapshot.create",
        handler: || post(handlers::create),
    },
    Route {
        method: "GET",
        path: "/admin/order-snapshots/{orderId}",
        action: "snapshot.list",
        handler: || get(handlers::list),
    },
    Route {
        method: "DELETE",
        path: "/admin/order-snapshots/{orderId}/{version}",
        action: "snapshot.delete",
        handler: || delete(handlers::delete),
    },
    Route {
        method: "DELETE",
        path: "/admin/order-snapshots/{orderId}",
        action: "snapshot.delete-all",
        handler: || delete(handlers::delete_all),
    },
    Route {
        method: "POST",
        path: "/admin/order-snapshots/cleanup",
        action: "snapshot.cleanup",
        handler: || post(handlers::cleanup),
    },
    Route {
        method: "POST",
        path: "/admin/order-snapshots/verify/{orderId}",
        action: "snapshot.verify",
        handler: || post(handlers::verify),
    },
    Route {
        method: "GET",
        path: "/admin/orders/{orderId}",
        action: "order.get",
        handler: || get(handlers::get_order),
    },
    Route {
        method: "POST",
        path: "/admin/order-snapshots/rebuild",
        action: "snapshot.rebuild",
        handler: || post(handlers::rebuild),
    },
    Route {
        method: "GET",
        path: "/admin/order-snapshots/rebuild/status",
        action: "snapshot.rebuild.status",
        handler: || get(handlers::rebuild_status),
    },
];

/// Order ids the API cannot address: the fixed path segments that sit where another route
/// has `{orderId}` (`cleanup` beside `/admin/order-snapshots/{orderId}`). API Gateway routes
/// such a path to the fixed route, so the order's own routes could never reach it.
pub fn reserved_order_ids() -> impl Iterator<Item = &'static str> {
    let segments = |path: &'static str| path.split('/').collect::<Vec<_>>();
    let mut reserved: Vec<&'static str> = ROUTES
        .iter()
        .flat_map(|fixed| {
            ROUTES.iter().filter_map(move |other| {
                let (a, b) = (segments(fixed.path), segments(other.path));
                let i = b.iter().position(|s| *s == "{orderId}")?;
                let clash = a.len() > i && a[..i] == b[..i] && !a[i].starts_with('{');
                clash.then(|| a[i])
            })
        })
        .collect();
    reserved.sort_unstable();
    reserved.dedup();
    reserved.into_iter()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_segments_beside_order_ids_are_reserved() {
        let reserved: Vec<_> = reserved_order_ids().collect();
        assert_eq!(reserved, ["cleanup", "create", "rebuild", "verify"]);
    }
}
