//! Crash safety: SIGKILL a real `rampart serve` mid-rollout and restart it on the same
//! SQLite data dir. The rollout resumes from its persisted state: no step is skipped or
//! repeated, and a soak already served is not restarted from zero.

#[path = "common/serve.rs"]
mod serve;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SOAK_MS: i64 = 800;

fn serve(data_dir: &std::path::Path) -> (Child, String) {
    serve::spawn(data_dir, &["--tick-interval", "20ms"])
}

fn call(method: &str, url: &str, body: Option<Value>) -> Value {
    let mut command = Command::new("curl");
    command.args([
        "-s",
        "-X",
        method,
        url,
        "-H",
        "content-type: application/json",
    ]);
    if let Some(body) = body {
        command.args(["-d", &body.to_string()]);
    }
    let output = command.output().expect("curl runs");
    serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
}

fn unix_ms(rfc3339: &str) -> i64 {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap();
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// When each step started, from the rollout's history.
fn step_starts(view: &Value) -> Vec<(u64, i64)> {
    view["history"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            let at = unix_ms(e["at"].as_str().unwrap());
            e["detail"]["records"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |r| (r, at))
        })
        .filter(|(r, _)| r["event"] == "step_started")
        .map(|(r, at)| (r["detail"]["step"].as_u64().unwrap(), at))
        .collect()
}

fn wait_for(url: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let view = call("GET", &format!("{url}/v1/rollouts/1"), None);
        if done(&view) {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {view}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigkill_mid_rollout_then_restart_resumes_exactly() {
    let data_dir = tempfile::tempdir().unwrap();
    let (mut first, url) = serve(data_dir.path());
    let flag = json!({"key": "checkout", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off"});
    assert_eq!(
        call("POST", &format!("{url}/v1/flags"), Some(flag))["flag"]["key"],
        "checkout"
    );
    // no_data: pass lets the soak alone gate each step, so timing is the only variable here.
    let plan = json!({"flag": "checkout", "candidate": "on", "strategy": "custom", "soak": format!("{SOAK_MS}ms"),
                      "analysis": {"no_data": "pass"}, "steps": [{"percent": 10}, {"percent": 30}, {"percent": 60}, {"percent": 100}]});
    assert_eq!(
        call("POST", &format!("{url}/v1/rollouts"), Some(plan))["id"],
        1
    );

    // Kill it partway through step 2's soak.
    let at_step_2 = wait_for(&url, "step 2", |v| v["step"] == 1);
    let step_2_started = step_starts(&at_step_2).last().unwrap().1;
    let wait = (step_2_started + SOAK_MS / 2 - now_ms()).max(0) as u64;
    std::thread::sleep(Duration::from_millis(wait));
    first.kill().unwrap(); // SIGKILL: no shutdown hook runs.
    first.wait().unwrap();
    let killed_during = call("GET", &format!("{url}/v1/rollouts/1"), None);
    assert!(killed_during.is_null(), "the server is gone");

    let restarted_at = now_ms();
    let (mut second, url) = serve(data_dir.path());
    let resumed = call("GET", &format!("{url}/v1/rollouts/1"), None);
    assert!(
        resumed["step"].as_u64().unwrap() >= 1,
        "it resumes from its persisted step, not from the start: {resumed}"
    );
    let done = wait_for(&url, "completion", |v| v["phase"] == "completed");
    // The flag ended fully on the candidate.
    let served = call(
        "POST",
        &format!("{url}/ofrep/v1/evaluate/flags/checkout"),
        Some(json!({"context": {"targetingKey": "x"}})),
    );
    assert_eq!(served["value"], true, "{served}");
    second.kill().unwrap();
    second.wait().unwrap();

    let starts = step_starts(&done);
    let steps: Vec<u64> = starts.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        steps,
        vec![0, 1, 2, 3],
        "each step entered exactly once, in order"
    );
    // Step 3 started when step 2's soak (counted from step 2's start) ran out, or at the
    // first tick after the restart if that was later — not a whole soak after the restart.
    let step_3_started = starts[2].1;
    assert!(
        step_3_started - step_2_started >= SOAK_MS,
        "step 2 soaked for its full {SOAK_MS} ms"
    );
    assert!(
        step_3_started - restarted_at < SOAK_MS,
        "the soak served before the crash counts: step 3 began {} ms after the restart",
        step_3_started - restarted_at
    );
}
