//! The server under a store that fails: a committed change is answered as committed and
//! served, whatever happens to reads afterwards (issue #9, a reload failure after a commit).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rampart_model::{FlagSpec, SegmentSpec};
use rampart_store::{
    ChangeSet, Committed, HealthWindow, HistoryEntry, RolloutEvent, RolloutId, RolloutRecord,
    SqliteStore, Store, StoreError, StoredConfig,
};
use serde_json::json;

use super::support::TestServer;

/// A real SQLite store whose whole-config reads fail once `broken` is set, as a disk or
/// pool failure right after a commit would.
#[derive(Debug)]
struct ReadsFailAfterStart {
    inner: SqliteStore,
    broken: Arc<AtomicBool>,
}

fn read_failure() -> StoreError {
    StoreError::Corrupt {
        what: "the test store".to_owned(),
        reason: "reads fail on purpose".to_owned(),
    }
}

#[async_trait::async_trait]
impl Store for ReadsFailAfterStart {
    async fn load(&self) -> Result<StoredConfig, StoreError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(read_failure());
        }
        self.inner.load().await
    }

    async fn commit(&self, changes: ChangeSet) -> Result<Committed, StoreError> {
        self.inner.commit(changes).await
    }

    async fn flag_history(&self, key: &str) -> Result<Vec<HistoryEntry<FlagSpec>>, StoreError> {
        self.inner.flag_history(key).await
    }

    async fn segment_history(
        &self,
        name: &str,
    ) -> Result<Vec<HistoryEntry<SegmentSpec>>, StoreError> {
        self.inner.segment_history(name).await
    }

    async fn rollouts(
        &self,
        flag: Option<&str>,
        active_only: bool,
    ) -> Result<Vec<RolloutRecord>, StoreError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(read_failure());
        }
        self.inner.rollouts(flag, active_only).await
    }

    async fn rollout_page(
        &self,
        flag: Option<&str>,
        active_only: bool,
        before: Option<RolloutId>,
        limit: u32,
    ) -> Result<Vec<RolloutRecord>, StoreError> {
        self.inner
            .rollout_page(flag, active_only, before, limit)
            .await
    }

    async fn rollout(&self, id: RolloutId) -> Result<Option<RolloutRecord>, StoreError> {
        self.inner.rollout(id).await
    }

    async fn ledger(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<rampart_ledger::Entry>, StoreError> {
        self.inner.ledger(after, limit).await
    }

    fn set_ledger_signer(&self, signer: rampart_ledger::Signer) {
        self.inner.set_ledger_signer(signer);
    }

    async fn ledger_head(&self) -> Result<Option<rampart_ledger::Head>, StoreError> {
        self.inner.ledger_head().await
    }

    async fn rollout_events(&self, id: RolloutId) -> Result<Vec<RolloutEvent>, StoreError> {
        self.inner.rollout_events(id).await
    }

    async fn save_health(
        &self,
        rollout: RolloutId,
        windows: &[HealthWindow],
    ) -> Result<(), StoreError> {
        self.inner.save_health(rollout, windows).await
    }

    async fn health(&self, rollout: RolloutId) -> Result<Vec<HealthWindow>, StoreError> {
        self.inner.health(rollout).await
    }
}

#[tokio::test]
async fn issue_9_a_committed_change_is_answered_and_served_when_reads_fail_after_it() {
    let broken = Arc::new(AtomicBool::new(false));
    let store = ReadsFailAfterStart {
        inner: SqliteStore::in_memory().await.unwrap(),
        broken: broken.clone(),
    };
    let server = TestServer::start_with_store(Arc::new(store)).await;
    broken.store(true, Ordering::SeqCst);

    let flag = json!({"key": "checkout", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "on"});
    let created = server.post("/v1/flags", flag).await;
    assert_eq!(
        created.status, 201,
        "the change committed: {}",
        created.body
    );
    assert_eq!(created.body["revision"], 1);
    let served = server.eval("checkout", json!({"targetingKey": "u"})).await;
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(served.body["value"], true);
    assert_eq!(served.body["metadata"]["revision"], 1);

    // A later write validates against the committed state, not a stale one.
    let dependent = json!({"key": "dependent", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off",
        "prerequisites": [{"flag": "checkout", "variant": "on"}]});
    assert_eq!(server.post("/v1/flags", dependent).await.status, 201);
    let disabled = server.post("/v1/flags/checkout/disable", json!(null)).await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    let served = server.eval("checkout", json!({"targetingKey": "u"})).await;
    assert_eq!(served.body["reason"], "DISABLED");
    assert_eq!(served.body["metadata"]["revision"], 3);
}

