//! OFREP (OpenFeature Remote Evaluation Protocol) endpoints, shaped as the OFREP OpenAPI
//! spec says: successes `{key, value, reason, variant, metadata}`, failures
//! `{key, errorCode, errorDetails}`, and `ETag` / `If-None-Match` on the bulk endpoint.
//!
//! Reasons on the wire are the ones the OFREP success schema lists (`STATIC`,
//! `TARGETING_MATCH`, `SPLIT`, `DISABLED`, `UNKNOWN`), so a client that validates against it
//! accepts every answer. Evaluation's `DEFAULT` (no rule matched, or a prerequisite did not
//! hold) is sent as `TARGETING_MATCH`: the value came from evaluating the flag's targeting
//! for this context, and must not be cached across contexts as a `STATIC` one may be.
//! `metadata.fallthrough` or `metadata.prerequisiteFailed` says which.
//!
//! This is the hot path: it reads the published snapshot without a lock and serializes
//! borrowed values straight into the response body.

use std::borrow::Cow;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rampart_eval::{Context, ErrorCode, Reason, Resolution};
use rampart_model::Revision;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::openapi::tags;
use crate::state::Live;

/// `{"context": {...}}`; an empty body or a missing context is an empty context. A context
/// that is present must be an object: `null` is refused like any other non-object, as the
/// OFREP spec has it.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = OfrepEvaluationRequest)]
struct EvaluationRequest {
    /// The evaluation context: `targetingKey` and any attributes rules test.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Object)]
    context: Option<Value>,
}

/// A member that is present is `Some`, even when it is `null` (serde's `Option` would read
/// `null` as absent).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// A flag's value for the context.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OfrepSuccess)]
struct Success<'a> {
    key: &'a str,
    /// The variant's value: a boolean, string, number or object, as the flag's kind says.
    #[schema(value_type = Value)]
    value: &'a Value,
    #[schema(schema_with = reason_schema)]
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
    metadata: Metadata<'a>,
}

/// The reasons a success carries (see the module documentation).
fn reason_schema() -> utoipa::openapi::Object {
    crate::openapi::string_enum(&[
        Reason::Static.as_str(),
        Reason::TargetingMatch.as_str(),
        Reason::Split.as_str(),
        Reason::Disabled.as_str(),
    ])
}

/// The codes a failure carries: `FLAG_NOT_FOUND` (404); `PARSE_ERROR`, `INVALID_CONTEXT`,
/// `TARGETING_KEY_MISSING` and `GENERAL` (400; `GENERAL` also for 408 and 413).
fn error_code_schema() -> utoipa::openapi::Object {
    crate::openapi::string_enum(&[
        ErrorCode::FlagNotFound.as_str(),
        ErrorCode::ParseError.as_str(),
        ErrorCode::InvalidContext.as_str(),
        ErrorCode::TargetingKeyMissing.as_str(),
        ErrorCode::General.as_str(),
    ])
}

/// The reason as the OFREP success schema lists it (see the module documentation).
fn wire_reason(reason: Reason) -> &'static str {
    match reason {
        Reason::Default => Reason::TargetingMatch.as_str(),
        other => other.as_str(),
    }
}

/// OFREP metadata values must be booleans, strings or numbers.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = OfrepMetadata)]
struct Metadata<'a> {
    /// The config revision evaluated.
    revision: Revision,
    /// The index of the rule that matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<u32>,
    /// The context's bucket (0 to 9,999) when a split decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<u32>,
    /// The prerequisite flag that did not hold: the default variant was served.
    #[serde(skip_serializing_if = "Option::is_none")]
    prerequisite_failed: Option<&'a str>,
    /// No rule matched: the flag's fallthrough served (evaluation's `DEFAULT`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    fallthrough: bool,
    /// Dark launch: what the candidate assignment would have been.
    #[serde(skip_serializing_if = "Option::is_none")]
    shadow_variant: Option<&'a str>,
}

