//! Request extractors: JSON bodies whose errors name the field, the actor, `If-Match`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use rampart_model::api::ObjectMeta;
use rampart_model::{ErrorCode, Revision};
use rampart_store::{Precondition, StoreError};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body, read strictly (`rampart_model::json`). Syntax errors are `INVALID_JSON`; a
/// value of the wrong type or shape (an array for an object included) is `INVALID_FIELD`,
/// and a key given twice is `DUPLICATE_KEY`, each with the path of the offending field
/// (`rules[0].when[1].op`, `variants.on`).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(request, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Reads the whole body, mapping the size limit to 413.
pub async fn body_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if let Some(timeout) = crate::deadline::is_deadline(&rejection) {
                ApiError::RequestTimeout {
                    seconds: timeout.as_secs(),
                }
            } else if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::bad_request(ErrorCode::InvalidBody, None, rejection.body_text())
            }
        })
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    rampart_model::json::from_slice(bytes).map_err(|e| {
        let code = match e.code() {
            ErrorCode::Parse => {
                return ApiError::bad_request(
                    ErrorCode::InvalidJson,
                    None,
                    format!("request body is not valid JSON: {}", e.message()),
                );
            }
            ErrorCode::DuplicateKey => ErrorCode::DuplicateKey,
            _ => ErrorCode::InvalidField,
        };
        ApiError::BadRequest {
            code,
            message: e.message().to_owned(),
            field: (!e.field().is_empty()).then(|| e.field().to_owned()),
        }
    })
}

/// Who made a change, for history and (later) the ledger. From `X-Rampart-Actor`; bearer
/// token identities replace it when auth lands.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

pub const ACTOR_HEADER: &str = "x-rampart-actor";

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(ACTOR_HEADER) else {
            return Ok(Actor("anonymous".to_owned()));
        };
        let actor = value.to_str().map_err(|_| {
            ApiError::bad_request(
                ErrorCode::InvalidHeader,
                Some(ACTOR_HEADER),
                "actor must be printable ASCII",
            )
        })?;
        let actor = actor.trim();
        if actor.is_empty() || actor.len() > 128 {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidHeader,
                Some(ACTOR_HEADER),
                "actor must be 1 to 128 characters",
            ));
        }
        Ok(Actor(actor.to_owned()))
    }
}

/// The revision in `If-Match`, when given. Accepts `5`, `"5"` and `W/"5"`.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<Revision>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_if_match(&parts.headers).map(IfMatch)
    }
}

impl IfMatch {
    /// `If-Match` becomes a store precondition; without it the object must merely exist.
    pub fn precondition(self) -> Precondition {
        self.0
            .map_or(Precondition::MustExist, Precondition::Revision)
    }

    /// Fails early, before any write, when the object is missing or `If-Match` is stale.
    /// The store re-checks inside its transaction; this is for a clear error only.
    pub fn check(
        self,
        kind: &'static str,
        key: &str,
        current: Option<&ObjectMeta>,
    ) -> Result<(), ApiError> {
        let Some(current) = current else {
            return Err(ApiError::NotFound {
                kind,
                key: key.to_owned(),
            });
        };
        match self.0 {
            Some(expected) if expected != current.revision => Err(ApiError::RevisionMismatch {
                kind,
                key: key.to_owned(),
                expected,
                actual: current.revision,
            }),
            _ => Ok(()),
        }
    }

    /// A store conflict on a change that carried this `If-Match` is that precondition
    /// failing (412); without `If-Match`, a conflict is someone else's concurrent change.
    pub fn guard<T>(self, result: Result<T, ApiError>) -> Result<T, ApiError> {
        match (self.0, result) {
            (
                Some(_),
                Err(ApiError::Store(StoreError::Conflict {
                    kind,
                    key,
                    expected,
                    actual,
                })),
            ) => Err(ApiError::RevisionMismatch {
                kind,
                key,
                expected,
                actual,
            }),
            (_, result) => result,
        }
    }
}

/// `N`, `"N"` or `W/"N"`, where N is a revision in decimal digits: nothing else (no sign, no
/// doubled prefix or quotes, no lone quote).
fn parse_if_match(headers: &HeaderMap) -> Result<Option<Revision>, ApiError> {
    let Some(value) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    let digits = match text.strip_prefix("W/").unwrap_or(text).strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"').unwrap_or_default(),
        None if text.starts_with("W/") => "",
        None => text,
    };
    let revision = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse::<Revision>().ok())
        .flatten();
    revision.map(Some).ok_or_else(|| {
        ApiError::bad_request(
            ErrorCode::InvalidHeader,
            Some("If-Match"),
            format!("If-Match must be a revision number such as \"12\", got `{text}`"),
        )
    })
}

/// A strong ETag for a revision: `"12"`.
pub fn etag(revision: Revision) -> String {
    format!("\"{revision}\"")
}

/// A numeric id in the path (`/v1/rollouts/{id}`); anything else is `400 INVALID_PATH`.
#[derive(Debug, Clone, Copy)]
pub struct IdPath(pub u64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(text) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|e| {
                    ApiError::bad_request(ErrorCode::InvalidPath, Some("id"), e.body_text())
                })?;
        text.parse().map(IdPath).map_err(|_| {
            ApiError::bad_request(
                ErrorCode::InvalidPath,
                Some("id"),
                format!("`{text}` is not a numeric id"),
            )
        })
    }
}

/// A path parameter (a flag key, a segment name). One that can't be read (percent-encoded
/// bytes that are not UTF-8) is `400 INVALID_PATH` in the usual error shape, not axum's
/// plain-text rejection.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|path| ApiPath(path.0))
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidPath, None, e.body_text()))
    }
}

/// Query parameters; a malformed one is `400 INVALID_QUERY` in the usual error shape.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidQuery, None, e.body_text()))
    }
}
