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
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        (status, axum::Json(self.body())).into_response()
    }
}

impl From<axum::extract::rejection::JsonRejection> for Error {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Error {
        Error::BadRequest(rejection.body_text())
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
