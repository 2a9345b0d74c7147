//! Health analysis end to end: events over HTTP into a real server (SQLite, manual clock),
//! the judge deciding each tick, and automatic rollback with its evidence and timings.

use serde_json::{Value, json};

use super::support::{TestServer, boolean_flag, records};

const SECOND: i64 = 1_000;

async fn start(server: &TestServer, plan: Value) -> Value {
    let reply = server.post("/v1/rollouts", plan).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].clone()
}

async fn view(server: &TestServer, id: &Value) -> Value {
    server
        .get(&format!("/v1/rollouts/{id}?history=true"))
        .await
        .body
}

/// One arm's traffic for one second: `n` requests, every `error_every`-th an error
/// (0: none), latencies cycling through 20..=119 ms scaled by `slow`.
fn arm(flag: &str, variant: &str, n: usize, error_every: usize, slow: f64, at: i64) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let error = error_every > 0 && i % error_every == 0;
            json!({
                "flag": flag,
                "variant": variant,
                "outcome": if error { "error" } else { "success" },
                "latency_ms": (20 + (i * 37) % 100) as f64 * slow,
                "ts": at,
            })
        })
        .collect()
}

async fn send(server: &TestServer, events: Vec<Value>) {
    let n = events.len() as u64;
    let reply = server.post("/v1/events", Value::Array(events)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["accepted"], n, "{}", reply.body);
    assert_eq!(reply.body["rejected"], json!([]));
}

/// Sends one second of traffic (stamped now), moves the clock a second and ticks.
async fn second(server: &TestServer, events: Vec<Value>) {
    send(server, events).await;
    server.clock.advance_ms(SECOND);
    server.controller.tick().await.unwrap();
}

fn now(server: &TestServer) -> i64 {
    use rampart_server::clock::Clock;
    server.clock.now()
}

