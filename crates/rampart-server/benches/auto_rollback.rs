//! Automatic rollback latency: from the judge's failing decision to the restored weights
//! being served (budget ≤ 100 ms, DESIGN §6).
//!
//! A real server (SQLite in a temp dir, `synchronous=FULL`) on loopback with a manual clock.
//! Each run creates a flag, starts a 50% rollout, posts one second of traffic in which the
//! candidate fails 10% of requests against the baseline's 1% (`POST /v1/events`), moves the
//! clock past that window, and runs one controller tick. Measured per run:
//! - `decision_to_served_us` as the rollout records it (decision → weights committed with
//!   their ledger entry and published), on the server's monotonic clock;
//! - tick start (judge included) → the first OFREP evaluation that serves the baseline.
//!
//! Run: `cargo bench -p rampart-server --bench auto_rollback`

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart_server::clock::ManualClock;
use serde_json::{Value, json};

use support::{BenchServer, summary};

const RUNS: usize = 100;

#[tokio::main]
async fn main() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(ManualClock::starting_at(1_800_000_000_000));
    let mut config = rampart_server::Config::sqlite(data_dir.path());
    config.run_controller = false;
    config.clock = clock.clone();
    let server = BenchServer::start(&config).await;

    let mut recorded = Vec::with_capacity(RUNS);
    let mut observed = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let key = format!("flag-{run}");
        let flag = json!({"key": key, "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off"});
        assert_eq!(server.post("/v1/flags", &flag).await.0, 201);
        let plan = json!({"flag": key, "candidate": "on", "strategy": "custom", "soak": "1h",
                          "steps": [{"percent": 50}, {"percent": 100}]});
        let (status, rollout) = server.post("/v1/rollouts", &plan).await;
        assert_eq!(status, 201, "{rollout}");
        let id = rollout["id"].clone();
        let events: Vec<Value> = (0..2_000)
            .map(|i| {
                let (variant, error) = if i % 2 == 0 {
                    ("on", i % 20 == 0)
                } else {
                    ("off", i % 200 == 1)
                };
                json!({"flag": key, "variant": variant,
                       "outcome": if error { "error" } else { "success" }, "latency_ms": 40})
            })
            .collect();
        let (status, body) = server.post("/v1/events", &Value::Array(events)).await;
        assert_eq!(status, 200, "{body}");
        clock.advance_ms(1_000);

        let context = json!({"context": {"targetingKey": "user-1"}});
        let eval_path = format!("/ofrep/v1/evaluate/flags/{key}");
        let started = Instant::now();
        server.controller.tick().await.expect("tick");
        while server.post(&eval_path, &context).await.1["value"] != false {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "rollback not served within 5 s"
            );
        }
        observed.push(started.elapsed());
        let (_, view) = server
            .call(reqwest::Method::GET, &format!("/v1/rollouts/{id}"), None)
            .await;
        assert_eq!(view["phase"], "rolled_back", "{view}");
        let us = view["rollback"]["timings"]["decision_to_served_us"]
            .as_u64()
            .expect("timings recorded");
        recorded.push(Duration::from_micros(us));
    }
    server.stop().await;

    let (m, p90, max) = summary(&mut recorded);
    let (om, op90, omax) = summary(&mut observed);
    println!("| measure ({RUNS} runs) | median | p90 | max |");
    println!("|---|---|---|---|");
    println!(
        "| judge's fail decision → restored weights committed + published (recorded on the rollout) | {m:.2} ms | {p90:.2} ms | {max:.2} ms |"
    );
    println!(
        "| tick start (judge included) → baseline served by OFREP | {om:.2} ms | {op90:.2} ms | {omax:.2} ms |"
    );
}
