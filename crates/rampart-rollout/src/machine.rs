//! The rollout state machine: `step(plan, state, event, now) -> (state, actions)`.
//!
//! It is a pure function. The runtime commits the new state and the flag changes implied
//! by `SetWeights`/`DisableFlag` in one transaction, then runs the other actions.
//! Illegal events are errors that say why; a `Tick` is never an error (it may do nothing).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Millis;
use crate::gate::{Decision, Verdict};
use crate::plan::{Approval, Plan, RollbackMode, StepKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Phase {
    Pending,
    Shadow,
    Ramping,
    AwaitingApproval,
    Paused,
    Completed,
    RollingBack,
    RolledBack,
    Aborted,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Shadow => "shadow",
            Phase::Ramping => "ramping",
            Phase::AwaitingApproval => "awaiting_approval",
            Phase::Paused => "paused",
            Phase::Completed => "completed",
            Phase::RollingBack => "rolling_back",
            Phase::RolledBack => "rolled_back",
            Phase::Aborted => "aborted",
        }
    }

    /// Completed, rolled back or aborted: the rollout no longer controls the flag.
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Completed | Phase::RolledBack | Phase::Aborted)
    }
}

/// Candidate exposure in basis points: for everyone, per ring segment, and the shadow share.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Weights {
    pub everyone: u32,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub rings: IndexMap<String, u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<u32>,
}

impl Weights {
    /// Exposure at step `index`: each audience keeps the highest percent it reached so far
    /// (rings stay exposed), and a shadow step exposes nobody.
    pub fn at_step(plan: &Plan, index: usize) -> Weights {
        let mut weights = Weights::default();
        for step in plan.steps().iter().take(index + 1) {
            match (step.kind, &step.segment) {
                (StepKind::Shadow(bp), _) => weights.shadow = Some(bp),
                (StepKind::Percent(bp), None) => {
                    weights.everyone = weights.everyone.max(bp);
                    weights.shadow = None;
                }
                (StepKind::Percent(bp), Some(segment)) => {
                    let ring = weights.rings.entry(segment.clone()).or_insert(0);
                    *ring = (*ring).max(bp);
                    weights.shadow = None;
                }
            }
        }
        weights
    }

    /// The largest share of any audience that gets the candidate.
    pub fn candidate_weight(&self) -> u32 {
        self.rings.values().copied().fold(self.everyone, u32::max)
    }
}

/// What the flag should serve: rollout weights, the finished state, or the flag as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Target {
    Weights(Weights),
    /// Everyone gets the candidate; the rollout's split is replaced by the candidate variant.
    Completed,
    /// The flag's rules and fallthrough as they were before the rollout.
    Restored,
}

impl Target {
    pub fn candidate_weight(&self) -> u32 {
        match self {
            Target::Weights(w) => w.candidate_weight(),
            Target::Completed => 10_000,
            Target::Restored => 0,
        }
    }
}

/// Time served at the current step. Pausing stops it; a restart resumes it, never resets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SoakClock {
    pub accumulated_ms: u64,
    pub running_since: Option<Millis>,
}

impl SoakClock {
    fn started(now: Millis) -> SoakClock {
        SoakClock {
            accumulated_ms: 0,
            running_since: Some(now),
        }
    }

    pub fn elapsed_ms(&self, now: Millis) -> u64 {
        let running = self.running_since.map_or(0, |since| {
            u64::try_from(now.saturating_sub(since)).unwrap_or(0)
        });
        self.accumulated_ms.saturating_add(running)
    }

    fn stopped(self, now: Millis) -> SoakClock {
        SoakClock {
            accumulated_ms: self.elapsed_ms(now),
            running_since: None,
        }
    }

