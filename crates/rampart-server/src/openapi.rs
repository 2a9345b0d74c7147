//! The OpenAPI 3.1 document of the whole HTTP API, served at `GET /openapi.json`.
//!
//! utoipa-axum builds it from the same route list as the router (`crate::routes`): each
//! handler's `#[utoipa::path]` is registered together with the handler, so a route can't be
//! served undocumented or documented unserved. The schemas come from the wire types' own
//! derives (the pure crates' `openapi` feature), next to their serde attributes.
//!
//! [`finish`] then adds what no single handler says:
//! - the admin error envelope per status, `ErrorNNN`, whose `code` lists exactly the
//!   [`ErrorCode`]s that answer with that status (`ErrorCode::http_status`);
//! - the responses every operation can give: `503` (past the connection cap, or a failing
//!   store) with `Retry-After`; `408` and `413` on every operation that reads a body; `500`
//!   on every operation that reads the store.

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rampart_model::ErrorCode;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{
    Components, InfoBuilder, LicenseBuilder, Object, OpenApi, Ref, RefOr, ResponseBuilder, Schema,
};

/// Operation tags, one per area of the API.
pub mod tags {
    pub const OFREP: &str = "ofrep";
    pub const FLAGS: &str = "flags";
    pub const SEGMENTS: &str = "segments";
    pub const APPLY: &str = "apply";
    pub const ROLLOUTS: &str = "rollouts";
    pub const EVENTS: &str = "events";
    pub const LEDGER: &str = "ledger";
    pub const OPS: &str = "ops";
}

/// A string schema that takes exactly these values.
pub fn string_enum(values: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// `X-Rampart-Actor`: who makes a change, for history and the ledger. Only documents the
/// header: `extract::Actor` reads it.
#[derive(Debug, utoipa::IntoParams)]
#[allow(dead_code)]
#[into_params(parameter_in = Header)]
pub struct ActorHeader {
    /// Who makes the change, recorded in history and the ledger (`anonymous` when absent):
    /// 1 to 128 printable ASCII characters (HTTP strips the spaces around a header value).
    #[param(
        rename = "X-Rampart-Actor",
        min_length = 1,
        max_length = 128,
        pattern = r"^[!-~]([ \t]*[!-~])*$"
    )]
    pub actor: Option<String>,
}

/// `If-Match`: the revision a change is based on. Only documents the header:
/// `extract::IfMatch` reads it.
#[derive(Debug, utoipa::IntoParams)]
#[allow(dead_code)]
#[into_params(parameter_in = Header)]
pub struct IfMatchHeader {
    /// The object's revision as read (its `ETag`): `12`, `"12"` or `W/"12"`. The change is
    /// refused with `412 REVISION_MISMATCH` when the object has changed since.
    #[param(rename = "If-Match", pattern = r#"^((W/)?"[0-9]+"|[0-9]+)$"#)]
    pub if_match: Option<String>,
}

fn retry_after_header() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[0-9]+$")),
        )
        .description(Some("Seconds to wait before retrying."))
        .build()
}

/// The name of the admin error envelope for one status.
fn error_schema_name(status: u16) -> String {
    format!("Error{status}")
}

/// `{"error": {"code", "message", "field"?}}` with the codes of one status.
fn error_schema(status: u16) -> Schema {
    let codes = ErrorCode::ALL
        .iter()
        .copied()
        .filter(|code| code.http_status() == status);
    let detail = ObjectBuilder::new()
        .property("code", ErrorCode::schema_of(codes))
        .required("code")
        .property(
            "message",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("What was wrong, for a person.")),
        )
        .required("message")
        .property(
            "field",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "The path of the offending field (`rules[0].when[1].op`), header or parameter.",
                )),
        );
    ObjectBuilder::new()
        .description(Some(format!(
            "An admin error answered with status {status}: `code` is one of the codes that \
             answer {status}."
        )))
        .property("error", detail)
        .required("error")
        .into()
}

fn admin_error(status: u16, description: &str) -> utoipa::openapi::Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(error_schema_name(status))))
            .build(),
    );
    if status == 503 {
        response = response.header("Retry-After", retry_after_header());
    }
    response.build()
}

fn ofrep_failure(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("OfrepFailure")))
                .build(),
        )
        .build()
}

