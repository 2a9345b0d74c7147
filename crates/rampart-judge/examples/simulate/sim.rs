//! One simulated rollout: synthetic traffic generated second by second into the two arms'
//! [`Series`], with the judge(s) and the two industry comparators checked after every 1 s
//! window on the same data.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rampart_judge::{Judge, Observations, Outcome, Series, StepContext, Verdict};

use crate::rng::Rng;

pub const WINDOW_MS: u64 = 1_000;

/// What the traffic looks like. The candidate's parameters switch from `before` to `after`
/// at the start of second `shift_at_s` (window index), for both errors and latency.
#[derive(Debug, Clone)]
pub struct Traffic {
    /// Requests per second over both arms.
    pub rate: u64,
    /// The rollout's steps; each request goes to the candidate with the current step's share.
    pub steps: Vec<StepContext>,
    pub baseline_error: f64,
    pub candidate_error_before: f64,
    pub candidate_error_after: f64,
    /// Latency is log-normal: `median · exp(sigma · Z)`, times the candidate's factor.
    pub latency_median_ms: f64,
    pub latency_sigma: f64,
    pub candidate_latency_factor_after: f64,
    pub shift_at_s: u64,
}

impl Traffic {
    fn share_at(&self, at_ms: u64) -> f64 {
        self.steps
            .iter()
            .rev()
            .find(|step| step.started_at_ms <= at_ms)
            .and_then(|step| step.assigned_share)
            .unwrap_or(0.0)
    }
}

/// Requests and errors per arm in one second, for the comparators.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub candidate_requests: u64,
    pub candidate_errors: u64,
    pub baseline_requests: u64,
    pub baseline_errors: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.candidate_requests += other.candidate_requests;
        self.candidate_errors += other.candidate_errors;
        self.baseline_requests += other.baseline_requests;
        self.baseline_errors += other.baseline_errors;
    }
}

/// Flagger/Argo-style fixed threshold: the candidate's error rate over the trailing
/// `window_s` seconds exceeds `ratio` × the baseline's, with at least `min_candidate`
/// candidate requests in that window.
#[derive(Debug, Clone, Copy)]
pub struct NaiveRule {
    pub window_s: usize,
    pub ratio: f64,
    pub min_candidate: u64,
}

impl NaiveRule {
    fn fires(&self, seconds: &[Counts]) -> bool {
        let start = seconds.len().saturating_sub(self.window_s);
        let mut total = Counts::default();
        for counts in seconds.get(start..).unwrap_or_default() {
            total.add(counts);
        }
        if total.candidate_requests < self.min_candidate || total.baseline_requests == 0 {
            return false;
        }
        let candidate = total.candidate_errors as f64 / total.candidate_requests as f64;
        let baseline = total.baseline_errors as f64 / total.baseline_requests as f64;
        candidate > self.ratio * baseline
    }
}

/// Kayenta-style peeking: a one-sided pooled two-proportion z-test on cumulative counts
/// since the start, re-run every second.
#[derive(Debug, Clone, Copy)]
pub struct ZTestRule {
    pub critical_z: f64,
    pub min_per_arm: u64,
}

impl ZTestRule {
    fn fires(&self, total: &Counts) -> bool {
        let (n_c, n_b) = (total.candidate_requests, total.baseline_requests);
        if n_c < self.min_per_arm || n_b < self.min_per_arm {
            return false;
        }
        let (n_c, n_b) = (n_c as f64, n_b as f64);
        let p_c = total.candidate_errors as f64 / n_c;
        let p_b = total.baseline_errors as f64 / n_b;
        let pooled = (total.candidate_errors + total.baseline_errors) as f64 / (n_c + n_b);
        let variance = pooled * (1.0 - pooled) * (1.0 / n_c + 1.0 / n_b);
        if variance <= 0.0 {
            return false;
        }
        (p_c - p_b) / variance.sqrt() > self.critical_z
    }
}

/// What a run checks every second.
#[derive(Debug, Clone)]
pub struct Checks {
    pub judges: Vec<Judge>,
    /// Run the comparators (error-rate rules) too; the run then lasts until they have fired
    /// after the shift, or the horizon.
    pub comparators: Option<(NaiveRule, ZTestRule)>,
}

