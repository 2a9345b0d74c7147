//! Operational endpoints: health, readiness, the snapshot, and JSON 404/405 fallbacks.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, Uri};
use axum::response::IntoResponse;
use rampart_model::api::SnapshotBody;
use serde_json::json;

use crate::error::ApiError;
use crate::state::{AppState, Live};

/// Liveness: the process is serving. Cheap; touches no IO.
pub async fn healthz(State(live): State<Live>) -> impl IntoResponse {
    Json(json!({"status": "ok", "revision": live.load().revision()}))
}

/// Readiness: the store answers a one-row read. Load balancers should route only to ready
/// replicas. Cheap enough to probe every second: it neither loads nor re-validates the
/// configuration (the served one was validated when it was committed or loaded).
pub async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let head = state.store().ledger_head().await?;
    let published = state.published();
    let diagnostics: Vec<_> = published
        .diagnostics
        .iter()
        .map(|d| json!({"code": d.code(), "field": d.field(), "message": d.message()}))
        .collect();
    Ok(Json(json!({
        "status": "ready",
        "revision": published.revision(),
        "ledger_seq": head.map_or(0, |head| head.seq),
        "diagnostics": diagnostics,
    })))
}

/// The whole configuration at the served revision.
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
