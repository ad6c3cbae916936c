//! The crate's one error type and its HTTP face.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use photopro_wire::{ErrorBody, QuotaExceeded};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the API. Client mistakes carry a message
/// that is safe to show; infrastructure failures (`Database`, `ObjectStore`,
/// `Internal`) are logged in full and answered with a bare 500 so that no
/// internals (SQL, bucket names, keys of other organizations) ever leak.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("missing, invalid or revoked credentials")]
    Unauthorized,
    /// Deliberately the same answer for "does not exist" and "belongs to
    /// another organization", so IDs cannot be probed.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A conditional request (`replaces`) found the asset changed, trashed or gone.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// A copy asked for content the caller's organization does not store
    /// (never looked up in other organizations); the client uploads instead.
    #[error("this organization stores no content with that SHA-256; upload it instead")]
    ContentUnknown,
    #[error("quota exceeded: need {} bytes", .0.needed_bytes)]
    QuotaExceeded(Box<QuotaExceeded>),
    #[error("the reservation has expired")]
    ReservationExpired,
    #[error("the uploaded object does not match the reservation: {0}")]
    ObjectMismatch(String),
    #[error("the uploaded object was not found in storage")]
    ObjectMissing,
    #[error("the cursor has expired or is unknown")]
    CursorReset,
    /// A per-address or per-device limit (see [`crate::limits`]); answered 429 with `Retry-After`.
    #[error("too many {what}; try again in {retry_after_seconds} s")]
    RateLimited {
        /// The limit's name in metrics (`pairing_attempts`, `failed_auth`, `pairing_codes`).
        limit: &'static str,
        /// What was counted, in words ("pairing attempts from this address").
        what: &'static str,
        retry_after_seconds: u64,
    },
    #[error("the request body is larger than the limit of {limit_bytes} bytes ({} KiB)", .limit_bytes / 1024)]
    PayloadTooLarge { limit_bytes: u64 },
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// The request did not finish in time (the server's `--request-timeout-seconds`).
    #[error("the request did not finish within {seconds} s; try again")]
    RequestTimeout { seconds: u64 },
    /// Readiness: a dependency (database, object store) is unreachable.
    #[error("not ready: {0}")]
    NotReady(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("object store error during {operation}: {message}")]
    ObjectStore {
        operation: &'static str,
        message: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn bad_request(message: impl Into<String>) -> Error {
        Error::BadRequest(message.into())
    }

    pub fn store(operation: &'static str, error: impl std::fmt::Display) -> Error {
        Error::ObjectStore {
            operation,
            message: error.to_string(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::NotFound(_) | Error::ContentUnknown => StatusCode::NOT_FOUND,
            Error::Conflict(_) | Error::ObjectMissing => StatusCode::CONFLICT,
            // 409 rather than 413: the request is fine, the organization's plan is not.
            Error::QuotaExceeded(_) => StatusCode::CONFLICT,
            Error::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Error::ReservationExpired | Error::CursorReset => StatusCode::GONE,
            Error::ObjectMismatch(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::RequestTimeout { .. } | Error::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_)
            | Error::Migrate(_)
            | Error::ObjectStore { .. }
            | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::Unauthorized => "unauthorized",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::PreconditionFailed(_) => "precondition_failed",
            Error::ContentUnknown => "content_unknown",
            Error::QuotaExceeded(_) => "quota_exceeded",
            Error::ReservationExpired => "reservation_expired",
            Error::ObjectMismatch(_) => "object_mismatch",
            Error::ObjectMissing => "object_missing",
            Error::CursorReset => "cursor_reset",
            Error::RateLimited { .. } => "rate_limited",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::UnsupportedMediaType(_) => "unsupported_media_type",
            Error::RequestTimeout { .. } => "request_timeout",
            Error::NotReady(_) => "not_ready",
            Error::Database(_)
            | Error::Migrate(_)
            | Error::ObjectStore { .. }
            | Error::Internal(_) => "internal",
        }
    }

    pub fn body(&self) -> ErrorBody {
        let message = match self {
            Error::Database(_)
            | Error::Migrate(_)
            | Error::ObjectStore { .. }
            | Error::Internal(_) => "internal error".to_string(),
            Error::CursorReset => {
                "the cursor has expired or is unknown: list assets and folders again, \
                                   then continue from GET /v1/changes/latest"
                    .to_string()
            }
            other => other.to_string(),
        };
        let quota = match self {
            Error::QuotaExceeded(quota) => Some((**quota).clone()),
            _ => None,
        };
        ErrorBody {
            error: self.code().to_string(),
            message,
            quota,
            request_id: current_request_id(),
        }
    }
}

tokio::task_local! {
    /// The id of the request being handled (set by the HTTP middleware), so
    /// every error body carries it without threading it through handlers.
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The JSON body for an answer the framework produced itself (unknown route,
/// wrong method, unparsable path, oversized body…), from its status and its
/// plain-text reason.
pub fn rejection_body(status: StatusCode, text: &str, request_id: Option<String>) -> ErrorBody {
    let (error, default_message) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "the request is malformed"),
        StatusCode::UNAUTHORIZED => ("unauthorized", "missing, invalid or revoked credentials"),
        StatusCode::NOT_FOUND => (
            "not_found",
            "no such route; see /openapi.json for the API's routes",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not accept that method; the Allow header lists the ones it does",
        ),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the request was not received in time"),
        StatusCode::LENGTH_REQUIRED => ("length_required", "send a Content-Length header"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
        StatusCode::URI_TOO_LONG => ("uri_too_long", "the URL is too long"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => {
            ("unprocessable", "the request body has the wrong shape")
        }
        StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "too many requests; try again later"),
        status if status.is_server_error() => ("internal", "internal error"),
        _ => ("http_error", "the request was refused"),
    };
    let text = text.trim();
    // Framework reasons are short and about the request; server-side text is never echoed.
    let message = if text.is_empty() || status.is_server_error() || text.len() > 500 {
        default_message.to_string()
    } else {
        format!("{default_message}: {text}")
    };
    ErrorBody {
        error: error.to_string(),
        message,
        quota: None,
        request_id,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() && !matches!(self, Error::NotReady(_)) {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = (status, axum::Json(self.body())).into_response();
        if let Error::RateLimited {
            retry_after_seconds,
            ..
        } = self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_seconds),
            );
        }
        response
    }
}

impl From<axum::extract::rejection::JsonRejection> for Error {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Error {
        match rejection.status() {
            // The body limit: a PAYLOAD_TOO_LARGE the middleware did not see
            // coming (chunked body without Content-Length).
            StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge {
                limit_bytes: crate::limits::current_body_limit() as u64,
            },
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".into(),
            ),
            _ => Error::BadRequest(rejection.body_text()),
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for Error {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Error {
        Error::BadRequest(rejection.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for Error {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Error {
        Error::BadRequest(rejection.body_text())
    }
}
