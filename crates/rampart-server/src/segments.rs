//! `/v1/segments`: create, read, update, delete and history of reusable segments.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use rampart_model::api::{Deleted, History, SegmentList, SegmentResource};
use rampart_model::{Segment, SegmentSpec};
use rampart_store::{Change, Precondition, StoreError};

use crate::error::ApiError;
use crate::extract::{Actor, ApiJson, ApiQuery, IfMatch, etag};
use crate::flags::history_page;
use crate::page::{self, KeyPage, RevisionPage};
use crate::state::{AppState, Published};
use rampart_model::ErrorCode;

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

pub async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(with_etag(resource(&state.published(), &name)?))
}

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

pub async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
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

pub async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
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

pub async fn history(
    State(state): State<AppState>,
    Path(name): Path<String>,
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
