//! The OpenAPI document: served at `/openapi.json`, a structurally valid OpenAPI 3.1
//! document, and in step with the routes the server really serves. Also the regressions
//! Schemathesis (`scripts/schemathesis.sh`) and its follow-up found.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use super::support::{TestServer, seed};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn document(server: &TestServer) -> Value {
    let reply = server.get("/openapi.json").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.body
}

/// Every `(method, path)` the document lists.
fn operations(document: &Value) -> Vec<(String, String)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.push((method.to_owned(), path.clone()));
            }
        }
    }
    operations
}

/// Every `$ref` in `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(target)) = object.get("$ref") {
                found.push(target.clone());
            }
            object.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

/// The parts of OpenAPI 3.1's structure a client generator or a validator relies on.
#[tokio::test]
async fn issue_9_openapi_json_is_a_valid_openapi_3_1_document() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    assert_eq!(document, rampart_server::openapi_document());
    assert_eq!(document["openapi"], "3.1.0");
    assert!(
        document["info"]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(document["info"]["version"].is_string());
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 30, "{} paths", paths.len());
    let mut operation_ids = BTreeSet::new();
    for (method, path) in operations(&document) {
        let what = format!("{} {path}", method.to_uppercase());
        assert!(path.starts_with('/'), "{what}");
        let operation = &document["paths"][&path][&method];
        let id = operation["operationId"].as_str().unwrap();
        assert!(
            operation_ids.insert(id.to_owned()),
            "{what}: operationId {id} twice"
        );
        let responses = operation["responses"].as_object().unwrap();
        assert!(!responses.is_empty(), "{what}");
        for (status, response) in responses {
            assert!(
                status.len() == 3 && status.parse::<u16>().is_ok_and(|s| (100..600).contains(&s)),
                "{what}: status {status}"
            );
            assert!(response["description"].is_string(), "{what} {status}");
        }
        // Every `{name}` in the template is a required path parameter, and nothing else is.
        let templated: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let parameters = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let in_path: BTreeSet<&str> = parameters
            .iter()
            .filter(|p| p["in"] == "path")
            .inspect(|p| assert_eq!(p["required"], true, "{what}: {p}"))
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(in_path, templated, "{what}");
        for parameter in &parameters {
            let location = parameter["in"].as_str().unwrap();
            assert!(
                ["path", "query", "header"].contains(&location),
                "{what}: {parameter}"
            );
            assert!(parameter["schema"].is_object(), "{what}: {parameter}");
        }
    }
    // Every reference resolves within the document.
    let mut targets = Vec::new();
    references(&document, &mut targets);
    assert!(!targets.is_empty());
    for target in targets {
        let pointer = target.strip_prefix('#').expect("a local reference");
        assert!(
            document.pointer(pointer).is_some(),
            "dangling $ref {target}"
        );
    }
}

/// The router and the document come from one route list (`routes` in lib.rs); this checks
/// the served server against the document from the outside: each documented operation is
/// routed (it answers something other than the router's own 404 or 405), and every other
/// method on a documented path is `405`.
#[tokio::test]
async fn issue_9_every_documented_operation_is_served_and_nothing_else() {
    let server = TestServer::start().await;
    seed(&server).await;
    let document = document(&server).await;
    for (path, item) in document["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{key}", "new-checkout")
            .replace("{name}", "internal")
            .replace("{id}", "1");
        for method in METHODS {
            let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let reply = server.send(http_method, &concrete, "{}").await;
            let what = format!("{} {concrete}", method.to_uppercase());
            if item.get(method).is_some() {
                let unrouted = reply.status == 404
                    && reply.body["error"]["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("route "));
                assert!(
                    !unrouted && reply.status != 405,
                    "{what} is documented but not served: {}",
                    reply.body
                );
                let documented = &document["paths"][path][method]["responses"];
                assert!(
                    documented.get(reply.status.as_str()).is_some(),
                    "{what} answered {}, which the document does not list: {}",
                    reply.status,
                    reply.body
                );
            } else {
                reply.assert_error(405, "METHOD_NOT_ALLOWED", None);
            }
        }
    }
    let reply = server.get("/v1/not-a-route").await;
    reply.assert_error(404, "NOT_FOUND", None);
}

