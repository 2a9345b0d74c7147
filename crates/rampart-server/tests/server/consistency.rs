//! The write path publishes what it committed without reading the store back (issue #9, a
//! reload failure after a commit). These tests pin that what the live server serves after
//! every kind of change is exactly what a server started on the same data serves.

use reqwest::Method;
use serde_json::{Value, json};

use super::support::{TestServer, boolean_flag};

/// Everything the API shows about the configuration: flags and segments with their
/// metadata, the snapshot, which flags a rollout owns, and an evaluation of every flag.
async fn observed(server: &TestServer) -> Value {
    let flags = server.get("/v1/flags").await.body;
    let keys: Vec<String> = flags["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["flag"]["key"].as_str().unwrap().to_owned())
        .collect();
    let mut owned = Vec::new();
    for key in &keys {
        // An edit tells whether an active rollout owns the flag (409 ROLLOUT_ACTIVE).
        let reply = server
            .call(
                Method::DELETE,
                &format!("/v1/flags/{key}"),
                None,
                &[("if-match", "\"0\"")],
            )
            .await;
        owned.push(json!([key, reply.body["error"]["code"]]));
    }
    let bulk = server
        .post(
            "/ofrep/v1/evaluate/flags",
            json!({"context": {"targetingKey": "user-7", "email": "a@acme.example"}}),
        )
        .await
        .body;
    json!({
        "flags": flags,
        "segments": server.get("/v1/segments").await.body,
        "snapshot": server.get("/v1/snapshot").await.body,
        "owned": owned,
        "bulk": bulk,
        "head": server.get("/v1/ledger/head").await.body,
    })
}

async fn assert_restart_serves_the_same(server: TestServer, step: &str) -> TestServer {
    let live = observed(&server).await;
    let data_dir = server.stop().await;
    let restarted = TestServer::start_in(data_dir).await;
    let reloaded = observed(&restarted).await;
    assert_eq!(
        live, reloaded,
        "after {step}: the live server served something other than what it committed"
    );
    restarted
}

#[tokio::test]
async fn issue_9_every_kind_of_change_is_published_exactly_as_committed() {
    let mut server = TestServer::start().await;
    let segment = json!({"name": "internal", "conditions": [{"attribute": "email", "op": "ends_with", "values": ["@acme.example"]}]});
    assert_eq!(server.post("/v1/segments", segment).await.status, 201);
    boolean_flag(&server, "base").await;
    let dependent = json!({"key": "dependent", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off",
        "prerequisites": [{"flag": "base", "variant": "off"}],
        "rules": [{"when": [{"segment": "internal"}], "serve": {"variant": "on"}}]});
    assert_eq!(server.post("/v1/flags", dependent).await.status, 201);
    boolean_flag(&server, "doomed").await;
    server = assert_restart_serves_the_same(server, "creates").await;

    // The clock moves between writes, so created and updated times differ.
    server.clock.advance_ms(61_000);
    let updated = json!({"key": "base", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "on"});
    assert_eq!(
        server
            .put("/v1/flags/base", updated, Some("\"2\""))
            .await
            .status,
        200
    );
    server.clock.advance_ms(1_000);
    assert_eq!(
        server
            .post("/v1/flags/dependent/disable", json!(null))
            .await
            .status,
        200
    );
    let deleted = server
        .call(Method::DELETE, "/v1/flags/doomed", None, &[])
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let reverted = server
        .post("/v1/flags/base/revert", json!({"to_revision": 2}))
        .await;
    assert_eq!(reverted.status, 200, "{}", reverted.body);
    server = assert_restart_serves_the_same(server, "updates, kill switch, delete, revert").await;

    let document = json!({"segments": [{"name": "beta", "conditions": [{"attribute": "plan", "op": "eq", "values": ["beta"]}]}],
        "flags": [{"key": "applied", "kind": "string", "variants": {"a": "A", "b": "B"}, "default_variant": "a"}]});
    let applied = server
        .post("/v1/apply", json!({"document": document}))
        .await;
    assert!(applied.status.is_success(), "{}", applied.body);
    server = assert_restart_serves_the_same(server, "an apply").await;

    boolean_flag(&server, "ramped").await;
    let plan = json!({"flag": "ramped", "candidate": "on", "strategy": "custom", "steps": [{"percent": 10, "soak": "1m"}, {"percent": 100, "soak": "1m"}],
        "analysis": {"pass_on_soak": true}});
    let started = server.post("/v1/rollouts", plan).await;
    assert_eq!(started.status, 201, "{}", started.body);
    server.clock.advance_ms(60_000);
    server.controller.tick().await.unwrap();
    server = assert_restart_serves_the_same(server, "a rollout start and tick").await;

    let id = started.body["id"].as_u64().unwrap();
    let rolled_back = server
        .post(
            &format!("/v1/rollouts/{id}/rollback"),
            json!({"reason": "consistency test", "mode": "immediate"}),
        )
        .await;
    assert_eq!(rolled_back.status, 200, "{}", rolled_back.body);
    server = assert_restart_serves_the_same(server, "a rollback").await;

    let rotated = server.post("/v1/ledger/rotate-key", json!(null)).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_restart_serves_the_same(server, "a key rotation").await;
}
