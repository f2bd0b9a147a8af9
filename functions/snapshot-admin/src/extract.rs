//! Everything a caller sends, checked before a handler runs: each input is an axum extractor
//! (the order in the path, a snapshot's version, a listing's query, a body or its absence),
//! and each refusal is a 400 (or 413, 415) in the API's JSON shape, whatever was malformed.

use crate::error::ApiError;
use crate::limits::{DEFAULT_PAGE, MAX_BODY_BYTES, MAX_PAGE};
use crate::paths::reserved_order_ids;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use shared::domain::OrderId;
use std::collections::BTreeMap;

/// `{orderId}`: a valid order id this API can address.
pub struct OrderPath(pub OrderId);

/// `{orderId}/{version}`: one snapshot.
pub struct SnapshotPath {
    pub order_id: OrderId,
    pub version: u64,
}

/// A listing's query: `limit` (1 to `MAX_PAGE`), `before`, `includeState`.
pub struct ListQuery {
    pub limit: u16,
    pub before: Option<u64>,
    pub include_state: bool,
}

/// A cleanup's query: one order's retention, or (none) the whole table's.
pub struct CleanupQuery {
    pub order_id: Option<OrderId>,
}

/// A route that takes no body refuses one.
pub struct NoBody;

/// An optional JSON body of type `T`: empty is `None`.
pub struct JsonBody<T>(pub Option<T>);

/// The reason an operator may give for a write, 1 to 256 characters (the OpenAPI file's rule).
pub struct Reason(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for OrderPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = path::<String, S>(parts, state).await?;
        order_id(&raw).map(OrderPath)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SnapshotPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path((raw_id, raw_version)) = path::<(String, String), S>(parts, state).await?;
        Ok(SnapshotPath { order_id: order_id(&raw_id)?, version: positive_integer(&raw_version, "version")? })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = query(parts.uri.query(), &["limit", "before", "includeState"])?;
        let limit = match q.get("limit") {
            None => DEFAULT_PAGE,
            Some(raw) => match positive_integer(raw, "limit")? {
                n if n <= u64::from(MAX_PAGE) => n as u16,
                _ => return Err(ApiError::BadRequest(format!("limit must be at most {MAX_PAGE}"))),
            },
        };
        let before = q.get("before").map(|raw| positive_integer(raw, "before")).transpose()?;
        let include_state = boolean(q.get("includeState"), "includeState")?;
        Ok(ListQuery { limit, before, include_state })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CleanupQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = query(parts.uri.query(), &["orderId"])?;
        Ok(CleanupQuery { order_id: q.get("orderId").map(|raw| order_id(raw)).transpose()? })
    }
}

impl<S: Send + Sync> FromRequest<S> for NoBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if bytes(request, state).await?.iter().all(u8::is_ascii_whitespace) {
            Ok(NoBody)
        } else {
            Err(ApiError::BadRequest("this route takes no body".into()))
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let declared_json = is_json(request.headers());
        body(declared_json, &bytes(request, state).await?).map(JsonBody)
    }
}

impl<S: Send + Sync> FromRequest<S> for Reason {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ReasonBody {
            reason: String,
        }
        match JsonBody::<ReasonBody>::from_request(request, state).await?.0 {
            None => Ok(Reason(None)),
            Some(ReasonBody { reason }) if (1..=256).contains(&reason.chars().count()) => {
                Ok(Reason(Some(reason)))
            }
            Some(_) => Err(ApiError::BadRequest("reason must be 1-256 characters".into())),
        }
    }
}

/// Path parameters that cannot even be decoded (bad percent-encoding, invalid UTF-8) are a
/// 400 in our JSON shape like any other bad input.
async fn path<T, S>(parts: &mut Parts, state: &S) -> Result<Path<T>, ApiError>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    Path::<T>::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::BadRequest(format!("malformed path: {}", e.body_text())))
}

/// The body, at most `MAX_BODY_BYTES` (the router's limit refuses larger ones unread).
async fn bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    let bytes = Bytes::from_request(request, state).await.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(MAX_BODY_BYTES),
        status => ApiError::Refused(status, rejection.body_text()),
    })?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge(MAX_BODY_BYTES));
    }
    Ok(bytes)
}

/// A valid order id that this API can address (not one of [`reserved_order_ids`]: the stream
/// snapshots such an order like any other, but its routes would reach another route).
fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    let order_id = OrderId::parse(raw).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if reserved_order_ids().any(|r| order_id == r) {
        return Err(ApiError::BadRequest(format!(
            "invalid order id: {raw:?} is reserved, its paths are other routes of this API"
        )));
    }
    Ok(order_id)
}

/// A positive whole number without sign, leading zeros or anything else, at most
/// 18446744073709551615 (2^64 - 1; the OpenAPI file says so).
pub fn positive_integer(raw: &str, what: &str) -> Result<u64, ApiError> {
    let bad =
        || ApiError::BadRequest(format!("{what} must be a whole number from 1 to {}, got {raw:?}", u64::MAX));
    if raw.is_empty() || raw.len() > 20 || !raw.bytes().all(|b| b.is_ascii_digit()) || raw.starts_with('0') {
        return Err(bad());
    }
    raw.parse::<u64>().map_err(|_| bad())
}

/// Query parameters, refusing unknown and repeated ones.
pub fn query(raw: Option<&str>, allowed: &[&str]) -> Result<BTreeMap<String, String>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("malformed query string: {e}")))?;
    let mut out = BTreeMap::new();
    for (key, value) in pairs {
        if !allowed.contains(&key.as_str()) {
            return Err(ApiError::BadRequest(format!("unknown query parameter {key:?}")));
        }
        if out.insert(key.clone(), value).is_some() {
            return Err(ApiError::BadRequest(format!("query parameter {key:?} given twice")));
        }
    }
    Ok(out)
}

fn boolean(raw: Option<&String>, what: &str) -> Result<bool, ApiError> {
    match raw.map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::BadRequest(format!("{what} must be true or false, got {other:?}"))),
    }
}

/// Whether the request declares its body application/json.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// Empty is `None`; otherwise JSON of type `T` (unknown fields refused by `T`), declared as
/// application/json.
fn body<T: DeserializeOwned>(declared_json: bool, bytes: &[u8]) -> Result<Option<T>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if !declared_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_positive_whole_numbers_only() {
        assert_eq!(positive_integer("1", "version").unwrap(), 1);
        assert_eq!(positive_integer("18446744073709551", "version").unwrap(), 18_446_744_073_709_551);
        assert_eq!(positive_integer("18446744073709551615", "version").unwrap(), u64::MAX);
        assert!(positive_integer("18446744073709551616", "version").is_err(), "2^64 is refused");
        for bad in ["", "0", "-1", "+1", "01", "1.0", "1e3", "ten", " 1", "99999999999999999999"] {
            assert!(positive_integer(bad, "version").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn queries_refuse_unknown_and_repeated_parameters() {
        assert!(query(Some("limit=5"), &["limit"]).is_ok());
        assert!(query(Some("limit=5&limit=6"), &["limit"]).is_err());
        assert!(query(Some("lmit=5"), &["limit"]).is_err());
        assert!(query(None, &["limit"]).unwrap().is_empty());
    }
}
