//! Rampart's fuzz targets. Each module is one target: `init()` builds its fixed fixtures
//! (call it before the fuzz loop so the fork server starts after the set-up), and
//! `run(data)` feeds one input through the same public entry points the server uses and
//! asserts properties of the result. A property violation is a panic, which AFL++ records
//! as a crash and the corpus test (`tests/corpus.rs`) reports as a failure.
//!
//! The targets:
//! - [`flag`]: a flag body (`POST /v1/flags`) through validation, round trips and a catalog.
//! - [`document`]: a flags-as-code document as `POST /v1/apply` JSON and as YAML.
//! - [`plan`]: a rollout plan (`POST /v1/rollouts`) validated, persisted, restored and run.
//! - [`context_eval`]: an OFREP request body evaluated against rich snapshots.
//! - [`events`]: a `POST /v1/events` batch parsed and validated.
//! - [`ledger_canonical`]: the ledger's canonical JSON, and verification of hostile chains.
//!
//! `flag`, `document`, `plan` and `context_eval` also take structure-aware input: one that
//! starts with a NUL byte is read as choices that build the JSON (see [`generate`]).

pub mod context_eval;
pub mod document;
pub mod events;
pub mod fixtures;
pub mod flag;
pub mod generate;
pub mod ledger_canonical;
pub mod plan;

/// A target's property check: panics when a property does not hold. Returns whether the
/// input got past parsing and validation to the deeper properties (the corpus test checks
/// that every target's seeds include such inputs).
pub type Run = fn(&[u8]) -> bool;

/// Every target by name, with its fixture set-up and its check.
pub const TARGETS: &[(&str, fn(), Run)] = &[
    ("flag", flag::init, flag::run),
    ("document", document::init, document::run),
    ("plan", plan::init, plan::run),
    ("context_eval", context_eval::init, context_eval::run),
    ("events", events::init, events::run),
    (
        "ledger_canonical",
        ledger_canonical::init,
        ledger_canonical::run,
    ),
];

/// The check of the target called `name`, with its fixtures built.
pub fn target(name: &str) -> Option<Run> {
    TARGETS
        .iter()
        .find(|(target, _, _)| *target == name)
        .map(|&(_, init, run)| {
            init();
            run
        })
}
