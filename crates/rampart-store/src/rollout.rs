//! Rollouts as the store keeps them: a [`RolloutRecord`] per rollout and its
//! [`RolloutEvent`] log.
//!
//! The plan, the flag's base spec, the controller's state and each event's detail are opaque
//! JSON here: the store does not depend on the rollout crate, it only guarantees that
//! rollout rows change atomically with the flag changes of the same [`crate::ChangeSet`],
//! that a flag has at most one active rollout, and that updates are optimistic (by
//! [`RolloutRecord::version`]).

use rampart_model::Revision;

use crate::At;

/// A rollout's id: assigned by the store, from 1, never reused.
pub type RolloutId = u64;

/// One rollout and its current state.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutRecord {
    pub id: RolloutId,
    pub flag: String,
    /// The plan as submitted.
    pub plan: serde_json::Value,
    /// The flag's spec as it was when the rollout started.
    pub base: serde_json::Value,
    /// The controller's state.
    pub state: serde_json::Value,
    /// The state's phase (e.g. "ramping", "completed"), copied out for listing.
    pub phase: String,
    /// False once the rollout is over (completed, rolled back, aborted). A flag has at most
    /// one active rollout.
    pub active: bool,
    /// 1 on creation, +1 on every update; an update must name the current one.
    pub version: u64,
    pub created_at: At,
    pub created_by: String,
    pub updated_at: At,
    /// The config revision of the last commit that created or updated it.
    pub revision: Revision,
}

/// One transition in a rollout's log.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutEvent {
    pub rollout_id: RolloutId,
    /// 1, 2, 3... per rollout, without gaps, in commit order.
    pub seq: u64,
    /// The commit's time.
    pub at: At,
    /// The commit's actor.
    pub actor: String,
    /// What happened, e.g. "start", "tick", "approve", "rollback".
    pub event: String,
    pub from_phase: String,
    pub to_phase: String,
    pub detail: serde_json::Value,
    /// The commit's config revision.
    pub revision: Revision,
}

/// An event to append; the commit supplies its rollout, seq, time, actor and revision.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRolloutEvent {
    pub event: String,
    pub from_phase: String,
    pub to_phase: String,
    pub detail: serde_json::Value,
}

impl NewRolloutEvent {
    pub fn new(
        event: impl Into<String>,
        from_phase: impl Into<String>,
        to_phase: impl Into<String>,
        detail: serde_json::Value,
    ) -> NewRolloutEvent {
        NewRolloutEvent {
            event: event.into(),
            from_phase: from_phase.into(),
            to_phase: to_phase.into(),
            detail,
        }
    }
}

/// Which side of a rollout a health window belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arm {
    Baseline,
    Candidate,
}

impl Arm {
    pub fn as_str(self) -> &'static str {
        match self {
            Arm::Baseline => "baseline",
            Arm::Candidate => "candidate",
        }
    }

    pub fn parse(text: &str) -> Option<Arm> {
        match text {
            "baseline" => Some(Arm::Baseline),
            "candidate" => Some(Arm::Candidate),
            _ => None,
        }
    }
}

/// One sealed health window of a rollout's arm: the window index (ms since the epoch / the
/// window length) and the judge's aggregate for it, as JSON (the store doesn't interpret it).
#[derive(Debug, Clone, PartialEq)]
pub struct HealthWindow {
    pub arm: Arm,
    pub window: u64,
    pub aggregate: serde_json::Value,
}
