//! The admin API: CRUD, validation errors with field paths, If-Match, history, revert,
//! and that a rejected request stores nothing.

use reqwest::Method;
use serde_json::{Value, json};

use super::support::{TestServer, boolean_flag, checkout_flag, seed};

async fn revision(server: &TestServer) -> u64 {
    server.get("/v1/snapshot").await.body["revision"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn create_get_list_and_etag() {
    let server = TestServer::start().await;
    seed(&server).await;
    let reply = server.get("/v1/flags/new-checkout").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("etag"), Some("\"2\""));
    assert_eq!(reply.body["revision"], 2);
    assert_eq!(reply.body["updated_by"], "anonymous");
    assert_eq!(
        reply.body["flag"],
        checkout_flag()
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("state".into(), json!("enabled"));
                Value::Object(o)
            })
            .unwrap()
    );
    let list = server.get("/v1/flags").await;
    assert_eq!(list.body["revision"], 2);
    assert_eq!(list.body["flags"].as_array().unwrap().len(), 1);

    server
        .post("/v1/flags", checkout_flag())
        .await
        .assert_error(409, "ALREADY_EXISTS", None);
    server
        .get("/v1/flags/missing")
        .await
        .assert_error(404, "NOT_FOUND", None);
    server
        .get("/v1/segments/missing")
        .await
        .assert_error(404, "NOT_FOUND", None);
}

/// Each bad flag gets a 400 naming the code and the exact field, and stores nothing.
#[tokio::test]
async fn invalid_flags_are_rejected_with_field_paths_and_store_nothing() {
    let server = TestServer::start().await;
    seed(&server).await;
    let three_rules = json!({
        "key": "ranker", "kind": "string", "variants": {"a": "A", "b": "B"}, "default_variant": "a",
        "rules": [
            {"when": [], "serve": {"variant": "a"}},
            {"when": [], "serve": {"variant": "b"}},
            {"when": [], "serve": {"split": {"a": 5000, "on": 5000}}}
        ]
    });
    let cases: Vec<(Value, &str, &str)> = vec![
        (three_rules, "UNKNOWN_VARIANT", "rules[2].serve.split.on"),
        (
            json!({"key": "x", "kind": "boolean", "variants": {"on": "yes"}, "default_variant": "on"}),
            "WRONG_KIND",
            "variants.on",
        ),
        (
            json!({"key": "x", "kind": "boolean", "variants": {"on": true}, "default_variant": "off"}),
            "UNKNOWN_VARIANT",
            "default_variant",
        ),
        (
            json!({"key": "x", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off",
                "fallthrough": {"split": {"on": 100, "off": 100}}}),
            "INVALID_WEIGHTS",
            "fallthrough.split",
        ),
        (
            json!({"key": "x", "kind": "boolean", "variants": {"on": true}, "default_variant": "on",
                "rules": [{"when": [{"attribute": "ua", "op": "matches", "values": ["(unclosed"]}], "serve": {"variant": "on"}}]}),
            "INVALID_CONDITION",
            "rules[0].when[0].values[0]",
        ),
        (
            json!({"key": "x", "kind": "boolean", "variants": {"on": true}, "default_variant": "on",
                "rules": [{"when": [{"segment": "nobody"}], "serve": {"variant": "on"}}]}),
            "UNKNOWN_SEGMENT",
            "rules[0].when[0].segment",
        ),
        (
            json!({"key": "x", "kind": "boolean", "variants": {"on": true}, "default_variant": "on",
                "prerequisites": [{"flag": "ghost", "variant": "on"}]}),
            "UNKNOWN_FLAG",
            "prerequisites[0].flag",
        ),
        (
            json!({"key": "bad key", "kind": "boolean", "variants": {"on": true}, "default_variant": "on"}),
            "INVALID_KEY",
            "key",
        ),
        (
            json!({"key": "x", "kind": "bool", "variants": {"on": true}, "default_variant": "on"}),
            "INVALID_FIELD",
            "kind",
        ),
        (
            json!({"key": "x", "kind": "boolean", "variants": {"on": true}, "default_variant": "on", "rulez": []}),
            "INVALID_FIELD",
            ".",
        ),
    ];
    for (flag, code, field) in cases {
        let reply = server.post("/v1/flags", flag.clone()).await;
        if field == "." {
            assert_eq!(reply.status, 400, "{flag}");
            assert_eq!(reply.body["error"]["code"], code, "{}", reply.body);
            assert!(
                reply.body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("rulez"),
                "{}",
                reply.body
            );
        } else {
            reply.assert_error(400, code, Some(field));
        }
    }
    let reply = server.raw("/v1/flags", "{\"key\": ").await;
    reply.assert_error(400, "INVALID_JSON", None);
    assert_eq!(
        revision(&server).await,
        2,
        "a rejected request must not change the config"
    );
    assert_eq!(
        server.get("/v1/flags").await.body["flags"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn if_match_guards_updates() {
    let server = TestServer::start().await;
    seed(&server).await;
    let mut flag = checkout_flag();
    flag["description"] = json!("first edit");
    let reply = server
        .put("/v1/flags/new-checkout", flag.clone(), Some("\"2\""))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("etag"), Some("\"3\""));

    // A second writer still holding revision 2 is refused, and nothing changes.
    flag["description"] = json!("stale edit");
    let reply = server
        .put("/v1/flags/new-checkout", flag.clone(), Some("\"2\""))
        .await;
    reply.assert_error(412, "REVISION_MISMATCH", None);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains('3')
    );
    assert_eq!(
        server.get("/v1/flags/new-checkout").await.body["flag"]["description"],
        "first edit"
    );

    server
        .put("/v1/flags/new-checkout", flag.clone(), Some("three"))
        .await
        .assert_error(400, "INVALID_HEADER", Some("If-Match"));
    server
        .put("/v1/flags/other", flag.clone(), None)
        .await
        .assert_error(400, "KEY_MISMATCH", Some("key"));
    let mut missing = flag.clone();
    missing["key"] = json!("missing");
    server
        .put("/v1/flags/missing", missing, None)
        .await
        .assert_error(404, "NOT_FOUND", None);

    // An update that changes nothing does not bump the revision.
    flag["description"] = json!("first edit");
    let reply = server.put("/v1/flags/new-checkout", flag, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["revision"], 3);
}

#[tokio::test]
async fn prerequisite_cycles_and_dependents_are_refused() {
    let server = TestServer::start().await;
    seed(&server).await;
    let child = json!({"key": "child", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off",
                       "prerequisites": [{"flag": "new-checkout", "variant": "on"}]});
    assert_eq!(server.post("/v1/flags", child).await.status, 201);
    let mut cyclic = checkout_flag();
    cyclic["prerequisites"] = json!([{"flag": "child", "variant": "on"}]);
    let reply = server.put("/v1/flags/new-checkout", cyclic, None).await;
    reply.assert_error(400, "PREREQUISITE_CYCLE", Some("prerequisites[0].flag"));
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("new-checkout -> child -> new-checkout")
    );

    let reply = server
        .call(Method::DELETE, "/v1/flags/new-checkout", None, &[])
        .await;
    reply.assert_error(409, "IN_USE", None);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("child")
    );
    let reply = server
        .call(Method::DELETE, "/v1/segments/internal", None, &[])
        .await;
    reply.assert_error(409, "IN_USE", None);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("new-checkout")
    );
}

