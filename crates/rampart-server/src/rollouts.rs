//! `/v1/rollouts`: create (and start), list, get, and the operator actions pause, resume,
//! approve, promote, rollback and abort. Also `/v1/flags/{key}/counts`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rampart_rollout::view::{RolloutList, RolloutView};
use rampart_rollout::{Event, PlanSpec, RollbackMode};
use serde::Deserialize;

use crate::controller::Controller;
use crate::counters::CountsReport;
use crate::error::ApiError;
use crate::extract::{Actor, ApiJson, ApiPath, ApiQuery, IdPath};
use crate::openapi::{ActorHeader, tags};
use crate::page;
use crate::state::AppState;
use rampart_model::ErrorCode;
use rampart_model::api::ErrorBody;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only rollouts of this flag.
    flag: Option<String>,
    /// Only rollouts still in progress.
    #[serde(default)]
    active: bool,
    /// Only rollouts older than this id (the previous page's `next_before`).
    before: Option<u64>,
    /// At most this many (100 by default).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Rollouts a page holds unless asked otherwise: each one's view decodes its plan and state.
const DEFAULT_ROLLOUT_PAGE: u32 = 100;

#[utoipa::path(post, path = "/v1/rollouts", tag = tags::ROLLOUTS, params(ActorHeader),
    request_body = PlanSpec,
    responses(
        (status = 201, description = "Created and started.", body = RolloutView),
        (status = 400, description = "A malformed header or body, or a plan that fails validation.", body = ErrorBody),
        (status = 409, description = "The flag already has an active rollout, or it changed meanwhile.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
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

#[utoipa::path(get, path = "/v1/rollouts", tag = tags::ROLLOUTS, params(ListQuery),
    responses(
        (status = 200, description = "A page of rollouts, newest first.", body = RolloutList),
        (status = 400, description = "A malformed query parameter.", body = ErrorBody),
    ))]
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

#[utoipa::path(get, path = "/v1/rollouts/{id}", tag = tags::ROLLOUTS, params(("id" = u64, Path, description = "The rollout's id.")),
    responses(
        (status = 200, description = "The rollout with its history.", body = RolloutView),
        (status = 400, description = "The id is not a number (`INVALID_PATH`).", body = ErrorBody),
        (status = 404, description = "No rollout with this id.", body = ErrorBody),
    ))]
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

#[utoipa::path(post, path = "/v1/rollouts/{id}/pause", tag = tags::ROLLOUTS,
    params(("id" = u64, Path, description = "The rollout's id."), ActorHeader),
    responses(
        (status = 200, description = "Paused: soak time stops.", body = RolloutView),
        (status = 400, description = "The id is not a number, or a malformed header.", body = ErrorBody),
        (status = 404, description = "No rollout with this id.", body = ErrorBody),
        (status = 409, description = "The rollout can't do that in its phase (`ILLEGAL_TRANSITION`), or it changed meanwhile.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn pause(
    State(c): State<Arc<Controller>>,
    IdPath(id): IdPath,
    Actor(actor): Actor,
) -> Result<Json<RolloutView>, ApiError> {
    act(&c, id, Event::Pause, &actor).await
}

#[utoipa::path(post, path = "/v1/rollouts/{id}/resume", tag = tags::ROLLOUTS,
    params(("id" = u64, Path, description = "The rollout's id."), ActorHeader),
    responses(
        (status = 200, description = "Resumed.", body = RolloutView),
        (status = 400, description = "The id is not a number, or a malformed header.", body = ErrorBody),
        (status = 404, description = "No rollout with this id.", body = ErrorBody),
        (status = 409, description = "The rollout can't do that in its phase (`ILLEGAL_TRANSITION`), or it changed meanwhile.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn resume(
    State(c): State<Arc<Controller>>,
    IdPath(id): IdPath,
    Actor(actor): Actor,
) -> Result<Json<RolloutView>, ApiError> {
    act(&c, id, Event::Resume, &actor).await
}

#[utoipa::path(post, path = "/v1/rollouts/{id}/approve", tag = tags::ROLLOUTS,
    params(("id" = u64, Path, description = "The rollout's id."), ActorHeader),
    responses(
        (status = 200, description = "Approved: the rollout moves past the step awaiting approval.", body = RolloutView),
        (status = 400, description = "The id is not a number, or a malformed header.", body = ErrorBody),
        (status = 404, description = "No rollout with this id.", body = ErrorBody),
        (status = 409, description = "The rollout can't do that in its phase (`ILLEGAL_TRANSITION`), or it changed meanwhile.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
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

#[utoipa::path(post, path = "/v1/rollouts/{id}/promote", tag = tags::ROLLOUTS,
    params(("id" = u64, Path, description = "The rollout's id."), ActorHeader),
    responses(
        (status = 200, description = "Promoted: the rest of the current step is skipped.", body = RolloutView),
        (status = 400, description = "The id is not a number, or a malformed header.", body = ErrorBody),
        (status = 404, description = "No rollout with this id.", body = ErrorBody),
        (status = 409, description = "The rollout can't do that in its phase (`ILLEGAL_TRANSITION`), or it changed meanwhile.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn promote(
    State(c): State<Arc<Controller>>,
    IdPath(id): IdPath,
    Actor(actor): Actor,
) -> Result<Json<RolloutView>, ApiError> {
    act(&c, id, Event::Promote, &actor).await
}

#[utoipa::path(post, path = "/v1/rollouts/{id}/abort", tag = tags::ROLLOUTS,
    params(("id" = u64, Path, description = "The rollout's id."), ActorHeader),
    responses(
        (status = 200, description = "Aborted: the flag keeps its current weights.", body = RolloutView),
        (status = 400, description = "The id is not a number, or a malformed header.", body = ErrorBody),
        (status = 404, description = "No rollout with this id.", body = ErrorBody),
        (status = 409, description = "The rollout can't do that in its phase (`ILLEGAL_TRANSITION`), or it changed meanwhile.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn abort(
    State(c): State<Arc<Controller>>,
    IdPath(id): IdPath,
    Actor(actor): Actor,
) -> Result<Json<RolloutView>, ApiError> {
    act(&c, id, Event::Abort, &actor).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    #[serde(default)]
    mode: RollbackMode,
    /// Why: it goes into the rollout's history. Not empty.
    #[schema(min_length = 1, pattern = r"\S")]
    reason: String,
}

#[utoipa::path(post, path = "/v1/rollouts/{id}/rollback", tag = tags::ROLLOUTS,
    params(("id" = u64, Path, description = "The rollout's id."), ActorHeader),
    request_body = RollbackRequest,
    responses(
        (status = 200, description = "Rolling back (or rolled back).", body = RolloutView),
        (status = 400, description = "The id is not a number, a malformed header or body, or no reason.", body = ErrorBody),
        (status = 404, description = "No rollout with this id.", body = ErrorBody),
        (status = 409, description = "The rollout can't roll back in its phase (`ILLEGAL_TRANSITION`), or it changed meanwhile.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
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
#[utoipa::path(get, path = "/v1/flags/{key}/counts", tag = tags::ROLLOUTS,
    params(("key" = String, Path, description = "The flag's key.")),
    responses(
        (status = 200, description = "Evaluations per variant since the server started, and shadow pairs.", body = CountsReport),
        (status = 400, description = "A path parameter that can't be read (`INVALID_PATH`).", body = ErrorBody),
        (status = 404, description = "No flag with this key.", body = ErrorBody),
    ))]
pub async fn counts(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
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
