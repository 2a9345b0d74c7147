//! `POST /v1/apply`: flags and segments as code. Plans the difference between a document
//! and the served config, and (unless `dry_run`) applies it in one transaction.

use axum::Json;
use axum::extract::State;
use rampart_model::api::{ApplyRequest, ApplyResponse, PlannedAction, PlannedChange};
use rampart_model::{Catalog, Flag};
use rampart_store::{Change, Precondition};
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::{Actor, ApiJson};
use crate::openapi::{ActorHeader, tags};
use crate::state::{AppState, Mutation};
use rampart_model::api::ErrorBody;

#[utoipa::path(post, path = "/v1/apply", tag = tags::APPLY, params(ActorHeader),
    request_body = ApplyRequest,
    responses(
        (status = 200, description = "The plan, and whether it was applied.", body = ApplyResponse),
        (status = 400, description = "A malformed header or body, or a document that fails validation.", body = ErrorBody),
        (status = 409, description = "An active rollout owns a flag the document changes, or the config changed meanwhile.", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn apply(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiJson(request): ApiJson<ApplyRequest>,
) -> Result<Json<ApplyResponse>, ApiError> {
    let (flags, segments) = request
        .document
        .validate()
        .map_err(|e| e.within("document"))?;
    let dry_run = request.dry_run;
    let Mutation {
        published,
        output: planned,
        ..
    } = state
        .mutate(&actor, |catalog, current| {
            let mut changes = Vec::new();
            let mut planned = Vec::new();
            // Segments first: the document's flags may reference them.
            for segment in segments {
                let name = segment.name().to_owned();
                let existing = catalog.segment(&name).map(|s| s.spec());
                let (action, fields) = plan(existing, segment.spec());
                if action != PlannedAction::Unchanged {
                    let expected =
                        expected(action, current.segment_meta.get(&name).map(|m| m.revision));
                    changes.push(Change::PutSegment {
                        segment: segment.clone(),
                        expected,
                    });
                }
                planned.push(PlannedChange {
                    kind: "segment".into(),
                    key: name,
                    action,
                    fields,
                });
                catalog.upsert_segment(segment);
            }
            let mut flag_changes = Vec::new();
            for flag in &flags {
                let existing = catalog.flag(flag.key()).map(|f| f.spec());
                let (action, fields) = plan(existing, flag.spec());
                if action != PlannedAction::Unchanged {
                    crate::flags::refuse_if_rolling_out(current, flag.key())?;
                    let revision = current.flag_meta.get(flag.key()).map(|m| m.revision);
                    flag_changes.push(Change::PutFlag {
                        flag: flag.clone(),
                        expected: expected(action, revision),
                    });
                }
                planned.push(PlannedChange {
                    kind: "flag".into(),
                    key: flag.key().to_owned(),
                    action,
                    fields,
                });
            }
            upsert_all(catalog, flags)?;
            changes.extend(flag_changes);
            if dry_run {
                changes.clear();
            }
            Ok((changes, planned))
        })
        .await?;
    let applied = !dry_run && planned.iter().any(|c| c.action != PlannedAction::Unchanged);
    Ok(Json(ApplyResponse {
        revision: published.revision(),
        applied,
        changes: planned,
    }))
}

fn expected(action: PlannedAction, revision: Option<rampart_model::Revision>) -> Precondition {
    match (action, revision) {
        (PlannedAction::Create, _) | (_, None) => Precondition::MustNotExist,
        (_, Some(revision)) => Precondition::Revision(revision),
    }
}

/// Inserts a document's flags: one check of the catalog they produce, whatever their order
/// in the document, linear in the catalog's size (not per flag). Errors name the flag by its
/// place in the document (`document.flags[3]…`).
pub fn upsert_all(catalog: &mut Catalog, flags: Vec<Flag>) -> Result<(), ApiError> {
    catalog
        .upsert_flags(flags)
        .map_err(|e| e.within("document.flags").into())
}

/// What applying `wanted` over `existing` does, and which top-level fields change.
fn plan<T: Serialize>(existing: Option<&T>, wanted: &T) -> (PlannedAction, Vec<String>) {
    let Some(existing) = existing else {
        return (PlannedAction::Create, Vec::new());
    };
    let (Ok(serde_json::Value::Object(old)), Ok(serde_json::Value::Object(new))) =
        (serde_json::to_value(existing), serde_json::to_value(wanted))
    else {
        return (PlannedAction::Update, Vec::new());
    };
    let mut fields: Vec<String> = old
        .iter()
        .filter(|(k, v)| new.get(k.as_str()) != Some(v))
        .map(|(k, _)| k.clone())
        .chain(
            new.keys()
                .filter(|k| !old.contains_key(k.as_str()))
                .cloned(),
        )
        .collect();
    fields.sort();
    if fields.is_empty() {
        (PlannedAction::Unchanged, fields)
    } else {
        (PlannedAction::Update, fields)
    }
}
