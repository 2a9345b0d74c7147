//! The analysis configuration: [`AnalysisSpec`] as users write it, validated by
//! [`crate::Judge::try_new`]. Defaults are ones a user can trust: α = 0.05 for the whole
//! rollout, errors within +50% of baseline, p99-slow requests within 2× of baseline, and
//! `no_data: hold`.

use rampart_model::Span;
use serde::{Deserialize, Serialize};

use crate::error::JudgeError;

/// What the judge concludes when the candidate saw no requests at the current step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NoData {
    /// Wait: never promote on silence. The default.
    #[default]
    Hold,
    Fail,
    Pass,
}

/// What a comparison counts as a "bad event" for the candidate-vs-baseline test.
#[derive(Debug, Clone, PartialEq)]
pub enum ComparisonMetric {
    /// Errors.
    ErrorRate,
    /// Requests slower than the baseline's `quantile` (e.g. 0.99), frozen per step once the
    /// baseline has `min_baseline_samples` latencies.
    Latency {
        quantile: f64,
        min_baseline_samples: u64,
    },
    /// Increments of a named custom counter.
    Counter { name: String },
    /// Requests themselves: the candidate gets its assigned share within tolerance, both
    /// ways (sample-ratio mismatch). Only checked at steps with an assigned share.
    TrafficShare,
}

fn default_min_baseline_samples() -> u64 {
    1_000
}

/// One candidate-vs-baseline comparison. `tolerance` is relative: 0.5 means the candidate's
/// bad-event rate may be up to 1.5× the baseline's.
///
/// Written flat in plans, with per-metric defaults:
/// `{metric: error_rate, tolerance: 0.5}`, `{metric: latency, quantile: 0.99, tolerance: 1}`,
/// `{metric: counter, counter: checkout_failed, tolerance: 0.2}`, `{metric: traffic_share}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ComparisonWire", into = "ComparisonWire")]
pub struct Comparison {
    pub metric: ComparisonMetric,
    pub tolerance: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
enum ComparisonKind {
    ErrorRate,
    Latency,
    Counter,
    TrafficShare,
}

/// The flat form of [`Comparison`] in plans.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct ComparisonWire {
    metric: ComparisonKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tolerance: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quantile: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_baseline_samples: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    counter: Option<String>,
}

impl TryFrom<ComparisonWire> for Comparison {
    type Error = String;

    fn try_from(wire: ComparisonWire) -> Result<Comparison, String> {
        let only_for = |set: bool, field: &str, metric: &str| {
            if set {
                Err(format!("`{field}` applies only to `metric: {metric}`"))
            } else {
                Ok(())
            }
        };
        if wire.metric != ComparisonKind::Latency {
            only_for(wire.quantile.is_some(), "quantile", "latency")?;
            only_for(
                wire.min_baseline_samples.is_some(),
                "min_baseline_samples",
                "latency",
            )?;
        }
        if wire.metric != ComparisonKind::Counter {
            only_for(wire.counter.is_some(), "counter", "counter")?;
        }
        let (metric, default_tolerance) = match wire.metric {
            ComparisonKind::ErrorRate => (ComparisonMetric::ErrorRate, 0.5),
            ComparisonKind::Latency => (
                ComparisonMetric::Latency {
                    quantile: wire.quantile.unwrap_or(0.99),
                    min_baseline_samples: wire
                        .min_baseline_samples
                        .unwrap_or_else(default_min_baseline_samples),
                },
                1.0,
            ),
            ComparisonKind::Counter => match wire.counter {
                Some(name) if !name.is_empty() => (ComparisonMetric::Counter { name }, 0.5),
                _ => {
                    return Err(
                        "`metric: counter` needs `counter: NAME`, the custom value to compare"
                            .to_owned(),
                    );
                }
            },
            ComparisonKind::TrafficShare => (ComparisonMetric::TrafficShare, 0.2),
        };
        Ok(Comparison {
            metric,
            tolerance: wire.tolerance.unwrap_or(default_tolerance),
        })
    }
}

impl From<Comparison> for ComparisonWire {
    fn from(comparison: Comparison) -> ComparisonWire {
        let mut wire = ComparisonWire {
            metric: ComparisonKind::ErrorRate,
            tolerance: Some(comparison.tolerance),
            quantile: None,
            min_baseline_samples: None,
            counter: None,
        };
        match comparison.metric {
            ComparisonMetric::ErrorRate => {}
            ComparisonMetric::Latency {
                quantile,
                min_baseline_samples,
            } => {
                wire.metric = ComparisonKind::Latency;
                wire.quantile = Some(quantile);
                wire.min_baseline_samples = Some(min_baseline_samples);
            }
            ComparisonMetric::Counter { name } => {
                wire.metric = ComparisonKind::Counter;
                wire.counter = Some(name);
            }
            ComparisonMetric::TrafficShare => wire.metric = ComparisonKind::TrafficShare,
        }
        wire
    }
}

