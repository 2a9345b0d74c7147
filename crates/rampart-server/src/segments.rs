//! `/v1/segments`: create, read, update, delete and history of reusable segments.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use rampart_model::api::{Deleted, History, SegmentList, SegmentResource};
use rampart_model::{Segment, SegmentSpec};
use rampart_store::{Change, Precondition, StoreError};

use crate::error::ApiError;
use crate::extract::{Actor, ApiJson, ApiPath, ApiQuery, IfMatch, etag};
use crate::flags::history_page;
use crate::openapi::{ActorHeader, IfMatchHeader, tags};
use crate::page::{self, KeyPage, RevisionPage};
use crate::state::{AppState, Published};
use rampart_model::ErrorCode;
use rampart_model::api::ErrorBody;

fn resource(published: &Published, name: &str) -> Result<SegmentResource, ApiError> {
    let segment = published
        .catalog()
        .segment(name)
        .ok_or_else(|| ApiError::NotFound {
            kind: "segment",
            key: name.to_owned(),
        })?;
    let meta = published
        .segment_meta
        .get(name)
        .cloned()
        .ok_or_else(|| ApiError::Internal(format!("segment `{name}` has no metadata")))?;
    Ok(SegmentResource {
        segment: segment.spec().clone(),
        meta,
    })
}

fn with_etag(resource: SegmentResource) -> impl IntoResponse {
    (
        [(header::ETAG, etag(resource.meta.revision))],
        Json(resource),
    )
}