/// Operations that read no store and no body: nothing in them can fail with a 500.
const NO_INTERNAL_ERROR: &[&str] = &["/healthz", "/v1/snapshot", "/openapi.json"];

/// Adds the document's info, the per-status error envelopes and the responses every operation
/// can give (see the module documentation).
pub fn finish(mut document: OpenApi) -> OpenApi {
    document.info = InfoBuilder::new()
        .title("Rampart")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Rampart's HTTP API: OFREP flag evaluation, the admin API, rollouts, health \
             events and the signed ledger. Admin errors are `{\"error\": {\"code\", \
             \"message\", \"field\"}}` with a stable code (one status per code); OFREP \
             answers in its own shapes. Changes are attributed to `X-Rampart-Actor`.",
        ))
        .license(Some(
            LicenseBuilder::new()
                .name("Apache-2.0")
                .identifier(Some("Apache-2.0"))
                .build(),
        ))
        .build();
    let mut statuses = std::collections::BTreeSet::new();
    for (path, item) in document.paths.paths.iter_mut() {
        let ofrep = path.starts_with("/ofrep/");
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            add_common_responses(path, ofrep, operation);
            narrow_errors(operation, &mut statuses);
        }
    }
    let components = document.components.get_or_insert_with(Components::new);
    for status in statuses {
        components
            .schemas
            .insert(error_schema_name(status), RefOr::T(error_schema(status)));
    }
    document
}

fn add_common_responses(path: &str, ofrep: bool, operation: &mut Operation) {
    let responses = &mut operation.responses.responses;
    let mut add = |status: &str, response: utoipa::openapi::Response| {
        responses
            .entry(status.to_owned())
            .or_insert(RefOr::T(response));
    };
    if operation.request_body.is_some() {
        if ofrep {
            add(
                "408",
                ofrep_failure("The body did not arrive in time (`GENERAL`)."),
            );
            add(
                "413",
                ofrep_failure("The body is larger than the server accepts (`GENERAL`)."),
            );
        } else {
            add(
                "408",
                admin_error(
                    408,
                    "The body did not arrive in time (serve --request-timeout).",
                ),
            );
            add(
                "413",
                admin_error(413, "The body is larger than the server accepts."),
            );
        }
    }
    if ofrep {
        // Only a response that fails to serialize, which no flag value can cause.
        add(
            "500",
            ResponseBuilder::new()
                .description("The response could not be serialized; no body.")
                .build(),
        );
    } else if !NO_INTERNAL_ERROR.contains(&path) {
        add(
            "500",
            admin_error(500, "Something failed inside the server; see its log."),
        );
    }
    // The connection cap answers before the request is routed, in the admin shape.
    add(
        "503",
        admin_error(
            503,
            "Too many connections, shutting down, or the store is failing: retry after \
             `Retry-After`.",
        ),
    );
}

/// Points each admin error response at its status's envelope (`ErrorNNN`), noting the status.
fn narrow_errors(operation: &mut Operation, statuses: &mut std::collections::BTreeSet<u16>) {
    let generic = Ref::from_schema_name("ErrorBody").ref_location;
    for (status, response) in operation.responses.responses.iter_mut() {
        let (Ok(status), RefOr::T(response)) = (status.parse::<u16>(), response) else {
            continue;
        };
        for content in response.content.values_mut() {
            match &content.schema {
                Some(RefOr::Ref(reference)) if reference.ref_location == generic => {
                    content.schema =
                        Some(RefOr::Ref(Ref::from_schema_name(error_schema_name(status))));
                    statuses.insert(status);
                }
                Some(RefOr::Ref(reference))
                    if reference
                        .ref_location
                        .starts_with("#/components/schemas/Error") =>
                {
                    statuses.insert(status);
                }
                _ => {}
            }
        }
    }
}

