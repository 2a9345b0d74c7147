//! `events`: a health event batch, as `POST /v1/events` parses and validates it.
//!
//! Input: the request body, through `rampart_server::events::validate_batch` (the
//! handler's own parse and per-event checks) against the demo catalog at a fixed clock,
//! with the valid samples fed to the server's `Health` tracking a rollout of
//! `new-checkout` (`off` → `on`) whose analysis uses every comparison and guardrail.
//! - a batch that is accepted accounts for every event: accepted plus rejected is the
//!   batch's length, rejections are sorted by index, each index once;
//! - every accepted sample names a known flag and variant, a time within the accepted
//!   range (never after the clock), a latency that is a latency, counts that are counts;
//! - validation is deterministic;
//! - the judge's decision over the recorded events does not depend on their order.

use std::sync::LazyLock;

use rampart_judge::{Decision, Observations};
use rampart_rollout::{Event, Plan, PlanSpec, RolloutState, StepContext, step, step_contexts};
use rampart_server::events::validate_batch;
use rampart_server::health::{Health, Sample};
use serde_json::value::RawValue;

use crate::fixtures;

/// The server's clock during the batch: 2026-01-01T00:00:00Z.
const NOW_MS: u64 = 1_767_225_600_000;
/// The oldest event the server accepts, relative to its clock (events.rs: 1 h).
const MAX_AGE_MS: u64 = 3_600_000;
const FLAG: &str = "new-checkout";
const COUNTER: &str = "checkout_failed";

/// The rollout the events feed: the plan, and its steps as the judge sees them.
static ROLLOUT: LazyLock<(Plan, Vec<StepContext>)> = LazyLock::new(|| {
    let spec: PlanSpec = serde_json::from_value(serde_json::json!({
        "flag": FLAG,
        "candidate": "on",
        "strategy": "custom",
        "steps": [{"percent": 5}, {"percent": 50}, {"percent": 100}],
        "soak": "1m",
        "analysis": {
            "comparisons": [
                {"metric": "error_rate"},
                {"metric": "latency", "quantile": 0.99, "min_baseline_samples": 5},
                {"metric": "counter", "counter": COUNTER},
                {"metric": "traffic_share"}
            ],
            "guardrails": [
                {"metric": "error_rate", "limit": 0.05, "min_requests": 1},
                {"metric": "latency", "quantile": 0.95, "limit": 500, "for": "1s", "min_requests": 1}
            ]
        }
    }))
    .expect("the fixture plan parses");
    let plan = Plan::try_new(spec, fixtures::demo_catalog(), std::iter::empty())
        .expect("the fixture plan is valid");
    // Started 40 minutes ago, at 50% since 20 minutes ago.
    let start = NOW_MS as i64 - 40 * 60_000;
    let (state, _) =
        step(&plan, &RolloutState::pending(), &Event::Start, start).expect("the rollout starts");
    let (state, _) =
        step(&plan, &state, &Event::Promote, start + 20 * 60_000).expect("it is promoted");
    let steps = step_contexts(&plan, &state);
    (plan, steps)
});

pub fn init() {
    fixtures::init();
    LazyLock::force(&ROLLOUT);
}

fn tracking() -> Health {
    let health = Health::default();
    health.track(FLAG, 1, "off", "on", vec![COUNTER.to_owned()]);
    health
}

fn decide(health: &Health) -> Decision {
    let (plan, steps) = &*ROLLOUT;
    health
        .with_arms(FLAG, |arms| {
            let observations = Observations {
                baseline: &arms.baseline,
                candidate: &arms.candidate,
                steps,
            };
            plan.judge().decide(&observations, NOW_MS + 1_000)
        })
        .expect("the rollout is tracked")
}

/// Returns whether the batch had an accepted event (so the judge's properties were checked).
pub fn run(data: &[u8]) -> bool {
    let catalog = fixtures::demo_catalog();
    let health = tracking();
    let result = validate_batch(
        data,
        catalog,
        || NOW_MS,
        |samples| {
            for sample in samples {
                check_sample(sample);
            }
            let judged = health.ingest(samples);
            let expected = samples
                .iter()
                .filter(|s| {
                    s.flag == FLAG && (s.variant == "on" || (s.variant == "off" && !s.shadow))
                })
                .count() as u64;
            assert_eq!(judged, expected, "judged events miscounted");
            let reversed: Vec<Sample<'_>> = samples.iter().rev().cloned().collect();
            let other = tracking();
            other.ingest(&reversed);
            assert_eq!(
                decide(&health),
                decide(&other),
                "the decision depends on the order of the events"
            );
            samples.len()
        },
    );
    let again = validate_batch(data, catalog, || NOW_MS, |samples| samples.len());
    let Ok((accepted, rejected)) = result else {
        assert!(again.is_err(), "validation is not deterministic");
        return false;
    };
    let Ok((accepted_again, rejected_again)) = again else {
        panic!("validation is not deterministic");
    };
    assert_eq!((accepted, &rejected), (accepted_again, &rejected_again));
    let batch: Vec<&RawValue> = match serde_json::from_slice(data) {
        Ok(batch) => batch,
        Err(e) => panic!("an accepted batch is not a JSON array: {e}"),
    };
    assert_eq!(
        accepted + rejected.len(),
        batch.len(),
        "events lost or counted twice"
    );
    for pair in rejected.windows(2) {
        assert!(
            pair[0].index < pair[1].index,
            "rejections out of order or repeated"
        );
    }
    if let Some(last) = rejected.last() {
        assert!(
            last.index < batch.len(),
            "a rejection past the end of the batch"
        );
    }
    for rejection in &rejected {
        assert!(!rejection.code.is_empty() && !rejection.message.is_empty());
    }
    accepted > 0
}

fn check_sample(sample: &Sample<'_>) {
    let flag = fixtures::demo_catalog()
        .flag(sample.flag)
        .unwrap_or_else(|| panic!("accepted an event for unknown flag `{}`", sample.flag));
    assert!(
        flag.spec().variants.contains_key(sample.variant),
        "accepted an event for unknown variant `{}`",
        sample.variant
    );
    assert!(
        sample.at_ms <= NOW_MS && sample.at_ms + MAX_AGE_MS >= NOW_MS,
        "accepted an event at {} ms, the clock is at {NOW_MS} ms",
        sample.at_ms
    );
    if let Some(latency) = sample.latency_ms {
        assert!(
            latency.is_finite() && (0.0..=3_600_000.0).contains(&latency),
            "accepted latency {latency}"
        );
    }
    assert!(
        sample.counters.len() <= 16,
        "accepted {} counters",
        sample.counters.len()
    );
    for (name, value) in &sample.counters {
        assert!(
            !name.is_empty() && name.len() <= 64,
            "accepted counter name {name:?}"
        );
        assert!(*value <= 1_000_000_000, "accepted count {value}");
    }
}
