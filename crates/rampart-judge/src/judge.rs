//! [`Judge`]: a validated [`AnalysisSpec`] that turns the two arms' [`Series`] and the
//! rollout's steps into a [`Decision`] at time `now`.
//!
//! Only complete windows (ending at or before `now`) count, and every comparison runs over
//! the whole rollout, so the same history always gives the same decision and a crossing, once
//! seen, is never forgotten.
//!
//! - [`comparison`]: candidate-vs-baseline sequential tests.
//! - [`guardrail`]: absolute limits on the candidate with a `for` duration.

mod comparison;
mod guardrail;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, Series};
use crate::config::{AnalysisSpec, NoData};
use crate::decision::{Criterion, Decision, Verdict};
use crate::error::JudgeError;

/// One step of the rollout as the judge needs it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepContext {
    pub started_at_ms: u64,
    /// The candidate's assigned share of traffic (0..1); `None` for shadow steps.
    pub assigned_share: Option<f64>,
    /// Minimum time at the step, for `pass_on_soak`.
    pub soak_ms: u64,
    /// Candidate requests the step needs, for `pass_on_soak`.
    pub min_samples: u64,
}

/// Everything observed so far in one rollout.
#[derive(Debug, Clone, Copy)]
pub struct Observations<'a> {
    pub baseline: &'a Series,
    pub candidate: &'a Series,
    /// The rollout's steps, oldest first. The current step is the last one that started at
    /// or before `now`; later ones are ignored.
    pub steps: &'a [StepContext],
}

/// One complete window with both arms, and the step it belongs to (`None` before the first).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PairedWindow<'a> {
    pub start_ms: u64,
    pub end_ms: u64,
    pub step: Option<usize>,
    pub baseline: Option<&'a Aggregate>,
    pub candidate: Option<&'a Aggregate>,
}

/// A validated analysis configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Judge {
    spec: AnalysisSpec,
}

impl Judge {
    pub fn try_new(spec: AnalysisSpec) -> Result<Judge, JudgeError> {
        spec.validate()?;
        Ok(Judge { spec })
    }

    pub fn spec(&self) -> &AnalysisSpec {
        &self.spec
    }

    /// Decides the current step at `now_ms`. Never fails: problems with the input become
    /// blockers of an inconclusive decision.
    pub fn decide(&self, observations: &Observations<'_>, now_ms: u64) -> Decision {
        let window_ms = observations.baseline.window_ms();
        if observations.candidate.window_ms() != window_ms {
            return inconclusive(format!(
                "the arms use different windows ({} ms vs {} ms); merge them first",
                window_ms,
                observations.candidate.window_ms()
            ));
        }
        // Steps that start after `now` haven't happened yet.
        let started = observations
            .steps
            .partition_point(|step| step.started_at_ms <= now_ms);
        let observations = &Observations {
            steps: observations.steps.get(..started).unwrap_or_default(),
            ..*observations
        };
        let Some(current) = started.checked_sub(1) else {
            return inconclusive("no step has started yet".to_owned());
        };
        let windows = paired_windows(observations, now_ms);
        let alpha_fail = self.spec.alpha_per_comparison();
        let mut outcomes: Vec<(Criterion, Option<String>)> = Vec::new();
        for comparison in &self.spec.comparisons {
            outcomes.push(comparison::evaluate(
                comparison,
                &windows,
                observations.steps,
                alpha_fail,
                self.spec.alpha_pass,
            ));
        }
        for rail in &self.spec.guardrails {
            outcomes.push(guardrail::evaluate(rail, observations, now_ms));
        }
        let any_fail = outcomes
            .iter()
            .any(|(criterion, _)| criterion.verdict == Verdict::Fail);
        let mut blockers: Vec<String> = Vec::new();
        let mut criteria: Vec<Criterion> = Vec::new();
        for (criterion, blocker) in outcomes {
            // Once something failed, only the reasons for failing are blockers.
            if !any_fail || criterion.verdict == Verdict::Fail {
                blockers.extend(blocker);
            }
            criteria.push(criterion);
        }

        if any_fail {
            return Decision {
                verdict: Verdict::Fail,
                criteria,
                blockers,
            };
        }

        let step_samples: u64 = windows
            .iter()
            .filter(|window| window.step == Some(current))
            .filter_map(|window| window.candidate)
            .map(Aggregate::requests)
            .sum();
        if step_samples == 0 {
            let (verdict, blocker) = match self.spec.no_data {
                NoData::Hold => (
                    Verdict::Inconclusive,
                    Some("no candidate requests at this step yet (no_data: hold)".to_owned()),
                ),
                NoData::Fail => (
                    Verdict::Fail,
                    Some(
                        "no candidate requests at this step and the plan says no_data: fail"
                            .to_owned(),
                    ),
                ),
                NoData::Pass => (Verdict::Pass, None),
            };
            return Decision {
                verdict,
                criteria,
                blockers: blocker.into_iter().collect(),
            };
        }

        let guardrails_clear = criteria
            .iter()
            .filter(|criterion| criterion.name.starts_with("guardrail:"))
            .all(|criterion| criterion.verdict == Verdict::Pass);
        let all_pass = criteria
            .iter()
            .all(|criterion| criterion.verdict == Verdict::Pass);
        if all_pass {
            return Decision {
                verdict: Verdict::Pass,
                criteria,
                blockers: Vec::new(),
            };
        }
        if self.spec.pass_on_soak && guardrails_clear {
            let step = observations.steps.get(current);
            let soaked =
                step.is_some_and(|step| now_ms.saturating_sub(step.started_at_ms) >= step.soak_ms);
            let sampled = step.is_some_and(|step| step_samples >= step.min_samples);
            if soaked && sampled {
                return Decision {
                    verdict: Verdict::Pass,
                    criteria,
                    blockers: Vec::new(),
                };
            }
        }
        Decision {
            verdict: Verdict::Inconclusive,
            criteria,
            blockers,
        }
    }
}

fn inconclusive(blocker: String) -> Decision {
    Decision {
        verdict: Verdict::Inconclusive,
        criteria: Vec::new(),
        blockers: vec![blocker],
    }
}

/// Every complete window (ending at or before `now_ms`) where either arm has data, oldest
/// first, tagged with its step: the last step that started at or before the window's start.
fn paired_windows<'a>(observations: &Observations<'a>, now_ms: u64) -> Vec<PairedWindow<'a>> {
    let window_ms = observations.baseline.window_ms();
    let complete_end = now_ms / window_ms;
    let indices: BTreeSet<u64> = observations
        .baseline
        .windows_in(0..complete_end)
        .chain(observations.candidate.windows_in(0..complete_end))
        .map(|(index, _)| index)
        .collect();
    indices
        .into_iter()
        .map(|index| {
            let start_ms = index.saturating_mul(window_ms);
            let step = observations
                .steps
                .iter()
                .rposition(|step| step.started_at_ms <= start_ms);
            PairedWindow {
                start_ms,
                end_ms: start_ms.saturating_add(window_ms),
                step,
                baseline: observations.baseline.window(index),
                candidate: observations.candidate.window(index),
            }
        })
        .collect()
}
