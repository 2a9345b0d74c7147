//! The audit ledger through the API: exactly one signed entry per committed change (none
//! for a rejected one), no fork and no gap under 8 parallel writers, key rotation, and the
//! evidence of rollout decisions.

use reqwest::Method;
use serde_json::{Value, json};

use super::support::{TestServer, seed};

async fn entries(server: &TestServer) -> Vec<Value> {
    let page = server.get("/v1/ledger?limit=1000").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body["entries"].as_array().unwrap().clone()
}

async fn verified(server: &TestServer) -> Value {
    let report = server.post("/v1/ledger/verify", json!({})).await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["ok"], true, "{}", report.body);
    report.body
}

#[tokio::test]
async fn every_change_has_exactly_one_entry() {
    let server = TestServer::start().await;
    assert!(entries(&server).await.is_empty());
    seed(&server).await; // a segment and a flag: two changes
    let actions: Vec<(String, String)> = entries(&server)
        .await
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["subject"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("segment.put".into(), "segment:internal".into()),
            ("flag.put".into(), "flag:new-checkout".into())
        ]
    );

    // A rejected change writes nothing; a no-op writes nothing.
    let bad =
        json!({"key": "x", "kind": "boolean", "variants": {"on": "yes"}, "default_variant": "on"});
    assert_eq!(server.post("/v1/flags", bad).await.status, 400);
    assert_eq!(
        server
            .post("/v1/flags/new-checkout/enable", json!(null))
            .await
            .status,
        200
    );
    assert_eq!(entries(&server).await.len(), 2);

    // The kill switch, an apply of two new flags, and a deletion: one entry per change.
    assert_eq!(
        server
            .post("/v1/flags/new-checkout/disable", json!(null))
            .await
            .status,
        200
    );
    let document = json!({"flags": [
        {"key": "a", "kind": "boolean", "variants": {"on": true}, "default_variant": "on"},
        {"key": "b", "kind": "boolean", "variants": {"on": true}, "default_variant": "on"}]});
    assert_eq!(
        server
            .post("/v1/apply", json!({"document": document}))
            .await
            .status,
        200
    );
    assert_eq!(
        server
            .call(
                Method::DELETE,
                "/v1/flags/a",
                None,
                &[("x-rampart-actor", "oncall")]
            )
            .await
            .status,
        200
    );
    let all = entries(&server).await;
    let seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=6).collect::<Vec<_>>());
    assert_eq!(
        all[2]["detail"]["flag"]["state"], "disabled",
        "the entry carries the whole new flag"
    );
    assert_eq!(all[5]["action"], "flag.delete");
    assert_eq!(all[5]["actor"], "oncall");
    let report = verified(&server).await;
    assert_eq!(report["entries"], 6);
    let head = server.get("/v1/ledger/head").await.body;
    assert_eq!(head, json!({"seq": 6, "hash": all[5]["hash"]}));
    assert_eq!(report["head"], head);
}

#[tokio::test]
async fn eight_parallel_writers_leave_no_fork_and_no_gap() {
    let server = std::sync::Arc::new(TestServer::start().await);
    let mut writers = Vec::new();
    for writer in 0..8 {
        let server = server.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..10 {
                let flag = json!({"key": format!("w{writer}-f{i}"), "kind": "boolean", "variants": {"on": true}, "default_variant": "on"});
                assert_eq!(server.post("/v1/flags", flag).await.status, 201);
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let all = entries(&server).await;
    assert_eq!(all.len(), 80);
    let seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=80).collect::<Vec<_>>(),
        "seq is unique and gap-free"
    );
    for pair in all.windows(2) {
        assert_eq!(
            pair[1]["prev_hash"], pair[0]["hash"],
            "each entry links to the head it followed"
        );
    }
    let mut subjects: Vec<&str> = all.iter().map(|e| e["subject"].as_str().unwrap()).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 80, "every change exactly once");
    verified(&server).await;
}

