//! What a commit applies: a [`ChangeSet`] of [`Change`]s, each with its [`Precondition`].

use rampart_model::{Flag, Revision, Segment};

use crate::At;
use crate::error::StoreError;
use crate::rollout::{NewRolloutEvent, RolloutId};

/// Changes applied together, atomically, by one actor at one time. One commit bumps the
/// config revision once, whatever the number of changes.
///
/// Changes apply in order, so a later change sees the earlier ones: putting then deleting the
/// same flag in one set leaves it deleted, with both versions in its history.
#[derive(Debug, Clone)]
pub struct ChangeSet {
    pub actor: String,
    /// When the change is made, from the caller's clock (the store reads none). Commit times
    /// never go backwards: a time before the previous commit's is stamped as that one.
    pub at: At,
    pub changes: Vec<Change>,
}

impl ChangeSet {
    pub fn new(actor: impl Into<String>, at: At, changes: Vec<Change>) -> ChangeSet {
        ChangeSet {
            actor: actor.into(),
            at,
            changes,
        }
    }
}

/// One change to one flag, segment or rollout.
#[derive(Debug, Clone)]
pub enum Change {
    /// Create or replace a flag.
    PutFlag {
        flag: Flag,
        expected: Precondition,
    },
    DeleteFlag {
        key: String,
        expected: Precondition,
    },
    /// Create or replace a segment.
    PutSegment {
        segment: Segment,
        expected: Precondition,
    },
    DeleteSegment {
        name: String,
        expected: Precondition,
    },
    /// Starts tracking a rollout: the store assigns its id (returned, in order, in
    /// [`crate::Committed::created_rollouts`]), version 1, and events seq 1, 2, ...
    ///
    /// Fails with [`StoreError::AlreadyExists`] (`kind` "rollout", `key` the flag) when
    /// `active` and the flag already has an active rollout. The store does not check that the
    /// flag exists; that is the server's job.
    CreateRollout {
        flag: String,
        plan: serde_json::Value,
        base: serde_json::Value,
        state: serde_json::Value,
        phase: String,
        active: bool,
        events: Vec<NewRolloutEvent>,
    },
    /// Replaces a rollout's state, bumps its version by one and appends `events` after its
    /// last one.
    ///
    /// Fails with [`StoreError::NotFound`] when there is no such rollout,
    /// [`StoreError::Conflict`] when its version is not `expected_version`, and
    /// [`StoreError::AlreadyExists`] when it would become a flag's second active rollout.
    UpdateRollout {
        id: RolloutId,
        expected_version: u64,
        state: serde_json::Value,
        phase: String,
        active: bool,
        events: Vec<NewRolloutEvent>,
    },
    /// Records a ledger key rotation: an entry signed by the current key that introduces
    /// `new_key`. The caller switches the store's signer after the commit.
    RotateLedgerKey {
        new_key: rampart_ledger::PublicKey,
    },
}

/// What must hold for the object a change touches, checked inside the commit's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Nothing: an unconditional upsert, or a delete that is a no-op when absent.
    None,
    /// A create: fails with [`StoreError::AlreadyExists`] when present.
    MustNotExist,
    /// An update or delete: fails with [`StoreError::NotFound`] when absent.
    MustExist,
    /// If-Match: the object's own revision must equal this one. Fails with
    /// [`StoreError::Conflict`] when it differs, or [`StoreError::NotFound`] when absent.
    Revision(Revision),
}

impl Precondition {
    /// Checks the precondition against the object's current revision (`None` when absent).
    pub fn check(
        self,
        kind: &'static str,
        key: &str,
        current: Option<Revision>,
    ) -> Result<(), StoreError> {
        match (self, current) {
            (Precondition::None, _)
            | (Precondition::MustNotExist, None)
            | (Precondition::MustExist, Some(_)) => Ok(()),
            (Precondition::MustNotExist, Some(_)) => Err(StoreError::AlreadyExists {
                kind,
                key: key.to_owned(),
            }),
            (Precondition::MustExist | Precondition::Revision(_), None) => {
                Err(StoreError::NotFound {
                    kind,
                    key: key.to_owned(),
                })
            }
            (Precondition::Revision(expected), Some(actual)) if expected == actual => Ok(()),
            (Precondition::Revision(expected), Some(actual)) => Err(StoreError::Conflict {
                kind,
                key: key.to_owned(),
                expected,
                actual,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Precondition;
    use crate::StoreError;

    #[test]
    fn each_precondition_accepts_and_rejects_as_documented() {
        let check = |precondition: Precondition, current| precondition.check("flag", "x", current);
        assert!(check(Precondition::None, None).is_ok());
        assert!(check(Precondition::None, Some(3)).is_ok());
        assert!(check(Precondition::MustNotExist, None).is_ok());
        assert!(matches!(
            check(Precondition::MustNotExist, Some(3)),
            Err(StoreError::AlreadyExists { kind: "flag", .. })
        ));
        assert!(check(Precondition::MustExist, Some(3)).is_ok());
        assert!(matches!(
            check(Precondition::MustExist, None),
            Err(StoreError::NotFound { kind: "flag", .. })
        ));
        assert!(check(Precondition::Revision(3), Some(3)).is_ok());
        assert!(matches!(
            check(Precondition::Revision(3), None),
            Err(StoreError::NotFound { .. })
        ));
        let conflict = check(Precondition::Revision(3), Some(5));
        assert!(matches!(
            conflict,
            Err(StoreError::Conflict {
                expected: 3,
                actual: 5,
                ..
            })
        ));
        assert_eq!(
            conflict.err().map(|e| e.to_string()).as_deref(),
            Some("flag `x` changed: If-Match revision 3, current revision 5")
        );
    }
}
