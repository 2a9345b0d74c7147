//! Rollout plans: what users write ([`PlanSpec`]) and the validated, expanded [`Plan`].

use rampart_model::{Catalog, ErrorCode, ValidationError};
use serde::{Deserialize, Serialize};

use rampart_judge::{AnalysisSpec, Judge, JudgeError, NoData};

use crate::span::Span;

/// A preset of steps. `custom` takes the plan's own `steps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Strategy {
    /// 5, 10, 25, 50, 75, 100 with 5 min soak each.
    #[default]
    Safe,
    /// 25, 50, 100 with 1 min soak each.
    Fast,
    /// A shadow (dark launch) step, then 1, 5, 10, 25, 50, 100 with 2 min soak each.
    Canary,
    /// Straight to 100: blue/green.
    Instant,
    /// The plan's own `steps`.
    Custom,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Safe => "safe",
            Strategy::Fast => "fast",
            Strategy::Canary => "canary",
            Strategy::Instant => "instant",
            Strategy::Custom => "custom",
        }
    }

    /// The preset's steps as (shadow?, percent) and its default soak.
    fn preset(self) -> (&'static [(bool, f64)], Span) {
        match self {
            Strategy::Safe => (
                &[
                    (false, 5.0),
                    (false, 10.0),
                    (false, 25.0),
                    (false, 50.0),
                    (false, 75.0),
                    (false, 100.0),
                ],
                Span::from_secs(300),
            ),
            Strategy::Fast => (
                &[(false, 25.0), (false, 50.0), (false, 100.0)],
                Span::from_secs(60),
            ),
            Strategy::Canary => (
                &[
                    (true, 100.0),
                    (false, 1.0),
                    (false, 5.0),
                    (false, 10.0),
                    (false, 25.0),
                    (false, 50.0),
                    (false, 100.0),
                ],
                Span::from_secs(120),
            ),
            Strategy::Instant => (&[(false, 100.0)], Span::ZERO),
            Strategy::Custom => (&[], Span::from_secs(300)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Approval {
    #[default]
    None,
    /// A person must approve before the rollout moves past this step.
    Required,
}

/// One step as written. Either `percent` (0 < p ≤ 100, fractions allowed down to one basis
/// point) or `shadow: true` (serve baseline; compute the candidate's assignment as metadata
/// for `percent`% of users, 100 by default).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shadow: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_samples: Option<u64>,
    #[serde(default, skip_serializing_if = "is_no_approval")]
    pub approval: Approval,
    /// Only this segment (a ring such as `internal` or `beta`) gets the candidate at this
    /// step. Rings stay exposed at later steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
}

fn is_no_approval(approval: &Approval) -> bool {
    *approval == Approval::None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RollbackMode {
    /// Candidate to 0% at once.
    #[default]
    Immediate,
    /// Step back down through the earlier steps, one every `step_interval`.
    Gradual,
    /// The emergency stop: disable the flag, so everyone gets its default variant.
    Kill,
}

impl RollbackMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RollbackMode::Immediate => "immediate",
            RollbackMode::Gradual => "gradual",
            RollbackMode::Kill => "kill",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RollbackSpec {
    /// How an automatic rollback (a failed gate) rolls back.
    #[serde(default)]
    pub mode: RollbackMode,
    /// The pace of a gradual rollback.
    #[serde(default = "default_step_interval")]
    pub step_interval: Span,
}

fn default_step_interval() -> Span {
    Span::from_secs(30)
}

impl Default for RollbackSpec {
    fn default() -> Self {
        RollbackSpec {
            mode: RollbackMode::Immediate,
            step_interval: default_step_interval(),
        }
    }
}

/// A rollout plan as users write it (YAML or JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanSpec {
    pub flag: String,
    pub candidate: String,
    /// The variant being replaced; the flag's default variant when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    #[serde(default)]
    pub strategy: Strategy,
    /// Only with `strategy: custom`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepSpec>,
    /// Soak for every step that sets none; the strategy's default otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak: Option<Span>,
    /// Samples every step needs before it can pass, unless the step sets its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_samples: Option<u64>,
    #[serde(default)]
    pub rollback: RollbackSpec,
    /// Health analysis: comparisons against the baseline, guardrails, α and the `no_data`
    /// policy. Omitted, it takes the judge's defaults.
    #[serde(default)]
    pub analysis: AnalysisSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "basis_points")]
pub enum StepKind {
    /// Serve baseline; compute the candidate assignment for this share as metadata.
    Shadow(u32),
    /// Serve the candidate to this share (basis points) of the step's audience.
    Percent(u32),
}

/// A resolved step: the strategy expanded, every default filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub kind: StepKind,
    pub soak: Span,
    pub min_samples: u64,
    pub approval: Approval,
    pub segment: Option<String>,
}