#[tokio::test]
async fn a_faulty_candidate_is_rolled_back_with_the_evidence() {
    let server = TestServer::start().await;
    boolean_flag(&server, "search").await;
    let plan = json!({"flag": "search", "candidate": "on", "strategy": "custom", "soak": "10m",
                      "steps": [{"percent": 50}, {"percent": 100}]});
    let id = start(&server, plan).await;
    let started = now(&server);
    let mut rolled_back_after = None;
    for elapsed in 1..=60 {
        let at = now(&server);
        let mut events = arm("search", "off", 200, 100, 1.0, at);
        // The candidate fails one request in ten: 10% errors against the baseline's 1%.
        events.extend(arm("search", "on", 200, 10, 1.0, at));
        second(&server, events).await;
        if view(&server, &id).await["phase"] == "rolled_back" {
            rolled_back_after = Some(elapsed);
            break;
        }
    }
    let elapsed = rolled_back_after.expect("the faulty candidate was never rolled back");
    // 20 candidate errors a second against 2: a handful of seconds is plenty.
    assert!(elapsed <= 10, "rolled back after {elapsed}s");

    let rollout = view(&server, &id).await;
    let reason = rollout["rollback"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("candidate error rate") && reason.contains("e-value"),
        "{reason}"
    );
    // The failing tick's decision is in the history, with each criterion's statistic.
    let failing = rollout["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "tick" && e["to"] == "rolled_back")
        .expect("the rollback's tick is recorded");
    let decision = &failing["detail"]["decision"];
    assert_eq!(decision["verdict"], "fail");
    let error_rate = decision["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "error_rate")
        .unwrap();
    assert_eq!(error_rate["verdict"], "fail");
    assert!(
        error_rate["statistic"]
            .as_str()
            .unwrap()
            .contains("e-value")
    );
    assert!(
        error_rate["observed"]
            .as_str()
            .unwrap()
            .starts_with("candidate 10.0%")
    );
    assert!(
        decision["blockers"][0]
            .as_str()
            .unwrap()
            .contains("tolerance +50%")
    );

    // The timings: first bad sample, decision, served, and the measured gap.
    let timings = &rollout["rollback"]["timings"];
    let first_bad = timings["first_bad_sample_at"].as_i64().unwrap();
    let decided = timings["decided_at"].as_i64().unwrap();
    let served = timings["served_at"].as_i64().unwrap();
    assert!(
        started <= first_bad && first_bad < decided && decided <= served,
        "{timings}"
    );
    assert!(
        timings["decision_to_served_us"].as_u64().is_some(),
        "{timings}"
    );
    assert!(
        rollout["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "rollback_served")
    );

    // The flag serves the baseline again, to everyone.
    for user in 0..50 {
        let reply = server
            .eval("search", json!({"targetingKey": format!("u{user}")}))
            .await;
        assert_eq!(reply.body["value"], false);
    }
    // And the ledger holds the decision's evidence.
    let ledger = server.get("/v1/ledger?limit=1000").await.body;
    let text = ledger.to_string();
    assert!(
        text.contains("candidate error rate"),
        "the evidence is ledgered"
    );
}

#[tokio::test]
async fn a_healthy_candidate_completes() {
    let server = TestServer::start().await;
    boolean_flag(&server, "ranker").await;
    let plan = json!({"flag": "ranker", "candidate": "on", "strategy": "custom", "soak": "20s",
                      "steps": [{"percent": 50}, {"percent": 100}]});
    let id = start(&server, plan).await;
    for _ in 0..300 {
        let rollout = view(&server, &id).await;
        if rollout["active"] == false {
            break;
        }
        let at = now(&server);
        let candidate_share = if rollout["step"] == 0 { 500 } else { 1_000 };
        // Both arms alike: 1% errors and the same latencies.
        let mut events = arm("ranker", "on", candidate_share, 100, 1.0, at);
        events.extend(arm("ranker", "off", 1_000 - candidate_share, 100, 1.0, at));
        second(&server, events).await;
    }
    let rollout = view(&server, &id).await;
    assert_eq!(rollout["phase"], "completed", "{}", rollout["gate"]);
    // Step 1 passed on demonstrated non-inferiority, recorded with its criteria.
    let passed = records(&rollout, "gate_passed")
        .into_iter()
        .next()
        .expect("a gate_passed record");
    let criteria = passed["detail"]["criteria"].as_array().unwrap();
    for name in ["error_rate", "latency_p99", "soak", "samples"] {
        let criterion = criteria.iter().find(|c| c["name"] == name).unwrap();
        assert_eq!(criterion["verdict"], "pass", "{criterion}");
    }
    let reply = server
        .eval("ranker", json!({"targetingKey": "anyone"}))
        .await;
    assert_eq!(reply.body["value"], true);
}

#[tokio::test]
async fn without_events_the_default_policy_holds_even_with_evaluations() {
    let server = TestServer::start().await;
    boolean_flag(&server, "quiet").await;
    let plan = json!({"flag": "quiet", "candidate": "on", "strategy": "fast"});
    let id = start(&server, plan).await;
    for minute in 0..30 {
        // Evaluations alone are not health data.
        server
            .eval("quiet", json!({"targetingKey": format!("u{minute}")}))
            .await;
        server.clock.advance_ms(60 * SECOND);
        server.controller.tick().await.unwrap();
    }
    let rollout = view(&server, &id).await;
    assert_eq!(rollout["step"], 0, "no data: hold never promotes");
    assert_eq!(rollout["phase"], "ramping");
    assert_eq!(rollout["gate"]["verdict"], "inconclusive");
    let blockers = rollout["gate"]["blockers"].to_string();
    assert!(blockers.contains("no candidate requests"), "{blockers}");
}

#[tokio::test]
async fn a_guardrail_breach_shorter_than_its_for_does_not_roll_back() {
    let server = TestServer::start().await;
    boolean_flag(&server, "pay").await;
    // Only a guardrail: candidate errors at most 5% over the last 5 s, for 30 s.
    let plan = json!({"flag": "pay", "candidate": "on", "strategy": "custom", "soak": "1h",
                      "steps": [{"percent": 50}, {"percent": 100}],
                      "analysis": {"comparisons": [],
                                   "guardrails": [{"metric": "error_rate", "limit": 0.05, "for": "30s", "range": "5s"}]}});
    let id = start(&server, plan).await;
    let healthy = |at| {
        let mut events = arm("pay", "on", 100, 0, 1.0, at);
        events.extend(arm("pay", "off", 100, 0, 1.0, at));
        events
    };
    let failing = |at| {
        let mut events = arm("pay", "on", 100, 5, 1.0, at);
        events.extend(arm("pay", "off", 100, 0, 1.0, at));
        events
    };
    for _ in 0..10 {
        second(&server, healthy(now(&server))).await;
    }
    // A 20-second burst of 20% errors: breached, pending, never for 30 s.
    for _ in 0..20 {
        second(&server, failing(now(&server))).await;
    }
    let rollout = view(&server, &id).await;
    assert_eq!(rollout["phase"], "ramping", "{}", rollout["gate"]);
    let pending = rollout["gate"]["blockers"].to_string();
    assert!(
        pending.contains("of the 30s it must last to fail"),
        "{pending}"
    );
    for _ in 0..20 {
        second(&server, healthy(now(&server))).await;
    }
    assert_eq!(view(&server, &id).await["phase"], "ramping");

    // The same breach held past its `for` does roll back.
    for _ in 0..40 {
        second(&server, failing(now(&server))).await;
        if view(&server, &id).await["phase"] == "rolled_back" {
            break;
        }
    }
    let rollout = view(&server, &id).await;
    assert_eq!(rollout["phase"], "rolled_back");
    let reason = rollout["rollback"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("guardrail") || reason.contains("limit 5.0%"),
        "{reason}"
    );
}

#[tokio::test]
async fn bad_events_get_per_index_errors_and_the_good_ones_count() {
    let server = TestServer::start().await;
    boolean_flag(&server, "cart").await;
    let plan = json!({"flag": "cart", "candidate": "on", "strategy": "custom", "soak": "1h",
                      "steps": [{"percent": 50}, {"percent": 100}]});
    let id = start(&server, plan).await;
    let at = now(&server);
    let batch = json!([
        {"flag": "cart", "variant": "on", "outcome": "success", "latency_ms": 12.5},
        {"flag": "nope", "variant": "on", "outcome": "success"},
        {"flag": "cart", "variant": "maybe", "outcome": "success"},
        {"flag": "cart", "variant": "on", "outcome": "ok"},
        {"flag": "cart", "variant": "off", "outcome": "error", "latency_ms": -1},
        {"flag": "cart", "variant": "off", "outcome": "error", "values": {"refunds": 1.5}},
        {"flag": "cart", "variant": "off", "outcome": "success", "ts": at - 7_200_000},
        {"flag": "cart", "variant": "off", "outcome": "success", "ts": "yesterday"},
        "not an event",
        {"flag": "cart", "variant": "on", "outcome": "error", "values": {"refunds": 2}, "shadow": false, "ts": at},
        {"flag": "cart", "variant": "off", "outcome": "success", "ts": "2027-01-15T08:00:00Z", "colour": "red"},
        {"flag": "cart", "variant": "off", "outcome": "success", "ts": rampart_server::rfc3339(at)}
    ]);
    let reply = server.post("/v1/events", batch).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["accepted"], 3);
    assert_eq!(reply.body["judged"], 3);
    let rejected: Vec<(u64, String)> = reply.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert!(!r["message"].as_str().unwrap().is_empty());
            (
                r["index"].as_u64().unwrap(),
                r["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        (1, "UNKNOWN_FLAG"),
        (2, "UNKNOWN_VARIANT"),
        (3, "INVALID_OUTCOME"),
        (4, "INVALID_LATENCY"),
        (5, "INVALID_VALUE"),
        (6, "TS_OUT_OF_RANGE"),
        (7, "INVALID_TS"),
        (8, "INVALID_EVENT"),
        (10, "INVALID_EVENT"),
    ];
    let expected: Vec<(u64, String)> = expected
        .iter()
        .map(|(i, c)| (*i, (*c).to_owned()))
        .collect();
    assert_eq!(rejected, expected);
    let message = reply.body["rejected"][2]["message"].as_str().unwrap();
    assert!(
        message.contains("ok") && message.contains("success"),
        "{message}"
    );

    // The good events reached the judge: two candidate requests, one baseline request.
    server.clock.advance_ms(2 * SECOND);
    server.controller.tick().await.unwrap();
    let gate = &view(&server, &id).await["gate"];
    let error_rate = gate["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "error_rate")
        .unwrap();
    assert!(
        error_rate["observed"]
            .as_str()
            .unwrap()
            .contains("(1/2) vs baseline 0.0% (0/1)"),
        "{error_rate}"
    );

    // Whole-batch problems are one error.
    let too_many: Vec<Value> = (0..10_001)
        .map(|_| json!({"flag": "cart", "variant": "on", "outcome": "success"}))
        .collect();
    let reply = server.post("/v1/events", Value::Array(too_many)).await;
    reply.assert_error(413, "BATCH_TOO_LARGE", None);
    let reply = server.raw("/v1/events", "[{\"flag\": ").await;
    reply.assert_error(400, "INVALID_JSON", None);
    let reply = server.post("/v1/events", json!({"flag": "cart"})).await;
    reply.assert_error(400, "INVALID_BODY", None);
    let reply = server.post("/v1/events", json!("events")).await;
    reply.assert_error(400, "INVALID_BODY", None);
    // A wrongly typed field gets that field's code and names it.
    let reply = server
        .post(
            "/v1/events",
            json!([{"flag": "cart", "variant": "on", "outcome": "success", "latency_ms": "12"},
                   {"flag": "cart", "variant": "on", "outcome": "success", "ts": -5}]),
        )
        .await;
    assert_eq!(
        reply.body["rejected"][0]["code"], "INVALID_LATENCY",
        "{}",
        reply.body
    );
    assert_eq!(
        reply.body["rejected"][1]["code"], "INVALID_TS",
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_custom_value_regression_rolls_back_and_names_the_value() {
    let server = TestServer::start().await;
    boolean_flag(&server, "basket").await;
    let plan = json!({"flag": "basket", "candidate": "on", "strategy": "custom", "soak": "1h",
                      "steps": [{"percent": 50}, {"percent": 100}],
                      "analysis": {"comparisons": [{"metric": "counter", "counter": "checkout_failed"}]}});
    let id = start(&server, plan).await;
    for _ in 0..60 {
        let at = now(&server);
        let events: Vec<Value> = (0..400)
            .map(|i| {
                let candidate = i % 2 == 0;
                // Checkout fails on one candidate request in ten, one baseline request in a
                // hundred; a large count on one request is still one bad request. Values the
                // analysis doesn't compare are accepted and not kept.
                let failed = if candidate { i % 20 == 0 } else { i % 200 == 1 };
                let mut values = json!({"noise": 7});
                if failed {
                    values["checkout_failed"] = json!(5);
                }
                json!({"flag": "basket", "variant": if candidate { "on" } else { "off" },
                       "outcome": "success", "values": values, "ts": at})
            })
            .collect();
        second(&server, events).await;
        if view(&server, &id).await["phase"] == "rolled_back" {
            break;
        }
    }
    let rollout = view(&server, &id).await;
    assert_eq!(rollout["phase"], "rolled_back", "{}", rollout["gate"]);
    let reason = rollout["rollback"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("candidate checkout_failed rate 10.0% vs baseline 1.0%"),
        "{reason}"
    );
}

#[tokio::test]
async fn escalating_an_automatic_gradual_rollback_keeps_its_timings() {
    let server = TestServer::start().await;
    boolean_flag(&server, "feed").await;
    let plan = json!({"flag": "feed", "candidate": "on", "strategy": "custom", "soak": "1h",
                      "steps": [{"percent": 10}, {"percent": 50}, {"percent": 100}],
                      "rollback": {"mode": "gradual", "step_interval": "1m"}});
    let id = start(&server, plan).await;
    server
        .post(&format!("/v1/rollouts/{id}/promote"), json!({}))
        .await;
    for _ in 0..30 {
        let at = now(&server);
        let mut events = arm("feed", "off", 200, 100, 1.0, at);
        events.extend(arm("feed", "on", 200, 5, 1.0, at));
        second(&server, events).await;
        if view(&server, &id).await["phase"] == "rolling_back" {
            break;
        }
    }
    let rolling = view(&server, &id).await;
    assert_eq!(rolling["phase"], "rolling_back", "{}", rolling["gate"]);
    let timings = rolling["rollback"]["timings"].clone();
    assert!(timings["first_bad_sample_at"].is_i64(), "{timings}");
    let reply = server
        .post(
            &format!("/v1/rollouts/{id}/rollback"),
            json!({"mode": "immediate", "reason": "faster, please"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let done = view(&server, &id).await;
    assert_eq!(done["phase"], "rolled_back");
    assert_eq!(
        done["rollback"]["timings"]["first_bad_sample_at"],
        timings["first_bad_sample_at"]
    );
    assert_eq!(
        done["rollback"]["timings"]["decided_at"],
        timings["decided_at"]
    );
}

#[tokio::test]
async fn a_restart_resumes_the_analysis_from_the_saved_windows() {
    let server = TestServer::start().await;
    boolean_flag(&server, "menu").await;
    let plan = json!({"flag": "menu", "candidate": "on", "strategy": "custom", "soak": "1h",
                      "steps": [{"percent": 50}, {"percent": 100}]});
    let id = start(&server, plan).await;
    let started = now(&server);
    for _ in 0..20 {
        let at = now(&server);
        let mut events = arm("menu", "off", 100, 50, 1.0, at);
        events.extend(arm("menu", "on", 100, 50, 1.0, at));
        second(&server, events).await;
    }
    let error_rate = |view: &Value| {
        view["gate"]["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "error_rate")
            .unwrap()["observed"]
            .clone()
    };
    let before = error_rate(&view(&server, &id).await);
    assert_eq!(
        before, "candidate 2.0% (40/2000) vs baseline 2.0% (40/2000)",
        "20 s of events were judged"
    );
    let elapsed = now(&server) - started;

    // Stop and start on the same data; the new clock is moved to where the old one was.
    let data = server.stop().await;
    let server = TestServer::start_in(data).await;
    server.clock.advance_ms(elapsed);
    // An operator acting before the first tick doesn't start the analysis afresh either.
    for action in ["pause", "resume"] {
        let reply = server
            .post(&format!("/v1/rollouts/{id}/{action}"), json!({}))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    server.controller.tick().await.unwrap();
    assert_eq!(
        error_rate(&view(&server, &id).await),
        before,
        "the saved windows were restored, not started afresh"
    );
    // And the analysis goes on from there.
    let at = now(&server);
    let mut events = arm("menu", "off", 100, 50, 1.0, at);
    events.extend(arm("menu", "on", 100, 50, 1.0, at));
    second(&server, events).await;
    assert_eq!(
        error_rate(&view(&server, &id).await),
        "candidate 2.0% (42/2100) vs baseline 2.0% (42/2100)"
    );
}
