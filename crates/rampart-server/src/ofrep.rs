//! OFREP (OpenFeature Remote Evaluation Protocol) endpoints, shaped as the OFREP OpenAPI
//! spec says: successes `{key, value, reason, variant, metadata}`, failures
//! `{key, errorCode, errorDetails}`, and `ETag` / `If-None-Match` on the bulk endpoint.
//!
//! This is the hot path: it reads the published snapshot without a lock and serializes
//! borrowed values straight into the response body.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rampart_eval::{Context, ErrorCode, Resolution};
use rampart_model::Revision;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::Live;

#[derive(Deserialize)]
struct EvaluationRequest {
    #[serde(default)]
    context: Option<Value>,
}

#[derive(Serialize)]
struct Success<'a> {
    key: &'a str,
    value: &'a Value,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
    metadata: Metadata<'a>,
}

/// OFREP metadata values must be booleans, strings or numbers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata<'a> {
    revision: Revision,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prerequisite_failed: Option<&'a str>,
    /// Dark launch: what the candidate assignment would have been.
    #[serde(skip_serializing_if = "Option::is_none")]
    shadow_variant: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Failure<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    error_code: &'static str,
    error_details: Cow<'a, str>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Entry<'a> {
    Success(Success<'a>),
    Failure(Failure<'a>),
}

#[derive(Serialize)]
struct Bulk<'a> {
    flags: Vec<Entry<'a>>,
    metadata: BulkMetadata,
}

#[derive(Serialize)]
struct BulkMetadata {
    revision: Revision,
}

fn entry<'a>(key: &'a str, resolution: Resolution<'a>, revision: Revision) -> Entry<'a> {
    match (resolution.error_code, resolution.value) {
        (None, Some(value)) => Entry::Success(Success {
            key,
            value,
            reason: resolution.reason.as_str(),
            variant: resolution.variant,
            metadata: Metadata {
                revision,
                rule_index: resolution.metadata.rule_index,
                bucket: resolution.metadata.bucket,
                prerequisite_failed: resolution.metadata.prerequisite_failed,
                shadow_variant: resolution.metadata.shadow_variant,
            },
        }),
        (code, _) => {
            let code = code.unwrap_or(ErrorCode::General);
            let details = resolution.error_message.map(Cow::Owned).unwrap_or_else(|| {
                Cow::Owned(format!(
                    "flag `{key}` could not be evaluated ({})",
                    code.as_str()
                ))
            });
            Entry::Failure(Failure {
                key: Some(key),
                error_code: code.as_str(),
                error_details: details,
            })
        }
    }
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize an OFREP response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A request-level OFREP failure, before any flag is evaluated.
struct RequestError {
    status: StatusCode,
    code: &'static str,
    details: String,
}

impl RequestError {
    fn bad_request(code: &'static str, details: String) -> RequestError {
        RequestError {
            status: StatusCode::BAD_REQUEST,
            code,
            details,
        }
    }

    /// The OFREP failure body; `key` is present for single-flag requests.
    fn respond(self, key: Option<&str>) -> Response {
        let body = Failure {
            key,
            error_code: self.code,
            error_details: Cow::Owned(self.details),
        };
        json_response(self.status, &body)
    }
}

/// Reads the body and parses `{"context": {...}}`. An empty body means an empty context.
fn parse_request(body: Result<Bytes, BytesRejection>) -> Result<(Bytes, Context), RequestError> {
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "GENERAL"
        } else {
            "PARSE_ERROR"
        };
        RequestError {
            status,
            code,
            details: rejection.body_text(),
        }
    })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((body, Context::new(None)));
    }
    // Strict: an array for the body or the context is a wrong shape, and so is a key given
    // twice anywhere (which would otherwise silently keep one value).
    let request: EvaluationRequest = rampart_model::json::from_slice(&body).map_err(|e| {
        let code = if e.code() == rampart_model::ErrorCode::Parse {
            "PARSE_ERROR"
        } else {
            "INVALID_CONTEXT"
        };
        RequestError::bad_request(code, format!("cannot parse the request body: {e}"))
    })?;
    let context = match request.context {
        None | Some(Value::Null) => Context::new(None),
        Some(context) => Context::from_json(context)
            .map_err(|e| RequestError::bad_request("INVALID_CONTEXT", e.to_string()))?,
    };
    Ok((body, context))
}

/// `POST /ofrep/v1/evaluate/flags/{key}`
pub async fn evaluate_one(
    State(live): State<Live>,
    Path(key): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let context = match parse_request(body) {
        Ok((_, context)) => context,
        Err(error) => return error.respond(Some(&key)),
    };
    let published = live.load();
    let snapshot = &published.snapshot;
    let resolution = snapshot.evaluate(&key, &context);
    count(&live, &key, &resolution);
    let status = match resolution.error_code {
        None => StatusCode::OK,
        Some(ErrorCode::FlagNotFound) => StatusCode::NOT_FOUND,
        Some(_) => StatusCode::BAD_REQUEST,
    };
    json_response(status, &entry(&key, resolution, snapshot.revision()))
}

/// `POST /ofrep/v1/evaluate/flags`: every flag for one context, with an `ETag` over the
/// config revision and the context, so polling clients get `304 Not Modified` cheaply.
pub async fn evaluate_bulk(
    State(live): State<Live>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (body, context) = match parse_request(body) {
        Ok(parsed) => parsed,
        Err(error) => return error.respond(None),
    };
    let published = live.load();
    let snapshot = &published.snapshot;
    let etag = bulk_etag(snapshot.revision(), &body);
    if if_none_match(&headers, &etag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        insert_etag(&mut response, &etag);
        return response;
    }
    let revision = snapshot.revision();
    let flags = snapshot
        .evaluate_all(&context)
        .into_iter()
        .map(|(key, resolution)| {
            count(&live, key, &resolution);
            entry(key, resolution, revision)
        })
        .collect();
    let mut response = json_response(
        StatusCode::OK,
        &Bulk {
            flags,
            metadata: BulkMetadata { revision },
        },
    );
    insert_etag(&mut response, &etag);
    response
}

/// Feeds the per-variant counters that rollouts read as samples.
fn count(live: &Live, key: &str, resolution: &Resolution<'_>) {
    if let (None, Some(variant)) = (resolution.error_code, resolution.variant) {
        live.counters
            .record(key, variant, resolution.metadata.shadow_variant);
    }
}

/// The bulk result depends only on the revision and the request's context, so hash both.
fn bulk_etag(revision: Revision, body: &[u8]) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    body.hash(&mut hasher);
    format!("\"r{revision}-{:016x}\"", hasher.finish())
}

fn insert_etag(response: &mut Response, etag: &str) {
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
}

/// RFC 9110 weak comparison against each listed tag; `*` matches anything.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|list| {
            list.split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
        })
}