/// Routes can only be added through `routes!` (which documents them): the server's sources
/// call no `Router::route`, `nest` or `merge` that would serve an undocumented route.
#[test]
fn issue_9_routes_are_added_only_through_the_documented_route_list() {
    let source_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&source_dir).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        for call in [
            ".route(",
            ".route_service(",
            ".nest(",
            ".nest_service(",
            "Router::new()",
            "Router::default()",
        ] {
            if call == "Router::new()" && path.ends_with("lib.rs") {
                // The one router, `OpenApiRouter::new()` in `routes`.
                assert_eq!(source.matches(call).count(), 1, "{}", path.display());
                continue;
            }
            assert!(
                !source.contains(call),
                "{} calls `{call}`: add routes with `.routes(routes!(handler))` in lib.rs's \
                 `routes`, so that the OpenAPI document lists them",
                path.display()
            );
        }
    }
    let lib = std::fs::read_to_string(source_dir.join("lib.rs")).unwrap();
    assert!(lib.contains("fn routes(") && lib.contains(".routes(routes!("));
}

/// `ErrorNNN` lists exactly the codes `ErrorCode::http_status` gives status NNN, and every
/// admin error response points at its own status's envelope.
#[tokio::test]
async fn issue_9_error_envelopes_list_exactly_the_codes_of_their_status() {
    let document = rampart_server::openapi_document();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for (name, schema) in schemas {
        let Some(status) = name
            .strip_prefix("Error")
            .and_then(|s| s.parse::<u16>().ok())
        else {
            continue;
        };
        let listed: BTreeSet<&str> = schema["properties"]["error"]["properties"]["code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let expected: BTreeSet<&str> = rampart_model::ErrorCode::ALL
            .iter()
            .filter(|c| c.http_status() == status)
            .map(|c| c.as_str())
            .collect();
        assert_eq!(listed, expected, "{name}");
    }
    for (method, path) in operations(&document) {
        for (status, response) in document["paths"][&path][&method]["responses"]
            .as_object()
            .unwrap()
        {
            let Some(target) = response.pointer("/content/application~1json/schema/$ref") else {
                continue;
            };
            let target = target.as_str().unwrap();
            if target.starts_with("#/components/schemas/Error") {
                assert_eq!(
                    target,
                    format!("#/components/schemas/Error{status}"),
                    "{method} {path}"
                );
            }
        }
    }
}

/// Found by Schemathesis against the official OFREP spec: `"context": null` was evaluated as
/// an empty context. The spec's context is an object; null is refused like any non-object.
#[tokio::test]
async fn issue_9_a_null_ofrep_context_is_invalid_context() {
    let server = TestServer::start().await;
    seed(&server).await;
    let single = server
        .post(
            "/ofrep/v1/evaluate/flags/new-checkout",
            json!({"context": null}),
        )
        .await;
    assert_eq!(single.status, 400, "{}", single.body);
    assert_eq!(single.body["errorCode"], "INVALID_CONTEXT");
    assert_eq!(single.body["key"], "new-checkout");
    let bulk = server
        .post("/ofrep/v1/evaluate/flags", json!({"context": null}))
        .await;
    assert_eq!(bulk.status, 400, "{}", bulk.body);
    assert_eq!(bulk.body["errorCode"], "INVALID_CONTEXT");
    // A missing context, or an empty body, is still an empty context.
    let missing = server.post("/ofrep/v1/evaluate/flags", json!({})).await;
    assert_eq!(missing.status, 200, "{}", missing.body);
    let empty = server.raw("/ofrep/v1/evaluate/flags", "").await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(missing.header("etag"), empty.header("etag"));
}

/// Found while checking what Schemathesis can't send: a path key whose percent-encoding is
/// not UTF-8 was axum's plain-text 400, in no documented shape.
#[tokio::test]
async fn issue_9_a_path_key_that_is_not_utf8_is_answered_in_the_documented_shape() {
    let server = TestServer::start().await;
    for (method, path) in [
        (Method::GET, "/v1/flags/%FF"),
        (Method::PUT, "/v1/flags/%FF"),
        (Method::DELETE, "/v1/flags/%FF"),
        (Method::POST, "/v1/flags/%FF/disable"),
        (Method::GET, "/v1/flags/%FF/history"),
        (Method::GET, "/v1/flags/%FF/counts"),
        (Method::GET, "/v1/segments/%FF"),
        (Method::GET, "/v1/segments/%FF/history"),
    ] {
        let reply = server.send(method.clone(), path, "{}").await;
        assert_eq!(
            reply.headers["content-type"], "application/json",
            "{method} {path}"
        );
        reply.assert_error(400, "INVALID_PATH", None);
    }
    let reply = server.raw("/ofrep/v1/evaluate/flags/a%FFb", "{}").await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(reply.body["errorCode"], "GENERAL");
    assert_eq!(reply.body["key"], "a\u{FFFD}b");
}

/// Found by reading the parser against the documented pattern: `If-Match` took `+5`,
/// `""5""` and `W/W/5` as revision 5. It takes `N`, `"N"` and `W/"N"`, nothing else.
#[tokio::test]
async fn issue_9_if_match_takes_only_a_revision_or_its_etag() {
    let server = TestServer::start().await;
    seed(&server).await;
    for bad in [
        "+5",
        "\"\"5\"\"",
        "W/W/\"5\"",
        "W/5",
        "\"5",
        "5\"",
        "",
        "-1",
        "5 6",
    ] {
        let reply = server
            .call(
                Method::POST,
                "/v1/flags/new-checkout/disable",
                None,
                &[("if-match", bad)],
            )
            .await;
        reply.assert_error(400, "INVALID_HEADER", Some("If-Match"));
    }
    for (form, switch) in [
        ("N", "disable"),
        ("\"N\"", "enable"),
        ("W/\"N\"", "disable"),
    ] {
        let revision = server.get("/v1/flags/new-checkout").await.body["revision"].to_string();
        let if_match = form.replace('N', &revision);
        let path = format!("/v1/flags/new-checkout/{switch}");
        let reply = server
            .call(Method::POST, &path, None, &[("if-match", &if_match)])
            .await;
        assert_eq!(reply.status, 200, "{if_match}: {}", reply.body);
    }
}

/// Found by Schemathesis: the document gave unsigned parameters the signed `int64` range, so
/// a cursor of 2^63 (which the server reads) was "out of range". Each unsigned integer is
/// documented with its real maximum, and the server answers it.
#[tokio::test]
async fn issue_9_unsigned_parameters_are_documented_with_their_real_range() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    let parameters = document["paths"]["/v1/ledger"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let after = parameters.iter().find(|p| p["name"] == "after").unwrap();
    assert_eq!(after["schema"]["maximum"], json!(u64::MAX));
    assert_eq!(after["schema"]["format"], "uint64");
    for path in [
        "/v1/ledger?after=9223372036854775808",
        "/v1/rollouts?before=18446744073709551615",
        "/v1/segments/none/history?after=9223372036854775808",
    ] {
        let reply = server.get(path).await;
        assert!(
            reply.status == 200 || reply.status == 404,
            "{path}: {}",
            reply.body
        );
    }
    server
        .get("/v1/ledger?after=18446744073709551616")
        .await
        .assert_error(400, "INVALID_QUERY", None);
}

/// Found by Schemathesis: the document said an event batch's items are objects, but the
/// server rightly takes any item and rejects the bad ones by index. An item is documented
/// as a `HealthEvent` or anything.
#[tokio::test]
async fn issue_9_any_event_batch_item_is_documented_and_rejected_by_index() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    let reference = &document["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]["$ref"];
    let body = document
        .pointer(reference.as_str().unwrap().trim_start_matches('#'))
        .unwrap();
    assert_eq!(body["maxItems"], 10_000);
    assert_eq!(body["items"]["anyOf"][1], json!({}));
    let reply = server.post("/v1/events", json!([true, 3, null])).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["accepted"], 0);
    assert_eq!(reply.body["rejected"].as_array().unwrap().len(), 3);
}