/// The finished document as JSON, with what utoipa's derives leave untidy put right:
/// - a field typed by an alias of an integer (`Revision`, `Millis`) is a reference to a
///   schema named `u64` or `i64`: it is inlined, and those schemas dropped;
/// - an optional header or query parameter is not sent rather than sent as `null`: its
///   schema does not list `null`;
/// - unsigned integers are `uint64`/`uint32` with their real maximum (see `unsigned_ranges`);
/// - operation ids are the handler's name, which repeats across areas (`update`): each is
///   prefixed with its tag (`flags_update`) so that ids are unique, as OpenAPI requires.
pub fn tidy(document: &OpenApi) -> serde_json::Value {
    let mut document = serde_json::to_value(document).unwrap_or_default();
    let aliases: Vec<(String, serde_json::Value)> = ["u64", "i64", "u32", "usize"]
        .iter()
        .filter_map(|name| {
            let schema = document.pointer(&format!("/components/schemas/{name}"))?;
            Some((format!("#/components/schemas/{name}"), schema.clone()))
        })
        .collect();
    inline_references(&mut document, &aliases);
    unsigned_ranges(&mut document);
    if let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(serde_json::Value::as_object_mut)
    {
        for name in ["u64", "i64", "u32", "usize"] {
            schemas.remove(name);
        }
    }
    if let Some(paths) = document
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
    {
        for operation in paths
            .values_mut()
            .filter_map(serde_json::Value::as_object_mut)
            .flat_map(|item| item.values_mut())
        {
            tidy_operation(operation);
        }
    }
    document
}

fn inline_references(value: &mut serde_json::Value, aliases: &[(String, serde_json::Value)]) {
    match value {
        serde_json::Value::Object(object) => {
            let target = object.get("$ref").and_then(serde_json::Value::as_str);
            if let Some((_, schema)) = aliases
                .iter()
                .find(|(name, _)| Some(name.as_str()) == target)
            {
                object.remove("$ref");
                if let Some(schema) = schema.as_object() {
                    for (key, value) in schema {
                        object.entry(key.clone()).or_insert_with(|| value.clone());
                    }
                }
            }
            for value in object.values_mut() {
                inline_references(value, aliases);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                inline_references(item, aliases);
            }
        }
        _ => {}
    }
}

/// utoipa writes `u64` as `format: int64` with `minimum: 0`, and `u32` as `int32`: signed
/// ranges, so a validator would call 2^63 out of range where the server reads it. Unsigned
/// integers get their own format and their real maximum instead.
fn unsigned_ranges(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(object) => {
            let unsigned = object.get("minimum").and_then(serde_json::Value::as_f64) == Some(0.0);
            let format = object.get("format").and_then(serde_json::Value::as_str);
            let widened = match format {
                Some("int64") if unsigned => Some(("uint64", serde_json::Value::from(u64::MAX))),
                Some("int32") if unsigned => Some(("uint32", serde_json::Value::from(u32::MAX))),
                _ => None,
            };
            if let Some((format, maximum)) = widened {
                object.insert("format".to_owned(), format.into());
                object.entry("maximum").or_insert(maximum);
            }
            for value in object.values_mut() {
                unsigned_ranges(value);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(unsigned_ranges),
        _ => {}
    }
}

fn tidy_operation(operation: &mut serde_json::Value) {
    let tag = operation
        .pointer("/tags/0")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    if let (Some(tag), Some(id)) = (tag, operation.get_mut("operationId"))
        && let Some(name) = id.as_str()
    {
        *id = serde_json::Value::String(format!("{tag}_{name}"));
    }
    let parameters = operation
        .get_mut("parameters")
        .and_then(serde_json::Value::as_array_mut);
    for parameter in parameters.into_iter().flatten() {
        if let Some(types) = parameter
            .pointer_mut("/schema/type")
            .and_then(serde_json::Value::as_array_mut)
        {
            types.retain(|t| t != "null");
            if let [only] = types.as_slice() {
                let only = only.clone();
                if let Some(schema) = parameter.get_mut("schema") {
                    schema["type"] = only;
                }
            }
        }
    }
}

/// The document, built once from the route list.
fn document_bytes() -> &'static Bytes {
    static DOCUMENT: OnceLock<Bytes> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let document = crate::openapi_document();
        Bytes::from(serde_json::to_vec(&document).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot serialize the OpenAPI document");
            b"{}".to_vec()
        }))
    })
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = tags::OPS,
    responses((status = 200, description = "This API's OpenAPI 3.1 document.",
        content_type = "application/json", body = serde_json::Value)))]
pub async fn serve() -> Response {
    let mut response = document_bytes().clone().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
