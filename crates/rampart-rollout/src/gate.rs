//! The gate interface: evidence about the current step in, a [`Decision`] out.
//!
//! [`SoakGate`] is the gate until health analysis lands: it passes once the step has soaked
//! and seen enough samples, and applies the plan's `no_data` policy to silence.

use serde::{Deserialize, Serialize};

use crate::plan::NoData;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// One criterion the gate checked: what was observed against what threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    pub name: String,
    pub verdict: Verdict,
    pub observed: String,
    pub threshold: String,
}

/// A gate's go/no-go for the current step, with everything needed to explain it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub criteria: Vec<Criterion>,
    /// Why the step can't advance (or why it failed), in plain words.
    pub blockers: Vec<String>,
}

impl Decision {
    /// A decision with no criteria: for tests and manual events.
    pub fn bare(verdict: Verdict) -> Decision {
        Decision {
            verdict,
            criteria: Vec::new(),
            blockers: Vec::new(),
        }
    }

    /// One line for logs and history: the verdict and its blockers.
    pub fn summary(&self) -> String {
        if self.blockers.is_empty() {
            self.verdict.as_str().to_owned()
        } else {
            format!("{}: {}", self.verdict.as_str(), self.blockers.join("; "))
        }
    }
}

/// What a gate knows about the current step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub soak_elapsed_ms: u64,
    pub soak_required_ms: u64,
    /// Samples seen for the candidate at this step (evaluations served, or would-serve in
    /// a shadow step).
    pub samples: u64,
    pub min_samples: u64,
    pub no_data: NoData,
}

pub trait Gate {
    fn decide(&self, evidence: &Evidence) -> Decision;
}

/// Passes after the soak and `min_samples`; with no samples at all, applies `no_data`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoakGate;

impl Gate for SoakGate {
    fn decide(&self, evidence: &Evidence) -> Decision {
        let soaked = evidence.soak_elapsed_ms >= evidence.soak_required_ms;
        let soak = Criterion {
            name: "soak".to_owned(),
            verdict: if soaked {
                Verdict::Pass
            } else {
                Verdict::Inconclusive
            },
            observed: format!("{:.1}s", evidence.soak_elapsed_ms as f64 / 1000.0),
            threshold: format!(">= {:.1}s", evidence.soak_required_ms as f64 / 1000.0),
        };
        let samples_verdict = match (evidence.samples, evidence.no_data) {
            (0, NoData::Fail) => Verdict::Fail,
            (0, NoData::Pass) => Verdict::Pass,
            (0, NoData::Hold) => Verdict::Inconclusive,
            (n, _) if n >= evidence.min_samples => Verdict::Pass,
            _ => Verdict::Inconclusive,
        };
        let samples = Criterion {
            name: "samples".to_owned(),
            verdict: samples_verdict,
            observed: evidence.samples.to_string(),
            threshold: format!(
                ">= {}{}",
                evidence.min_samples.max(1),
                if evidence.samples == 0 {
                    " (no data)"
                } else {
                    ""
                }
            ),
        };
        let mut blockers = Vec::new();
        if !soaked {
            let left = evidence
                .soak_required_ms
                .saturating_sub(evidence.soak_elapsed_ms);
            blockers.push(format!("soaking: {:.1}s left", left as f64 / 1000.0));
        }
        match samples_verdict {
            Verdict::Fail => {
                blockers.push("no samples at this step and the plan says no_data: fail".to_owned())
            }
            Verdict::Inconclusive if evidence.samples == 0 => {
                blockers.push("no samples yet for the candidate (no_data: hold)".to_owned());
            }
            Verdict::Inconclusive => blockers.push(format!(
                "{} of {} samples; {} more needed",
                evidence.samples,
                evidence.min_samples,
                evidence.min_samples - evidence.samples
            )),
            Verdict::Pass => {}
        }
        let verdict = if samples_verdict == Verdict::Fail {
            Verdict::Fail
        } else if soaked && samples_verdict == Verdict::Pass {
            Verdict::Pass
        } else {
            Verdict::Inconclusive
        };
        Decision {
            verdict,
            criteria: vec![soak, samples],
            blockers,
        }
    }
}
