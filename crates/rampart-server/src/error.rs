//! `ApiError`: the one place where errors become an HTTP status and a stable code.
//!
//! Admin errors are `{"error": {"code", "message", "field"?}}`. Every code is an
//! [`ErrorCode`] (`rampart_model`), which also fixes its status, so a code always answers
//! with the same status. OFREP has its own shapes and OpenFeature's codes, built in `ofrep`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rampart_model::api::{ErrorBody, ErrorDetail};
use rampart_model::{ErrorCode, ValidationError};
use rampart_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A flag, segment, document or plan failed validation (400).
    #[error("{0}")]
    Validation(#[from] ValidationError),
    /// The request itself is wrong; `code` says how.
    #[error("{message}")]
    BadRequest {
        code: ErrorCode,
        message: String,
        field: Option<String>,
    },
    /// The object does not exist (404).
    #[error("{kind} `{key}` not found")]
    NotFound { kind: &'static str, key: String },
    /// The route exists, but not with this method (405).
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    /// Other objects depend on this one (409).
    #[error("{0}")]
    InUse(String),
    /// The flag is owned by an active rollout (409).
    #[error(
        "flag `{flag}` is being rolled out by rollout {id}; pause, roll back or abort it first (enable/disable still work)"
    )]
    RolloutActive { flag: String, id: u64 },
    /// The rollout can't take that event in its current phase (409).
    #[error(transparent)]
    Transition(#[from] rampart_rollout::TransitionError),
    /// What the request was based on changed before it could commit (409); retryable.
    #[error("{0}")]
    ConcurrentChange(String),
    /// The ledger key was given by path: its owner rotates it (409).
    #[error(
        "the ledger key was given by path (--ledger-key); rotate it there: write the new key, and restart with it after its rotation entry"
    )]
    KeyNotRotatable,
    /// The client's `If-Match` is not the object's revision (412).
    #[error("{kind} `{key}` changed: If-Match revision {expected}, current revision {actual}")]
    RevisionMismatch {
        kind: &'static str,
        key: String,
        expected: rampart_model::Revision,
        actual: rampart_model::Revision,
    },
    #[error(
        "request body is larger than the server's limit (serve --max-body-bytes, or --max-events-body-bytes for /v1/events)"
    )]
    TooLarge,
    /// An event batch with more events than one request may carry (413).
    #[error("more than {max} events in one batch; send at most {max} per request", max = crate::events::MAX_EVENTS_PER_BATCH)]
    TooManyEvents { count: usize },
    /// The request's headers or body did not arrive in time (408).
    #[error("the request did not arrive within {seconds} s (serve --request-timeout)")]
    RequestTimeout { seconds: u64 },
    /// The server can't take the request now (503, with `Retry-After`).
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: ErrorCode, field: Option<&str>, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
            field: field.map(str::to_owned),
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The stable, documented code clients switch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Validation(e) => e.code(),
            ApiError::BadRequest { code, .. } => *code,
            ApiError::NotFound { .. } => ErrorCode::NotFound,
            ApiError::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            ApiError::InUse(_) => ErrorCode::InUse,
            ApiError::RolloutActive { .. } => ErrorCode::RolloutActive,
            ApiError::Transition(_) => ErrorCode::IllegalTransition,
            ApiError::ConcurrentChange(_) => ErrorCode::ConcurrentChange,
            ApiError::KeyNotRotatable => ErrorCode::KeyNotRotatable,
            ApiError::RevisionMismatch { .. } => ErrorCode::RevisionMismatch,
            ApiError::TooLarge => ErrorCode::PayloadTooLarge,
            ApiError::TooManyEvents { .. } => ErrorCode::BatchTooLarge,
            ApiError::RequestTimeout { .. } => ErrorCode::RequestTimeout,
            ApiError::Unavailable(_) => ErrorCode::Unavailable,
            ApiError::Store(e) => store_code(e),
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Validation(e) if !e.field().is_empty() => Some(e.field()),
            ApiError::BadRequest { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

/// A store error's code. A failed revision precondition that the client did not set (the
/// controller's own optimistic checks) is a concurrent change, not a failed `If-Match`:
/// handlers that take `If-Match` turn it into `REVISION_MISMATCH` (`IfMatch::guard`).
fn store_code(error: &StoreError) -> ErrorCode {
    match error {
        StoreError::NotFound { .. } => ErrorCode::NotFound,
        StoreError::AlreadyExists { .. } => ErrorCode::AlreadyExists,
        StoreError::Conflict { .. } => ErrorCode::ConcurrentChange,
        StoreError::StorageFull { .. } => ErrorCode::StorageFull,
        StoreError::StorageIo { .. } => ErrorCode::StorageUnavailable,
        _ => ErrorCode::Internal,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let message = if code == ErrorCode::Internal {
            // The detail goes to the log; the client gets a stable, non-leaky message. The
            // storage errors (507, 503) say what is wrong: their text names no path.
            "internal error; see the server log".to_owned()
        } else {
            self.to_string()
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.as_str().to_owned(),
                message,
                field: self.field().map(str::to_owned),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::IfMatch;

    fn conflict() -> ApiError {
        ApiError::Store(StoreError::Conflict {
            kind: "rollout",
            key: "7".to_owned(),
            expected: 2,
            actual: 3,
        })
    }

    #[test]
    fn issue_9_every_code_has_a_valid_status() {
        for code in ErrorCode::ALL {
            let status = StatusCode::from_u16(code.http_status()).expect("a status");
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code}"
            );
        }
    }

    #[test]
    fn issue_9_a_conflict_without_if_match_is_a_concurrent_change_not_412() {
        let error = IfMatch(None).guard::<()>(Err(conflict())).unwrap_err();
        assert_eq!(error.code(), ErrorCode::ConcurrentChange);
        assert_eq!(error.status(), StatusCode::CONFLICT);
    }

    #[test]
    fn issue_9_a_conflict_on_an_if_match_change_is_412() {
        let error = IfMatch(Some(2)).guard::<()>(Err(conflict())).unwrap_err();
        assert_eq!(error.code(), ErrorCode::RevisionMismatch);
        assert_eq!(error.status(), StatusCode::PRECONDITION_FAILED);
    }

    #[tokio::test]
    async fn issue_9_an_internal_error_tells_the_client_nothing_but_a_storage_error_says_what() {
        let internal = ApiError::Internal("secret path /var/lib/x".into()).into_response();
        assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(internal.into_body(), 1 << 16)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("\"INTERNAL\"") && !text.contains("secret"),
            "{text}"
        );
        let full = ApiError::Store(StoreError::StorageFull {
            detail: "database or disk is full".into(),
        })
        .into_response();
        assert_eq!(full.status(), StatusCode::INSUFFICIENT_STORAGE);
        let body = axum::body::to_bytes(full.into_body(), 1 << 16)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("STORAGE_FULL") && text.contains("full"),
            "{text}"
        );
    }
}