    fn resumed(self, now: Millis) -> SoakClock {
        SoakClock {
            accumulated_ms: self.accumulated_ms,
            running_since: Some(now),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RollbackState {
    pub mode: RollbackMode,
    pub reason: String,
    /// Targets still to apply, in order; the last is always `Restored`.
    pub remaining: Vec<Target>,
    pub next_at: Option<Millis>,
    /// How fast the rollback happened; filled in by the runtime, which owns the clocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timings: Option<RollbackTimings>,
}

/// The timeline of a rollback: the first bad sample behind the failing verdict, the
/// decision, and the moment the restored weights were served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RollbackTimings {
    /// When the evidence behind the failing verdict began (none for a manual rollback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad_sample_at: Option<Millis>,
    pub decided_at: Millis,
    /// When the rollback's first weights were committed and published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_at: Option<Millis>,
    /// Decision to weights served, measured on a monotonic clock, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_to_served_us: Option<u64>,
}

/// Everything the controller persists about a rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutState {
    pub phase: Phase,
    /// The current step (meaningful from `Start` on).
    pub step: usize,
    pub soak: SoakClock,
    /// Where `Resume` returns to; set exactly while paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_to: Option<Phase>,
    /// What the flag is currently set to serve.
    pub target: Target,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackState>,
    /// When each step so far was entered (index = step): the judge's step boundaries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entered_at: Vec<Millis>,
}

impl RolloutState {
    pub fn pending() -> RolloutState {
        RolloutState {
            phase: Phase::Pending,
            step: 0,
            soak: SoakClock::default(),
            resume_to: None,
            target: Target::Restored,
            rollback: None,
            entered_at: Vec::new(),
        }
    }
}

/// The closed set of inputs to the machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Start,
    /// The controller's periodic check, carrying the gate's decision for the current step.
    Tick(Decision),
    Approve {
        actor: String,
    },
    Pause,
    Resume,
    /// Skip the rest of the current step (soak, gate, approval) and go to the next.
    Promote,
    Rollback {
        mode: RollbackMode,
        reason: String,
    },
    /// Stop controlling the flag and leave its weights exactly as they are (freeze).
    Abort,
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::Start => "start",
            Event::Tick(_) => "tick",
            Event::Approve { .. } => "approve",
            Event::Pause => "pause",
            Event::Resume => "resume",
            Event::Promote => "promote",
            Event::Rollback { .. } => "rollback",
            Event::Abort => "abort",
        }
    }
}

/// Effects, as data. The runtime applies `SetWeights` and `DisableFlag` inside the commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    SetWeights(Target),
    /// The emergency stop: the flag's state becomes disabled.
    DisableFlag,
    Notify(String),
    /// A record for the rollout's history (and, later, the audit ledger).
    Ledger {
        event: &'static str,
        detail: serde_json::Value,
    },
    /// Read the flag back after the commit and check it serves this target.
    Verify(Target),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {event}: {reason}")]
pub struct TransitionError {
    pub phase: Phase,
    pub event: &'static str,
    pub reason: String,
}

type Outcome = Result<(RolloutState, Vec<Action>), TransitionError>;

/// Applies one event at time `now`.
pub fn step(plan: &Plan, state: &RolloutState, event: &Event, now: Millis) -> Outcome {
    let refuse = |reason: String| {
        Err(TransitionError {
            phase: state.phase,
            event: event.name(),
            reason,
        })
    };
    let where_ = || describe(plan, state);
    match (state.phase, event) {
        (_, Event::Tick(decision)) => Ok(tick(plan, state, decision, now)),
        (phase, _) if phase.is_terminal() => refuse(format!("the rollout is {} and can't change any more", phase.as_str())),

        (Phase::Pending, Event::Start) => Ok(enter_step(plan, state, 0, now, Vec::new())),
        (_, Event::Start) => refuse(format!("the rollout already started ({})", where_())),

        (Phase::AwaitingApproval, Event::Approve { actor }) => {
            let record = Action::Ledger { event: "approved", detail: json!({"step": state.step, "actor": actor}) };
            Ok(advance(plan, state, now, vec![record]))
        }
        (_, Event::Approve { .. }) => refuse(format!("nothing awaits approval ({})", where_())),

        (Phase::Shadow | Phase::Ramping | Phase::AwaitingApproval, Event::Pause) => {
            let mut next = state.clone();
            next.resume_to = Some(state.phase);
            next.phase = Phase::Paused;
            next.soak = state.soak.stopped(now);
            Ok((next, vec![record("paused", state, json!({})), Action::Notify(format!("paused at {}", describe(plan, state)))]))
        }
        (_, Event::Pause) => refuse(format!("only a running rollout can pause ({})", where_())),

        (Phase::Paused, Event::Resume) => {
            let mut next = state.clone();
            next.phase = state.resume_to.unwrap_or(Phase::Ramping);
            next.resume_to = None;
            next.soak = state.soak.resumed(now);
            Ok((next, vec![record("resumed", state, json!({})), Action::Notify("resumed".to_owned())]))
        }
        (_, Event::Resume) => refuse(format!("the rollout is not paused ({})", where_())),

        (Phase::AwaitingApproval, Event::Promote) => {
            refuse("this step needs a person's approval: use approve, not promote".to_owned())
        }
        (Phase::Shadow | Phase::Ramping, Event::Promote) => {
            Ok(advance_past(plan, state, now, vec![record("promoted", state, json!({}))]))
        }
        (Phase::Paused, Event::Promote) => refuse("the rollout is paused; resume it first".to_owned()),
        (_, Event::Promote) => refuse(format!("nothing to promote ({})", where_())),

        (Phase::RollingBack, Event::Rollback { mode: RollbackMode::Gradual, .. }) => {
            refuse("the rollout is already rolling back gradually; roll back `immediate` or `kill` to go faster".to_owned())
        }
        (_, Event::Rollback { mode, reason }) => Ok(begin_rollback(plan, state, *mode, reason, now)),

        (_, Event::Abort) => {
            let mut next = state.clone();
            next.phase = Phase::Aborted;
            next.resume_to = None;
            next.rollback = None;
            next.soak = state.soak.stopped(now);
            let message = format!("aborted at {}; the flag keeps its current weights", describe(plan, state));
            Ok((next, vec![record("aborted", state, json!({})), Action::Notify(message)]))
        }
    }
}

