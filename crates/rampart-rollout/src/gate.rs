//! The gate: the judge's health [`Decision`] combined with the step's own conditions.
//!
//! The judge (`rampart-judge`) compares candidate and baseline and checks guardrails; the
//! [`SoakGate`] checks what the plan asks of every step: time served (soak) and candidate
//! samples (`min_samples`), with the plan's `no_data` policy for silence. [`combine`] joins
//! them: any `fail` fails the step, and it passes only when both pass.

pub use rampart_judge::{Criterion, Decision, NoData, StepContext, Verdict};
use serde::{Deserialize, Serialize};

use crate::machine::{RolloutState, Weights};
use crate::plan::{Plan, StepKind};

/// The steps entered so far as the judge sees them: when each began, the candidate's
/// assigned share of all traffic (none for shadow steps, or when a ring makes the share
/// depend on who the users are), and the step's soak and `min_samples`.
pub fn step_contexts(plan: &Plan, state: &RolloutState) -> Vec<StepContext> {
    plan.steps()
        .iter()
        .take(state.step.saturating_add(1))
        .enumerate()
        .map(|(index, step)| {
            // Rollouts persisted before `entered_at` existed: the current step began when its
            // soak clock last started (or, lacking that, at the epoch: all data counts).
            let entered_at = state.entered_at.get(index).copied().or_else(|| {
                (index == state.step)
                    .then_some(state.soak.running_since)
                    .flatten()
            });
            let weights = Weights::at_step(plan, index);
            let assigned_share = match step.kind {
                StepKind::Shadow(_) => None,
                StepKind::Percent(_) if !weights.rings.is_empty() => None,
                StepKind::Percent(_) => Some(f64::from(weights.everyone) / 10_000.0),
            };
            StepContext {
                started_at_ms: entered_at
                    .and_then(|at| u64::try_from(at).ok())
                    .unwrap_or(0),
                assigned_share,
                soak_ms: step.soak.as_millis(),
                min_samples: step.min_samples,
            }
        })
        .collect()
}

/// What the plan asks of the current step itself, apart from health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub soak_elapsed_ms: u64,
    pub soak_required_ms: u64,
    /// Candidate requests reported at this step (health events, shadow ones included).
    pub samples: u64,
    pub min_samples: u64,
}

pub trait Gate {
    fn decide(&self, evidence: &Evidence) -> Decision;
}

/// Passes once the step has soaked and seen `min_samples` candidate requests. Silence is
/// the judge's to rule on (`no_data`); this gate only counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoakGate;

impl Gate for SoakGate {
    fn decide(&self, evidence: &Evidence) -> Decision {
        let soaked = evidence.soak_elapsed_ms >= evidence.soak_required_ms;
        let sampled = evidence.samples >= evidence.min_samples;
        let verdict = |ok: bool| {
            if ok {
                Verdict::Pass
            } else {
                Verdict::Inconclusive
            }
        };
        let soak = Criterion::simple(
            "soak",
            verdict(soaked),
            format!("{:.1}s", evidence.soak_elapsed_ms as f64 / 1000.0),
            format!(">= {:.1}s", evidence.soak_required_ms as f64 / 1000.0),
        );
        let samples = Criterion::simple(
            "samples",
            verdict(sampled),
            evidence.samples.to_string(),
            format!(">= {}", evidence.min_samples),
        );
        let mut blockers = Vec::new();
        if !soaked {
            let left = evidence
                .soak_required_ms
                .saturating_sub(evidence.soak_elapsed_ms);
            blockers.push(format!("soaking: {:.1}s left", left as f64 / 1000.0));
        }
        if !sampled {
            blockers.push(format!(
                "{} of {} candidate samples at this step; {} more needed",
                evidence.samples,
                evidence.min_samples,
                evidence.min_samples - evidence.samples
            ));
        }
        Decision {
            verdict: verdict(soaked && sampled),
            criteria: vec![soak, samples],
            blockers,
        }
    }
}

/// Joins the judge's health decision with the step's own (soak, samples): a failure of
/// either fails the step; it passes only when both pass. The health criteria come first.
pub fn combine(health: Decision, step: Decision) -> Decision {
    let verdict = match (health.verdict, step.verdict) {
        (Verdict::Fail, _) | (_, Verdict::Fail) => Verdict::Fail,
        (Verdict::Pass, Verdict::Pass) => Verdict::Pass,
        _ => Verdict::Inconclusive,
    };
    let mut criteria = health.criteria;
    criteria.extend(step.criteria);
    let blockers = match verdict {
        // Only the reasons for failing explain a failure.
        Verdict::Fail => [
            (health.verdict, health.blockers),
            (step.verdict, step.blockers),
        ]
        .into_iter()
        .filter(|(verdict, _)| *verdict == Verdict::Fail)
        .flat_map(|(_, blockers)| blockers)
        .collect(),
        Verdict::Pass => Vec::new(),
        Verdict::Inconclusive => health.blockers.into_iter().chain(step.blockers).collect(),
    };
    Decision {
        verdict,
        criteria,
        blockers,
    }
}