/// Why a flag (or the request) could not be evaluated. `key` is absent when a bulk request
/// fails as a whole.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = OfrepFailure)]
struct Failure<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[schema(schema_with = error_code_schema)]
    error_code: &'static str,
    #[schema(value_type = String)]
    error_details: Cow<'a, str>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = OfrepResult)]
enum Entry<'a> {
    Success(Success<'a>),
    Failure(Failure<'a>),
}

/// Every flag for one context.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OfrepBulk)]
struct Bulk<'a> {
    flags: Vec<Entry<'a>>,
    metadata: BulkMetadata,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OfrepBulkMetadata)]
struct BulkMetadata {
    /// The config revision evaluated.
    revision: Revision,
}

fn entry<'a>(key: &'a str, resolution: Resolution<'a>, revision: Revision) -> Entry<'a> {
    match (resolution.error_code, resolution.value) {
        (None, Some(value)) => Entry::Success(Success {
            key,
            value,
            reason: wire_reason(resolution.reason),
            variant: resolution.variant,
            metadata: Metadata {
                revision,
                rule_index: resolution.metadata.rule_index,
                bucket: resolution.metadata.bucket,
                prerequisite_failed: resolution.metadata.prerequisite_failed,
                fallthrough: resolution.reason == Reason::Default
                    && resolution.metadata.prerequisite_failed.is_none(),
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

/// What a request asked for: its context, and a digest of that context that does not depend
/// on how the JSON was written (member order, whitespace), for the bulk ETag.
#[derive(Debug)]
pub struct Parsed {
    pub context: Context,
    pub context_digest: String,
}

/// Reads the body and parses it ([`parse_body`]).
fn parse_request(body: Result<Bytes, BytesRejection>) -> Result<Parsed, RequestError> {
    let body = body.map_err(|rejection| {
        if let Some(timeout) = crate::deadline::is_deadline(&rejection) {
            return RequestError {
                status: StatusCode::REQUEST_TIMEOUT,
                code: "GENERAL",
                details: crate::deadline::BodyDeadline(timeout).to_string(),
            };
        }
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
    parse_body(&body).map_err(|(code, details)| RequestError::bad_request(code, details))
}

/// Parses a whole body, `{"context": {...}}`; an empty one is an empty context. A body
/// that is not JSON is `PARSE_ERROR`; one of the wrong shape (an array included), with a
/// key given twice, or with a context that is not one, is `INVALID_CONTEXT`.
pub fn parse_body(body: &[u8]) -> Result<Parsed, (&'static str, String)> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Parsed {
            context: Context::new(None),
            context_digest: digest(&Value::Null),
        });
    }
    // Strict: an array for the body or the context is a wrong shape, and so is a key given
    // twice anywhere (which would otherwise silently keep one value).
    let request: EvaluationRequest = rampart_model::json::from_slice(body).map_err(|e| {
        let code = if e.code() == rampart_model::ErrorCode::Parse {
            "PARSE_ERROR"
        } else {
            "INVALID_CONTEXT"
        };
        (code, format!("cannot parse the request body: {e}"))
    })?;
    let (context, context_digest) = match request.context {
        None => (Context::new(None), digest(&Value::Null)),
        Some(Value::Null) => {
            return Err((
                "INVALID_CONTEXT",
                "`context` is null; send an object, or leave it out for an empty context"
                    .to_owned(),
            ));
        }
        Some(context) => {
            let context_digest = digest(&context);
            let context =
                Context::from_json(context).map_err(|e| ("INVALID_CONTEXT", e.to_string()))?;
            (context, context_digest)
        }
    };
    Ok(Parsed {
        context,
        context_digest,
    })
}

/// SHA-256 of the context's canonical JSON (sorted members, no whitespace), in hex: the same
/// for every spelling of the same context, in every process and release.
fn digest(context: &Value) -> String {
    use sha2::Digest as _;
    let canonical = rampart_ledger::canonical_json(context);
    hex::encode(&sha2::Sha256::digest(canonical.as_bytes())[..12])
}

/// `POST /ofrep/v1/evaluate/flags/{key}`
#[utoipa::path(post, path = "/ofrep/v1/evaluate/flags/{key}", tag = tags::OFREP,
    params(("key" = String, Path, description = "The flag's key.")),
    request_body(content = Option<EvaluationRequest>, description = "The context; an empty body is an empty context."),
    responses(
        (status = 200, description = "The flag's value for this context.", body = Success<'static>),
        (status = 400, description = "The body is not JSON (`PARSE_ERROR`) or not an object with an object `context` \
            (`INVALID_CONTEXT`), a split needs a `targetingKey` (`TARGETING_KEY_MISSING`), or the flag can't be evaluated (`GENERAL`).", body = Failure<'static>),
        (status = 404, description = "No flag with this key (`FLAG_NOT_FOUND`).", body = Failure<'static>),
    ))]
pub async fn evaluate_one(
    State(live): State<Live>,
    uri: axum::http::Uri,
    key: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // A key that is not UTF-8 once percent-decoded names no flag; the request is malformed.
    let key = match key {
        Ok(Path(key)) => key,
        Err(rejection) => {
            let error = RequestError::bad_request("GENERAL", rejection.body_text());
            return error.respond(Some(&lossy_key(&uri)));
        }
    };
    let context = match parse_request(body) {
        Ok(parsed) => parsed.context,
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
#[utoipa::path(post, path = "/ofrep/v1/evaluate/flags", tag = tags::OFREP,
    params(("If-None-Match" = Option<String>, Header,
        description = "An `ETag` from an earlier answer for the same context (a list, weak or unquoted tags, or `*`): 304 when nothing changed.")),
    request_body(content = Option<EvaluationRequest>, description = "The context; an empty body is an empty context."),
    responses(
        (status = 200, description = "Every flag for this context; one that fails is an `OfrepFailure` in the list.", body = Bulk<'static>,
            headers(("ETag" = String, description = "The config revision and a digest of the context."))),
        (status = 304, description = "Nothing changed since the `If-None-Match` tag.",
            headers(("ETag" = String, description = "The same tag."))),
        (status = 400, description = "The body is not JSON (`PARSE_ERROR`) or not an object with an object `context` (`INVALID_CONTEXT`).", body = Failure<'static>),
    ))]
pub async fn evaluate_bulk(
    State(live): State<Live>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Parsed {
        context,
        context_digest,
    } = match parse_request(body) {
        Ok(parsed) => parsed,
        Err(error) => return error.respond(None),
    };
    let published = live.load();
    let snapshot = &published.snapshot;
    let etag = format!("\"r{}-{context_digest}\"", snapshot.revision());
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

/// The last path segment, percent-decoded with invalid UTF-8 replaced, to name the key that
/// could not be read.
fn lossy_key(uri: &axum::http::Uri) -> String {
    let segment = uri.path().rsplit('/').next().unwrap_or_default();
    let mut bytes = Vec::with_capacity(segment.len());
    let mut rest = segment.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let decoded = (first == b'%')
            .then(|| tail.get(..2))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                bytes.push(byte);
                rest = &tail[2..];
            }
            None => {
                bytes.push(first);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Feeds the per-variant counters that rollouts read as samples.
fn count(live: &Live, key: &str, resolution: &Resolution<'_>) {
    if let (None, Some(variant)) = (resolution.error_code, resolution.variant) {
        live.counters
            .record(key, variant, resolution.metadata.shadow_variant);
    }
}

fn insert_etag(response: &mut Response, etag: &str) {
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
}

/// RFC 9110 weak comparison against each listed tag; `*` matches anything. A tag sent back
/// without its quotes (some clients and proxies strip them) still matches.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    let ours = opaque_tag(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|list| {
            list.split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || opaque_tag(tag) == ours)
        })
}

/// An entity tag without its weakness prefix and quotes.
fn opaque_tag(tag: &str) -> &str {
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(tag)
}
