//! Decision tests: hand-computed e-values in blockers, the `no_data` policy, guardrails and
//! their `for` duration, latency and traffic-share comparisons, and configuration errors.

use rampart_judge::{
    AnalysisSpec, Comparison, ComparisonMetric, Decision, Guardrail, GuardrailMetric, Judge,
    JudgeError, NoData, Observations, Outcome, Series, StepContext, Verdict,
};

fn step(started_at_ms: u64, share: f64) -> StepContext {
    StepContext {
        started_at_ms,
        assigned_share: Some(share),
        soak_ms: 60_000,
        min_samples: 100,
    }
}

/// Records `requests` requests with `errors` errors and latency `latency_ms` at `at_ms`.
fn fill(series: &mut Series, at_ms: u64, requests: u64, errors: u64, latency_ms: f64) {
    for position in 0..requests {
        let outcome = if position < errors {
            Outcome::Error
        } else {
            Outcome::Success
        };
        series.record(at_ms, outcome, Some(latency_ms));
    }
}

fn decide(
    judge: &Judge,
    baseline: &Series,
    candidate: &Series,
    steps: &[StepContext],
    now_ms: u64,
) -> Decision {
    judge.decide(
        &Observations {
            baseline,
            candidate,
            steps,
        },
        now_ms,
    )
}

fn judge_with(comparisons: Vec<Comparison>, guardrails: Vec<Guardrail>, no_data: NoData) -> Judge {
    Judge::try_new(AnalysisSpec {
        comparisons,
        guardrails,
        no_data,
        ..AnalysisSpec::default()
    })
    .unwrap()
}

fn error_rate(tolerance: f64) -> Comparison {
    Comparison {
        metric: ComparisonMetric::ErrorRate,
        tolerance,
    }
}

#[test]
fn blocker_names_rates_tolerance_and_hand_computed_e_value() {
    // One window, 1 000 requests per arm: 41 candidate errors, 10 baseline errors.
    let mut baseline = Series::new(1_000).unwrap();
    let mut candidate = Series::new(1_000).unwrap();
    fill(&mut baseline, 500, 1_000, 10, 5.0);
    fill(&mut candidate, 500, 1_000, 41, 5.0);
    let judge = judge_with(vec![error_rate(0.5)], Vec::new(), NoData::Hold);
    let decision = decide(&judge, &baseline, &candidate, &[step(0, 0.5)], 1_000);

    // By hand: s = 1/2, so q(ρ) = ρ/(ρ+1); boundary ρ0 = 1.5; the grid is ρ0 × these multiples.
    // The fail test mixes over start blocks: the component started at this window weighs
    // 1/2, and the later blocks' components (weight 1/2 in all) are still worth 1.
    let q = |ratio: f64| ratio / (ratio + 1.0);
    let e_value: f64 = [1.25, 1.5, 2.0, 3.0, 5.0, 10.0]
        .iter()
        .map(|multiple| {
            let ratio = 1.5 * multiple;
            let log_lr =
                41.0 * (q(ratio) / q(1.5)).ln() + 10.0 * ((1.0 - q(ratio)) / (1.0 - q(1.5))).ln();
            log_lr.exp() / 6.0
        })
        .sum::<f64>()
        * 0.5
        + 0.5;
    assert!(e_value > 20.0, "{e_value}");
    assert_eq!(decision.verdict, Verdict::Fail);
    assert_eq!(
        decision.blockers,
        vec![format!(
            "candidate error rate 4.1% vs baseline 1.0%, tolerance +50%, e-value {e_value:.0} > 20"
        )]
    );
    let criterion = &decision.criteria[0];
    assert_eq!(
        criterion.observed,
        "candidate 4.1% (41/1000) vs baseline 1.0% (10/1000)"
    );
    assert!(
        criterion.threshold.starts_with("fail at e-value >= 20"),
        "{}",
        criterion.threshold
    );
}

#[test]
fn the_window_in_progress_is_not_judged() {
    let mut baseline = Series::new(1_000).unwrap();
    let mut candidate = Series::new(1_000).unwrap();
    fill(&mut baseline, 1_500, 1_000, 10, 5.0);
    fill(&mut candidate, 1_500, 1_000, 200, 5.0);
    let judge = judge_with(vec![error_rate(0.5)], Vec::new(), NoData::Hold);
    let steps = [step(0, 0.5)];
    let during = decide(&judge, &baseline, &candidate, &steps, 1_999);
    assert_eq!(during.verdict, Verdict::Inconclusive);
    assert_eq!(
        during.blockers,
        vec!["no candidate requests at this step yet (no_data: hold)"]
    );
    assert_eq!(
        decide(&judge, &baseline, &candidate, &steps, 2_000).verdict,
        Verdict::Fail
    );
}

