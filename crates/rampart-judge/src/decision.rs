//! The judge's output: a [`Decision`] with a [`Verdict`], one [`Criterion`] per check and
//! the blockers in plain words. Mirrors `rampart_rollout::Decision` without depending on it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// One check: what was observed, the statistic computed from it, and the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Criterion {
    /// `error_rate`, `latency_p99`, `counter:NAME`, `traffic_share`, `guardrail:…`.
    pub name: String,
    pub verdict: Verdict,
    /// E.g. "candidate 4.1% (41/1000) vs baseline 1.0% (10/1000)".
    pub observed: String,
    /// E.g. "e-value 43 (regression), 0.2 (non-inferiority)".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub statistic: String,
    /// E.g. "fail at e >= 40 (alpha 0.05 / 2), pass at e >= 20; tolerance +50%".
    pub threshold: String,
    /// While inconclusive: roughly how many more candidate requests the leading test needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub more_samples_needed: Option<u64>,
    /// For a failing criterion, when the evidence behind the failure began (ms since the
    /// epoch): the start of the window from which the regression e-value stayed above 1 up to
    /// its crossing, or the start of a guardrail's breach. The rollout's "first bad sample".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_since_ms: Option<u64>,
    /// For a failing criterion, the end of the window at which it failed: checking after
    /// every window would have failed exactly then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at_ms: Option<u64>,
}

impl Criterion {
    /// A criterion without a statistic, e.g. the soak or sample count of a step.
    pub fn simple(
        name: impl Into<String>,
        verdict: Verdict,
        observed: impl Into<String>,
        threshold: impl Into<String>,
    ) -> Criterion {
        Criterion {
            name: name.into(),
            verdict,
            observed: observed.into(),
            statistic: String::new(),
            threshold: threshold.into(),
            more_samples_needed: None,
            evidence_since_ms: None,
            failed_at_ms: None,
        }
    }
}

/// The judge's go/no-go for the current step, with everything needed to explain it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    pub verdict: Verdict,
    pub criteria: Vec<Criterion>,
    /// Why the step can't advance, or why it failed, in plain words.
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

    /// The earliest `evidence_since_ms` among the failing criteria: when the first bad
    /// sample behind a `fail` arrived.
    pub fn evidence_since_ms(&self) -> Option<u64> {
        self.criteria
            .iter()
            .filter(|criterion| criterion.verdict == Verdict::Fail)
            .filter_map(|criterion| criterion.evidence_since_ms)
            .min()
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

/// A rate as a percentage with one decimal, e.g. `4.1%`; `n/a` without requests.
pub(crate) fn percent(numerator: u64, denominator: u64) -> String {
    if denominator == 0 {
        "n/a".to_owned()
    } else {
        format!("{:.1}%", 100.0 * numerator as f64 / denominator as f64)
    }
}

/// An e-value for people: `0.42`, `3.1`, `43`, `1.2e6`.
pub(crate) fn e_value(log_e: f64) -> String {
    let value = log_e.exp();
    if !value.is_finite() || value >= 1.0e6 {
        format!("{value:.1e}")
    } else if value >= 10.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A relative tolerance, e.g. `+50%`, `-10%`.
pub(crate) fn tolerance(relative: f64) -> String {
    format!("{:+.0}%", 100.0 * relative)
}