/// A validated plan. Invariants: at least one step; shadow steps come first; percentages
/// never go down within an audience; the last step serves 100% to everyone.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    spec: PlanSpec,
    judge: Judge,
    baseline: String,
    steps: Vec<Step>,
}

fn invalid(
    code: ErrorCode,
    field: impl Into<String>,
    message: impl Into<String>,
) -> ValidationError {
    ValidationError::new(code, field, message)
}

impl Plan {
    /// Validates a plan against the catalog (flag, variants, segments) and the flags that
    /// already have an active rollout.
    pub fn try_new<'a>(
        spec: PlanSpec,
        catalog: &Catalog,
        mut active_flags: impl Iterator<Item = &'a str>,
    ) -> Result<Plan, ValidationError> {
        let Some(flag) = catalog.flag(&spec.flag) else {
            return Err(invalid(
                ErrorCode::UnknownFlag,
                "flag",
                format!("unknown flag `{}`", spec.flag),
            ));
        };
        if active_flags.any(|f| f == spec.flag) {
            return Err(invalid(
                ErrorCode::Conflict,
                "flag",
                format!(
                    "flag `{}` already has an active rollout; finish, roll back or abort it first",
                    spec.flag
                ),
            ));
        }
        let variants = &flag.spec().variants;
        let known = || {
            variants
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !variants.contains_key(&spec.candidate) {
            return Err(invalid(
                ErrorCode::UnknownVariant,
                "candidate",
                format!(
                    "flag `{}` has no variant `{}`; it has: {}",
                    spec.flag,
                    spec.candidate,
                    known()
                ),
            ));
        }
        let baseline = spec
            .baseline
            .clone()
            .unwrap_or_else(|| flag.spec().default_variant.clone());
        if !variants.contains_key(&baseline) {
            return Err(invalid(
                ErrorCode::UnknownVariant,
                "baseline",
                format!(
                    "flag `{}` has no variant `{baseline}`; it has: {}",
                    spec.flag,
                    known()
                ),
            ));
        }
        if baseline == spec.candidate {
            return Err(invalid(
                ErrorCode::Conflict,
                "candidate",
                format!(
                    "candidate and baseline are both `{baseline}`; a rollout moves between two different variants"
                ),
            ));
        }
        let steps = resolve_steps(&expand_steps(&spec)?, Some(catalog))?;
        let judge = judge(&spec.analysis)?;
        Ok(Plan {
            judge,
            spec,
            baseline,
            steps,
        })
    }

    /// Rebuilds a plan persisted by [`Plan::persisted`], without checking it against
    /// today's catalog: a running or finished rollout must stay readable and controllable
    /// even if a segment or flag it named was changed since.
    pub fn restore(spec: PlanSpec) -> Result<Plan, ValidationError> {
        let Some(baseline) = spec.baseline.clone() else {
            return Err(invalid(
                ErrorCode::Required,
                "baseline",
                "a persisted plan records its baseline",
            ));
        };
        let steps = resolve_steps(&expand_steps(&spec)?, None)?;
        let judge = judge(&spec.analysis)?;
        Ok(Plan {
            judge,
            spec,
            baseline,
            steps,
        })
    }

    /// The spec to persist: as submitted, with the baseline resolved.
    pub fn persisted(&self) -> PlanSpec {
        let mut spec = self.spec.clone();
        spec.baseline = Some(self.baseline.clone());
        spec
    }

    /// Segments the plan's steps name (rings).
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().filter_map(|s| s.segment.as_deref())
    }

    pub fn spec(&self) -> &PlanSpec {
        &self.spec
    }

    pub fn flag(&self) -> &str {
        &self.spec.flag
    }

    pub fn candidate(&self) -> &str {
        &self.spec.candidate
    }

    pub fn baseline(&self) -> &str {
        &self.baseline
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub fn rollback(&self) -> &RollbackSpec {
        &self.spec.rollback
    }

    pub fn no_data(&self) -> NoData {
        self.spec.analysis.no_data
    }

    /// The validated health analysis that decides each step's gate.
    pub fn judge(&self) -> &Judge {
        &self.judge
    }
}

/// Validates the `analysis` section, naming the offending field under `analysis.`.
fn judge(spec: &AnalysisSpec) -> Result<Judge, ValidationError> {
    Judge::try_new(spec.clone()).map_err(|error| match error {
        JudgeError::OutOfRange {
            field,
            value,
            expected,
        } => invalid(
            ErrorCode::OutOfRange,
            format!("analysis.{field}"),
            format!("{value} is out of range: expected {expected}"),
        ),
        JudgeError::DuplicateCriterion { name } => invalid(
            ErrorCode::Conflict,
            "analysis",
            format!("criterion `{name}` is configured twice"),
        ),
        other => invalid(ErrorCode::OutOfRange, "analysis", other.to_string()),
    })
}

