//! The [`Store`] trait, which every backend implements, and the values it returns.

use rampart_model::{Flag, FlagSpec, Revision, Segment, SegmentSpec};

use crate::At;
use crate::change::ChangeSet;
use crate::error::StoreError;
use crate::rollout::{HealthWindow, RolloutEvent, RolloutId, RolloutRecord};

/// Durable configuration storage. Implementations must pass [`crate::conformance`].
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Everything current: the config revision, each flag and segment with its metadata.
    /// Flags are sorted by key and segments by name; all of it is read from one snapshot.
    async fn load(&self) -> Result<StoredConfig, StoreError>;

    /// Applies all changes in ONE transaction and bumps the config revision exactly once.
    /// Checks every precondition inside the transaction; any failure rolls back everything.
    /// Returns the new revision (every changed flag, segment and rollout gets this revision
    /// as its own, and every appended rollout event carries it) and the ids of the rollouts
    /// created. An empty change set writes nothing and returns the current revision.
    async fn commit(&self, changes: ChangeSet) -> Result<Committed, StoreError>;

    /// Every version of a flag, oldest first, including deletions. Empty if it never existed.
    async fn flag_history(&self, key: &str) -> Result<Vec<HistoryEntry<FlagSpec>>, StoreError>;
    /// Ledger entries with `seq > after`, oldest first, at most `limit`.
    async fn ledger(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<rampart_ledger::Entry>, StoreError>;
    /// From now on, sign one ledger entry per change with `signer`, in the same transaction.
    /// Until a signer is set, every non-empty commit fails with [`StoreError::NoSigner`]: no
    /// change can commit without its ledger entry.
    fn set_ledger_signer(&self, signer: rampart_ledger::Signer);
    /// The newest ledger entry's seq and hash; `None` while the ledger is empty.
    async fn ledger_head(&self) -> Result<Option<rampart_ledger::Head>, StoreError>;

    /// Every version of a segment, oldest first, including deletions.
    async fn segment_history(
        &self,
        name: &str,
    ) -> Result<Vec<HistoryEntry<SegmentSpec>>, StoreError>;

    /// Rollouts, newest (highest id) first: only `flag`'s when given, only active ones when
    /// `active_only`.
    async fn rollouts(
        &self,
        flag: Option<&str>,
        active_only: bool,
    ) -> Result<Vec<RolloutRecord>, StoreError>;

    /// A page of [`Store::rollouts`]: at most `limit` of them, newest first, with ids below
    /// `before` when given.
    async fn rollout_page(
        &self,
        flag: Option<&str>,
        active_only: bool,
        before: Option<RolloutId>,
        limit: u32,
    ) -> Result<Vec<RolloutRecord>, StoreError>;

    /// One rollout, or `None` if there is no such id.
    async fn rollout(&self, id: RolloutId) -> Result<Option<RolloutRecord>, StoreError>;

    /// A rollout's events, by seq (oldest first). Empty for an unknown id.
    async fn rollout_events(&self, id: RolloutId) -> Result<Vec<RolloutEvent>, StoreError>;

    /// Saves sealed health windows of a rollout in one transaction (replacing any already
    /// saved with the same arm and index). Not a config change: no revision, no ledger entry.
    /// `NotFound` for an unknown rollout.
    async fn save_health(
        &self,
        rollout: RolloutId,
        windows: &[HealthWindow],
    ) -> Result<(), StoreError>;

    /// Every saved health window of a rollout, by arm then index. Empty for an unknown id.
    async fn health(&self, rollout: RolloutId) -> Result<Vec<HealthWindow>, StoreError>;
}

/// What a successful commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The config revision after the commit.
    pub revision: Revision,
    /// The time stamped on every row and ledger entry the commit wrote: the change set's `at`,
    /// or the previous commit's time if the clock went back.
    pub at: At,
    /// The ids assigned to the change set's [`crate::Change::CreateRollout`]s, in order.
    pub created_rollouts: Vec<RolloutId>,
}

/// The whole current configuration.
#[derive(Debug, Clone)]
pub struct StoredConfig {
    pub revision: Revision,
    pub flags: Vec<Stored<Flag>>,
    pub segments: Vec<Stored<Segment>>,
}

impl StoredConfig {
    pub fn flag(&self, key: &str) -> Option<&Stored<Flag>> {
        self.flags.iter().find(|stored| stored.value.key() == key)
    }

    pub fn segment(&self, name: &str) -> Option<&Stored<Segment>> {
        self.segments
            .iter()
            .find(|stored| stored.value.name() == name)
    }
}

/// A stored object with its metadata. `revision` is the config revision of its last change.
#[derive(Debug, Clone)]
pub struct Stored<T> {
    pub value: T,
    pub revision: Revision,
    pub created_at: At,
    pub updated_at: At,
    pub updated_by: String,
}

/// One version of an object. `value` is `None` for a deletion.
///
/// Values are specs, not validated objects: an old version stays readable even if a later
/// release of Rampart would reject it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry<T> {
    pub revision: Revision,
    pub at: At,
    pub actor: String,
    pub op: HistoryOp,
    pub value: Option<T>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryOp {
    Created,
    Updated,
    Deleted,
}

impl HistoryOp {
    /// The name stored in the database and used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryOp::Created => "created",
            HistoryOp::Updated => "updated",
            HistoryOp::Deleted => "deleted",
        }
    }

    pub fn parse(name: &str) -> Option<HistoryOp> {
        match name {
            "created" => Some(HistoryOp::Created),
            "updated" => Some(HistoryOp::Updated),
            "deleted" => Some(HistoryOp::Deleted),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HistoryOp;

    #[test]
    fn history_ops_use_one_snake_case_name_in_json_and_in_the_database() {
        for op in [HistoryOp::Created, HistoryOp::Updated, HistoryOp::Deleted] {
            let json = serde_json::to_string(&op).expect("serialize");
            assert_eq!(json, format!("\"{}\"", op.as_str()));
            assert_eq!(HistoryOp::parse(op.as_str()), Some(op));
        }
        assert_eq!(HistoryOp::parse("Created"), None);
    }
}