#[test]
fn no_data_policy_is_explicit_and_hold_never_promotes() {
    let baseline = Series::new(1_000).unwrap();
    let candidate = Series::new(1_000).unwrap();
    let steps = [step(0, 0.1)];
    for (policy, expected) in [
        (NoData::Hold, Verdict::Inconclusive),
        (NoData::Fail, Verdict::Fail),
        (NoData::Pass, Verdict::Pass),
    ] {
        let judge = judge_with(vec![error_rate(0.5)], Vec::new(), policy);
        for now_ms in [0, 1_000, 3_600_000] {
            let decision = decide(&judge, &baseline, &candidate, &steps, now_ms);
            assert_eq!(decision.verdict, expected, "{policy:?} at {now_ms}");
        }
    }
    let judge = judge_with(vec![error_rate(0.5)], Vec::new(), NoData::Hold);
    let before = decide(&judge, &baseline, &candidate, &[], 5_000);
    assert_eq!(before.verdict, Verdict::Inconclusive);
}

fn error_guardrail(for_ms: u64) -> Guardrail {
    Guardrail {
        metric: GuardrailMetric::ErrorRate,
        limit: 0.01,
        for_ms,
        range_ms: 1_000,
        min_requests: 10,
    }
}

#[test]
fn guardrail_breach_shorter_than_for_does_not_fail() {
    let mut baseline = Series::new(1_000).unwrap();
    let mut candidate = Series::new(1_000).unwrap();
    // 20 s of 5% errors, then healthy; `for` is 30 s.
    for second in 0..60 {
        let errors = if (10..30).contains(&second) { 5 } else { 0 };
        fill(&mut candidate, second * 1_000, 100, errors, 5.0);
        fill(&mut baseline, second * 1_000, 100, 0, 5.0);
    }
    let judge = judge_with(Vec::new(), vec![error_guardrail(30_000)], NoData::Hold);
    let steps = [step(0, 0.5)];
    for second in 1..=60 {
        let decision = decide(&judge, &baseline, &candidate, &steps, second * 1_000);
        assert_ne!(decision.verdict, Verdict::Fail, "failed at {second}s");
    }
    let pending = decide(&judge, &baseline, &candidate, &steps, 25_000);
    assert_eq!(pending.verdict, Verdict::Inconclusive);
    assert_eq!(
        pending.blockers,
        vec!["candidate error rate 5.0% > limit 1.0% for 14s of the 30s it must last to fail"]
    );

    // A breach that lasts fails once it has held for `for`.
    let judge = judge_with(Vec::new(), vec![error_guardrail(10_000)], NoData::Hold);
    let fired = (1..=60)
        .find(|second| {
            decide(&judge, &baseline, &candidate, &steps, second * 1_000).verdict == Verdict::Fail
        })
        .unwrap();
    assert_eq!(fired, 21);
}

#[test]
fn latency_guardrail_reads_the_candidate_quantile() {
    let baseline = Series::new(1_000).unwrap();
    let mut candidate = Series::new(1_000).unwrap();
    fill(&mut candidate, 0, 100, 0, 800.0);
    let rail = Guardrail {
        metric: GuardrailMetric::LatencyQuantile { quantile: 0.95 },
        limit: 500.0,
        for_ms: 0,
        range_ms: 30_000,
        min_requests: 20,
    };
    let judge = judge_with(Vec::new(), vec![rail], NoData::Hold);
    let decision = decide(&judge, &baseline, &candidate, &[step(0, 0.5)], 1_000);
    assert_eq!(decision.verdict, Verdict::Fail);
    assert_eq!(decision.criteria[0].name, "guardrail:latency_p95");
    let blocker = &decision.blockers[0];
    assert!(blocker.starts_with("candidate p95 latency "), "{blocker}");
    assert!(
        blocker.contains(" ms > limit 500.0 ms for 0s (for: 0s)"),
        "{blocker}"
    );
}

