//! Property tests: the judge's statistic doesn't depend on event order within a window, and
//! merging aggregates built from two halves equals aggregating the union, in either order.

use proptest::prelude::*;
use rampart_judge::{
    AnalysisSpec, Comparison, ComparisonMetric, Judge, Observations, Outcome, Series, StepContext,
};

/// `(at_ms, on_candidate, error, latency_ms, counter increment)`.
type Event = (u64, bool, bool, f64, u64);

fn event() -> impl Strategy<Value = Event> {
    (
        0_u64..8_000,
        any::<bool>(),
        prop::bool::weighted(0.2),
        0.5_f64..2_000.0,
        0_u64..3,
    )
}

fn build(events: &[Event]) -> (Series, Series) {
    let mut baseline = Series::new(1_000).unwrap();
    let mut candidate = Series::new(1_000).unwrap();
    for (at_ms, on_candidate, error, latency_ms, counter) in events {
        let series = if *on_candidate {
            &mut candidate
        } else {
            &mut baseline
        };
        let outcome = if *error {
            Outcome::Error
        } else {
            Outcome::Success
        };
        let window = series.window_mut(*at_ms);
        window.record(outcome, Some(*latency_ms));
        if *counter > 0 {
            window.add_counter("checkout_failed", *counter);
        }
    }
    (baseline, candidate)
}

fn judge() -> Judge {
    let spec = AnalysisSpec {
        comparisons: vec![
            Comparison {
                metric: ComparisonMetric::ErrorRate,
                tolerance: 0.0,
            },
            Comparison {
                metric: ComparisonMetric::Latency {
                    quantile: 0.9,
                    min_baseline_samples: 5,
                },
                tolerance: 0.0,
            },
            Comparison {
                metric: ComparisonMetric::Counter {
                    name: "checkout_failed".to_owned(),
                },
                tolerance: 0.0,
            },
            Comparison {
                metric: ComparisonMetric::TrafficShare,
                tolerance: 0.1,
            },
        ],
        ..AnalysisSpec::default()
    };
    Judge::try_new(spec).unwrap()
}

const STEPS: [StepContext; 2] = [
    StepContext {
        started_at_ms: 1_000,
        assigned_share: Some(0.5),
        soak_ms: 0,
        min_samples: 0,
    },
    StepContext {
        started_at_ms: 4_000,
        assigned_share: Some(0.25),
        soak_ms: 0,
        min_samples: 0,
    },
];

proptest! {
    #[test]
    fn decision_is_invariant_to_event_order(
        (events, shuffled) in prop::collection::vec(event(), 0..150)
            .prop_flat_map(|events| (Just(events.clone()), Just(events).prop_shuffle()))
    ) {
        let (baseline, candidate) = build(&events);
        let (shuffled_baseline, shuffled_candidate) = build(&shuffled);
        prop_assert_eq!(&baseline, &shuffled_baseline);
        prop_assert_eq!(&candidate, &shuffled_candidate);
        let judge = judge();
        let decide = |baseline: &Series, candidate: &Series| {
            judge.decide(&Observations { baseline, candidate, steps: &STEPS }, 9_000)
        };
        prop_assert_eq!(
            decide(&baseline, &candidate),
            decide(&shuffled_baseline, &shuffled_candidate)
        );
    }

    #[test]
    fn merging_two_halves_equals_aggregating_the_union(
        events in prop::collection::vec(event(), 0..150),
        split in 0_usize..150,
    ) {
        let split = split.min(events.len());
        let (first, second) = events.split_at(split);
        let (union_baseline, union_candidate) = build(&events);
        let (first_baseline, first_candidate) = build(first);
        let (second_baseline, second_candidate) = build(second);

        let mut merged_baseline = first_baseline.clone();
        merged_baseline.merge(&second_baseline).unwrap();
        let mut merged_candidate = first_candidate.clone();
        merged_candidate.merge(&second_candidate).unwrap();
        prop_assert_eq!(&merged_baseline, &union_baseline);
        prop_assert_eq!(&merged_candidate, &union_candidate);

        // Commutative: the other order gives the same aggregates, hence the same decision.
        let mut reversed_candidate = second_candidate.clone();
        reversed_candidate.merge(&first_candidate).unwrap();
        prop_assert_eq!(&reversed_candidate, &union_candidate);

        let judge = judge();
        let union = judge.decide(
            &Observations { baseline: &union_baseline, candidate: &union_candidate, steps: &STEPS },
            9_000,
        );
        let merged = judge.decide(
            &Observations { baseline: &merged_baseline, candidate: &merged_candidate, steps: &STEPS },
            9_000,
        );
        prop_assert_eq!(union, merged);
    }
}
