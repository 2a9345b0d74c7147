//! Strict JSON on every endpoint that reads it (the audit's repros): a wrong type is
//! `INVALID_FIELD` at its path (enums included), an array is never taken for an object, and
//! a key given twice is `DUPLICATE_KEY` at its path; OFREP and events keep their own shapes.

use reqwest::Method;
use serde_json::Value;

use super::support::{TestServer, boolean_flag};

async fn revision(server: &TestServer) -> Value {
    server.get("/v1/snapshot").await.body["revision"].clone()
}

/// A flag body with `extra` spliced in before the closing brace.
fn flag_with(extra: &str) -> String {
    format!(
        r#"{{"key": "f", "kind": "boolean", "variants": {{"on": true, "off": false}}, "default_variant": "off"{extra}}}"#
    )
}

#[tokio::test]
async fn wrong_typed_enums_are_invalid_field_at_their_path() {
    let server = TestServer::start().await;
    boolean_flag(&server, "checkout").await;
    let rule_with_op = r#", "rules": [{"when": [{"attribute": "plan", "op": {}, "values": ["pro"]}], "serve": {"variant": "on"}}]"#;
    let cases: Vec<(Method, &str, String, &str, &str)> = vec![
        (
            Method::POST,
            "/v1/flags",
            r#"{"key": "f", "kind": 5, "variants": {"on": true}, "default_variant": "on"}"#.into(),
            "kind",
            "expected one of `boolean`, `string`, `number`, `object`",
        ),
        (
            Method::POST,
            "/v1/flags",
            flag_with(r#", "state": true"#),
            "state",
            "invalid type: boolean `true`, expected one of `enabled`, `disabled`",
        ),
        (
            Method::POST,
            "/v1/flags",
            flag_with(rule_with_op),
            "rules[0].when[0].op",
            "invalid type: map, expected one of `in`, `not_in`",
        ),
        (
            Method::PUT,
            "/v1/flags/checkout",
            r#"{"key": "checkout", "kind": [], "variants": {"on": true}, "default_variant": "on"}"#
                .into(),
            "kind",
            "invalid type: sequence, expected one of `boolean`",
        ),
        (
            Method::POST,
            "/v1/rollouts",
            r#"{"flag": "checkout", "candidate": "on", "strategy": 7}"#.into(),
            "strategy",
            "invalid type: integer `7`, expected one of `safe`, `fast`, `canary`, `instant`, `custom`",
        ),
        (
            Method::POST,
            "/v1/rollouts",
            r#"{"flag": "checkout", "candidate": "on", "rollback": {"mode": null}}"#.into(),
            "rollback.mode",
            "invalid type: null, expected one of `immediate`, `gradual`, `kill`",
        ),
        (
            Method::POST,
            "/v1/apply",
            format!(
                r#"{{"document": {{"flags": [{}]}}}}"#,
                flag_with(r#", "state": 1"#)
            ),
            "document.flags[0].state",
            "expected one of `enabled`, `disabled`",
        ),
    ];
    for (method, path, body, field, message) in cases {
        let reply = server.send(method.clone(), path, &body).await;
        reply.assert_error(400, "INVALID_FIELD", Some(field));
        let got = reply.body["error"]["message"].as_str().unwrap();
        assert!(got.contains(message), "{method} {path} {body}: {got}");
    }
    assert_eq!(revision(&server).await, 1, "nothing refused was stored");
}

#[tokio::test]
async fn arrays_are_never_taken_for_objects() {
    let server = TestServer::start().await;
    boolean_flag(&server, "checkout").await;
    let positional_flag = r#"["f", "boolean", {"on": true, "off": false}, "off"]"#;
    let cases: Vec<(Method, &str, String, Option<&str>)> = vec![
        (Method::POST, "/v1/flags", positional_flag.into(), None),
        (Method::PUT, "/v1/flags/checkout", positional_flag.into(), None),
        (
            Method::POST,
            "/v1/flags",
            flag_with(r#", "fallthrough": ["on"]"#),
            Some("fallthrough"),
        ),
        (
            Method::POST,
            "/v1/apply",
            format!(r#"[{{"flags": [{positional_flag}]}}]"#),
            None,
        ),
        (
            Method::POST,
            "/v1/apply",
            format!(r#"{{"document": {{"flags": [{positional_flag}]}}}}"#),
            Some("document.flags[0]"),
        ),
        (
            Method::POST,
            "/v1/rollouts",
            r#"["checkout", "on"]"#.into(),
            None,
        ),
        (
            Method::POST,
            "/v1/rollouts",
            r#"{"flag": "checkout", "candidate": "on", "strategy": "custom", "steps": [[50], [100]]}"#
                .into(),
            Some("steps[0]"),
        ),
    ];
    for (method, path, body, field) in cases {
        let reply = server.send(method.clone(), path, &body).await;
        reply.assert_error(400, "INVALID_FIELD", field);
        let got = reply.body["error"]["message"].as_str().unwrap();
        assert!(
            got.contains("invalid type: sequence, expected struct"),
            "{method} {path} {body}: {got}"
        );
    }
    assert_eq!(revision(&server).await, 1, "nothing refused was stored");
    assert_eq!(server.get("/v1/flags/f").await.status, 404);
}

/// OFREP: an array body is valid JSON of the wrong shape, so it is `INVALID_CONTEXT` (the
/// code OFREP already gives `{"context": [1, 2]}`); `PARSE_ERROR` stays for bodies that are
/// not JSON. A duplicate attribute is a context that can't be trusted: `INVALID_CONTEXT`.
#[tokio::test]
async fn ofrep_refuses_arrays_and_duplicate_keys_as_invalid_context() {
    let server = TestServer::start().await;
    boolean_flag(&server, "checkout").await;
    let cases: [(&str, &str); 5] = [
        (r#"[{"targetingKey": "x"}]"#, "expected struct"),
        (
            r#"{"context": {"targetingKey": "x", "plan": "free", "plan": "pro"}}"#,
            "context.plan: duplicate key `plan`",
        ),
        (
            r#"{"context": {"targetingKey": "x", "org": {"id": 1, "id": 2}}}"#,
            "context.org.id: duplicate key `id`",
        ),
        (
            r#"{"context": {"targetingKey": "x"}, "context": {"targetingKey": "y"}}"#,
            "context: duplicate key `context`",
        ),
        (r#"{"context": [{"targetingKey": "x"}]}"#, "context"),
    ];
    for (body, details) in cases {
        let single = server
            .send(Method::POST, "/ofrep/v1/evaluate/flags/checkout", body)
            .await;
        let bulk = server
            .send(Method::POST, "/ofrep/v1/evaluate/flags", body)
            .await;
        for (what, reply) in [("single", &single), ("bulk", &bulk)] {
            assert_eq!(reply.status, 400, "{what} {body}: {}", reply.body);
            assert_eq!(reply.body["errorCode"], "INVALID_CONTEXT", "{what} {body}");
            let got = reply.body["errorDetails"].as_str().unwrap();
            assert!(got.contains(details), "{what} {body}: {got}");
        }
        assert_eq!(single.body["key"], "checkout", "{body}");
        assert!(bulk.body.get("key").is_none(), "{body}");
    }
    // The same context without the duplicate is evaluated.
    let reply = server
        .send(
            Method::POST,
            "/ofrep/v1/evaluate/flags/checkout",
            r#"{"context": {"targetingKey": "x", "plan": "pro"}}"#,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn duplicate_keys_are_refused_with_their_path() {
    let server = TestServer::start().await;
    boolean_flag(&server, "checkout").await;
    let cases: Vec<(Method, &str, String, &str)> = vec![
        (
            Method::POST,
            "/v1/flags",
            r#"{"key": "f", "kind": "boolean", "variants": {"on": true, "on": false}, "default_variant": "on"}"#
                .into(),
            "variants.on",
        ),
        (
            Method::POST,
            "/v1/flags",
            flag_with(r#", "key": "g""#),
            "key",
        ),
        (
            Method::PUT,
            "/v1/flags/checkout",
            r#"{"key": "checkout", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off",
                "fallthrough": {"split": {"on": 5000, "off": 2500, "off": 2500}}}"#
                .into(),
            "fallthrough.split.off",
        ),
        (
            Method::POST,
            "/v1/apply",
            format!(
                r#"{{"document": {{"flags": [{}]}}, "dry_run": true, "dry_run": false}}"#,
                flag_with("")
            ),
            "dry_run",
        ),
        (
            Method::POST,
            "/v1/segments",
            r#"{"name": "s", "conditions": [{"attribute": "a", "attribute": "b", "op": "eq", "values": [1]}]}"#
                .into(),
            "conditions[0].attribute",
        ),
    ];
    for (method, path, body, field) in cases {
        let reply = server.send(method.clone(), path, &body).await;
        reply.assert_error(400, "DUPLICATE_KEY", Some(field));
        let key = field.rsplit('.').next().unwrap();
        let key = key.split('[').next().unwrap();
        let got = reply.body["error"]["message"].as_str().unwrap();
        assert!(
            got.contains(&format!("duplicate key `{key}`")),
            "{method} {path}: {got}"
        );
    }
    assert_eq!(revision(&server).await, 1, "nothing refused was stored");
}

/// Events are validated one by one: a wrong type keeps its field's code, a duplicate key is
/// `DUPLICATE_KEY`, an array is not an event, and the good events in the batch still count.
#[tokio::test]
async fn events_reject_wrong_types_arrays_and_duplicate_keys_one_by_one() {
    let server = TestServer::start().await;
    boolean_flag(&server, "cart").await;
    let batch = r#"[
        {"flag": "cart", "variant": "on", "outcome": "success"},
        {"flag": "cart", "variant": "on", "outcome": 1},
        {"flag": "cart", "variant": "on", "outcome": "success", "flag": "cart"},
        ["cart", "on", "success"],
        {"flag": "cart", "variant": "on", "outcome": "error", "values": {"refunds": 1, "refunds": 2}},
        {"flag": "cart", "variant": "off", "outcome": "error"}
    ]"#;
    let reply = server.send(Method::POST, "/v1/events", batch).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["accepted"], 2, "{}", reply.body);
    let rejected: Vec<(u64, &str, &str)> = reply.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["code"].as_str().unwrap(),
                r["message"].as_str().unwrap(),
            )
        })
        .collect();
    let expected = [
        (
            1,
            "INVALID_OUTCOME",
            "outcome: invalid type: integer `1`, expected one of `success`, `error`",
        ),
        (2, "DUPLICATE_KEY", "flag: duplicate key `flag`"),
        (
            3,
            "INVALID_EVENT",
            "invalid type: sequence, expected struct HealthEvent",
        ),
        (
            4,
            "DUPLICATE_KEY",
            "values.refunds: duplicate key `refunds`",
        ),
    ];
    assert_eq!(rejected.len(), expected.len(), "{rejected:?}");
    for ((index, code, message), (want_index, want_code, want_message)) in
        rejected.iter().zip(expected)
    {
        assert_eq!((*index, *code), (want_index, want_code), "{rejected:?}");
        assert!(message.contains(want_message), "{index}: {message}");
    }
}
