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
