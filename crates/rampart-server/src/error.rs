//! `ApiError`: the one place where errors become an HTTP status and a stable code.
//!
//! Admin errors are `{"error": {"code", "message", "field"?}}`. OFREP has its own shapes,
//! built in `ofrep`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rampart_model::ValidationError;
use rampart_model::api::{ErrorBody, ErrorDetail};
use rampart_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A flag, segment or document failed validation (400).
    #[error("{0}")]
    Validation(#[from] ValidationError),
    /// The request itself is malformed (400).
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// The object does not exist (404).
    #[error("{kind} `{key}` not found")]
    NotFound { kind: &'static str, key: String },
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
    #[error(
        "request body is larger than the server's limit (serve --max-body-bytes, or --max-events-body-bytes for /v1/events)"
    )]
    TooLarge,
    /// An event batch with more events than one request may carry (413).
    #[error("more than {max} events in one batch; send at most {max} per request", max = crate::events::MAX_EVENTS_PER_BATCH)]
    TooManyEvents { count: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(
        code: &'static str,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
            field: field.map(str::to_owned),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::InUse(_) | ApiError::RolloutActive { .. } | ApiError::Transition(_) => {
                StatusCode::CONFLICT
            }
            ApiError::TooLarge | ApiError::TooManyEvents { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Store(e) => match e {
                StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
                StoreError::AlreadyExists { .. } => StatusCode::CONFLICT,
                StoreError::Conflict { .. } => StatusCode::PRECONDITION_FAILED,
                StoreError::StorageFull { .. } => StatusCode::INSUFFICIENT_STORAGE,
                StoreError::StorageIo { .. } => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, documented code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(e) => e.code().as_str(),
            ApiError::BadRequest { code, .. } => code,
            ApiError::NotFound { .. } => "NOT_FOUND",
            ApiError::InUse(_) => "IN_USE",
            ApiError::RolloutActive { .. } => "ROLLOUT_ACTIVE",
            ApiError::Transition(_) => "ILLEGAL_TRANSITION",
            ApiError::TooLarge => "PAYLOAD_TOO_LARGE",
            ApiError::TooManyEvents { .. } => "BATCH_TOO_LARGE",
            ApiError::Store(e) => match e {
                StoreError::NotFound { .. } => "NOT_FOUND",
                StoreError::AlreadyExists { .. } => "ALREADY_EXISTS",
                StoreError::Conflict { .. } => "REVISION_MISMATCH",
                StoreError::StorageFull { .. } => "STORAGE_FULL",
                StoreError::StorageIo { .. } => "STORAGE_UNAVAILABLE",
                _ => "INTERNAL",
            },
            ApiError::Internal(_) => "INTERNAL",
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status.is_server_error() {
            // The detail goes to the log; the client gets a stable, non-leaky message, except
            // that 507/503 (the data dir full or failing) say so: their text names no path.
            tracing::error!(error = %self, "request failed");
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                "internal error; see the server log".to_owned()
            } else {
                self.to_string()
            }
        } else {
            self.to_string()
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message,
                field: self.field().map(str::to_owned),
            },
        };
        (status, Json(body)).into_response()
    }
}