/// Expands the strategy into steps, applying plan-wide and per-step defaults.
fn expand_steps(spec: &PlanSpec) -> Result<Vec<StepSpec>, ValidationError> {
    let (preset, default_soak) = spec.strategy.preset();
    let soak = spec.soak.unwrap_or(default_soak);
    let written: Vec<StepSpec> = if spec.strategy == Strategy::Custom {
        if spec.steps.is_empty() {
            return Err(invalid(
                ErrorCode::Required,
                "steps",
                "a custom strategy needs `steps`, e.g. [{percent: 5}, {percent: 100}]",
            ));
        }
        spec.steps.clone()
    } else {
        if !spec.steps.is_empty() {
            return Err(invalid(
                ErrorCode::Conflict,
                "steps",
                format!(
                    "`steps` are only for `strategy: custom`; `{}` has its own steps",
                    spec.strategy.as_str()
                ),
            ));
        }
        preset
            .iter()
            .map(|&(shadow, percent)| StepSpec {
                percent: Some(percent),
                shadow,
                ..StepSpec::default()
            })
            .collect()
    };
    Ok(written
        .into_iter()
        .map(|mut step| {
            step.soak = step.soak.or(Some(soak));
            step.min_samples = step.min_samples.or(spec.min_samples);
            step
        })
        .collect())
}

fn basis_points(field: &str, percent: Option<f64>, shadow: bool) -> Result<u32, ValidationError> {
    let percent = match (percent, shadow) {
        (Some(p), _) => p,
        (None, true) => 100.0,
        (None, false) => {
            return Err(invalid(
                ErrorCode::Required,
                field,
                "a step needs `percent` (or `shadow: true`)",
            ));
        }
    };
    if !(percent.is_finite() && percent > 0.0 && percent <= 100.0) {
        return Err(invalid(
            ErrorCode::InvalidWeights,
            field,
            format!("percent must be above 0 and at most 100, got {percent}"),
        ));
    }
    let bp = (percent * 100.0).round();
    if bp < 1.0 || (bp - percent * 100.0).abs() > 1e-6 {
        return Err(invalid(
            ErrorCode::InvalidWeights,
            field,
            format!("percent {percent} is finer than one basis point (0.01)"),
        ));
    }
    Ok(bp as u32)
}

/// Turns written steps into resolved ones, checking order and audiences.
fn resolve_steps(
    written: &[StepSpec],
    catalog: Option<&Catalog>,
) -> Result<Vec<Step>, ValidationError> {
    let mut steps = Vec::with_capacity(written.len());
    let mut seen_percent = false;
    // The highest percent so far per audience (None = everyone): they may not go down.
    let mut highest: Vec<(Option<&str>, u32)> = Vec::new();
    for (i, step) in written.iter().enumerate() {
        let field = format!("steps[{i}]");
        let bp = basis_points(&format!("{field}.percent"), step.percent, step.shadow)?;
        if let (Some(segment), Some(catalog)) = (&step.segment, catalog)
            && catalog.segment(segment).is_none()
        {
            return Err(invalid(
                ErrorCode::UnknownSegment,
                format!("{field}.segment"),
                format!("unknown segment `{segment}`"),
            ));
        }
        let kind = if step.shadow {
            if seen_percent {
                return Err(invalid(
                    ErrorCode::Conflict,
                    format!("{field}.shadow"),
                    "shadow steps must come before every percent step",
                ));
            }
            if step.segment.is_some() {
                return Err(invalid(
                    ErrorCode::Conflict,
                    format!("{field}.segment"),
                    "a shadow step applies to everyone; drop `segment`",
                ));
            }
            StepKind::Shadow(bp)
        } else {
            seen_percent = true;
            let audience = step.segment.as_deref();
            match highest.iter_mut().find(|(a, _)| *a == audience) {
                Some((_, previous)) if *previous > bp => {
                    return Err(invalid(
                        ErrorCode::InvalidWeights,
                        format!("{field}.percent"),
                        format!(
                            "percent goes down from {} to {} for {}; steps may only hold or raise exposure",
                            f64::from(*previous) / 100.0,
                            f64::from(bp) / 100.0,
                            audience.map_or("everyone".to_owned(), |s| format!("segment `{s}`"))
                        ),
                    ));
                }
                Some((_, previous)) => *previous = bp,
                None => highest.push((audience, bp)),
            }
            StepKind::Percent(bp)
        };
        steps.push(Step {
            kind,
            soak: step.soak.unwrap_or_default(),
            min_samples: step.min_samples.unwrap_or(0),
            approval: step.approval,
            segment: step.segment.clone(),
        });
    }
    match steps.last() {
        Some(Step {
            kind: StepKind::Percent(10_000),
            segment: None,
            ..
        }) => Ok(steps),
        _ => Err(invalid(
            ErrorCode::InvalidWeights,
            format!("steps[{}]", steps.len().saturating_sub(1)),
            "the last step must be `percent: 100` for everyone (no segment): a rollout ends with everyone on the candidate",
        )),
    }
}