#[test]
fn latency_regression_fails_against_the_baseline_threshold() {
    let mut baseline = Series::new(1_000).unwrap();
    let mut candidate = Series::new(1_000).unwrap();
    // Baseline latencies 1..=100 ms, the candidate the same shape at 2×.
    for second in 0..30 {
        for value in 1..=100 {
            baseline.record(second * 1_000, Outcome::Success, Some(f64::from(value)));
            candidate.record(
                second * 1_000,
                Outcome::Success,
                Some(2.0 * f64::from(value)),
            );
        }
    }
    let latency = Comparison {
        metric: ComparisonMetric::Latency {
            quantile: 0.95,
            min_baseline_samples: 200,
        },
        tolerance: 1.0,
    };
    let judge = judge_with(vec![latency], Vec::new(), NoData::Hold);
    let decision = decide(&judge, &baseline, &candidate, &[step(0, 0.5)], 30_000);
    assert_eq!(decision.verdict, Verdict::Fail, "{decision:#?}");
    let criterion = &decision.criteria[0];
    assert_eq!(criterion.name, "latency_p95");
    // The first two windows are the warm-up that sets the threshold near 95 ms.
    assert!(
        criterion.observed.contains("(threshold 9"),
        "{}",
        criterion.observed
    );
    assert!(
        criterion.observed.contains("/2800)"),
        "{}",
        criterion.observed
    );
}

#[test]
fn traffic_share_mismatch_fails() {
    let mut baseline = Series::new(1_000).unwrap();
    let mut candidate = Series::new(1_000).unwrap();
    for second in 0..10 {
        fill(&mut baseline, second * 1_000, 900, 0, 5.0);
        fill(&mut candidate, second * 1_000, 100, 0, 5.0);
    }
    let share = Comparison {
        metric: ComparisonMetric::TrafficShare,
        tolerance: 0.2,
    };
    let judge = judge_with(vec![share.clone()], Vec::new(), NoData::Hold);
    let matched = decide(&judge, &baseline, &candidate, &[step(0, 0.1)], 10_000);
    assert_eq!(matched.criteria[0].verdict, Verdict::Pass);
    let mismatched = decide(&judge, &baseline, &candidate, &[step(0, 0.25)], 10_000);
    assert_eq!(mismatched.verdict, Verdict::Fail);
    assert!(
        mismatched.blockers[0]
            .starts_with("candidate gets less traffic than assigned: 10.0% vs 25.0%")
    );
}

#[test]
fn pass_on_soak_needs_the_plan_to_allow_it() {
    let mut baseline = Series::new(1_000).unwrap();
    let mut candidate = Series::new(1_000).unwrap();
    for second in 0..61 {
        fill(&mut baseline, second * 1_000, 10, 0, 5.0);
        fill(&mut candidate, second * 1_000, 10, 0, 5.0);
    }
    let steps = [step(0, 0.5)];
    let strict = judge_with(vec![error_rate(0.5)], Vec::new(), NoData::Hold);
    assert_eq!(
        decide(&strict, &baseline, &candidate, &steps, 61_000).verdict,
        Verdict::Inconclusive
    );
    let lenient = Judge::try_new(AnalysisSpec {
        comparisons: vec![error_rate(0.5)],
        pass_on_soak: true,
        ..AnalysisSpec::default()
    })
    .unwrap();
    assert_eq!(
        decide(&lenient, &baseline, &candidate, &steps, 59_000).verdict,
        Verdict::Inconclusive
    );
    assert_eq!(
        decide(&lenient, &baseline, &candidate, &steps, 61_000).verdict,
        Verdict::Pass
    );
}

#[test]
fn invalid_configuration_is_refused() {
    let bad_alpha = AnalysisSpec {
        alpha: 0.0,
        ..AnalysisSpec::default()
    };
    assert!(
        matches!(Judge::try_new(bad_alpha), Err(JudgeError::OutOfRange { field, .. }) if field == "alpha")
    );
    let twice = AnalysisSpec {
        comparisons: vec![error_rate(0.5), error_rate(1.0)],
        ..AnalysisSpec::default()
    };
    assert_eq!(
        Judge::try_new(twice),
        Err(JudgeError::DuplicateCriterion {
            name: "error_rate".to_owned()
        })
    );
    let bad_tolerance = AnalysisSpec {
        comparisons: vec![error_rate(-1.0)],
        ..AnalysisSpec::default()
    };
    assert!(Judge::try_new(bad_tolerance).is_err());
    // The default analysis splits α over its two comparisons.
    assert_eq!(AnalysisSpec::default().alpha_per_comparison(), 0.025);
}

