//! `/v1/flags`: create, read, update, delete, enable/disable (the kill switch), history,
//! revert. Every change goes through `AppState::mutate`, one transaction each.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rampart_model::api::{Deleted, FlagList, FlagResource, History, HistoryItem, RevertRequest};
use rampart_model::{Flag, FlagSpec, FlagState};
use rampart_store::{Change, HistoryEntry, HistoryOp, Precondition};

use crate::error::ApiError;
use crate::extract::{Actor, ApiJson, ApiPath, ApiQuery, IfMatch, etag};
use crate::openapi::{ActorHeader, IfMatchHeader, tags};
use crate::page::{self, KeyPage, RevisionPage};
use crate::state::{AppState, Published};
use rampart_model::ErrorCode;
use rampart_model::api::ErrorBody;
use rampart_model::api::rfc3339;

fn resource(published: &Published, key: &str) -> Result<FlagResource, ApiError> {
    let flag = published
        .catalog()
        .flag(key)
        .ok_or_else(|| not_found(key))?;
    let meta = published
        .flag_meta
        .get(key)
        .cloned()
        .ok_or_else(|| ApiError::Internal(format!("flag `{key}` has no metadata")))?;
    Ok(FlagResource {
        flag: flag.spec().clone(),
        meta,
    })
}

/// A flag under an active rollout is owned by the rollout: only enable/disable may touch it.
pub fn refuse_if_rolling_out(published: &Published, key: &str) -> Result<(), ApiError> {
    match published.active_rollouts.get(key) {
        Some(&id) => Err(ApiError::RolloutActive {
            flag: key.to_owned(),
            id,
        }),
        None => Ok(()),
    }
}

fn not_found(key: &str) -> ApiError {
    ApiError::NotFound {
        kind: "flag",
        key: key.to_owned(),
    }
}

fn with_etag(resource: FlagResource) -> Response {
    (
        [(header::ETAG, etag(resource.meta.revision))],
        Json(resource),
    )
        .into_response()
}

