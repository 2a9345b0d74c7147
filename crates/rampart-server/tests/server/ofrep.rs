//! OFREP: response and error shapes per the OFREP OpenAPI spec, and bulk ETags.

use reqwest::Method;
use serde_json::json;

use super::support::{TestServer, seed};

#[tokio::test]
async fn success_is_spec_shaped() {
    let server = TestServer::start().await;
    seed(&server).await;
    let reply = server
        .eval(
            "new-checkout",
            json!({"targetingKey": "alice", "email": "alice@acme.example"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.body,
        json!({"key": "new-checkout", "value": true, "reason": "TARGETING_MATCH", "variant": "on",
               "metadata": {"revision": 2, "ruleIndex": 0}})
    );
}

#[tokio::test]
async fn split_reports_its_bucket() {
    let server = TestServer::start().await;
    seed(&server).await;
    let reply = server
        .eval("new-checkout", json!({"targetingKey": "user-42"}))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["reason"], "SPLIT");
    let bucket = reply.body["metadata"]["bucket"].as_u64().unwrap();
    assert!(bucket < 10_000);
    let expected_variant = if bucket < 1000 { "on" } else { "off" };
    assert_eq!(reply.body["variant"], expected_variant);
}

#[tokio::test]
async fn unknown_flag_is_404_flag_not_found() {
    let server = TestServer::start().await;
    let reply = server.eval("nope", json!({"targetingKey": "u"})).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["key"], "nope");
    assert_eq!(reply.body["errorCode"], "FLAG_NOT_FOUND");
    assert!(
        reply.body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("nope")
    );
}

#[tokio::test]
async fn split_without_targeting_key_is_400_targeting_key_missing() {
    let server = TestServer::start().await;
    seed(&server).await;
    let reply = server
        .eval("new-checkout", json!({"email": "bob@example.com"}))
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.body["key"], "new-checkout");
    assert_eq!(reply.body["errorCode"], "TARGETING_KEY_MISSING");
    assert!(
        reply.body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("targetingKey")
    );
}

#[tokio::test]
async fn malformed_and_invalid_requests() {
    let server = TestServer::start().await;
    seed(&server).await;
    let cases: [(&'static str, u16, &str); 4] = [
        ("{\"context\": {", 400, "PARSE_ERROR"),
        ("not json", 400, "PARSE_ERROR"),
        ("{\"context\": [1, 2]}", 400, "INVALID_CONTEXT"),
        (
            "{\"context\": {\"targetingKey\": 42}}",
            400,
            "INVALID_CONTEXT",
        ),
    ];
    for (body, status, code) in cases {
        let reply = server
            .raw("/ofrep/v1/evaluate/flags/new-checkout", body)
            .await;
        assert_eq!(reply.status.as_u16(), status, "{body}: {}", reply.body);
        assert_eq!(reply.body["errorCode"], code, "{body}: {}", reply.body);
        assert_eq!(reply.body["key"], "new-checkout", "{body}");
        assert!(reply.body["errorDetails"].is_string(), "{body}");
        let bulk = server.raw("/ofrep/v1/evaluate/flags", body).await;
        assert_eq!(bulk.status.as_u16(), status, "bulk {body}: {}", bulk.body);
        assert_eq!(bulk.body["errorCode"], code, "bulk {body}");
    }
}

#[tokio::test]
async fn kill_switch_serves_default_with_reason_disabled() {
    let server = TestServer::start().await;
    seed(&server).await;
    let reply = server
        .post("/v1/flags/new-checkout/disable", json!(null))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["flag"]["state"], "disabled");
    // The change is visible to the very next evaluation: the snapshot swaps before the reply.
    let reply = server
        .eval(
            "new-checkout",
            json!({"targetingKey": "alice", "email": "alice@acme.example"}),
        )
        .await;
    assert_eq!(reply.body["reason"], "DISABLED");
    assert_eq!(reply.body["value"], false);
    assert_eq!(reply.body["metadata"]["revision"], 3);
}