#[test]
fn a_custom_counter_regression_fails_and_names_the_counter() {
    let mut baseline = Series::new(1_000).unwrap();
    let mut candidate = Series::new(1_000).unwrap();
    for second in 0..20 {
        let at_ms = second * 1_000;
        fill(&mut baseline, at_ms, 500, 0, 5.0);
        fill(&mut candidate, at_ms, 500, 0, 5.0);
        // One checkout failure a second on the baseline, ten on the candidate.
        baseline.window_mut(at_ms).add_counter("checkout_failed", 1);
        candidate
            .window_mut(at_ms)
            .add_counter("checkout_failed", 10);
    }
    let counter = Comparison {
        metric: ComparisonMetric::Counter {
            name: "checkout_failed".to_owned(),
        },
        tolerance: 0.5,
    };
    let judge = judge_with(vec![counter], Vec::new(), NoData::Hold);
    let decision = decide(&judge, &baseline, &candidate, &[step(0, 0.5)], 20_000);
    assert_eq!(decision.verdict, Verdict::Fail);
    assert_eq!(decision.criteria[0].name, "counter:checkout_failed");
    assert!(
        decision.blockers[0].starts_with("candidate checkout_failed rate 2.0% vs baseline 0.2%"),
        "{}",
        decision.blockers[0]
    );
    // The evidence began with the first window, and the failure is pinned to a window end.
    assert_eq!(decision.criteria[0].evidence_since_ms, Some(0));
    assert!(
        decision.criteria[0]
            .failed_at_ms
            .is_some_and(|at| at % 1_000 == 0 && at <= 20_000)
    );
}

#[test]
fn traffic_share_ignores_the_windows_around_a_step_change() {
    // 10% until a step to 25% entered 100 ms into second 60. The window holding the change
    // is tagged with the old step but mostly saw the new split; late reports make the next
    // seconds lag. Neither may fail a healthy rollout.
    let mut baseline = Series::new(1_000).unwrap();
    let mut candidate = Series::new(1_000).unwrap();
    for second in 0..90 {
        let at_ms = second * 1_000;
        let on_candidate = match second {
            0..60 => 100,
            60 => 235,
            61..63 => 200,
            _ => 250,
        };
        fill(&mut baseline, at_ms, 1_000 - on_candidate, 0, 5.0);
        fill(&mut candidate, at_ms, on_candidate, 0, 5.0);
    }
    let share = Comparison {
        metric: ComparisonMetric::TrafficShare,
        tolerance: 0.2,
    };
    let judge = judge_with(vec![share], Vec::new(), NoData::Hold);
    let steps = [step(0, 0.1), step(60_100, 0.25)];
    let decision = decide(&judge, &baseline, &candidate, &steps, 90_000);
    assert_eq!(decision.criteria[0].verdict, Verdict::Pass, "{decision:?}");
}

#[test]
fn a_pass_is_withdrawn_when_the_evidence_turns() {
    // Non-inferiority shown on 10 minutes of equal error rates at 50/50 …
    let mut baseline = Series::new(1_000).unwrap();
    let mut candidate = Series::new(1_000).unwrap();
    for second in 0..600 {
        fill(&mut baseline, second * 1_000, 500, 5, 5.0);
        fill(&mut candidate, second * 1_000, 500, 5, 5.0);
    }
    let judge = judge_with(vec![error_rate(0.5)], Vec::new(), NoData::Hold);
    let steps = [step(0, 0.5)];
    assert_eq!(
        decide(&judge, &baseline, &candidate, &steps, 600_000).verdict,
        Verdict::Pass
    );
    // … then the candidate runs at 1.5× (the tolerance's edge): the pass goes before any
    // regression is shown, and the step holds.
    let mut withdrawn_at = None;
    for second in 600..1_800 {
        fill(&mut baseline, second * 1_000, 500, 10, 5.0);
        fill(&mut candidate, second * 1_000, 500, 15, 5.0);
        let now_ms = (second + 1) * 1_000;
        if decide(&judge, &baseline, &candidate, &steps, now_ms).verdict != Verdict::Pass {
            withdrawn_at = Some(now_ms);
            break;
        }
    }
    let at = withdrawn_at.expect("the pass was never withdrawn");
    let decision = decide(&judge, &baseline, &candidate, &steps, at);
    assert_eq!(decision.verdict, Verdict::Inconclusive, "{decision:?}");
}