fn record(event: &'static str, state: &RolloutState, mut detail: serde_json::Value) -> Action {
    if let Some(object) = detail.as_object_mut() {
        object.insert("step".to_owned(), json!(state.step));
        object.insert("phase".to_owned(), json!(state.phase.as_str()));
    }
    Action::Ledger { event, detail }
}

/// "step 3 of 6 (25%)" for messages.
pub fn describe(plan: &Plan, state: &RolloutState) -> String {
    let total = plan.steps().len();
    let what = match plan.steps().get(state.step).map(|s| (s.kind, &s.segment)) {
        Some((StepKind::Shadow(_), _)) => "shadow".to_owned(),
        Some((StepKind::Percent(bp), None)) => format!("{}%", f64::from(bp) / 100.0),
        Some((StepKind::Percent(bp), Some(segment))) => {
            format!("{}% of {segment}", f64::from(bp) / 100.0)
        }
        None => "-".to_owned(),
    };
    format!(
        "{} at step {} of {total} ({what})",
        state.phase.as_str(),
        state.step + 1
    )
}

fn tick(
    plan: &Plan,
    state: &RolloutState,
    decision: &Decision,
    now: Millis,
) -> (RolloutState, Vec<Action>) {
    match state.phase {
        Phase::Shadow | Phase::Ramping | Phase::AwaitingApproval | Phase::Paused
            if decision.verdict == Verdict::Fail =>
        {
            let reason = format!(
                "gate failed at step {}: {}",
                state.step + 1,
                decision.summary()
            );
            begin_rollback(plan, state, plan.rollback().mode, &reason, now)
        }
        Phase::Shadow | Phase::Ramping => {
            let soaked = plan
                .steps()
                .get(state.step)
                .is_some_and(|s| state.soak.elapsed_ms(now) >= s.soak.as_millis());
            if decision.verdict == Verdict::Pass && soaked {
                let detail = json!({"verdict": "pass", "criteria": decision.criteria});
                advance(plan, state, now, vec![record("gate_passed", state, detail)])
            } else {
                (state.clone(), Vec::new())
            }
        }
        Phase::RollingBack => match &state.rollback {
            Some(rollback) if rollback.next_at.is_some_and(|at| now >= at) => {
                apply_rollback_step(plan, state, rollback.clone(), now, Vec::new())
            }
            _ => (state.clone(), Vec::new()),
        },
        _ => (state.clone(), Vec::new()),
    }
}

/// After the gate passes: wait for approval if the step needs it, else go to the next step.
fn advance(
    plan: &Plan,
    state: &RolloutState,
    now: Millis,
    mut actions: Vec<Action>,
) -> (RolloutState, Vec<Action>) {
    let needs_approval = plan
        .steps()
        .get(state.step)
        .is_some_and(|s| s.approval == Approval::Required);
    if needs_approval && state.phase != Phase::AwaitingApproval {
        let mut next = state.clone();
        next.phase = Phase::AwaitingApproval;
        next.soak = state.soak.stopped(now);
        actions.push(record("awaiting_approval", state, json!({})));
        actions.push(Action::Notify(format!(
            "step {} passed; waiting for approval",
            state.step + 1
        )));
        return (next, actions);
    }
    advance_past(plan, state, now, actions)
}

