//! Rollouts through the HTTP API on a manual clock: every strategy to completion, manual
//! approval, every rollback mode, monotonic assignment over 10k users, shadow launches, and
//! bad plans that store nothing.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use super::support::{Reply, TestServer, boolean_flag, records};

const MINUTE: i64 = 60_000;

/// Each traffic burst uses users never seen before, as real traffic would. Counted per server
/// and flag, so which users a test sees — and so how many land on the candidate — does not
/// depend on what the tests running beside it did first.
static NEXT_USER: std::sync::Mutex<std::collections::BTreeMap<String, usize>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn next_user(server: &TestServer, flag: &str) -> usize {
    let mut next = NEXT_USER.lock().unwrap();
    let counter = next.entry(format!("{} {flag}", server.url)).or_default();
    *counter += 1;
    *counter
}

/// Evaluates `n` new users over OFREP and reports each request's (healthy) outcome as a
/// health event, as a service would, so the step has samples; returns how many got `on`.
async fn traffic(server: &TestServer, flag: &str, n: usize) -> usize {
    let mut on = 0;
    let mut events = Vec::new();
    for _ in 0..n {
        let user = next_user(server, flag);
        // One visitor in four is an employee, so `internal` ring steps see traffic too.
        let email = if user.is_multiple_of(4) {
            format!("v{user}@acme.example")
        } else {
            format!("v{user}@example.com")
        };
        let reply = server
            .eval(
                flag,
                json!({"targetingKey": format!("visitor-{user}"), "email": email}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        if reply.body["value"] == true {
            on += 1;
        }
        events.push(json!({"flag": flag, "variant": reply.body["variant"], "outcome": "success", "latency_ms": 20}));
        if let Some(shadow) = reply.body["metadata"]["shadowVariant"].as_str() {
            events.push(json!({"flag": flag, "variant": shadow, "outcome": "success", "latency_ms": 20, "shadow": true}));
        }
    }
    let reply = server.post("/v1/events", Value::Array(events)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["rejected"], json!([]), "{}", reply.body);
    on
}

/// These tests exercise the rollout machine, not the statistics: traffic here is all
/// healthy, so a step passes on its soak and samples (`pass_on_soak`) unless a plan says
/// otherwise. `analysis.rs` covers the judge's own verdicts.
async fn start(server: &TestServer, mut plan: Value) -> Value {
    if plan.get("analysis").is_none() {
        plan["analysis"] = json!({"pass_on_soak": true});
    }
    let reply = server.post("/v1/rollouts", plan).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

async fn rollout(server: &TestServer, id: &Value) -> Value {
    server.get(&format!("/v1/rollouts/{id}")).await.body
}

async fn act(server: &TestServer, id: &Value, action: &str, body: Option<Value>) -> Reply {
    server
        .call(
            Method::POST,
            &format!("/v1/rollouts/{id}/{action}"),
            body,
            &[("x-rampart-actor", "sre@acme")],
        )
        .await
}

/// Ticks with traffic and the clock moving one minute at a time until the rollout ends.
async fn drive(server: &TestServer, id: &Value, flag: &str) -> Value {
    for _ in 0..200 {
        let view = rollout(server, id).await;
        if view["active"] == false {
            return view;
        }
        traffic(server, flag, 100).await;
        server.clock.advance_ms(MINUTE);
        server.controller.tick().await.unwrap();
    }
    panic!("rollout {id} did not finish");
}

/// The history's `step_started` records: each step entered exactly once, in order.
fn steps_entered(view: &Value) -> Vec<u64> {
    records(view, "step_started")
        .iter()
        .map(|r| r["detail"]["step"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn every_strategy_runs_to_completion() {
    let server = TestServer::start().await;
    let segment = json!({"name": "internal", "conditions": [{"attribute": "email", "op": "ends_with", "values": ["@acme.example"]}]});
    assert_eq!(server.post("/v1/segments", segment).await.status, 201);
    let plans = [
        ("safe", json!({"strategy": "safe"}), 6),
        ("fast", json!({"strategy": "fast"}), 3),
        ("canary", json!({"strategy": "canary", "soak": "1m"}), 7),
        ("instant", json!({"strategy": "instant"}), 1),
        (
            "custom",
            json!({"strategy": "custom", "soak": "2m", "steps": [{"percent": 100, "segment": "internal"}, {"percent": 20}, {"percent": 100}]}),
            3,
        ),
    ];
    for (name, extra, n_steps) in plans {
        let flag = format!("flag-{name}");
        boolean_flag(&server, &flag).await;
        let mut plan = json!({"flag": flag, "candidate": "on"});
        plan.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let created = start(&server, plan).await;
        assert_eq!(
            created["steps"].as_array().unwrap().len(),
            n_steps,
            "{name}"
        );
        let done = drive(&server, &created["id"], &flag).await;
        assert_eq!(done["phase"], "completed", "{name}: {done}");
        let view = rollout(&server, &created["id"]).await;
        assert_eq!(
            steps_entered(&view),
            (0..n_steps as u64).collect::<Vec<_>>(),
            "{name}: no step skipped or repeated"
        );
        // Completed: everyone gets the candidate, and the flag no longer carries a split.
        assert_eq!(traffic(&server, &flag, 20).await, 20, "{name}");
        let flag_now = server.get(&format!("/v1/flags/{flag}")).await.body;
        assert_eq!(
            flag_now["flag"]["fallthrough"],
            json!({"variant": "on"}),
            "{name}"
        );
    }
    let all = server.get("/v1/rollouts").await.body;
    assert_eq!(all["rollouts"].as_array().unwrap().len(), 5);
    assert!(
        server.get("/v1/rollouts?active=true").await.body["rollouts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn manual_approval_waits_then_goes_on() {
    let server = TestServer::start().await;
    boolean_flag(&server, "checkout").await;
    let plan = json!({"flag": "checkout", "candidate": "on", "strategy": "custom", "soak": "5m",
                      "steps": [{"percent": 10, "approval": "required"}, {"percent": 100}]});
    let id = start(&server, plan).await["id"].clone();
    traffic(&server, "checkout", 100).await;
    server.clock.advance_ms(5 * MINUTE);
    server.controller.tick().await.unwrap();
    assert_eq!(rollout(&server, &id).await["phase"], "awaiting_approval");
    // However long it waits and whatever traffic comes, it does not move on by itself.
    for _ in 0..5 {
        traffic(&server, "checkout", 5).await;
        server.clock.advance_ms(60 * MINUTE);
        server.controller.tick().await.unwrap();
    }
    let waiting = rollout(&server, &id).await;
    assert_eq!(waiting["phase"], "awaiting_approval");
    assert_eq!(waiting["step"], 0);
    let promote = act(&server, &id, "promote", None).await;
    promote.assert_error(409, "ILLEGAL_TRANSITION", None);
    assert!(
        promote.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("use approve")
    );
    let approved = act(&server, &id, "approve", None).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.body["phase"], "ramping");
    assert_eq!(approved.body["step"], 1);
    let history = rollout(&server, &id).await["history"].clone();
    let approve = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "approve")
        .unwrap();
    assert_eq!(approve["actor"], "sre@acme");
    assert!(
        approve["at"].as_str().unwrap().starts_with("20"),
        "every transition has a timestamp"
    );
    // Approving again is an illegal transition, explained.
    let again = act(&server, &id, "approve", None).await;
    again.assert_error(409, "ILLEGAL_TRANSITION", None);
    assert!(
        again.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing awaits approval")
    );
}

#[tokio::test]
async fn every_rollback_mode() {
    let server = TestServer::start().await;
    for (mode, flag) in [
        ("immediate", "f-immediate"),
        ("gradual", "f-gradual"),
        ("kill", "f-kill"),
    ] {
        boolean_flag(&server, flag).await;
        let plan = json!({"flag": flag, "candidate": "on", "strategy": "safe", "soak": "1m", "rollback": {"step_interval": "30s"}});
        let id = start(&server, plan).await["id"].clone();
        for _ in 0..3 {
            traffic(&server, flag, 100).await;
            server.clock.advance_ms(MINUTE);
            server.controller.tick().await.unwrap();
        }
        assert_eq!(rollout(&server, &id).await["step"], 3, "{mode}: at 50%");
        let users_on = traffic(&server, flag, 200).await;
        assert!(
            users_on > 60 && users_on < 140,
            "{mode}: about half get the candidate at 50%, got {users_on}"
        );

        let reply = act(
            &server,
            &id,
            "rollback",
            Some(json!({"mode": mode, "reason": "checkout errors"})),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        match mode {
            "gradual" => {
                assert_eq!(reply.body["phase"], "rolling_back");
                let mut seen = vec![
                    reply.body["target"]["weights"]["everyone"]
                        .as_u64()
                        .unwrap(),
                ];
                while rollout(&server, &id).await["phase"] == "rolling_back" {
                    server.clock.advance_ms(30_000);
                    server.controller.tick().await.unwrap();
                    let target = rollout(&server, &id).await["target"].clone();
                    seen.push(target["weights"]["everyone"].as_u64().unwrap_or(0));
                }
                assert_eq!(
                    seen,
                    vec![2500, 1000, 500, 0],
                    "steps back down through earlier steps"
                );
            }
            _ => assert_eq!(reply.body["phase"], "rolled_back"),
        }
        let done = rollout(&server, &id).await;
        assert_eq!(done["phase"], "rolled_back");
        assert_eq!(done["rollback"]["reason"], "checkout errors");
        let reply = server.eval(flag, json!({"targetingKey": "user-1"})).await;
        assert_eq!(
            reply.body["value"], false,
            "{mode}: nobody gets the candidate"
        );
        if mode == "kill" {
            assert_eq!(reply.body["reason"], "DISABLED", "kill disables the flag");
        } else {
            assert_eq!(traffic(&server, flag, 200).await, 0);
        }
    }
    let bad = act(
        &server,
        &json!(1),
        "rollback",
        Some(json!({"reason": "  "})),
    )
    .await;
    bad.assert_error(400, "REQUIRED", Some("reason"));
}

/// A user who got the candidate at step k still gets it at every later step, for 10k users.
/// Each step's served flag is read from the server and evaluated locally for all users;
/// a sample is cross-checked over OFREP.
#[tokio::test]
async fn assignment_is_monotonic_through_a_real_rollout() {
    let server = TestServer::start().await;
    boolean_flag(&server, "ranker").await;
    let id = start(
        &server,
        json!({"flag": "ranker", "candidate": "on", "strategy": "safe", "soak": "1m"}),
    )
    .await["id"]
        .clone();
    let users: Vec<String> = (0..10_000).map(|i| format!("user-{i}")).collect();
    let mut previous: BTreeSet<usize> = BTreeSet::new();
    let mut shares = Vec::new();
    loop {
        let snapshot: rampart_model::api::SnapshotBody =
            serde_json::from_value(server.get("/v1/snapshot").await.body).unwrap();
        let flags = snapshot
            .flags
            .into_iter()
            .map(|f| rampart_model::Flag::try_new(f).unwrap());
        let catalog = rampart_model::Catalog::try_new(snapshot.revision, flags, []).unwrap();
        let compiled = rampart_eval::Snapshot::compile(&catalog);
        let current: BTreeSet<usize> = users
            .iter()
            .enumerate()
            .filter(|(_, u)| {
                compiled
                    .evaluate("ranker", &rampart_eval::Context::new(Some((*u).clone())))
                    .value
                    == Some(&json!(true))
            })
            .map(|(i, _)| i)
            .collect();
        assert!(
            previous.is_subset(&current),
            "{} users lost the candidate",
            previous.difference(&current).count()
        );
        for i in (0..10_000).step_by(500) {
            let served = server
                .eval("ranker", json!({"targetingKey": users[i]}))
                .await
                .body["value"]
                == true;
            assert_eq!(
                served,
                current.contains(&i),
                "OFREP and the served config disagree for {}",
                users[i]
            );
        }
        shares.push(current.len());
        previous = current;
        if rollout(&server, &id).await["active"] == false {
            break;
        }
        traffic(&server, "ranker", 100).await;
        server.clock.advance_ms(MINUTE);
        server.controller.tick().await.unwrap();
    }
    // 5, 10, 25, 50, 75, 100% of 10k users (±1.5 points), then complete.
    let expected = [500, 1000, 2500, 5000, 7500, 10_000];
    for (share, want) in shares.iter().zip(expected) {
        assert!(share.abs_diff(want) <= 150, "shares {shares:?}");
    }
    assert_eq!(shares.last(), Some(&10_000));
}

#[tokio::test]
async fn a_shadow_step_serves_baseline_and_counts_the_counterfactual() {
    let server = TestServer::start().await;
    boolean_flag(&server, "dark").await;
    let id = start(
        &server,
        json!({"flag": "dark", "candidate": "on", "strategy": "canary"}),
    )
    .await["id"]
        .clone();
    assert_eq!(rollout(&server, &id).await["phase"], "shadow");
    let reply = server.eval("dark", json!({"targetingKey": "u-1"})).await;
    assert_eq!(reply.body["value"], false, "baseline is served");
    assert_eq!(
        reply.body["metadata"]["shadowVariant"], "on",
        "the candidate assignment rides along"
    );
    traffic(&server, "dark", 40).await;
    let counts = server.get("/v1/flags/dark/counts").await.body;
    assert_eq!(counts["served"]["off"], 41);
    assert_eq!(counts["served"]["on"], 0);
    assert_eq!(
        counts["shadow"],
        json!([{"served": "off", "would_serve": "on", "count": 41}])
    );
    // The shadow outcomes reported for the candidate are the step's samples: the gate
    // passes after the soak.
    server.clock.advance_ms(2 * MINUTE);
    server.controller.tick().await.unwrap();
    let view = rollout(&server, &id).await;
    assert_eq!(view["phase"], "ramping", "{view}");
    assert!(
        server
            .eval("dark", json!({"targetingKey": "u-1"}))
            .await
            .body["metadata"]
            .get("shadowVariant")
            .is_none()
    );
}

#[tokio::test]
async fn without_traffic_the_default_policy_holds() {
    let server = TestServer::start().await;
    boolean_flag(&server, "quiet").await;
    let id = start(
        &server,
        json!({"flag": "quiet", "candidate": "on", "strategy": "fast"}),
    )
    .await["id"]
        .clone();
    for _ in 0..10 {
        server.clock.advance_ms(10 * MINUTE);
        server.controller.tick().await.unwrap();
    }
    let view = rollout(&server, &id).await;
    assert_eq!(view["step"], 0, "no data: hold, never promote");
    assert!(
        view["gate"]["blockers"][0]
            .as_str()
            .unwrap()
            .contains("no candidate requests"),
        "{view}"
    );
}

#[tokio::test]
async fn bad_plans_are_400_with_the_field_and_store_nothing() {
    let server = TestServer::start().await;
    boolean_flag(&server, "checkout").await;
    let revision = server.get("/v1/snapshot").await.body["revision"].clone();
    let cases = [
        (
            json!({"flag": "nope", "candidate": "on"}),
            "UNKNOWN_FLAG",
            "flag",
        ),
        (
            json!({"flag": "checkout", "candidate": "off"}),
            "CONFLICTING_FIELDS",
            "candidate",
        ),
        (
            json!({"flag": "checkout", "candidate": "maybe"}),
            "UNKNOWN_VARIANT",
            "candidate",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "strategy": "custom", "steps": [{"percent": 50}, {"percent": 10}, {"percent": 100}]}),
            "INVALID_WEIGHTS",
            "steps[1].percent",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "strategy": "custom", "steps": [{"percent": 10, "segment": "ghosts"}, {"percent": 100}]}),
            "UNKNOWN_SEGMENT",
            "steps[0].segment",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "strategy": "warp"}),
            "INVALID_FIELD",
            "strategy",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "soak": "forever"}),
            "INVALID_FIELD",
            "soak",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "analysis": {"guardrails": [{"metric": "error_rate", "limit": 5}]}}),
            "OUT_OF_RANGE",
            "analysis.guardrails[0].limit",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "analysis": {"alpha": 0}}),
            "OUT_OF_RANGE",
            "analysis.alpha",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "analysis": {"comparisons": [{"metric": "counter"}]}}),
            "INVALID_FIELD",
            "analysis.comparisons[0]",
        ),
    ];
    for (plan, code, field) in cases {
        server
            .post("/v1/rollouts", plan)
            .await
            .assert_error(400, code, Some(field));
    }
    assert!(
        server.get("/v1/rollouts").await.body["rollouts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        server.get("/v1/snapshot").await.body["revision"],
        revision,
        "nothing stored"
    );

    // One active rollout per flag; while it runs the flag's targeting belongs to it.
    let id = start(&server, json!({"flag": "checkout", "candidate": "on"})).await["id"].clone();
    let second = server
        .post(
            "/v1/rollouts",
            json!({"flag": "checkout", "candidate": "on"}),
        )
        .await;
    second.assert_error(400, "CONFLICTING_FIELDS", Some("flag"));
    let edit = json!({"key": "checkout", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "on"});
    server
        .put("/v1/flags/checkout", edit, None)
        .await
        .assert_error(409, "ROLLOUT_ACTIVE", None);
    server
        .call(Method::DELETE, "/v1/flags/checkout", None, &[])
        .await
        .assert_error(409, "ROLLOUT_ACTIVE", None);
    assert_eq!(
        server
            .post("/v1/flags/checkout/disable", json!(null))
            .await
            .status,
        200,
        "the kill switch always works"
    );
    assert_eq!(
        act(&server, &id, "abort", None).await.body["phase"],
        "aborted"
    );
    server
        .get("/v1/rollouts/999")
        .await
        .assert_error(404, "NOT_FOUND", None);
}

