//! How a rollout is shown over the API and in the CLI: plan, progress per step, gate state.

use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::gate::Decision;
use crate::machine::{Phase, RollbackState, RolloutState, Target};
use crate::plan::{Approval, Plan, PlanSpec, StepKind};
use crate::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StepStatus {
    Done,
    Current,
    Pending,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepView {
    pub index: usize,
    /// Percent of the step's audience (or, for shadow, the share assigned in the shadow).
    pub percent: f64,
    pub shadow: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    pub soak: Span,
    pub min_samples: u64,
    pub approval: Approval,
    pub status: StepStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEvent {
    pub seq: u64,
    /// RFC 3339.
    pub at: String,
    pub actor: String,
    pub event: String,
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub detail: serde_json::Value,
}

/// A page of rollouts, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutList {
    pub rollouts: Vec<RolloutView>,
    /// Older rollouts follow: ask again with `?before=` this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
}

/// A rollout as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutView {
    pub id: u64,
    pub flag: String,
    pub baseline: String,
    pub candidate: String,
    pub strategy: String,
    pub phase: Phase,
    pub active: bool,
    /// The current step, 0-based.
    pub step: usize,
    pub steps: Vec<StepView>,
    /// What the flag is set to serve now.
    pub target: Target,
    pub soak_elapsed_ms: u64,
    pub soak_required_ms: u64,
    /// The latest gate decision for the current step, when the controller has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackState>,
    pub plan: PlanSpec,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub version: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEvent>,
}

/// The parts of a view computed from the plan and state alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub steps: Vec<StepView>,
    pub soak_elapsed_ms: u64,
    pub soak_required_ms: u64,
}

pub fn progress(plan: &Plan, state: &RolloutState, now: Millis) -> Progress {
    let started = state.phase != Phase::Pending;
    let steps = plan
        .steps()
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let (shadow, bp) = match step.kind {
                StepKind::Shadow(bp) => (true, bp),
                StepKind::Percent(bp) => (false, bp),
            };
            let status = if state.phase == Phase::Completed || (started && index < state.step) {
                StepStatus::Done
            } else if started && index == state.step && !state.phase.is_terminal() {
                StepStatus::Current
            } else {
                StepStatus::Pending
            };
            StepView {
                index,
                percent: f64::from(bp) / 100.0,
                shadow,
                segment: step.segment.clone(),
                soak: step.soak,
                min_samples: step.min_samples,
                approval: step.approval,
                status,
            }
        })
        .collect();
    let soak_required_ms = plan
        .steps()
        .get(state.step)
        .map_or(0, |s| s.soak.as_millis());
    Progress {
        steps,
        soak_elapsed_ms: state.soak.elapsed_ms(now),
        soak_required_ms,
    }
}
