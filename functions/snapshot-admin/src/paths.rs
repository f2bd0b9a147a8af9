//! The admin API's paths, in axum's (and OpenAPI's) form, and the order ids they leave no
//! route for. `routes.rs` pairs each path with its method, handler and audit action.

pub const CREATE: &str = "/admin/order-snapshots/create/{orderId}";
pub const ORDER_SNAPSHOTS: &str = "/admin/order-snapshots/{orderId}";
pub const SNAPSHOT: &str = "/admin/order-snapshots/{orderId}/{version}";
pub const CLEANUP: &str = "/admin/order-snapshots/cleanup";
pub const VERIFY: &str = "/admin/order-snapshots/verify/{orderId}";
pub const ORDER: &str = "/admin/orders/{orderId}";
pub const REBUILD: &str = "/admin/order-snapshots/rebuild";
pub const REBUILD_STATUS: &str = "/admin/order-snapshots/rebuild/status";

/// Every path of the API.
pub const ALL: [&str; 8] =
    [CREATE, ORDER_SNAPSHOTS, SNAPSHOT, CLEANUP, VERIFY, ORDER, REBUILD, REBUILD_STATUS];

/// Order ids the API cannot address: the fixed path segments that sit where another path
/// has `{orderId}` (`cleanup` beside `/admin/order-snapshots/{orderId}`). API Gateway routes
/// such a path to the fixed route, so the order's own routes could never reach it.
pub fn reserved_order_ids() -> impl Iterator<Item = &'static str> {
    let segments = |path: &'static str| path.split('/').collect::<Vec<_>>();
    let mut reserved: Vec<&'static str> = ALL
        .iter()
        .flat_map(|fixed| {
            ALL.iter().filter_map(move |other| {
                let (a, b) = (segments(fixed), segments(other));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_segments_beside_order_ids_are_reserved() {
        let reserved: Vec<_> = reserved_order_ids().collect();
        assert_eq!(reserved, ["cleanup", "create", "rebuild", "verify"]);
    }
}