#[tokio::test]
async fn issue_9_readiness_neither_loads_nor_revalidates_the_configuration() {
    let broken = Arc::new(AtomicBool::new(false));
    let store = ReadsFailAfterStart {
        inner: SqliteStore::in_memory().await.unwrap(),
        broken: broken.clone(),
    };
    let server = TestServer::start_with_store(Arc::new(store)).await;
    let flag = json!({"key": "checkout", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "on"});
    assert_eq!(server.post("/v1/flags", flag).await.status, 201);
    // Whole-config reads now fail: a probe that loaded the config would answer 500.
    broken.store(true, Ordering::SeqCst);
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.body["revision"], 1);
    assert_eq!(ready.body["ledger_seq"], 1);
}

/// A chain of `length` prerequisites under keys `{prefix}00`…, each needing the next `on`.
async fn chain(server: &TestServer, prefix: &str, length: usize) {
    let flags: Vec<serde_json::Value> = (0..=length)
        .map(|i| {
            let mut flag = json!({"key": format!("{prefix}{i:02}"), "kind": "boolean",
                "variants": {"on": true, "off": false}, "default_variant": "on"});
            if i < length {
                flag["prerequisites"] =
                    json!([{"flag": format!("{prefix}{:02}", i + 1), "variant": "on"}]);
            }
            flag
        })
        .collect();
    let reply = server
        .post("/v1/apply", json!({"document": {"flags": flags}}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn issue_9_a_stored_config_that_a_newer_check_refuses_still_starts_and_serves() {
    let server = TestServer::start().await;
    chain(&server, "a", 10).await;
    chain(&server, "b", 10).await;
    boolean_flag_on(&server, "healthy").await;
    let data_dir = server.stop().await;
    // As if written by a release without the depth limit: a10 now needs b00, a 21-level chain.
    let url = format!("sqlite://{}", data_dir.path().join("rampart.db").display());
    let mut raw = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE flags SET body = json_set(body, '$.prerequisites', json('[{\"flag\":\"b00\",\"variant\":\"on\"}]')) WHERE key = 'a10'",
    )
    .execute(&mut raw)
    .await
    .unwrap();
    drop(raw);

    let server = TestServer::start_in(data_dir).await;
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    let diagnostics = ready.body["diagnostics"].as_array().unwrap();
    assert!(!diagnostics.is_empty(), "{}", ready.body);
    assert!(
        diagnostics
            .iter()
            .all(|d| d["code"] == "PREREQUISITE_TOO_DEEP"),
        "{}",
        ready.body
    );
    // Every other flag serves; the over-deep one is an evaluation error, not an outage.
    let healthy = server.eval("healthy", json!({"targetingKey": "u"})).await;
    assert_eq!(healthy.body["value"], true, "{}", healthy.body);
    assert_eq!(server.eval("b05", json!({})).await.body["value"], true);
    let deep = server.eval("a00", json!({})).await;
    assert_eq!(deep.body["errorCode"], "GENERAL", "{}", deep.body);
    // Writes that add no problem work, and fixing the chain clears the diagnostics.
    assert_eq!(
        server
            .post("/v1/flags/healthy/disable", json!(null))
            .await
            .status,
        200
    );
    let fixed = json!({"key": "a10", "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "on"});
    let reply = server.put("/v1/flags/a10", fixed, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let ready = server.get("/readyz").await;
    assert_eq!(ready.body["diagnostics"], json!([]), "{}", ready.body);
    assert_eq!(server.eval("a00", json!({})).await.body["value"], true);
}

async fn boolean_flag_on(server: &TestServer, key: &str) {
    let flag = json!({"key": key, "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "on"});
    assert_eq!(server.post("/v1/flags", flag).await.status, 201);
}
