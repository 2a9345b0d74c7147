//! The conformance suite itself must fail a misbehaving store, naming the broken cases.

use rampart_model::{FlagSpec, Revision, SegmentSpec};
use rampart_store::{
    ChangeSet, HistoryEntry, SqliteStore, Store, StoreError, StoredConfig, conformance,
};

/// A store that forgets history: everything else is a real SQLite store.
#[derive(Debug)]
struct ForgetfulStore(SqliteStore);

#[async_trait::async_trait]
impl Store for ForgetfulStore {
    async fn load(&self) -> Result<StoredConfig, StoreError> {
        self.0.load().await
    }

    async fn commit(&self, changes: ChangeSet) -> Result<Revision, StoreError> {
        self.0.commit(changes).await
    }

    async fn flag_history(&self, _key: &str) -> Result<Vec<HistoryEntry<FlagSpec>>, StoreError> {
        Ok(Vec::new())
    }

    async fn segment_history(
        &self,
        name: &str,
    ) -> Result<Vec<HistoryEntry<SegmentSpec>>, StoreError> {
        self.0.segment_history(name).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_fails_a_store_that_forgets_flag_history() {
    let outcome = tokio::spawn(conformance::run_all(|| async {
        ForgetfulStore(SqliteStore::in_memory().await.expect("in-memory store"))
    }))
    .await;
    let payload = outcome.expect_err("the suite must fail").into_panic();
    let message = payload
        .downcast_ref::<String>()
        .expect("a formatted message");
    assert!(
        message.contains("delete_then_history_shows_every_version"),
        "{message}"
    );
    assert!(
        !message.contains("create_twice_fails_with_already_exists"),
        "{message}"
    );
}