/// Segments by name, a page at a time (`?after=NAME&limit=N`, 1,000 by default).
#[utoipa::path(get, path = "/v1/segments", tag = tags::SEGMENTS, params(KeyPage),
    responses(
        (status = 200, description = "A page of segments, by name.", body = SegmentList),
        (status = 400, description = "A malformed `after` or `limit`.", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<KeyPage>,
) -> Result<Json<SegmentList>, ApiError> {
    let limit = page::limit(query.limit, page::MAX_PAGE)?;
    let published = state.published();
    let names = published
        .catalog()
        .segments()
        .keys()
        .filter(|name| query.after.as_ref().is_none_or(|after| *name > after));
    let (names, next) = page::take(names, limit, |name| (*name).clone());
    let segments = names
        .into_iter()
        .map(|name| resource(&published, name))
        .collect::<Result<_, _>>()?;
    Ok(Json(SegmentList {
        revision: published.revision(),
        segments,
        next,
    }))
}

#[utoipa::path(get, path = "/v1/segments/{name}", tag = tags::SEGMENTS, params(("name" = String, Path, description = "The segment's name.")),
    responses(
        (status = 200, description = "The segment and its metadata.", body = SegmentResource, headers(("ETag" = String, description = "The segment's revision, quoted; send it back as `If-Match`."))),
        (status = 400, description = "A path parameter that can't be read (`INVALID_PATH`).", body = ErrorBody),
        (status = 404, description = "No segment with this name.", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(with_etag(resource(&state.published(), &name)?))
}

#[utoipa::path(post, path = "/v1/segments", tag = tags::SEGMENTS, params(ActorHeader),
    request_body = SegmentSpec,
    responses(
        (status = 201, description = "Created.", body = SegmentResource, headers(("ETag" = String, description = "The segment's revision, quoted; send it back as `If-Match`."))),
        (status = 400, description = "A malformed header or body, or a segment that fails validation.", body = ErrorBody),
        (status = 409, description = "A segment with this name exists (`ALREADY_EXISTS`).", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiJson(spec): ApiJson<SegmentSpec>,
) -> Result<impl IntoResponse, ApiError> {
    let segment = Segment::try_new(spec)?;
    let name = segment.name().to_owned();
    let published = state
        .mutate(&actor, |catalog, _| {
            if catalog.segment(segment.name()).is_some() {
                return Err(ApiError::Store(StoreError::AlreadyExists {
                    kind: "segment",
                    key: segment.name().to_owned(),
                }));
            }
            catalog.upsert_segment(segment.clone());
            Ok((
                vec![Change::PutSegment {
                    segment,
                    expected: Precondition::MustNotExist,
                }],
                (),
            ))
        })
        .await?
        .published;
    Ok((StatusCode::CREATED, with_etag(resource(&published, &name)?)))
}

#[utoipa::path(put, path = "/v1/segments/{name}", tag = tags::SEGMENTS,
    params(("name" = String, Path, description = "The segment's name."), ActorHeader, IfMatchHeader),
    request_body = SegmentSpec,
    responses(
        (status = 200, description = "Updated (or already so).", body = SegmentResource, headers(("ETag" = String, description = "The segment's revision, quoted; send it back as `If-Match`."))),
        (status = 400, description = "A malformed header or body, or a segment that fails validation.", body = ErrorBody),
        (status = 404, description = "No segment with this name.", body = ErrorBody),
        (status = 409, description = "The segment changed meanwhile.", body = ErrorBody),
        (status = 412, description = "`If-Match` is not the segment's revision.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    Actor(actor): Actor,
    if_match: IfMatch,
    ApiJson(spec): ApiJson<SegmentSpec>,
) -> Result<impl IntoResponse, ApiError> {
    if spec.name != name {
        return Err(ApiError::bad_request(
            ErrorCode::KeyMismatch,
            Some("name"),
            format!(
                "body name `{}` does not match the URL's segment `{name}`",
                spec.name
            ),
        ));
    }
    let segment = Segment::try_new(spec)?;
    let published = if_match
        .guard(
            state
                .mutate(&actor, |catalog, current| {
                    if_match.check("segment", &name, current.segment_meta.get(&name))?;
                    if catalog
                        .segment(&name)
                        .is_some_and(|existing| existing == &segment)
                    {
                        return Ok((Vec::new(), ()));
                    }
                    catalog.upsert_segment(segment.clone());
                    Ok((
                        vec![Change::PutSegment {
                            segment,
                            expected: if_match.precondition(),
                        }],
                        (),
                    ))
                })
                .await,
        )?
        .published;
    Ok(with_etag(resource(&published, &name)?))
}

#[utoipa::path(delete, path = "/v1/segments/{name}", tag = tags::SEGMENTS,
    params(("name" = String, Path, description = "The segment's name."), ActorHeader, IfMatchHeader),
    responses(
        (status = 200, description = "Deleted.", body = Deleted),
        (status = 400, description = "A path parameter that can't be read (`INVALID_PATH`), or a malformed header.", body = ErrorBody),
        (status = 404, description = "No segment with this name.", body = ErrorBody),
        (status = 409, description = "Flags or an active rollout's ring use it, or it changed meanwhile.", body = ErrorBody),
        (status = 412, description = "`If-Match` is not the segment's revision.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    Actor(actor): Actor,
    if_match: IfMatch,
) -> Result<Json<Deleted>, ApiError> {
    // A ring step to come would have no segment to target.
    for record in state.store().rollouts(None, true).await? {
        let names_it =
            serde_json::from_value::<rampart_rollout::PlanSpec>(record.plan).is_ok_and(|plan| {
                plan.steps
                    .iter()
                    .any(|step| step.segment.as_deref() == Some(&name))
            });
        if names_it {
            return Err(ApiError::InUse(format!(
                "segment `{name}` is a ring of active rollout {} on flag `{}`",
                record.id, record.flag
            )));
        }
    }
    let published = if_match
        .guard(
            state
                .mutate(&actor, |catalog, current| {
                    if_match.check("segment", &name, current.segment_meta.get(&name))?;
                    catalog
                        .remove_segment(&name)
                        .map_err(|e| ApiError::InUse(e.message().to_owned()))?;
                    Ok((
                        vec![Change::DeleteSegment {
                            name: name.clone(),
                            expected: if_match.precondition(),
                        }],
                        (),
                    ))
                })
                .await,
        )?
        .published;
    Ok(Json(Deleted {
        key: name,
        revision: published.revision(),
    }))
}

#[utoipa::path(get, path = "/v1/segments/{name}/history", tag = tags::SEGMENTS,
    params(("name" = String, Path, description = "The segment's name."), RevisionPage),
    responses(
        (status = 200, description = "A page of the segment's versions, oldest first.", body = History<SegmentSpec>),
        (status = 400, description = "A malformed path parameter, `after` or `limit`.", body = ErrorBody),
        (status = 404, description = "No segment with this name ever existed.", body = ErrorBody),
    ))]
pub async fn history(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(query): ApiQuery<RevisionPage>,
) -> Result<Json<History<SegmentSpec>>, ApiError> {
    let limit = page::limit(query.limit, page::MAX_PAGE)?;
    let entries = state.store().segment_history(&name).await?;
    if entries.is_empty() {
        return Err(ApiError::NotFound {
            kind: "segment",
            key: name,
        });
    }
    Ok(Json(history_page(name, entries, query.after, limit)))
}