#[tokio::test]
async fn issue_9_the_rollout_list_is_paginated_newest_first() {
    let server = TestServer::start().await;
    boolean_flag(&server, "paged").await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let started = start(
            &server,
            json!({"flag": "paged", "candidate": "on", "strategy": "instant"}),
        )
        .await;
        let id = started["id"].as_u64().unwrap();
        let aborted = server
            .post(&format!("/v1/rollouts/{id}/abort"), json!(null))
            .await;
        assert_eq!(aborted.status, 200, "{}", aborted.body);
        ids.push(id);
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut path = "/v1/rollouts?limit=2".to_owned();
    loop {
        let page = server.get(&path).await.body;
        let rollouts = page["rollouts"].as_array().unwrap();
        assert!(rollouts.len() <= 2, "{page}");
        seen.extend(rollouts.iter().map(|r| r["id"].as_u64().unwrap()));
        match page["next_before"].as_u64() {
            Some(before) => path = format!("/v1/rollouts?limit=2&before={before}"),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every rollout once, newest first");
    for bad in ["limit=0", "limit=1001", "limit=x", "nope=1"] {
        let reply = server.get(&format!("/v1/rollouts?{bad}")).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
        assert_eq!(reply.body["error"]["code"], "INVALID_QUERY", "{bad}");
    }
}
