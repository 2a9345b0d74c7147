//! Operational endpoints: health, readiness, the snapshot, and JSON 404/405 fallbacks.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, Uri};
use rampart_model::api::SnapshotBody;
use rampart_model::{ErrorCode, Revision};
use serde::Serialize;

use crate::error::ApiError;
use crate::openapi::tags;
use crate::state::{AppState, Live};
use rampart_model::api::ErrorBody;

/// `GET /healthz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(schema_with = status_ok)]
    status: &'static str,
    /// The config revision served.
    revision: Revision,
}

/// `GET /readyz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// Always `ready`.
    #[schema(schema_with = status_ready)]
    status: &'static str,
    /// The config revision served.
    revision: Revision,
    /// The ledger's newest `seq`; 0 when it is empty.
    ledger_seq: u64,
    /// Problems found in the stored configuration at start-up and not fixed since (each
    /// one's code, field path and message); empty when there are none.
    diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Diagnostic {
    code: ErrorCode,
    /// The path of the field at fault; empty when it is about the whole object.
    field: String,
    message: String,
}

fn status_ok() -> utoipa::openapi::Object {
    crate::openapi::string_enum(&["ok"])
}

fn status_ready() -> utoipa::openapi::Object {
    crate::openapi::string_enum(&["ready"])
}

/// Liveness: the process is serving. Cheap; touches no IO.
#[utoipa::path(get, path = "/healthz", tag = tags::OPS,
    responses((status = 200, description = "The process is serving.", body = Health)))]
pub async fn healthz(State(live): State<Live>) -> Json<Health> {
    Json(Health {
        status: "ok",
        revision: live.load().revision(),
    })
}

/// Readiness: the store answers a one-row read. Load balancers should route only to ready
/// replicas. Cheap enough to probe every second: it neither loads nor re-validates the
/// configuration (the served one was validated when it was committed or loaded).
#[utoipa::path(get, path = "/readyz", tag = tags::OPS,
    responses(
        (status = 200, description = "The store answers.", body = Readiness),
        (status = 503, description = "The store can't be read (`STORAGE_UNAVAILABLE`).", body = ErrorBody),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
    let head = state.store().ledger_head().await?;
    let published = state.published();
    let diagnostics = published
        .diagnostics
        .iter()
        .map(|d| Diagnostic {
            code: d.code(),
            field: d.field().to_owned(),
            message: d.message().to_owned(),
        })
        .collect();
    Ok(Json(Readiness {
        status: "ready",
        revision: published.revision(),
        ledger_seq: head.map_or(0, |head| head.seq),
        diagnostics,
    }))
}

/// The whole configuration at the served revision.
#[utoipa::path(get, path = "/v1/snapshot", tag = tags::OPS,
    responses((status = 200, description = "Every segment and flag at one revision.", body = SnapshotBody)))]
pub async fn snapshot(State(live): State<Live>) -> Json<SnapshotBody> {
    let published = live.load();
    let catalog = published.catalog();
    Json(SnapshotBody {
        revision: catalog.revision(),
        segments: catalog
            .segments()
            .values()
            .map(|s| s.spec().clone())
            .collect(),
        flags: catalog.flags().values().map(|f| f.spec().clone()).collect(),
    })
}

pub async fn no_route(uri: Uri) -> ApiError {
    ApiError::NotFound {
        kind: "route",
        key: uri.path().to_owned(),
    }
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}
