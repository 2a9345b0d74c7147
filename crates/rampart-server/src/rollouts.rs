//! `/v1/rollouts`: create (and start), list, get, and the operator actions pause, resume,
//! approve, promote, rollback and abort. Also `/v1/flags/{key}/counts`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rampart_rollout::view::{RolloutList, RolloutView};
use rampart_rollout::{Event, PlanSpec, RollbackMode};
use serde::Deserialize;

use crate::controller::Controller;
use crate::counters::CountsReport;
use crate::error::ApiError;
use crate::extract::{Actor, ApiJson, ApiQuery, IdPath};
use crate::page;
use crate::state::AppState;
use rampart_model::ErrorCode;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    flag: Option<String>,
    /// Only rollouts still in progress.
    #[serde(default)]
    active: bool,
    /// Only rollouts older than this id (the previous page's `next_before`).
    before: Option<u64>,
    /// At most this many (100 by default).
    limit: Option<u32>,
}

/// Rollouts a page holds unless asked otherwise: each one's view decodes its plan and state.
const DEFAULT_ROLLOUT_PAGE: u32 = 100;

pub async fn create(
    State(controller): State<Arc<Controller>>,
    Actor(actor): Actor,
    ApiJson(plan): ApiJson<PlanSpec>,
) -> Result<(StatusCode, Json<RolloutView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(controller.create(plan, &actor).await?),
    ))
}

pub async fn list(
    State(controller): State<Arc<Controller>>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<RolloutList>, ApiError> {
    let limit = page::limit(query.limit, DEFAULT_ROLLOUT_PAGE)?;
    Ok(Json(
        controller
            .list(query.flag.as_deref(), query.active, query.before, limit)
            .await?,
    ))
}

pub async fn get(
    State(controller): State<Arc<Controller>>,
    IdPath(id): IdPath,
) -> Result<Json<RolloutView>, ApiError> {
    Ok(Json(controller.view(id, true).await?))
}

async fn act(
    controller: &Controller,
    id: u64,
    event: Event,
    actor: &str,
) -> Result<Json<RolloutView>, ApiError> {
    Ok(Json(controller.act(id, event, actor).await?))
}

pub async fn pause(
    State(c): State<Arc<Controller>>,
    IdPath(id): IdPath,
    Actor(actor): Actor,
) -> Result<Json<RolloutView>, ApiError> {
    act(&c, id, Event::Pause, &actor).await
}

pub async fn resume(
    State(c): State<Arc<Controller>>,
    IdPath(id): IdPath,
    Actor(actor): Actor,
) -> Result<Json<RolloutView>, ApiError> {
    act(&c, id, Event::Resume, &actor).await
}

pub async fn approve(
    State(c): State<Arc<Controller>>,
    IdPath(id): IdPath,
    Actor(actor): Actor,
) -> Result<Json<RolloutView>, ApiError> {
    let event = Event::Approve {
        actor: actor.clone(),
    };
    act(&c, id, event, &actor).await
}

pub async fn promote(
    State(c): State<Arc<Controller>>,
    IdPath(id): IdPath,
    Actor(actor): Actor,
) -> Result<Json<RolloutView>, ApiError> {
    act(&c, id, Event::Promote, &actor).await
}

pub async fn abort(
    State(c): State<Arc<Controller>>,
    IdPath(id): IdPath,
    Actor(actor): Actor,
) -> Result<Json<RolloutView>, ApiError> {
    act(&c, id, Event::Abort, &actor).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    #[serde(default)]
    mode: RollbackMode,
    reason: String,
}

pub async fn rollback(
    State(c): State<Arc<Controller>>,
    IdPath(id): IdPath,
    Actor(actor): Actor,
    ApiJson(request): ApiJson<RollbackRequest>,
) -> Result<Json<RolloutView>, ApiError> {
    let reason = request.reason.trim();
    if reason.is_empty() {
        return Err(ApiError::bad_request(
            ErrorCode::Required,
            Some("reason"),
            "say why you are rolling back; it goes into the rollout's history",
        ));
    }
    act(
        &c,
        id,
        Event::Rollback {
            mode: request.mode,
            reason: reason.to_owned(),
        },
        &actor,
    )
    .await
}

/// Evaluation counts per variant, and the counterfactual (shadow) counts.
pub async fn counts(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<CountsReport>, ApiError> {
    let counters = state
        .counters()
        .get(&key)
        .ok_or_else(|| ApiError::NotFound {
            kind: "flag",
            key: key.clone(),
        })?;
    Ok(Json(counters.report(&key)))
}
