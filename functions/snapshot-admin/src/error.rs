//! The one place errors become HTTP responses: precise 4xx JSON for the caller, a generic 500
//! whose detail stays in the log. [`json_errors`] puts the framework's own refusals (a body
//! over the limit, say) in the same shape, so every error the API gives is JSON.

use axum::Json;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shared::store::StoreError;
use shared::store::snapshots::SnapshotEncodeError;
use shared::use_cases::admin::AdminError;
use shared::use_cases::maintenance::rebuild::RebuildError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no authenticated admin caller")]
    Unauthenticated,
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    #[error("the request line is longer than {0} bytes")]
    UriTooLong(usize),
    /// A refusal the framework made before a handler ran, in its words.
    #[error("{1}")]
    Refused(StatusCode, String),
    /// The request is well formed but cannot be done with this data (a state too large to
    /// snapshot).
    #[error("{0}")]
    Unprocessable(String),
    /// The order's stored history cannot be read (the data's fault, not a server error).
    #[error("{message}")]
    HistoryUnreadable { order_id: String, sequence: Option<u64>, message: String },
    #[error("the database is busy or unreachable; retry the request")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The maintenance function could not be started (its invocation failed): the run did
    /// not begin, and the caller may retry.
    #[error("the maintenance function could not be invoked: {0}")]
    NotStarted(String),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::Refused(status, _) => *status,
            ApiError::Unprocessable(_) | ApiError::HistoryUnreadable { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unavailable(_) | ApiError::NotStarted(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::UriTooLong(_) => "uri_too_long",
            ApiError::Refused(status, _) if status.is_server_error() => "internal",
            ApiError::Refused(..) => "bad_request",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::HistoryUnreadable { .. } => "history_unreadable",
            ApiError::Unavailable(_) | ApiError::NotStarted(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(source) | ApiError::Unavailable(source) = &self {
            tracing::error!(error = %source, detail = ?source, "request failed");
        }
        if let ApiError::HistoryUnreadable { order_id, sequence, .. } = &self {
            tracing::warn!(order_id, sequence, error = %self, "history unreadable");
        }
        let body = self.body();
        if let ApiError::NotStarted(reason) = &self {
            tracing::error!(%reason, "maintenance run not started");
        }
        if matches!(self, ApiError::Unavailable(_) | ApiError::NotStarted(_)) {
            return (self.status(), [(axum::http::header::RETRY_AFTER, "1")], Json(body)).into_response();
        }
        (self.status(), Json(body)).into_response()
    }
}

impl ApiError {
    /// The JSON body: `{"error": {"code", "message"}}` (and where an unreadable history is).
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({ "error": { "code": self.code(), "message": self.to_string() } });
        if let ApiError::HistoryUnreadable { order_id, sequence, .. } = self {
            body["error"]["orderId"] = json!(order_id);
            body["error"]["sequence"] = json!(sequence);
        }
        body
    }
}

/// Middleware: an error response that is not JSON (one the framework made before a handler
/// ran) becomes the API's JSON error with the same status; its extensions (the audit's) stay.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).trim().to_owned());
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(crate::limits::MAX_BODY_BYTES),
        StatusCode::NOT_FOUND => ApiError::NotFound("no such route".into()),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        _ => {
            let reason = status.canonical_reason().unwrap_or("refused").to_owned();
            ApiError::Refused(status, text.ok().filter(|t| !t.is_empty()).unwrap_or(reason))
        }
    };
    let mut json = error.into_response();
    *json.extensions_mut() = parts.extensions;
    json
}

impl From<RebuildError> for ApiError {
    fn from(e: RebuildError) -> Self {
        match e {
            RebuildError::Running { .. } => ApiError::Conflict(e.to_string()),
            RebuildError::InvalidScope(_) => ApiError::BadRequest(e.to_string()),
            RebuildError::Store(e) => e.into(),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::OrderNotFound(_) | AdminError::NothingStored(_) => ApiError::NotFound(e.to_string()),
            AdminError::Store(e) => e.into(),
        }
    }
}

/// The storage error, each case to its status once.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unreadable(e) => ApiError::HistoryUnreadable {
                message: e.to_string(),
                order_id: e.order_id,
                sequence: e.sequence,
            },
            StoreError::InvalidOrderId(_) | StoreError::TooManyEvents { .. } => {
                ApiError::BadRequest(e.to_string())
            }
            StoreError::AppendConflict { .. } | StoreError::SnapshotExists { .. } => {
                ApiError::Conflict(e.to_string())
            }
            StoreError::SnapshotNotFound { .. } => ApiError::NotFound(e.to_string()),
            StoreError::Encode(SnapshotEncodeError::TooLarge { .. }) => {
                ApiError::Unprocessable(e.to_string())
            }
            StoreError::Encode(SnapshotEncodeError::EmptyOrder(_)) => ApiError::BadRequest(e.to_string()),
            _ if e.is_transient() => ApiError::Unavailable(Box::new(e)),
            StoreError::CorruptSnapshot { .. }
            | StoreError::CorruptControl { .. }
            | StoreError::Unprocessed { .. }
            | StoreError::Dynamo(_) => ApiError::Internal(Box::new(e)),
        }
    }
}