#[tokio::test]
async fn bulk_evaluates_every_flag_with_etag_and_304() {
    let server = TestServer::start().await;
    seed(&server).await;
    let reply = server.post("/v1/flags", json!({"key": "banner", "kind": "string", "variants": {"a": "A"}, "default_variant": "a"})).await;
    assert_eq!(reply.status, 201);

    let context = json!({"context": {"email": "x@example.com"}});
    let first = server
        .post("/ofrep/v1/evaluate/flags", context.clone())
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let etag = first
        .header("etag")
        .expect("bulk answers carry an ETag")
        .to_owned();
    assert_eq!(first.body["metadata"]["revision"], 3);
    // Sorted by key: a success and a failure (no targetingKey for the split) side by side.
    assert_eq!(
        first.body["flags"],
        json!([
            {"key": "banner", "value": "A", "reason": "STATIC", "variant": "a", "metadata": {"revision": 3}},
            {"key": "new-checkout", "errorCode": "TARGETING_KEY_MISSING",
             "errorDetails": first.body["flags"][1]["errorDetails"]}
        ])
    );

    let again = server
        .call(
            Method::POST,
            "/ofrep/v1/evaluate/flags",
            Some(context.clone()),
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(again.status, 304);
    assert_eq!(again.header("etag"), Some(etag.as_str()));

    // Another context is another result, so another ETag.
    let other = server
        .call(
            Method::POST,
            "/ofrep/v1/evaluate/flags",
            Some(json!({"context": {"targetingKey": "u"}})),
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(other.status, 200);

    // A config change invalidates the ETag.
    let reply = server.post("/v1/flags/banner/disable", json!(null)).await;
    assert_eq!(reply.status, 200);
    let changed = server
        .call(
            Method::POST,
            "/ofrep/v1/evaluate/flags",
            Some(context),
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
}

#[tokio::test]
async fn empty_body_is_an_empty_context() {
    let server = TestServer::start().await;
    let reply = server.post("/v1/flags", json!({"key": "static", "kind": "number", "variants": {"n": 7}, "default_variant": "n"})).await;
    assert_eq!(reply.status, 201);
    let reply = server.raw("/ofrep/v1/evaluate/flags/static", "").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["value"], 7);
    assert_eq!(reply.body["reason"], "STATIC");
}

/// The reasons the OFREP success schema lists.
const OFREP_REASONS: [&str; 5] = ["STATIC", "TARGETING_MATCH", "SPLIT", "DISABLED", "UNKNOWN"];

#[tokio::test]
async fn issue_9_every_reason_on_the_wire_is_one_the_ofrep_schema_lists() {
    let server = TestServer::start().await;
    let flags = [
        json!({"key": "static", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "on"}),
        json!({"key": "targeted", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off",
               "rules": [{"when": [{"attribute": "plan", "op": "eq", "values": ["pro"]}], "serve": {"variant": "on"}}]}),
        json!({"key": "split", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off",
               "fallthrough": {"split": {"on": 5000, "off": 5000}}}),
        json!({"key": "gated", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off",
               "prerequisites": [{"flag": "targeted", "variant": "on"}]}),
        json!({"key": "killed", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off", "state": "disabled"}),
    ];
    for flag in flags {
        let created = server.post("/v1/flags", flag).await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let context = json!({"targetingKey": "u-1", "plan": "free"});
    let expectations = [
        ("static", "STATIC", json!(null)),
        // No rule matched: evaluation's DEFAULT, sent as TARGETING_MATCH with `fallthrough`.
        ("targeted", "TARGETING_MATCH", json!({"fallthrough": true})),
        ("split", "SPLIT", json!(null)),
        (
            "gated",
            "TARGETING_MATCH",
            json!({"prerequisiteFailed": "targeted"}),
        ),
        ("killed", "DISABLED", json!(null)),
    ];
    for (key, reason, metadata) in expectations {
        let reply = server.eval(key, context.clone()).await;
        assert_eq!(reply.status, 200, "{key}: {}", reply.body);
        assert_eq!(reply.body["reason"], reason, "{key}: {}", reply.body);
        if let Some(expected) = metadata.as_object() {
            for (name, value) in expected {
                assert_eq!(
                    &reply.body["metadata"][name], value,
                    "{key}: {}",
                    reply.body
                );
            }
        }
    }
    let bulk = server
        .post("/ofrep/v1/evaluate/flags", json!({"context": context}))
        .await;
    for entry in bulk.body["flags"].as_array().unwrap() {
        let reason = entry["reason"].as_str().unwrap();
        assert!(OFREP_REASONS.contains(&reason), "{entry}");
    }
    // A rule that matches is TARGETING_MATCH with its index, and no fallthrough marker.
    let matched = server
        .eval("targeted", json!({"targetingKey": "u-1", "plan": "pro"}))
        .await;
    assert_eq!(matched.body["metadata"]["ruleIndex"], 0);
    assert!(matched.body["metadata"].get("fallthrough").is_none());
}

#[tokio::test]
async fn issue_9_the_bulk_etag_depends_on_the_context_not_on_how_it_is_written() {
    let server = TestServer::start().await;
    seed(&server).await;
    let compact = server
        .raw(
            "/ofrep/v1/evaluate/flags",
            r#"{"context":{"targetingKey":"bob","email":"b@x.io","tier":{"a":1,"b":2}}}"#,
        )
        .await;
    let spaced = server
        .raw(
            "/ofrep/v1/evaluate/flags",
            "{ \"context\" : {\n  \"tier\": {\"b\": 2, \"a\": 1},\n  \"email\": \"b@x.io\",\n  \"targetingKey\": \"bob\" } }\n",
        )
        .await;
    let etag = compact.header("etag").unwrap().to_owned();
    assert_eq!(spaced.header("etag"), Some(etag.as_str()));
    let other = server
        .post(
            "/ofrep/v1/evaluate/flags",
            json!({"context": {"targetingKey": "carol"}}),
        )
        .await;
    assert_ne!(other.header("etag"), Some(etag.as_str()));
    let unquoted = etag.trim_matches('"').to_owned();
    let weak = format!("W/{etag}");
    for tag in [
        etag.as_str(),
        unquoted.as_str(),
        weak.as_str(),
        "\"nope\", W/\"x\", *",
    ] {
        let reply = server
            .call(
                Method::POST,
                "/ofrep/v1/evaluate/flags",
                Some(json!({"context": {"targetingKey": "bob", "email": "b@x.io", "tier": {"a": 1, "b": 2}}})),
                &[("if-none-match", tag)],
            )
            .await;
        assert_eq!(reply.status, 304, "If-None-Match: {tag}");
    }
    let miss = server
        .call(
            Method::POST,
            "/ofrep/v1/evaluate/flags",
            Some(json!({"context": {"targetingKey": "bob"}})),
            &[("if-none-match", etag.as_str())],
        )
        .await;
    assert_eq!(miss.status, 200);
}