impl Comparison {
    /// The criterion name in decisions: `error_rate`, `latency_p99`, `counter:NAME`,
    /// `traffic_share`.
    pub fn name(&self) -> String {
        match &self.metric {
            ComparisonMetric::ErrorRate => "error_rate".to_owned(),
            ComparisonMetric::Latency { quantile, .. } => {
                format!("latency_{}", percentile_label(*quantile))
            }
            ComparisonMetric::Counter { name } => format!("counter:{name}"),
            ComparisonMetric::TrafficShare => "traffic_share".to_owned(),
        }
    }
}

/// `p99`, `p95`, `p99.9` for a quantile in (0, 1).
pub(crate) fn percentile_label(quantile: f64) -> String {
    let percent = (quantile * 1000.0).round() / 10.0;
    format!("p{percent}")
}

/// In the API a comparison is its flat plan form, [`ComparisonWire`]: that is what serde
/// reads and writes (`try_from`/`into`).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Comparison {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <ComparisonWire as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Comparison {
    fn name() -> std::borrow::Cow<'static, str> {
        "Comparison".into()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <ComparisonWire as utoipa::ToSchema>::schemas(schemas);
    }
}

/// In the API a guardrail is its flat plan form, [`GuardrailWire`] (`try_from`/`into`).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Guardrail {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <GuardrailWire as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Guardrail {
    fn name() -> std::borrow::Cow<'static, str> {
        "Guardrail".into()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <GuardrailWire as utoipa::ToSchema>::schemas(schemas);
    }
}

/// What a guardrail limits on the candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GuardrailMetric {
    /// Errors per request, as a fraction (0.01 is 1%).
    ErrorRate,
    /// A latency quantile in milliseconds, read from the candidate's sketch.
    LatencyQuantile { quantile: f64 },
}

/// An absolute limit on the candidate, breached only once it has held for `for_ms`, as in
/// Prometheus alerts. The metric is read over the trailing `range_ms` at every window end.
///
/// Written in plans as `{metric: error_rate, limit: 0.01, for: 30s}` or
/// `{metric: latency, quantile: 0.95, limit: 500, for: 1m, range: 30s, min_requests: 20}`
/// (latency limits in milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GuardrailWire", into = "GuardrailWire")]
pub struct Guardrail {
    pub metric: GuardrailMetric,
    /// The metric must stay at or below this.
    pub limit: f64,
    pub for_ms: u64,
    pub range_ms: u64,
    /// Evaluations over fewer candidate requests than this are not breaches.
    pub min_requests: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
enum GuardrailKind {
    ErrorRate,
    Latency,
}

/// The flat form of [`Guardrail`] in plans.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct GuardrailWire {
    metric: GuardrailKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quantile: Option<f64>,
    limit: f64,
    #[serde(rename = "for", default)]
    for_: Span,
    #[serde(default = "default_range")]
    range: Span,
    #[serde(default = "default_min_requests")]
    min_requests: u64,
}

fn default_range() -> Span {
    Span::from_secs(30)
}

fn default_min_requests() -> u64 {
    20
}

impl TryFrom<GuardrailWire> for Guardrail {
    type Error = String;

    fn try_from(wire: GuardrailWire) -> Result<Guardrail, String> {
        let metric = match (wire.metric, wire.quantile) {
            (GuardrailKind::ErrorRate, None) => GuardrailMetric::ErrorRate,
            (GuardrailKind::ErrorRate, Some(_)) => {
                return Err("`quantile` applies only to `metric: latency`".to_owned());
            }
            (GuardrailKind::Latency, quantile) => GuardrailMetric::LatencyQuantile {
                quantile: quantile.unwrap_or(0.99),
            },
        };
        Ok(Guardrail {
            metric,
            limit: wire.limit,
            for_ms: wire.for_.as_millis(),
            range_ms: wire.range.as_millis(),
            min_requests: wire.min_requests,
        })
    }
}

impl From<Guardrail> for GuardrailWire {
    fn from(guardrail: Guardrail) -> GuardrailWire {
        let (metric, quantile) = match guardrail.metric {
            GuardrailMetric::ErrorRate => (GuardrailKind::ErrorRate, None),
            GuardrailMetric::LatencyQuantile { quantile } => {
                (GuardrailKind::Latency, Some(quantile))
            }
        };
        GuardrailWire {
            metric,
            quantile,
            limit: guardrail.limit,
            for_: Span::from_millis(guardrail.for_ms),
            range: Span::from_millis(guardrail.range_ms),
            min_requests: guardrail.min_requests,
        }
    }
}