/// Moves to the next step, or completes after the last one.
fn advance_past(
    plan: &Plan,
    state: &RolloutState,
    now: Millis,
    mut actions: Vec<Action>,
) -> (RolloutState, Vec<Action>) {
    let next_index = state.step + 1;
    if next_index < plan.steps().len() {
        return enter_step(plan, state, next_index, now, actions);
    }
    let mut next = state.clone();
    next.phase = Phase::Completed;
    next.resume_to = None;
    next.soak = state.soak.stopped(now);
    next.target = Target::Completed;
    actions.push(Action::SetWeights(Target::Completed));
    actions.push(record("completed", state, json!({})));
    actions.push(Action::Notify(format!(
        "completed: everyone gets `{}`",
        plan.candidate()
    )));
    actions.push(Action::Verify(Target::Completed));
    (next, actions)
}

fn enter_step(
    plan: &Plan,
    state: &RolloutState,
    index: usize,
    now: Millis,
    mut actions: Vec<Action>,
) -> (RolloutState, Vec<Action>) {
    let Some(step) = plan.steps().get(index) else {
        return (state.clone(), actions);
    };
    let target = Target::Weights(Weights::at_step(plan, index));
    let mut next = state.clone();
    next.phase = match step.kind {
        StepKind::Shadow(_) => Phase::Shadow,
        StepKind::Percent(_) => Phase::Ramping,
    };
    next.step = index;
    next.entered_at.truncate(index);
    next.entered_at.resize(index, now);
    next.entered_at.push(now);
    next.soak = SoakClock::started(now);
    next.resume_to = None;
    next.target = target.clone();
    actions.push(Action::SetWeights(target.clone()));
    actions.push(Action::Ledger {
        event: "step_started",
        detail: json!({"step": index, "target": target}),
    });
    actions.push(Action::Notify(format!("entered {}", describe(plan, &next))));
    actions.push(Action::Verify(target));
    (next, actions)
}

fn begin_rollback(
    plan: &Plan,
    state: &RolloutState,
    mode: RollbackMode,
    reason: &str,
    now: Millis,
) -> (RolloutState, Vec<Action>) {
    let mut actions = vec![record(
        "rollback_started",
        state,
        json!({"mode": mode.as_str(), "reason": reason}),
    )];
    let remaining = match mode {
        RollbackMode::Immediate | RollbackMode::Kill => vec![Target::Restored],
        RollbackMode::Gradual => gradual_targets(plan, state),
    };
    if mode == RollbackMode::Kill {
        actions.push(Action::DisableFlag);
    }
    let rollback = RollbackState {
        mode,
        reason: reason.to_owned(),
        remaining,
        next_at: None,
        timings: None,
    };
    apply_rollback_step(plan, state, rollback, now, actions)
}

/// The earlier steps' exposures, strictly below the current one, then the restored flag.
fn gradual_targets(plan: &Plan, state: &RolloutState) -> Vec<Target> {
    let current = state.target.candidate_weight();
    let mut targets: Vec<Target> = Vec::new();
    let mut last = current;
    for index in (0..state.step).rev() {
        let mut weights = Weights::at_step(plan, index);
        weights.shadow = None;
        let weight = weights.candidate_weight();
        if weight > 0 && weight < last {
            last = weight;
            targets.push(Target::Weights(weights));
        }
    }
    targets.push(Target::Restored);
    targets
}

/// Applies the next rollback target; rolled back once the flag is restored.
fn apply_rollback_step(
    plan: &Plan,
    state: &RolloutState,
    mut rollback: RollbackState,
    now: Millis,
    mut actions: Vec<Action>,
) -> (RolloutState, Vec<Action>) {
    let target = if rollback.remaining.is_empty() {
        Target::Restored
    } else {
        rollback.remaining.remove(0)
    };
    let mut next = state.clone();
    next.resume_to = None;
    next.soak = state.soak.stopped(now);
    next.target = target.clone();
    actions.push(Action::SetWeights(target.clone()));
    actions.push(Action::Verify(target.clone()));
    if target == Target::Restored {
        next.phase = Phase::RolledBack;
        next.rollback = Some(RollbackState {
            next_at: None,
            ..rollback.clone()
        });
        actions.push(Action::Ledger {
            event: "rolled_back",
            detail: json!({"mode": rollback.mode.as_str(), "reason": rollback.reason}),
        });
        actions.push(Action::Notify(format!(
            "rolled back ({}): {}",
            rollback.mode.as_str(),
            rollback.reason
        )));
    } else {
        next.phase = Phase::RollingBack;
        let pace = i64::try_from(plan.rollback().step_interval.as_millis()).unwrap_or(i64::MAX);
        rollback.next_at = Some(now.saturating_add(pace));
        actions.push(Action::Ledger {
            event: "rollback_step",
            detail: json!({"target": target}),
        });
        next.rollback = Some(rollback);
    }
    (next, actions)
}
