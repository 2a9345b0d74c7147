//! Rollback latency: from sending a rollback request to OFREP serving the new weights.
//!
//! A real server (SQLite in a temp dir, `synchronous=FULL`) on loopback. Each run creates a
//! flag, rolls it out to 100% (`instant`), then measures: POST rollback → first OFREP
//! evaluation that serves the baseline. 100 runs; prints the median, p90 and max.
//!
//! Run: `cargo bench -p rampart-server --bench rollback_latency`

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const RUNS: usize = 100;

#[tokio::main]
async fn main() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = rampart_server::Config::sqlite(data_dir.path());
    config.run_controller = false;
    let app = rampart_server::App::open(&config)
        .await
        .expect("server opens");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let post = |path: String, body: Value| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let response = http
                .post(format!("{url}{path}"))
                .json(&body)
                .send()
                .await
                .expect("request");
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    };

    let mut total = Vec::with_capacity(RUNS);
    let mut request_only = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let key = format!("flag-{run}");
        let flag = json!({"key": key, "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off"});
        assert_eq!(post("/v1/flags".into(), flag).await.0, 201);
        let (status, rollout) = post(
            "/v1/rollouts".into(),
            json!({"flag": key, "candidate": "on", "strategy": "instant"}),
        )
        .await;
        assert_eq!(status, 201, "{rollout}");
        let context = json!({"context": {"targetingKey": "user-1"}});
        let eval_path = format!("/ofrep/v1/evaluate/flags/{key}");
        assert_eq!(
            post(eval_path.clone(), context.clone()).await.1["value"],
            true,
            "at 100% before the rollback"
        );

        let started = Instant::now();
        let (status, _) = post(
            format!("/v1/rollouts/{}/rollback", rollout["id"]),
            json!({"reason": "bench"}),
        )
        .await;
        request_only.push(started.elapsed());
        assert_eq!(status, 200);
        // Poll OFREP until the baseline is served (bounded).
        loop {
            if post(eval_path.clone(), context.clone()).await.1["value"] == false {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "rollback not served within 5 s"
            );
        }
        total.push(started.elapsed());
    }
    let _ = stop.send(());
    let _ = server.await;

    let summary = |samples: &mut Vec<Duration>| {
        samples.sort();
        let at = |q: f64| {
            samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0
        };
        (at(0.5), at(0.9), at(1.0))
    };
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