impl Guardrail {
    pub fn name(&self) -> String {
        match self.metric {
            GuardrailMetric::ErrorRate => "guardrail:error_rate".to_owned(),
            GuardrailMetric::LatencyQuantile { quantile } => {
                format!("guardrail:latency_{}", percentile_label(quantile))
            }
        }
    }
}

/// The plan's `analysis` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnalysisSpec {
    /// Bound on the false-rollback rate over the whole rollout, split across comparisons.
    pub alpha: f64,
    /// Error level of each non-inferiority (pass) test; "all must pass" needs no split.
    pub alpha_pass: f64,
    pub no_data: NoData,
    /// Pass once the step has soaked and met `min_samples` with no failure, even without
    /// demonstrated non-inferiority.
    pub pass_on_soak: bool,
    pub comparisons: Vec<Comparison>,
    pub guardrails: Vec<Guardrail>,
}

impl Default for AnalysisSpec {
    fn default() -> AnalysisSpec {
        AnalysisSpec {
            alpha: 0.05,
            alpha_pass: 0.05,
            no_data: NoData::Hold,
            pass_on_soak: false,
            comparisons: vec![
                Comparison {
                    metric: ComparisonMetric::ErrorRate,
                    tolerance: 0.5,
                },
                Comparison {
                    metric: ComparisonMetric::Latency {
                        quantile: 0.99,
                        min_baseline_samples: default_min_baseline_samples(),
                    },
                    tolerance: 1.0,
                },
            ],
            guardrails: Vec::new(),
        }
    }
}

fn check_range(
    field: String,
    value: f64,
    ok: bool,
    expected: &'static str,
) -> Result<(), JudgeError> {
    if ok && value.is_finite() {
        Ok(())
    } else {
        Err(JudgeError::OutOfRange {
            field,
            value,
            expected,
        })
    }
}

impl AnalysisSpec {
    /// Checks every numeric setting and that criterion names are unique.
    pub(crate) fn validate(&self) -> Result<(), JudgeError> {
        let open_unit = "strictly between 0 and 1";
        check_range(
            "alpha".into(),
            self.alpha,
            self.alpha > 0.0 && self.alpha < 1.0,
            open_unit,
        )?;
        check_range(
            "alpha_pass".into(),
            self.alpha_pass,
            self.alpha_pass > 0.0 && self.alpha_pass < 1.0,
            open_unit,
        )?;
        let mut names = Vec::new();
        for (position, comparison) in self.comparisons.iter().enumerate() {
            let field = format!("comparisons[{position}]");
            check_range(
                format!("{field}.tolerance"),
                comparison.tolerance,
                comparison.tolerance > -1.0,
                "greater than -1",
            )?;
            if let ComparisonMetric::Latency { quantile, .. } = comparison.metric {
                check_range(
                    format!("{field}.quantile"),
                    quantile,
                    quantile > 0.0 && quantile < 1.0,
                    open_unit,
                )?;
            }
            names.push(comparison.name());
        }
        for (position, guardrail) in self.guardrails.iter().enumerate() {
            let field = format!("guardrails[{position}]");
            match guardrail.metric {
                GuardrailMetric::ErrorRate => check_range(
                    format!("{field}.limit"),
                    guardrail.limit,
                    (0.0..=1.0).contains(&guardrail.limit),
                    "a fraction between 0 and 1: 0.01 is 1%",
                )?,
                GuardrailMetric::LatencyQuantile { .. } => check_range(
                    format!("{field}.limit"),
                    guardrail.limit,
                    guardrail.limit >= 0.0,
                    "milliseconds, >= 0",
                )?,
            }
            if guardrail.range_ms == 0 {
                return Err(JudgeError::OutOfRange {
                    field: format!("{field}.range"),
                    value: 0.0,
                    expected: "a duration of at least one window, e.g. 30s",
                });
            }
            if let GuardrailMetric::LatencyQuantile { quantile } = guardrail.metric {
                check_range(
                    format!("{field}.quantile"),
                    quantile,
                    quantile > 0.0 && quantile <= 1.0,
                    "in (0, 1]",
                )?;
            }
            names.push(guardrail.name());
        }
        let mut sorted = names.clone();
        sorted.sort();
        for pair in sorted.windows(2) {
            if let [left, right] = pair
                && left == right
            {
                return Err(JudgeError::DuplicateCriterion { name: left.clone() });
            }
        }
        Ok(())
    }

    /// α for each comparison's failure test: `alpha / m` (Bonferroni over `m` comparisons).
    pub fn alpha_per_comparison(&self) -> f64 {
        self.alpha / self.comparisons.len().max(1) as f64
    }
}