/// Flags by key, a page at a time (`?after=KEY&limit=N`, 1,000 by default).
#[utoipa::path(get, path = "/v1/flags", tag = tags::FLAGS, params(KeyPage),
    responses(
        (status = 200, description = "A page of flags, by key.", body = FlagList),
        (status = 400, description = "A malformed `after` or `limit`.", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<KeyPage>,
) -> Result<Json<FlagList>, ApiError> {
    let limit = page::limit(query.limit, page::MAX_PAGE)?;
    let published = state.published();
    let keys = published
        .catalog()
        .flags()
        .keys()
        .filter(|key| query.after.as_ref().is_none_or(|after| *key > after));
    let (keys, next) = page::take(keys, limit, |key| (*key).clone());
    let flags = keys
        .into_iter()
        .map(|key| resource(&published, key))
        .collect::<Result<_, _>>()?;
    Ok(Json(FlagList {
        revision: published.revision(),
        flags,
        next,
    }))
}

#[utoipa::path(get, path = "/v1/flags/{key}", tag = tags::FLAGS, params(("key" = String, Path, description = "The flag's key.")),
    responses(
        (status = 200, description = "The flag and its metadata.", body = FlagResource, headers(("ETag" = String, description = "The flag's revision, quoted; send it back as `If-Match`."))),
        (status = 400, description = "A path parameter that can't be read (`INVALID_PATH`).", body = ErrorBody),
        (status = 404, description = "No flag with this key.", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(with_etag(resource(&state.published(), &key)?))
}

#[utoipa::path(post, path = "/v1/flags", tag = tags::FLAGS, params(ActorHeader),
    request_body = FlagSpec,
    responses(
        (status = 201, description = "Created.", body = FlagResource, headers(("ETag" = String, description = "The flag's revision, quoted; send it back as `If-Match`."))),
        (status = 400, description = "A malformed header, query, or body, or a flag that fails validation.", body = ErrorBody),
        (status = 409, description = "A flag with this key exists (`ALREADY_EXISTS`).", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiJson(spec): ApiJson<FlagSpec>,
) -> Result<impl IntoResponse, ApiError> {
    let flag = Flag::try_new(spec)?;
    let key = flag.key().to_owned();
    let published = state
        .mutate(&actor, |catalog, _| {
            if catalog.flag(flag.key()).is_some() {
                return Err(ApiError::Store(rampart_store::StoreError::AlreadyExists {
                    kind: "flag",
                    key: flag.key().to_owned(),
                }));
            }
            catalog.upsert_flag(flag.clone())?;
            Ok((
                vec![Change::PutFlag {
                    flag,
                    expected: Precondition::MustNotExist,
                }],
                (),
            ))
        })
        .await?
        .published;
    Ok((StatusCode::CREATED, with_etag(resource(&published, &key)?)))
}

#[utoipa::path(put, path = "/v1/flags/{key}", tag = tags::FLAGS,
    params(("key" = String, Path, description = "The flag's key."), ActorHeader, IfMatchHeader),
    request_body = FlagSpec,
    responses(
        (status = 200, description = "Updated (or already so).", body = FlagResource, headers(("ETag" = String, description = "The flag's revision, quoted; send it back as `If-Match`."))),
        (status = 400, description = "A malformed header, query, or body, or a flag that fails validation.", body = ErrorBody),
        (status = 404, description = "No flag with this key.", body = ErrorBody),
        (status = 409, description = "An active rollout owns the flag, or it changed meanwhile.", body = ErrorBody),
        (status = 412, description = "`If-Match` is not the flag's revision.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    Actor(actor): Actor,
    if_match: IfMatch,
    ApiJson(spec): ApiJson<FlagSpec>,
) -> Result<impl IntoResponse, ApiError> {
    if spec.key != key {
        return Err(ApiError::bad_request(
            ErrorCode::KeyMismatch,
            Some("key"),
            format!(
                "body key `{}` does not match the URL's flag `{key}`",
                spec.key
            ),
        ));
    }
    let flag = Flag::try_new(spec)?;
    put_existing(&state, &actor, flag, if_match).await
}

async fn put_existing(
    state: &AppState,
    actor: &str,
    flag: Flag,
    if_match: IfMatch,
) -> Result<Response, ApiError> {
    let key = flag.key().to_owned();
    let published = if_match
        .guard(
            state
                .mutate(actor, |catalog, current| {
                    if_match.check("flag", flag.key(), current.flag_meta.get(flag.key()))?;
                    let existing = catalog.flag(flag.key());
                    if existing.is_some_and(|existing| existing == &flag) {
                        return Ok((Vec::new(), ()));
                    }
                    let only_state_changes =
                        existing.is_some_and(|e| e.clone().with_state(flag.spec().state) == flag);
                    if !only_state_changes {
                        refuse_if_rolling_out(current, flag.key())?;
                    }
                    catalog.upsert_flag(flag.clone())?;
                    Ok((
                        vec![Change::PutFlag {
                            flag,
                            expected: if_match.precondition(),
                        }],
                        (),
                    ))
                })
                .await,
        )?
        .published;
    Ok(with_etag(resource(&published, &key)?))
}

#[utoipa::path(delete, path = "/v1/flags/{key}", tag = tags::FLAGS,
    params(("key" = String, Path, description = "The flag's key."), ActorHeader, IfMatchHeader),
    responses(
        (status = 200, description = "Deleted.", body = Deleted),
        (status = 400, description = "A path parameter that can't be read (`INVALID_PATH`), or a malformed header.", body = ErrorBody),
        (status = 404, description = "No flag with this key.", body = ErrorBody),
        (status = 409, description = "Other flags depend on it, an active rollout owns it, or it changed meanwhile.", body = ErrorBody),
        (status = 412, description = "`If-Match` is not the flag's revision.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    Actor(actor): Actor,
    if_match: IfMatch,
) -> Result<Json<Deleted>, ApiError> {
    let published = if_match
        .guard(
            state
                .mutate(&actor, |catalog, current| {
                    // A flag a rollout owns is refused whatever the If-Match says.
                    refuse_if_rolling_out(current, &key)?;
                    if_match.check("flag", &key, current.flag_meta.get(&key))?;
                    catalog
                        .remove_flag(&key)
                        .map_err(|e| ApiError::InUse(e.message().to_owned()))?;
                    Ok((
                        vec![Change::DeleteFlag {
                            key: key.clone(),
                            expected: if_match.precondition(),
                        }],
                        (),
                    ))
                })
                .await,
        )?
        .published;
    Ok(Json(Deleted {
        key,
        revision: published.revision(),
    }))
}

async fn set_state(
    state: AppState,
    key: String,
    actor: String,
    if_match: IfMatch,
    flag_state: FlagState,
) -> Result<impl IntoResponse, ApiError> {
    // Read, change and commit under the write lock, against the revision read: a concurrent
    // edit (or a rollout step) is never overwritten, and the kill switch never races a tick.
    let published = if_match
        .guard(
            state
                .mutate(&actor, |catalog, current| {
                    let meta = current.flag_meta.get(&key);
                    if_match.check("flag", &key, meta)?;
                    let existing = catalog.flag(&key).cloned().ok_or_else(|| not_found(&key))?;
                    let flag = existing.clone().with_state(flag_state);
                    if flag == existing {
                        return Ok((Vec::new(), ()));
                    }
                    catalog.upsert_flag(flag.clone())?;
                    let expected = meta.map_or(Precondition::MustExist, |m| {
                        Precondition::Revision(m.revision)
                    });
                    Ok((vec![Change::PutFlag { flag, expected }], ()))
                })
                .await,
        )?
        .published;
    Ok(with_etag(resource(&published, &key)?))
}

#[utoipa::path(post, path = "/v1/flags/{key}/enable", tag = tags::FLAGS,
    params(("key" = String, Path, description = "The flag's key."), ActorHeader, IfMatchHeader),
    responses(
        (status = 200, description = "Enabled (or already so).", body = FlagResource, headers(("ETag" = String, description = "The flag's revision, quoted; send it back as `If-Match`."))),
        (status = 400, description = "A path parameter that can't be read (`INVALID_PATH`), or a malformed header.", body = ErrorBody),
        (status = 404, description = "No flag with this key.", body = ErrorBody),
        (status = 409, description = "The flag changed meanwhile.", body = ErrorBody),
        (status = 412, description = "`If-Match` is not the flag's revision.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn enable(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    Actor(actor): Actor,
    if_match: IfMatch,
) -> Result<impl IntoResponse, ApiError> {
    set_state(state, key, actor, if_match, FlagState::Enabled).await
}

/// The kill switch: the flag serves its default variant with reason DISABLED.
#[utoipa::path(post, path = "/v1/flags/{key}/disable", tag = tags::FLAGS,
    params(("key" = String, Path, description = "The flag's key."), ActorHeader, IfMatchHeader),
    responses(
        (status = 200, description = "Disabled (or already so): it serves its default variant, reason `DISABLED`.", body = FlagResource, headers(("ETag" = String, description = "The flag's revision, quoted; send it back as `If-Match`."))),
        (status = 400, description = "A path parameter that can't be read (`INVALID_PATH`), or a malformed header.", body = ErrorBody),
        (status = 404, description = "No flag with this key.", body = ErrorBody),
        (status = 409, description = "The flag changed meanwhile.", body = ErrorBody),
        (status = 412, description = "`If-Match` is not the flag's revision.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn disable(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    Actor(actor): Actor,
    if_match: IfMatch,
) -> Result<impl IntoResponse, ApiError> {
    set_state(state, key, actor, if_match, FlagState::Disabled).await
}

#[utoipa::path(get, path = "/v1/flags/{key}/history", tag = tags::FLAGS,
    params(("key" = String, Path, description = "The flag's key."), RevisionPage),
    responses(
        (status = 200, description = "A page of the flag's versions, oldest first.", body = History<FlagSpec>),
        (status = 400, description = "A malformed path parameter, `after` or `limit`.", body = ErrorBody),
        (status = 404, description = "No flag with this key ever existed.", body = ErrorBody),
    ))]
pub async fn history(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiQuery(query): ApiQuery<RevisionPage>,
) -> Result<Json<History<FlagSpec>>, ApiError> {
    let limit = page::limit(query.limit, page::MAX_PAGE)?;
    let entries = state.store().flag_history(&key).await?;
    if entries.is_empty() {
        return Err(not_found(&key));
    }
    Ok(Json(history_page(key, entries, query.after, limit)))
}

/// A page of history, oldest first, as the API shows it (RFC 3339 times, op names).
pub fn history_page<T>(
    key: String,
    entries: Vec<HistoryEntry<T>>,
    after: Option<u64>,
    limit: u32,
) -> History<T> {
    let entries = entries
        .into_iter()
        .filter(|e| after.is_none_or(|after| e.revision > after));
    let (entries, next) = page::take(entries, limit, |e| e.revision);
    let history = entries
        .into_iter()
        .map(|e| HistoryItem {
            revision: e.revision,
            at: rfc3339(e.at),
            actor: e.actor,
            op: op_name(e.op).to_owned(),
            value: e.value,
        })
        .collect();
    History { key, history, next }
}

fn op_name(op: HistoryOp) -> &'static str {
    match op {
        HistoryOp::Created => "created",
        HistoryOp::Updated => "updated",
        HistoryOp::Deleted => "deleted",
    }
}

/// Restores the flag as it was at `to_revision`, as a new change (history is never rewritten).
#[utoipa::path(post, path = "/v1/flags/{key}/revert", tag = tags::FLAGS,
    params(("key" = String, Path, description = "The flag's key."), ActorHeader),
    request_body = RevertRequest,
    responses(
        (status = 200, description = "The flag as it was at `to_revision`, as a new change.", body = FlagResource, headers(("ETag" = String, description = "The flag's revision, quoted; send it back as `If-Match`."))),
        (status = 400, description = "A malformed header, query, or body, or a flag that fails validation.", body = ErrorBody),
        (status = 404, description = "No flag with this key ever existed.", body = ErrorBody),
        (status = 409, description = "An active rollout owns the flag, or another flag depends on what the revert removes.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn revert(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    Actor(actor): Actor,
    ApiJson(request): ApiJson<RevertRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let entries = state.store().flag_history(&key).await?;
    if entries.is_empty() {
        return Err(not_found(&key));
    }
    let entry = entries
        .into_iter()
        .find(|e| e.revision == request.to_revision)
        .ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::RevisionNotFound,
                Some("to_revision"),
                format!(
                    "flag `{key}` has no version at revision {}; see its history",
                    request.to_revision
                ),
            )
        })?;
    let spec = entry.value.ok_or_else(|| {
        ApiError::bad_request(
            ErrorCode::RevisionIsDeletion,
            Some("to_revision"),
            format!(
                "revision {} deleted flag `{key}`; pick an earlier revision",
                request.to_revision
            ),
        )
    })?;
    let flag = Flag::try_new(spec)?;
    let published = state
        .mutate(&actor, |catalog, current| {
            refuse_if_rolling_out(current, &key)?;
            if catalog.flag(&key).is_some_and(|existing| existing == &flag) {
                return Ok((Vec::new(), ()));
            }
            catalog.upsert_flag(flag.clone())?;
            Ok((
                vec![Change::PutFlag {
                    flag,
                    expected: Precondition::None,
                }],
                (),
            ))
        })
        .await?
        .published;
    Ok(with_etag(resource(&published, &key)?))
}