#[tokio::test]
async fn history_keeps_every_version_and_revert_restores_one() {
    let server = TestServer::start().await;
    seed(&server).await;
    let edited = server
        .call(
            Method::POST,
            "/v1/flags/new-checkout/disable",
            None,
            &[("x-rampart-actor", "oncall@acme")],
        )
        .await;
    assert_eq!(edited.status, 200);
    let reply = server
        .call(
            Method::DELETE,
            "/v1/flags/new-checkout",
            None,
            &[("if-match", "\"3\"")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, json!({"key": "new-checkout", "revision": 4}));
    assert_eq!(
        server
            .eval("new-checkout", json!({"targetingKey": "u"}))
            .await
            .status,
        404
    );

    let history = server.get("/v1/flags/new-checkout/history").await;
    let ops: Vec<(u64, &str, &str)> = history.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["revision"].as_u64().unwrap(),
                h["op"].as_str().unwrap(),
                h["actor"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            (2, "created", "anonymous"),
            (3, "updated", "oncall@acme"),
            (4, "deleted", "anonymous")
        ]
    );
    assert_eq!(history.body["history"][1]["value"]["state"], "disabled");
    assert!(history.body["history"][2].get("value").is_none());

    server
        .post("/v1/flags/new-checkout/revert", json!({"to_revision": 4}))
        .await
        .assert_error(400, "REVISION_IS_DELETION", Some("to_revision"));
    server
        .post("/v1/flags/new-checkout/revert", json!({"to_revision": 9}))
        .await
        .assert_error(400, "REVISION_NOT_FOUND", Some("to_revision"));
    let reverted = server
        .post("/v1/flags/new-checkout/revert", json!({"to_revision": 2}))
        .await;
    assert_eq!(reverted.status, 200, "{}", reverted.body);
    assert_eq!(reverted.body["revision"], 5);
    assert_eq!(reverted.body["flag"]["state"], "enabled");
    let alice = json!({"targetingKey": "alice", "email": "alice@acme.example"});
    assert_eq!(server.eval("new-checkout", alice).await.body["value"], true);
}

#[tokio::test]
async fn data_survives_a_restart() {
    let server = TestServer::start().await;
    seed(&server).await;
    let data_dir = server.stop().await;
    assert!(data_dir.path().join("rampart.db").exists());
    let server = TestServer::start_in(data_dir).await;
    assert_eq!(revision(&server).await, 2);
    let reply = server
        .eval(
            "new-checkout",
            json!({"targetingKey": "alice", "email": "alice@acme.example"}),
        )
        .await;
    assert_eq!(reply.body["value"], true);
}

