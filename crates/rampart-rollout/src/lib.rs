//! Rollouts: move one flag from its `baseline` variant to its `candidate` through planned
//! steps, deciding each step with a gate, and roll back when the gate fails.
//!
//! Layout:
//! - [`span`]: durations written as `30s`, `5m`, `1h30m` (re-exported from `rampart-model`).
//! - [`plan`]: [`PlanSpec`] (as written), [`Plan`] (validated, strategy expanded to steps).
//! - [`gate`]: the judge's health decision combined with the step's soak and samples.
//! - [`machine`]: the state machine `step(plan, state, event, now) -> (state, actions)`.
//! - [`view`]: how a rollout is shown over the API and in the CLI.
//! - [`actuate`]: what a weight change does to the flag (its own split is the actuator).
//!
//! Everything here is pure: no IO, no clock (`now` is an argument), no panics on input.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod actuate;
pub mod gate;
pub mod machine;
pub mod plan;
pub mod view;

pub use gate::{
    Criterion, Decision, Evidence, Gate, NoData, SoakGate, StepContext, Verdict, combine,
    step_contexts,
};
pub use machine::{
    Action, Event, Phase, RollbackState, RollbackTimings, RolloutState, Target, TransitionError,
    Weights, step,
};
pub use plan::{
    Approval, Plan, PlanSpec, RollbackMode, RollbackSpec, Step, StepKind, StepSpec, Strategy,
};
pub use rampart_model::span::{self, Span};

/// Unix milliseconds (UTC). Time always comes in as an argument.
pub type Millis = i64;
