//! The conformance suite itself must fail a misbehaving store, naming the broken cases.

use rampart_model::{FlagSpec, SegmentSpec};
use rampart_store::{
    Change, ChangeSet, Committed, HealthWindow, HistoryEntry, RolloutEvent, RolloutId,
    RolloutRecord, SqliteStore, Store, StoreError, StoredConfig, conformance,
};

/// What a misbehaving store gets wrong; everything else is a real SQLite store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    /// `flag_history` is always empty.
    ForgetsFlagHistory,
    /// `rollouts` lists oldest first.
    ListsRolloutsOldestFirst,
    /// An update names whatever version is current: last write wins.
    IgnoresRolloutVersions,
}

#[derive(Debug)]
struct FaultyStore {
    inner: SqliteStore,
    defect: Defect,
}

#[async_trait::async_trait]
impl Store for FaultyStore {
    async fn load(&self) -> Result<StoredConfig, StoreError> {
        self.inner.load().await
    }

    async fn commit(&self, mut changes: ChangeSet) -> Result<Committed, StoreError> {
        if self.defect == Defect::IgnoresRolloutVersions {
            for change in &mut changes.changes {
                if let Change::UpdateRollout {
                    id,
                    expected_version,
                    ..
                } = change
                    && let Some(current) = self.inner.rollout(*id).await?
                {
                    *expected_version = current.version;
                }
            }
        }
        self.inner.commit(changes).await
    }

    async fn flag_history(&self, key: &str) -> Result<Vec<HistoryEntry<FlagSpec>>, StoreError> {
        if self.defect == Defect::ForgetsFlagHistory {
            return Ok(Vec::new());
        }
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
        let mut rollouts = self.inner.rollouts(flag, active_only).await?;
        if self.defect == Defect::ListsRolloutsOldestFirst {
            rollouts.reverse();
        }
        Ok(rollouts)
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

/// Runs the whole suite against a store with `defect`; returns the failure message.
async fn failures_with(defect: Defect) -> String {
    let outcome = tokio::spawn(conformance::run_all(move || async move {
        FaultyStore {
            inner: SqliteStore::in_memory().await.expect("in-memory store"),
            defect,
        }
    }))
    .await;
    let payload = outcome.expect_err("the suite must fail").into_panic();
    *payload.downcast::<String>().expect("a formatted message")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_fails_a_store_that_forgets_flag_history() {
    let message = failures_with(Defect::ForgetsFlagHistory).await;
    assert!(
        message.contains("delete_then_history_shows_every_version"),
        "{message}"
    );
    assert!(
        !message.contains("create_twice_fails_with_already_exists"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_fails_a_store_that_lists_rollouts_oldest_first() {
    let message = failures_with(Defect::ListsRolloutsOldestFirst).await;
    assert!(
        message.contains("listing_filters_by_flag_and_active_newest_first"),
        "{message}"
    );
    assert!(
        !message.contains("update_with_current_version_bumps_it_and_continues_event_seq"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_fails_a_store_that_ignores_rollout_versions() {
    let message = failures_with(Defect::IgnoresRolloutVersions).await;
    assert!(
        message.contains("stale_rollout_version_fails_with_conflict"),
        "{message}"
    );
    assert!(
        message.contains("failed_rollout_update_rolls_back_the_flag_change"),
        "{message}"
    );
    assert!(
        !message.contains("listing_filters_by_flag_and_active_newest_first"),
        "{message}"
    );
}
