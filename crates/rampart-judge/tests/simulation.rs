//! Seeded Monte Carlo tests: the false-rollback rate of A/A rollouts stays ≤ α under
//! continuous monitoring, a clear regression fails quickly, and a healthy candidate passes.

use rampart_judge::{
    AnalysisSpec, Comparison, ComparisonMetric, Judge, Observations, Outcome, Series, StepContext,
    Verdict,
};

/// SplitMix64: a small, deterministic generator, so every run of the test sees the same data.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

/// Three steps with a growing candidate share, so the test sees time-varying splits.
fn steps() -> Vec<StepContext> {
    [(0, 0.1), (120_000, 0.25), (240_000, 0.5)]
        .into_iter()
        .map(|(started_at_ms, share)| StepContext {
            started_at_ms,
            assigned_share: Some(share),
            soak_ms: 0,
            min_samples: 0,
        })
        .collect()
}

fn share_at(steps: &[StepContext], at_ms: u64) -> f64 {
    steps
        .iter()
        .rev()
        .find(|step| step.started_at_ms <= at_ms)
        .and_then(|step| step.assigned_share)
        .unwrap_or(0.0)
}

/// Simulates `seconds` of traffic at `rate` requests per second in total, each routed to
/// the candidate with the step's share; `candidate_error_rate` may change at `shift_at_ms`.
fn simulate(
    random: &mut SplitMix64,
    steps: &[StepContext],
    seconds: u64,
    rate: u64,
    baseline_error_rate: f64,
    candidate_error_rate: impl Fn(u64) -> f64,
) -> (Series, Series) {
    let mut baseline = Series::new(1_000).unwrap();
    let mut candidate = Series::new(1_000).unwrap();
    for second in 0..seconds {
        let at_ms = second * 1_000;
        let share = share_at(steps, at_ms);
        for _ in 0..rate {
            let (series, error_rate) = if random.next_f64() < share {
                (&mut candidate, candidate_error_rate(at_ms))
            } else {
                (&mut baseline, baseline_error_rate)
            };
            let outcome = if random.next_f64() < error_rate {
                Outcome::Error
            } else {
                Outcome::Success
            };
            series.record(at_ms, outcome, None);
        }
    }
    (baseline, candidate)
}

fn error_only(tolerance: f64) -> Judge {
    Judge::try_new(AnalysisSpec {
        comparisons: vec![Comparison {
            metric: ComparisonMetric::ErrorRate,
            tolerance,
        }],
        ..AnalysisSpec::default()
    })
    .unwrap()
}

/// 200 healthy rollouts of 6 minutes at 200 req/s, 1% errors in both arms, judged at the
/// hardest point of the null (tolerance 0: equal rates are exactly on the boundary).
///
/// The judge fails as soon as the running maximum of the e-process crosses `1/α`, so one
/// decision at the end of a run is the same as checking after every 1 s window: a run "falsely
/// rolls back under continuous monitoring" exactly when this final decision is `fail`.
#[test]
fn aa_false_rollback_rate_stays_below_alpha_under_continuous_monitoring() {
    let steps = steps();
    let judge = error_only(0.0);
    let mut random = SplitMix64(20_240_601);
    let runs = 200;
    let mut false_rollbacks = 0;
    for _ in 0..runs {
        let (baseline, candidate) = simulate(&mut random, &steps, 360, 200, 0.01, |_| 0.01);
        let observations = Observations {
            baseline: &baseline,
            candidate: &candidate,
            steps: &steps,
        };
        if judge.decide(&observations, 360_000).verdict == Verdict::Fail {
            false_rollbacks += 1;
        }
    }
    let rate = f64::from(false_rollbacks) / f64::from(runs);
    eprintln!("A/A false rollbacks: {false_rollbacks}/{runs}");
    assert!(rate <= 0.05, "false-rollback rate {rate} > alpha 0.05");
}

/// First second (checking every second) at which the judge reaches `target`, if any.
fn first_verdict(
    judge: &Judge,
    baseline: &Series,
    candidate: &Series,
    steps: &[StepContext],
    seconds: u64,
    target: Verdict,
) -> Option<u64> {
    (1..=seconds).find(|second| {
        let observations = Observations {
            baseline,
            candidate,
            steps,
        };
        judge.decide(&observations, second * 1_000).verdict == target
    })
}

#[test]
fn error_rate_from_one_to_five_percent_fails_within_bounded_samples() {
    // A 50/50 split at 200 req/s: the candidate's errors jump to 5% at t = 30 s.
    let steps = vec![StepContext {
        started_at_ms: 0,
        assigned_share: Some(0.5),
        soak_ms: 0,
        min_samples: 0,
    }];
    let judge = Judge::try_new(AnalysisSpec::default()).unwrap();
    let mut random = SplitMix64(7);
    let (baseline, candidate) = simulate(&mut random, &steps, 120, 200, 0.01, |at_ms| {
        if at_ms >= 30_000 { 0.05 } else { 0.01 }
    });
    let failed_at = first_verdict(&judge, &baseline, &candidate, &steps, 120, Verdict::Fail)
        .expect("the regression is never detected");
    // About 100 candidate requests a second after the shift: within 30 s is 3 000 samples.
    assert!(
        (31..=60).contains(&failed_at),
        "detected at {failed_at}s, shift at 30s"
    );
    let observations = Observations {
        baseline: &baseline,
        candidate: &candidate,
        steps: &steps,
    };
    let decision = judge.decide(&observations, failed_at * 1_000);
    let blocker = decision
        .blockers
        .first()
        .expect("a failing decision names its blocker");
    assert!(
        blocker.starts_with("candidate error rate ") && blocker.contains("tolerance +50%, e-value"),
        "{blocker}"
    );
}

#[test]
fn a_healthy_candidate_passes_by_non_inferiority() {
    let steps = steps();
    let judge = error_only(0.5);
    let mut random = SplitMix64(99);
    let (baseline, candidate) = simulate(&mut random, &steps, 600, 400, 0.01, |_| 0.01);
    let passed_at = first_verdict(&judge, &baseline, &candidate, &steps, 600, Verdict::Pass)
        .expect("never passed in 10 minutes");
    let observations = Observations {
        baseline: &baseline,
        candidate: &candidate,
        steps: &steps,
    };
    // Non-inferiority with +50% tolerance at 1% errors needs a few hundred bad events.
    assert!((60..=400).contains(&passed_at), "passed at {passed_at}s");
    // Just before, the decision was inconclusive and estimated the samples still needed.
    let earlier = judge.decide(&observations, (passed_at - 1) * 1_000);
    assert_eq!(earlier.verdict, Verdict::Inconclusive);
    let needed = earlier.criteria[0]
        .more_samples_needed
        .expect("an estimate");
    assert!(
        needed < 2_000,
        "{needed} more samples estimated one second before passing"
    );
    assert!(
        earlier.blockers[0].contains("more candidate samples needed"),
        "{:?}",
        earlier.blockers
    );
}