#[tokio::test]
async fn rotation_is_signed_by_the_old_key_and_followed_by_verify() {
    let server = TestServer::start().await;
    seed(&server).await;
    let before = server.get("/v1/ledger/key").await.body;
    let rotated = server.post("/v1/ledger/rotate-key", json!(null)).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_ne!(rotated.body["key_id"], before["key_id"]);
    assert_eq!(rotated.body["public_keys"].as_array().unwrap().len(), 2);
    assert_eq!(
        server
            .post("/v1/flags/new-checkout/disable", json!(null))
            .await
            .status,
        200
    );
    let all = entries(&server).await;
    assert_eq!(all[2]["action"], "key_rotated");
    assert_eq!(
        all[2]["key_id"], before["key_id"],
        "the old key signs the rotation"
    );
    assert_eq!(
        all[3]["key_id"], rotated.body["key_id"],
        "later entries use the new key"
    );
    let report = verified(&server).await;
    assert_eq!(report["keys_seen"].as_array().unwrap().len(), 2);
    // Trusting only the new key cannot vouch for the history before it.
    let report = server
        .post(
            "/v1/ledger/verify",
            json!({"public_keys": [rotated.body["public_key"]]}),
        )
        .await
        .body;
    assert_eq!(report["ok"], false);
    assert_eq!(report["first_bad"]["seq"], 1);
    // The head anchors history: a wrong hash for a real seq is reported.
    let head = format!("2:{}", all[2]["hash"].as_str().unwrap());
    let report = server
        .post("/v1/ledger/verify", json!({"expect_head": head}))
        .await
        .body;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["first_bad"]["reason"], "head_mismatch");
}

#[tokio::test]
async fn rollout_decisions_are_ledgered_with_their_evidence() {
    let server = TestServer::start().await;
    let flag = json!({"key": "dark", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off"});
    assert_eq!(server.post("/v1/flags", flag).await.status, 201);
    let plan = json!({"flag": "dark", "candidate": "on", "strategy": "custom", "soak": "1m", "analysis": {"no_data": "pass"}, "steps": [{"percent": 50}, {"percent": 100}]});
    let id = server.post("/v1/rollouts", plan).await.body["id"].clone();
    server.clock.advance_ms(60_000);
    server.controller.tick().await.unwrap();
    let reply = server
        .post(
            &format!("/v1/rollouts/{id}/rollback"),
            json!({"reason": "p99 doubled", "mode": "kill"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let all = entries(&server).await;
    let rollout: Vec<&Value> = all
        .iter()
        .filter(|e| e["subject"] == format!("rollout:{id}"))
        .collect();
    let actions: Vec<&str> = rollout
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "rollout.create",
            "rollout.transition",
            "rollout.transition",
            "rollout.transition"
        ]
    );
    let tick = &rollout[1]["detail"]["events"][0];
    assert_eq!(tick["event"], "tick");
    assert_eq!(tick["detail"]["decision"]["verdict"], "pass");
    let criteria = tick["detail"]["decision"]["criteria"].as_array().unwrap();
    let names: Vec<&str> = criteria
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["error_rate", "latency_p99", "soak", "samples"]);
    let rollback = &rollout[2]["detail"]["events"][0];
    assert_eq!(rollback["detail"]["reason"], "p99 doubled");
    assert_eq!(rollback["to"], "rolled_back");
    // Then the moment its weights were served, for the rollback's timings.
    let served = &rollout[3]["detail"]["events"][0];
    assert_eq!(served["event"], "rollback_served");
    assert!(served["detail"]["timings"]["decision_to_served_us"].is_u64());
    // The flag changes of those transitions are in the same commits, ledgered beside them.
    assert!(
        all.iter()
            .any(|e| e["action"] == "flag.put" && e["detail"]["flag"]["state"] == "disabled")
    );
    verified(&server).await;
}

#[tokio::test]
async fn issue_9_rotating_a_key_given_by_path_is_key_not_rotatable_not_in_use() {
    let data_dir = tempfile::tempdir().unwrap();
    let key_file = data_dir.path().join("owned.key");
    std::fs::write(&key_file, "11".repeat(32)).unwrap();
    let server = TestServer::start_configured(data_dir, |config| {
        config.ledger_key_file = Some(key_file);
    })
    .await;
    let reply = server.post("/v1/ledger/rotate-key", json!(null)).await;
    reply.assert_error(409, "KEY_NOT_ROTATABLE", None);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--ledger-key")
    );
}
