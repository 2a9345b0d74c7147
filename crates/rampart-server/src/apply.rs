//! `POST /v1/apply`: flags and segments as code. Plans the difference between a document
//! and the served config, and (unless `dry_run`) applies it in one transaction.

use axum::Json;
use axum::extract::State;
use rampart_model::api::{ApplyRequest, ApplyResponse, PlannedAction, PlannedChange};
use rampart_model::{Catalog, ErrorCode, Flag, ValidationError};
use rampart_store::{Change, Precondition};
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::{Actor, ApiJson};
use crate::state::{AppState, Mutation};

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
            upsert_all(catalog, &flags)?;
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

/// Inserts flags in dependency order: a flag whose prerequisite comes later in the
/// document is retried once that prerequisite is in. When no progress is possible, reports
/// a root cause: an error other than "unknown prerequisite flag" if there is one, since
/// those are usually just the knock-on effect of another flag failing.
pub fn upsert_all(catalog: &mut Catalog, flags: &[Flag]) -> Result<(), ApiError> {
    let mut pending: Vec<(usize, &Flag)> = flags.iter().enumerate().collect();
    while !pending.is_empty() {
        let mut errors: Vec<ValidationError> = Vec::new();
        let before = pending.len();
        pending.retain(|(index, flag)| match catalog.upsert_flag((*flag).clone()) {
            Ok(()) => false,
            Err(e) => {
                errors.push(e.within(&format!("document.flags[{index}]")));
                true
            }
        });
        if pending.len() == before {
            let root = errors
                .iter()
                .position(|e| e.code() != ErrorCode::UnknownFlag)
                .unwrap_or(0);
            return Err(errors.swap_remove(root).into());
        }
    }
    Ok(())
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