#[tokio::test]
async fn transport_errors_are_json_too() {
    let server = TestServer::start().await;
    server
        .get("/v2/nothing")
        .await
        .assert_error(404, "NOT_FOUND", None);
    server
        .call(Method::PATCH, "/v1/flags", None, &[])
        .await
        .assert_error(405, "METHOD_NOT_ALLOWED", None);
    let huge = json!({"key": "x", "description": "x".repeat(2 << 20)});
    server
        .post("/v1/flags", huge)
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE", None);
    server
        .get("/v1/rollouts/abc")
        .await
        .assert_error(400, "INVALID_PATH", Some("id"));
    server
        .get("/v1/ledger?limit=lots")
        .await
        .assert_error(400, "INVALID_QUERY", None);
    server
        .get("/v1/rollouts?active=maybe")
        .await
        .assert_error(400, "INVALID_QUERY", None);
    let health = server.get("/healthz").await;
    assert_eq!(health.body, json!({"status": "ok", "revision": 0}));
    assert_eq!(server.get("/readyz").await.body["status"], "ready");
}

/// Eight writers race with the same `If-Match`: exactly one wins, the rest get 412, and the
/// kill switch (read-modify-write on the server) never loses a concurrent edit.
#[tokio::test]
async fn concurrent_writers_with_the_same_if_match_lose_nothing() {
    let server = std::sync::Arc::new(TestServer::start().await);
    seed(&server).await;
    let mut racers = Vec::new();
    for i in 0..8 {
        let server = server.clone();
        racers.push(tokio::spawn(async move {
            let mut flag = checkout_flag();
            flag["description"] = json!(format!("edit {i}"));
            server
                .put("/v1/flags/new-checkout", flag, Some("\"2\""))
                .await
                .status
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for racer in racers {
        statuses.push(racer.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [200, 412, 412, 412, 412, 412, 412, 412]);
    let winner = server.get("/v1/flags/new-checkout").await.body;
    assert_eq!(winner["revision"], 3);

    // Disabling keeps the winner's edit, and a disable with a stale If-Match is refused.
    let stale = server
        .call(
            Method::POST,
            "/v1/flags/new-checkout/disable",
            None,
            &[("if-match", "\"2\"")],
        )
        .await;
    stale.assert_error(412, "REVISION_MISMATCH", None);
    let disabled = server
        .post("/v1/flags/new-checkout/disable", json!(null))
        .await
        .body;
    assert_eq!(
        disabled["flag"]["description"],
        winner["flag"]["description"]
    );
    assert_eq!(disabled["flag"]["state"], "disabled");
}

#[tokio::test]
async fn issue_9_flag_and_segment_lists_and_histories_are_paginated() {
    let server = TestServer::start().await;
    for i in 0..5 {
        boolean_flag(&server, &format!("flag-{i}")).await;
        let segment = json!({"name": format!("seg-{i}"), "conditions": [{"attribute": "plan", "op": "eq", "values": ["x"]}]});
        assert_eq!(server.post("/v1/segments", segment).await.status, 201);
    }
    for (path, items, cursor) in [
        ("/v1/flags", "flags", "flag"),
        ("/v1/segments", "segments", "segment"),
    ] {
        let mut seen = Vec::new();
        let mut query = "limit=2".to_owned();
        loop {
            let page = server.get(&format!("{path}?{query}")).await.body;
            let listed = page[items].as_array().unwrap();
            assert!(listed.len() <= 2, "{page}");
            let field = if cursor == "flag" { "key" } else { "name" };
            seen.extend(
                listed
                    .iter()
                    .map(|r| r[cursor][field].as_str().unwrap().to_owned()),
            );
            match page["next"].as_str() {
                Some(after) => query = format!("limit=2&after={after}"),
                None => break,
            }
        }
        let expected: Vec<String> = (0..5)
            .map(|i| format!("{cursor}-{i}").replace("segment-", "seg-"))
            .collect();
        assert_eq!(seen, expected, "{path}");
    }
    for _ in 0..3 {
        assert_eq!(
            server
                .post("/v1/flags/flag-0/disable", json!(null))
                .await
                .status,
            200
        );
        assert_eq!(
            server
                .post("/v1/flags/flag-0/enable", json!(null))
                .await
                .status,
            200
        );
    }
    let whole = server.get("/v1/flags/flag-0/history").await.body;
    let whole: Vec<u64> = whole["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(whole.len(), 7);
    let mut paged = Vec::new();
    let mut query = "limit=3".to_owned();
    loop {
        let page = server
            .get(&format!("/v1/flags/flag-0/history?{query}"))
            .await
            .body;
        paged.extend(
            page["history"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["revision"].as_u64().unwrap()),
        );
        match page["next"].as_u64() {
            Some(after) => query = format!("limit=3&after={after}"),
            None => break,
        }
    }
    assert_eq!(paged, whole);
    let reply = server.get("/v1/flags?limit=0").await;
    reply.assert_error(400, "INVALID_QUERY", Some("limit"));
}