/// When something first failed: the check second (`now` in seconds, so the windows judged
/// are `0..now`), counting only checks with `now > since_s`.
#[derive(Debug, Clone, Default)]
pub struct FirstFail {
    pub second: Option<u64>,
    /// The judge's failing criteria at that second (empty for comparators).
    pub criteria: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RunResult {
    /// Per judge: the first `Fail` (sticky, so any `Fail` at all, before the shift included).
    pub judges: Vec<FirstFail>,
    /// The comparators' first firing at a check after the shift (`now > shift_at_s`), and
    /// whether they fired at any check up to the shift.
    pub naive: FirstFail,
    pub z_test: FirstFail,
    pub naive_before_shift: bool,
    pub z_test_before_shift: bool,
    /// Seconds simulated.
    pub seconds: u64,
}

/// Simulates one rollout for at most `horizon_s` seconds, checking after every window.
pub fn run(traffic: &Traffic, checks: &Checks, horizon_s: u64, seed: u64) -> RunResult {
    let mut rng = Rng::new(seed);
    let mut baseline = Series::new(WINDOW_MS).expect("a 1 000 ms window is valid");
    let mut candidate = Series::new(WINDOW_MS).expect("a 1 000 ms window is valid");
    let mut per_second: Vec<Counts> = Vec::new();
    let mut total = Counts::default();
    let mut result = RunResult {
        judges: vec![FirstFail::default(); checks.judges.len()],
        ..RunResult::default()
    };
    let spacing_ms = WINDOW_MS as f64 / traffic.rate.max(1) as f64;
    for second in 0..horizon_s {
        let start_ms = second * WINDOW_MS;
        let share = traffic.share_at(start_ms);
        let shifted = second >= traffic.shift_at_s;
        let (candidate_error, factor) = if shifted {
            (
                traffic.candidate_error_after,
                traffic.candidate_latency_factor_after,
            )
        } else {
            (traffic.candidate_error_before, 1.0)
        };
        let mut counts = Counts::default();
        for request in 0..traffic.rate {
            let at_ms = start_ms + (request as f64 * spacing_ms) as u64;
            // Always three draws per request (routing, error, latency): common random numbers.
            let to_candidate = rng.uniform() < share;
            let error_draw = rng.uniform();
            let latency = traffic.latency_median_ms * (traffic.latency_sigma * rng.normal()).exp();
            let (series, error_rate, latency, requests, errors) = if to_candidate {
                (
                    &mut candidate,
                    candidate_error,
                    latency * factor,
                    &mut counts.candidate_requests,
                    &mut counts.candidate_errors,
                )
            } else {
                (
                    &mut baseline,
                    traffic.baseline_error,
                    latency,
                    &mut counts.baseline_requests,
                    &mut counts.baseline_errors,
                )
            };
            let outcome = if error_draw < error_rate {
                *errors += 1;
                Outcome::Error
            } else {
                Outcome::Success
            };
            *requests += 1;
            series.record(at_ms, outcome, Some(latency));
        }
        per_second.push(counts);
        total.add(&counts);

        // Check at the end of the window: `now` covers windows 0..=second.
        let now_s = second + 1;
        let observations = Observations {
            baseline: &baseline,
            candidate: &candidate,
            steps: &traffic.steps,
        };
        for (judge, first) in checks.judges.iter().zip(result.judges.iter_mut()) {
            if first.second.is_some() {
                continue;
            }
            let decision = judge.decide(&observations, now_s * WINDOW_MS);
            if decision.verdict == Verdict::Fail {
                first.second = Some(now_s);
                first.criteria = decision
                    .criteria
                    .iter()
                    .filter(|criterion| criterion.verdict == Verdict::Fail)
                    .map(|criterion| criterion.name.clone())
                    .collect();
            }
        }
        let mut comparators_done = true;
        if let Some((naive, z_test)) = &checks.comparators {
            let after_shift = now_s > traffic.shift_at_s;
            for (fires, first, before) in [
                (
                    naive.fires(&per_second),
                    &mut result.naive,
                    &mut result.naive_before_shift,
                ),
                (
                    z_test.fires(&total),
                    &mut result.z_test,
                    &mut result.z_test_before_shift,
                ),
            ] {
                if fires && !after_shift {
                    *before = true;
                }
                if fires && after_shift && first.second.is_none() {
                    first.second = Some(now_s);
                }
                comparators_done &= first.second.is_some();
            }
        }
        result.seconds = now_s;
        let judges_done = result.judges.iter().all(|first| first.second.is_some());
        if judges_done && comparators_done {
            break;
        }
    }
    result
}

/// Runs `f(0..runs)` over `threads` scoped threads, returning the results in run order.
/// Progress goes to stderr every `progress_every` runs.
pub fn parallel<T: Send>(
    runs: usize,
    threads: usize,
    label: &str,
    f: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, T)>> = Mutex::new(Vec::with_capacity(runs));
    let progress_every = (runs / 10).clamp(1, 100);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                let mut local = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= runs {
                        break;
                    }
                    local.push((index, f(index)));
                    let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if finished.is_multiple_of(progress_every) || finished == runs {
                        eprintln!("  {label}: {finished}/{runs} runs");
                    }
                }
                results
                    .lock()
                    .expect("no worker panicked while holding the lock")
                    .extend(local);
            });
        }
    });
    let mut results = results
        .into_inner()
        .expect("no worker panicked while holding the lock");
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}
