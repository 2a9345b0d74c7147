//! Candidate-vs-baseline comparisons: each metric reduced to per-window bad-event counts and
//! run through a regression test (fail) and a non-inferiority test (pass).

use crate::aggregate::Aggregate;
use crate::config::{Comparison, ComparisonMetric, percentile_label};
use crate::decision::{Criterion, Verdict, e_value, percent, tolerance};
use crate::judge::{PairedWindow, StepContext};
use crate::sequential::{CountTest, Direction};
use crate::sketch::{LatencySketch, bucket_upper_edge_ms};

/// Bad events and exposure summed over the tested windows, per arm.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    candidate_bad: u64,
    candidate_exposure: u64,
    baseline_bad: u64,
    baseline_exposure: u64,
}

/// The two sequential tests of one comparison and what they saw.
#[derive(Debug)]
struct Tests {
    regression: CountTest,
    non_inferiority: CountTest,
    tally: Tally,
    alpha_fail: f64,
    /// Start of the window from which the regression's `ln M` has stayed above 0.
    rising_since_ms: Option<u64>,
    /// `(evidence since, failed at)` once the regression test rejected.
    failure: Option<(u64, u64)>,
}

/// Fail tests restart their evidence every this many ms (a mixture over start blocks; see
/// [`CountTest::with_restarts`]), so a regression that begins late is caught as fast as one
/// that begins early, up to the price of the block's weight.
pub const RESTART_BLOCK_MS: u64 = 30_000;

/// The restart block a window belongs to.
fn restart_block(window: &PairedWindow<'_>) -> u64 {
    window.start_ms / RESTART_BLOCK_MS
}

/// The traffic-share test ignores windows starting within this long after a step began.
pub const SHARE_SETTLE_MS: u64 = 5_000;

impl Tests {
    fn new(tolerance: f64, alpha_fail: f64) -> Tests {
        Tests {
            regression: CountTest::new(Direction::Worse, tolerance).with_restarts(),
            non_inferiority: CountTest::new(Direction::NotWorse, tolerance),
            tally: Tally::default(),
            alpha_fail,
            rising_since_ms: None,
            failure: None,
        }
    }

    /// One window: `(bad, exposure)` for the candidate and the baseline.
    fn observe(&mut self, window: &PairedWindow<'_>, candidate: (u64, u64), baseline: (u64, u64)) {
        self.count(restart_block(window), candidate, baseline);
        if self.regression.log_e_value() <= 0.0 {
            self.rising_since_ms = None;
        } else if self.rising_since_ms.is_none() {
            self.rising_since_ms = Some(window.start_ms);
        }
        if self.failure.is_none() && self.regression.rejected(self.alpha_fail) {
            let since = self.rising_since_ms.unwrap_or(window.start_ms);
            self.failure = Some((since, window.end_ms));
        }
    }

    fn count(&mut self, block: u64, candidate: (u64, u64), baseline: (u64, u64)) {
        let (candidate_bad, candidate_exposure) = candidate;
        let (baseline_bad, baseline_exposure) = baseline;
        self.tally.candidate_bad += candidate_bad;
        self.tally.candidate_exposure += candidate_exposure;
        self.tally.baseline_bad += baseline_bad;
        self.tally.baseline_exposure += baseline_exposure;
        let exposure = candidate_exposure + baseline_exposure;
        if exposure == 0 {
            return;
        }
        // The per-window share conditions on observed exposure, so shifting splits are exact.
        let share = candidate_exposure as f64 / exposure as f64;
        let draws = candidate_bad + baseline_bad;
        self.regression
            .observe_in_block(block, candidate_bad, draws, share);
        self.non_inferiority.observe(candidate_bad, draws, share);
    }
}

