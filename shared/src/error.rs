//! `ApiError`: every failure a client can cause or see, mapped to a status and a JSON body in
//! one place.

use http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::InvalidValue;
use crate::store::StoreError;

/// A failure of a request, with a stable machine-readable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (bad JSON, bad id, bad cursor...).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 401: no valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the caller may not do this.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// 404: no such resource, or not one the caller may see.
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// 409: the resource's state does not allow it.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 413: the body is larger than the API takes.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 422: well-formed, but a value is not acceptable.
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// 429: too many requests of this kind; slow down.
    #[error("{message}")]
    TooManyRequests { code: &'static str, message: String },
    /// 500: the server failed; the detail is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// 503: the store did not answer in time, was unreachable or throttled; nothing was written.
    /// The response carries `Retry-After`; the detail is logged, not sent.
    #[error("store unavailable: {0}")]
    StoreUnavailable(String),
    /// 503: the job queue did not take a job's work; the job is stored, and the same request
    /// with its `Idempotency-Key` enqueues it. The response carries `Retry-After`; the detail is
    /// logged, not sent.
    #[error("job queue unavailable: {0}")]
    QueueUnavailable(String),
}

/// Seconds a client is told to wait (`Retry-After`) before retrying after a 503
/// `store_unavailable` or `queue_unavailable`: long enough for a throttled table or a released SQLite lock, short
/// enough that a person retrying does not notice.
pub const STORE_RETRY_AFTER_SECONDS: u32 = 2;

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error inside [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code for programs (`session_not_found`).
    pub code: String,
    /// Explanation for people.
    pub message: String,
    /// The request id, to find the logs of a server error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ApiError {
    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest { code, message: message.into() }
    }

    /// 403 with a code.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden { code, message: message.into() }
    }

    /// 404 with a code.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound { code, message: message.into() }
    }

    /// 409 with a code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into() }
    }

    /// 422 with a code.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unprocessable { code, message: message.into() }
    }

    /// 404 for a session that does not exist or that the caller may not see (the two are not
    /// told apart, so ids of other people's sessions cannot be probed).
    pub fn session_not_found() -> Self {
        Self::not_found("session_not_found", "no such session")
    }

    /// 409 for a write to a closed session.
    pub fn session_closed() -> Self {
        Self::conflict("session_closed", "the session is closed")
    }

    /// 409 for taking a session someone else took first.
    pub fn session_not_waiting() -> Self {
        Self::conflict("session_not_waiting", "the session is no longer waiting")
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::StoreUnavailable(_) | ApiError::QueueUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::TooManyRequests { code, .. } => code,
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::Internal(_) => "internal",
            ApiError::StoreUnavailable(_) => "store_unavailable",
            ApiError::QueueUnavailable(_) => "queue_unavailable",
        }
    }

    /// The body sent to the client; internal details stay in the logs.
    pub fn body(&self, request_id: Option<&str>) -> ErrorBody {
        let message = match self {
            ApiError::Internal(_) => "the server failed; quote the request id when reporting it".to_owned(),
            ApiError::StoreUnavailable(_) => format!(
                "the data store is unavailable; nothing was changed, retry in {STORE_RETRY_AFTER_SECONDS} seconds"
            ),
            ApiError::QueueUnavailable(_) => format!(
                "the job queue is unavailable; the job is stored but not started: send the same request \
                 with the same Idempotency-Key in {STORE_RETRY_AFTER_SECONDS} seconds"
            ),
            other => other.to_string(),
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message,
                request_id: request_id.map(str::to_owned),
            },
        }
    }
}

/// 403 `forbidden`: the caller's role may not do `what`.
pub(crate) fn role_forbidden(what: &str) -> ApiError {
    ApiError::forbidden("forbidden", format!("your role may not {what}"))
}

impl From<InvalidValue> for ApiError {
    fn from(invalid: InvalidValue) -> Self {
        ApiError::unprocessable("validation_failed", invalid.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::InvalidCursor => {
                ApiError::bad_request("invalid_cursor", "the cursor is not one this list returned")
            }
            // Conditions a handler did not expect mean someone else changed the data meanwhile.
            StoreError::ConditionFailed | StoreError::TransactionCanceled { .. } => {
                ApiError::conflict("conflict", "the resource changed meanwhile; read it again and retry")
            }
            StoreError::Invalid(message) | StoreError::Backend(message) => ApiError::Internal(message),
            StoreError::Unavailable(message) => ApiError::StoreUnavailable(message),
        }
    }
}
