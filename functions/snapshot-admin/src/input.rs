//! Validation of everything a caller sends: path parameters, query strings, bodies.

use crate::error::ApiError;
use crate::limits::MAX_BODY_BYTES;
use crate::paths::reserved_order_ids;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use shared::domain::order_id::validate_order_id;
use std::collections::BTreeMap;

/// A valid order id that this API can address (not one of [`reserved_order_ids`]: the stream
/// snapshots such an order like any other, but its routes would reach another route).
pub fn order_id(raw: &str) -> Result<String, ApiError> {
    validate_order_id(raw).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if reserved_order_ids().any(|r| r == raw) {
        return Err(ApiError::BadRequest(format!(
            "invalid order id: {raw:?} is reserved, its paths are other routes of this API"
        )));
    }
    Ok(raw.to_owned())
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

pub fn boolean(raw: Option<&String>, what: &str) -> Result<bool, ApiError> {
    match raw.map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::BadRequest(format!("{what} must be true or false, got {other:?}"))),
    }
}

/// An optional JSON body: empty is `None`; otherwise JSON of type `T` (unknown fields refused
/// by `T`), at most `MAX_BODY_BYTES`, declared as application/json.
pub fn body<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<Option<T>, ApiError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge(MAX_BODY_BYTES));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::UnsupportedMediaType);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

/// A route that takes no body refuses one.
pub fn no_body(bytes: &[u8]) -> Result<(), ApiError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge(MAX_BODY_BYTES));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(())
    } else {
        Err(ApiError::BadRequest("this route takes no body".into()))
    }
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
