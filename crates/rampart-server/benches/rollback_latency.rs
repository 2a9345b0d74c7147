//! Rollback latency: from sending a rollback request to OFREP serving the new weights.
//!
//! A real server (SQLite in a temp dir, `synchronous=FULL`) on loopback. Each run creates a
//! flag, rolls it out to 100% (`instant`), then measures: POST rollback → first OFREP
//! evaluation that serves the baseline. 100 runs; prints the median, p90 and max.
//!
//! Run: `cargo bench -p rampart-server --bench rollback_latency`

mod support;

use std::time::{Duration, Instant};

use serde_json::json;

use support::{BenchServer, summary};

const RUNS: usize = 100;

#[tokio::main]
async fn main() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = rampart_server::Config::sqlite(data_dir.path());
    config.run_controller = false;
    let server = BenchServer::start(&config).await;

    let mut total = Vec::with_capacity(RUNS);
    let mut request_only = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let key = format!("flag-{run}");
        let flag = json!({"key": key, "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off"});
        assert_eq!(server.post("/v1/flags", &flag).await.0, 201);
        let (status, rollout) = server
            .post(
                "/v1/rollouts",
                &json!({"flag": key, "candidate": "on", "strategy": "instant"}),
            )
            .await;
        assert_eq!(status, 201, "{rollout}");
        let context = json!({"context": {"targetingKey": "user-1"}});
        let eval_path = format!("/ofrep/v1/evaluate/flags/{key}");
        assert_eq!(
            server.post(&eval_path, &context).await.1["value"],
            true,
            "at 100% before the rollback"
        );

        let started = Instant::now();
        let (status, _) = server
            .post(
                &format!("/v1/rollouts/{}/rollback", rollout["id"]),
                &json!({"reason": "bench"}),
            )
            .await;
        request_only.push(started.elapsed());
        assert_eq!(status, 200);
        // Poll OFREP until the baseline is served (bounded).
        while server.post(&eval_path, &context).await.1["value"] != false {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "rollback not served within 5 s"
            );
        }
        total.push(started.elapsed());
    }
    server.stop().await;

    let (m, p90, max) = summary(&mut total);
    let (rm, rp90, rmax) = summary(&mut request_only);
    println!("| measure ({RUNS} runs) | median | p90 | max |");
    println!("|---|---|---|---|");
    println!(
        "| rollback request → new weights served by OFREP | {m:.2} ms | {p90:.2} ms | {max:.2} ms |"
    );
    println!(
        "| rollback request alone (commit + publish) | {rm:.2} ms | {rp90:.2} ms | {rmax:.2} ms |"
    );
}