/// Evaluates one comparison over the rollout's windows; returns its criterion and blocker.
pub(super) fn evaluate(
    comparison: &Comparison,
    windows: &[PairedWindow<'_>],
    steps: &[StepContext],
    alpha_fail: f64,
    alpha_pass: f64,
) -> (Criterion, Option<String>) {
    let name = comparison.name();
    match &comparison.metric {
        ComparisonMetric::ErrorRate => {
            let tests = run_counts(windows, comparison.tolerance, alpha_fail, |aggregate| {
                (aggregate.errors(), aggregate.requests())
            });
            report(
                &name,
                "error rate",
                "",
                &tests,
                comparison.tolerance,
                alpha_fail,
                alpha_pass,
            )
        }
        ComparisonMetric::Counter { name: counter } => {
            let tests = run_counts(windows, comparison.tolerance, alpha_fail, |aggregate| {
                (aggregate.counter(counter), aggregate.requests())
            });
            let label = format!("{counter} rate");
            report(
                &name,
                &label,
                "",
                &tests,
                comparison.tolerance,
                alpha_fail,
                alpha_pass,
            )
        }
        ComparisonMetric::Latency {
            quantile,
            min_baseline_samples,
        } => {
            let (tests, threshold) = run_latency(
                windows,
                comparison.tolerance,
                alpha_fail,
                *quantile,
                *min_baseline_samples,
            );
            let label = format!(
                "rate of requests slower than the baseline {}",
                percentile_label(*quantile)
            );
            let context = match threshold {
                Some(index) => format!(" (threshold {:.1} ms)", bucket_upper_edge_ms(index)),
                None => format!(
                    " (threshold not yet set: baseline has fewer than {min_baseline_samples} latencies)"
                ),
            };
            report(
                &name,
                &label,
                &context,
                &tests,
                comparison.tolerance,
                alpha_fail,
                alpha_pass,
            )
        }
        ComparisonMetric::TrafficShare => {
            traffic_share(&name, windows, steps, comparison.tolerance, alpha_fail)
        }
    }
}

fn run_counts(
    windows: &[PairedWindow<'_>],
    tolerance: f64,
    alpha_fail: f64,
    bad_and_exposure: impl Fn(&Aggregate) -> (u64, u64),
) -> Tests {
    let mut tests = Tests::new(tolerance, alpha_fail);
    for window in windows.iter().filter(|window| window.step.is_some()) {
        let candidate = window.candidate.map_or((0, 0), &bad_and_exposure);
        let baseline = window.baseline.map_or((0, 0), &bad_and_exposure);
        tests.observe(window, candidate, baseline);
    }
    tests
}

/// Slow-request counts against a threshold frozen per step from the baseline's quantile over
/// everything before the step. If the baseline hasn't `min_samples` latencies by then, the
/// step's first windows are a warm-up: they set the threshold and are not tested, so the
/// threshold never depends on the windows it judges. Returns the current step's threshold.
fn run_latency(
    windows: &[PairedWindow<'_>],
    tolerance: f64,
    alpha_fail: f64,
    quantile: f64,
    min_samples: u64,
) -> (Tests, Option<i32>) {
    let mut tests = Tests::new(tolerance, alpha_fail);
    let mut history = LatencySketch::new();
    let mut current_step: Option<usize> = None;
    let mut threshold: Option<i32> = None;
    let freeze = |history: &LatencySketch| {
        // "Slow" starts at the lower edge of the bucket holding the quantile, so at least
        // `1 − quantile` of the baseline's history was slow: even with few distinct latency
        // values there are slow requests to compare. A quantile in the zero bucket makes
        // every tracked latency slow.
        (history.count() >= min_samples.max(1)).then(|| {
            history
                .quantile_bucket(quantile)
                .map_or(i32::MIN, |bucket| bucket.saturating_sub(1))
        })
    };
    for window in windows {
        if window.step != current_step {
            current_step = window.step;
            threshold = freeze(&history);
        }
        if let (Some(_), Some(index)) = (window.step, threshold) {
            let slow = |aggregate: &Aggregate| {
                let sketch = aggregate.latency();
                (sketch.count_above(index), sketch.count())
            };
            tests.observe(
                window,
                window.candidate.map_or((0, 0), slow),
                window.baseline.map_or((0, 0), slow),
            );
        }
        if let Some(baseline) = window.baseline {
            history.merge(baseline.latency());
        }
        if window.step.is_some() && threshold.is_none() {
            threshold = freeze(&history);
        }
    }
    (tests, threshold)
}

fn report(
    name: &str,
    label: &str,
    context: &str,
    tests: &Tests,
    relative_tolerance: f64,
    alpha_fail: f64,
    alpha_pass: f64,
) -> (Criterion, Option<String>) {
    let tally = tests.tally;
    let observed = format!(
        "candidate {} ({}/{}) vs baseline {} ({}/{}){context}",
        percent(tally.candidate_bad, tally.candidate_exposure),
        tally.candidate_bad,
        tally.candidate_exposure,
        percent(tally.baseline_bad, tally.baseline_exposure),
        tally.baseline_bad,
        tally.baseline_exposure,
    );
    let regression_log_e = tests.regression.max_log_e_value();
    let pass_log_e = tests.non_inferiority.log_e_value();
    let statistic = format!(
        "e-value {} for regression (now {}), {} for non-inferiority, over {} bad events",
        e_value(regression_log_e),
        e_value(tests.regression.log_e_value()),
        e_value(pass_log_e),
        tests.regression.draws(),
    );
    let fail_at = 1.0 / alpha_fail;
    let pass_at = 1.0 / alpha_pass;
    let threshold = format!(
        "fail at e-value >= {fail_at:.0}, pass at >= {pass_at:.0}; tolerance {}",
        tolerance(relative_tolerance)
    );
    let rates = format!(
        "candidate {label} {} vs baseline {}, tolerance {}",
        percent(tally.candidate_bad, tally.candidate_exposure),
        percent(tally.baseline_bad, tally.baseline_exposure),
        tolerance(relative_tolerance),
    );
    let (verdict, blocker, needed) = if tests.regression.rejected(alpha_fail) {
        let blocker = format!(
            "{rates}, e-value {} > {fail_at:.0}",
            e_value(regression_log_e)
        );
        (Verdict::Fail, Some(blocker), None)
    } else if tests.non_inferiority.rejects_now(alpha_pass) {
        (Verdict::Pass, None, None)
    } else {
        let needed = samples_needed(tests, alpha_fail, alpha_pass);
        let estimate = match needed {
            Some(requests) => format!("; about {requests} more candidate samples needed"),
            None => "; no trend yet to estimate the samples needed".to_owned(),
        };
        let blocker = format!(
            "{name} not yet shown within tolerance: {rates}, non-inferiority e-value {} of {pass_at:.0}{estimate}",
            e_value(tests.non_inferiority.log_e_value()),
        );
        (Verdict::Inconclusive, Some(blocker), needed)
    };
    let criterion = Criterion {
        name: name.to_owned(),
        verdict,
        observed,
        statistic,
        threshold,
        more_samples_needed: needed,
        evidence_since_ms: tests.failure.map(|(since, _)| since),
        failed_at_ms: tests.failure.map(|(_, at)| at),
    };
    (criterion, blocker)
}

/// Projects the leading test (the one with the larger `ln M`) to its threshold, in bad
/// events, then converts to candidate samples at the candidate's samples per bad event.
fn samples_needed(tests: &Tests, alpha_fail: f64, alpha_pass: f64) -> Option<u64> {
    let draws = if tests.regression.log_e_value() > tests.non_inferiority.log_e_value() {
        tests.regression.draws_needed(alpha_fail)?
    } else {
        tests.non_inferiority.draws_needed(alpha_pass)?
    };
    let tally = tests.tally;
    let total_bad = tally.candidate_bad + tally.baseline_bad;
    if total_bad == 0 {
        return None;
    }
    let per_bad = tally.candidate_exposure as f64 / total_bad as f64;
    let samples = (draws as f64 * per_bad).ceil();
    samples.is_finite().then_some(samples as u64)
}

/// Sample-ratio mismatch: the candidate's request count against its assigned share, with a
/// two-sided tolerance on the odds ratio, as two one-sided tests at `alpha_fail / 2` each.
fn traffic_share(
    name: &str,
    windows: &[PairedWindow<'_>],
    steps: &[StepContext],
    relative_tolerance: f64,
    alpha_fail: f64,
) -> (Criterion, Option<String>) {
    let mut too_much =
        CountTest::with_boundary(Direction::Worse, 1.0 + relative_tolerance).with_restarts();
    let mut too_little =
        CountTest::with_boundary(Direction::NotWorse, 1.0 / (1.0 + relative_tolerance))
            .with_restarts();
    let (mut candidate_requests, mut all_requests, mut expected) = (0_u64, 0_u64, 0.0_f64);
    for window in windows {
        let Some(index) = window.step else {
            continue;
        };
        let Some(share) = steps.get(index).and_then(|step| step.assigned_share) else {
            continue;
        };
        // Around a step change the split is in flux: windows that hold a boundary, or start
        // within the settling time after one, mix two assigned shares (and reports stamped on
        // receipt lag behind). They say nothing reliable about the split.
        let settling = steps.get(index).is_some_and(|step| {
            window.start_ms < step.started_at_ms.saturating_add(SHARE_SETTLE_MS)
        });
        let holds_boundary = steps
            .get(index + 1)
            .is_some_and(|next| next.started_at_ms < window.end_ms);
        if settling || holds_boundary {
            continue;
        }
        let candidate = window.candidate.map_or(0, Aggregate::requests);
        let total = candidate + window.baseline.map_or(0, Aggregate::requests);
        let block = restart_block(window);
        too_much.observe_in_block(block, candidate, total, share);
        too_little.observe_in_block(block, candidate, total, share);
        if share > 0.0 && share < 1.0 {
            candidate_requests += candidate;
            all_requests += total;
            expected += share * total as f64;
        }
    }
    let half = alpha_fail / 2.0;
    let expected_share = if all_requests == 0 {
        "n/a".to_owned()
    } else {
        format!("{:.1}%", 100.0 * expected / all_requests as f64)
    };
    let observed = format!(
        "candidate share {} ({candidate_requests}/{all_requests}) vs assigned {expected_share}",
        percent(candidate_requests, all_requests)
    );
    let statistic = format!(
        "e-value {} for too much traffic, {} for too little",
        e_value(too_much.max_log_e_value()),
        e_value(too_little.max_log_e_value())
    );
    let threshold = format!(
        "fail at e-value >= {:.0} either way; tolerance {} on the odds",
        1.0 / half,
        tolerance(relative_tolerance)
    );
    let failing = [(&too_much, "more"), (&too_little, "less")]
        .into_iter()
        .find(|(test, _)| test.rejected(half));
    let (verdict, blocker) = match failing {
        Some((test, direction)) => (
            Verdict::Fail,
            Some(format!(
                "candidate gets {direction} traffic than assigned: {} vs {expected_share}, tolerance {}, e-value {} > {:.0}",
                percent(candidate_requests, all_requests),
                tolerance(relative_tolerance),
                e_value(test.max_log_e_value()),
                1.0 / half
            )),
        ),
        None => (Verdict::Pass, None),
    };
    let criterion = Criterion {
        name: name.to_owned(),
        verdict,
        observed,
        statistic,
        threshold,
        more_samples_needed: None,
        evidence_since_ms: None,
        failed_at_ms: None,
    };
    (criterion, blocker)
}
