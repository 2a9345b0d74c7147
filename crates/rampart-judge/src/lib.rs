//! Rampart's statistical judge: mergeable health aggregates in, a gate [`Decision`] out.
//!
//! Layout:
//! - [`error`]: [`JudgeError`], the crate's one error type.
//! - [`sketch`]: [`LatencySketch`], a DDSketch-style log histogram at 1% relative accuracy.
//! - [`aggregate`]: [`Aggregate`] (one variant, one window) and [`Series`] (windows over time),
//!   both exactly mergeable across nodes.
//! - [`sequential`]: [`CountTest`], the anytime-valid mixture e-process on bad-event draws.
//! - [`config`]: [`AnalysisSpec`], the plan's `analysis` section: comparisons, guardrails,
//!   α and the `no_data` policy.
//! - [`decision`]: [`Verdict`], [`Criterion`] and [`Decision`].
//! - [`judge`]: [`Judge`], which evaluates an [`AnalysisSpec`] over [`Observations`] at `now`.
//!
//! Architecture invariant: this crate is pure. No IO, no clock (`now` is an argument), no
//! randomness, and no panics on any input. The method is documented in the crate's README.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod aggregate;
pub mod config;
pub mod decision;
pub mod error;
pub mod judge;
pub mod sequential;
pub mod sketch;

pub use aggregate::{Aggregate, Outcome, Series};
pub use config::{AnalysisSpec, Comparison, ComparisonMetric, Guardrail, GuardrailMetric, NoData};
pub use decision::{Criterion, Decision, Verdict};
pub use error::JudgeError;
pub use judge::{Judge, Observations, StepContext};
pub use sequential::{CountTest, Direction};
pub use sketch::LatencySketch;
