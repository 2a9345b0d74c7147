//! `detect` and `late`: a regression injected at a known second; the time from the shift to
//! the judge's first fail (and, for error regressions, the comparators' first firing).

use std::fmt::Write as _;

use rampart_judge::StepContext;

use crate::args::Options;
use crate::rng::run_seed;
use crate::sim::{self, Checks, RunResult, Traffic};
use crate::stats::{Z_99, normal_upper_tail, quantile};
use crate::{NAIVE, Z_TEST, default_judge, pct, stopwatch};

/// Seed streams: every scenario of a mode uses the same run seeds (common random numbers).
const DETECT_STREAM: u64 = 2;
const LATE_STREAM: u64 = 3;

/// One scenario at one rate and shift.
#[derive(Debug, Clone)]
struct Cell {
    label: String,
    rate: u64,
    shift_at: u64,
    error_after: f64,
    factor_after: f64,
    /// An error regression: run the comparators too.
    errors: bool,
}

/// Detection delays (first failing check − shift), `None` for never within the cap.
#[derive(Debug, Clone)]
struct Measured {
    runs: usize,
    /// Runs where the judge failed at a check that only saw pre-shift windows.
    pre_shift: usize,
    /// The judge's delays over the other runs.
    judge: Vec<Option<u64>>,
    naive: Vec<Option<u64>>,
    z_test: Vec<Option<u64>>,
    wall_s: f64,
}

fn measure(options: &Options, cell: &Cell, runs: usize, stream: u64) -> Measured {
    let elapsed = stopwatch();
    let traffic = Traffic {
        rate: cell.rate,
        steps: vec![StepContext {
            started_at_ms: 0,
            assigned_share: Some(options.share),
            soak_ms: 0,
            min_samples: 0,
        }],
        baseline_error: options.error_rate,
        candidate_error_before: options.error_rate,
        candidate_error_after: cell.error_after,
        latency_median_ms: options.latency_median_ms,
        latency_sigma: options.latency_sigma,
        candidate_latency_factor_after: cell.factor_after,
        shift_at_s: cell.shift_at,
    };
    let checks = Checks {
        judges: vec![default_judge()],
        comparators: cell.errors.then_some((NAIVE, Z_TEST)),
    };
    let label = format!(
        "{} at {} req/s, shift at {} s",
        cell.label, cell.rate, cell.shift_at
    );
    eprintln!("{label}: {runs} runs");
    let horizon = cell.shift_at + options.cap;
    let results: Vec<RunResult> = sim::parallel(runs, options.threads, &label, |run| {
        sim::run(
            &traffic,
            &checks,
            horizon,
            run_seed(options.seed, stream, run as u64),
        )
    });
    let shift = cell.shift_at;
    let delay = |second: Option<u64>| second.map(|second| second.saturating_sub(shift));
    let mut measured = Measured {
        runs: results.len(),
        pre_shift: 0,
        judge: Vec::new(),
        naive: Vec::new(),
        z_test: Vec::new(),
        wall_s: 0.0,
    };
    for result in &results {
        match result.judges.first().and_then(|first| first.second) {
            Some(second) if second <= shift => measured.pre_shift += 1,
            second => measured.judge.push(delay(second)),
        }
        if cell.errors {
            measured.naive.push(delay(result.naive.second));
            measured.z_test.push(delay(result.z_test.second));
        }
    }
    measured.wall_s = elapsed().as_secs_f64();
    eprintln!("{label}: done in {:.1} s", measured.wall_s);
    measured
}

fn seconds(value: Option<u64>, cap: u64) -> String {
    match value {
        Some(value) => format!("{value} s"),
        None => format!("> {cap} s"),
    }
}

/// `median (fired%)` of a comparator's delays.
fn comparator(delays: &[Option<u64>], cap: u64) -> String {
    if delays.is_empty() {
        return "—".to_owned();
    }
    format!(
        "{} ({})",
        seconds(quantile(delays, 0.5), cap),
        pct(delays.iter().flatten().count(), delays.len())
    )
}

pub fn section(options: &Options, out: &mut String) {
    let elapsed = stopwatch();
    let mut cells = Vec::new();
    let baseline_percent = options.error_rate * 100.0;
    for target in &options.error_targets {
        for rate in &options.rates {
            cells.push(Cell {
                label: format!("errors {baseline_percent}% → {}%", target * 100.0),
                rate: *rate,
                shift_at: options.shift_at,
                error_after: *target,
                factor_after: 1.0,
                errors: true,
            });
        }
    }
    for factor in &options.latency_factors {
        for rate in &options.rates {
            cells.push(Cell {
                label: format!("latency × {factor}"),
                rate: *rate,
                shift_at: options.shift_at,
                error_after: options.error_rate,
                factor_after: *factor,
                errors: false,
            });
        }
    }
    let mut rows = String::new();
    let mut timings = Vec::new();
    for cell in &cells {
        let measured = measure(options, cell, options.detect_runs, DETECT_STREAM);
        let detected = measured.judge.iter().flatten().count();
        let _ = writeln!(
            rows,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell.label,
            cell.rate,
            measured.runs,
            pct(detected, measured.runs),
            seconds(quantile(&measured.judge, 0.5), options.cap),
            seconds(quantile(&measured.judge, 0.9), options.cap),
            measured.judge.len() - detected,
            measured.pre_shift,
            comparator(&measured.naive, options.cap),
            comparator(&measured.z_test, options.cap),
        );
        timings.push(format!(
            "{} @ {} req/s {:.1} s",
            cell.label, cell.rate, measured.wall_s
        ));
    }
    let wall = elapsed();

    let _ = writeln!(out, "## Detection time of injected regressions\n");
    let _ = writeln!(
        out,
        "`detect`: {} runs per scenario. One step at candidate share {}%; both arms identical \
         ({baseline_percent}% errors, log-normal latency median {} ms, σ {}) until t = {} s, \
         when the candidate's error rate or latency multiplier changes (the latency threshold \
         warms up on the first 1 000 baseline latencies, before the shift). The default judge \
         is checked after every 1 s window; a run stops at its first fail, or {} s after the \
         shift (not detected). Delay = first failing check − {} s; the earliest possible is \
         1 s (the first check that includes a shifted window). Median and p90 are nearest-rank \
         over all runs, undetected runs counting as never (\"> {} s\" when the quantile falls \
         among them). Run seeds: stream {DETECT_STREAM}, the same run seeds in every scenario \
         (common random numbers).\n",
        options.detect_runs,
        options.share * 100.0,
        options.latency_median_ms,
        options.latency_sigma,
        options.shift_at,
        options.cap,
        options.shift_at,
        options.cap,
    );
    let _ = writeln!(
        out,
        "| scenario | req/s | runs | judge detected | judge median delay | judge p90 delay | not detected | judge fail before the shift | naive 60 s rule: median delay (fired) | repeated z-test: median delay (fired) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    out.push_str(&rows);
    let exceedances = options
        .latency_factors
        .iter()
        .map(|factor| {
            let tail = if options.latency_sigma > 0.0 {
                normal_upper_tail(Z_99 - factor.ln() / options.latency_sigma)
            } else {
                f64::from(u8::from(*factor > 1.0))
            };
            format!("× {factor} about {:.1}%", 100.0 * tail)
        })
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        out,
        "\n- Comparators (error scenarios only, same data): their first firing at a check after \
         the shift, median over all runs, and the fraction of runs where they fired after the \
         shift. They fail on any excess, while the judge tolerates +50%, and they are the rules \
         whose false-rollback rates are in the A/A table; a naive-rule firing can be chance as \
         much as detection.\n- Latency scenarios: the judge counts requests slower than the \
         baseline's p99 (a bucket edge); with σ = {} the candidate exceeds it {exceedances} of \
         the time, against ~1% for the baseline (tolerance: 2×).\n- The fail tests mix over \
         30 s start blocks (crates/rampart-judge/README.md, \"Restarts\"), so the {} s of \
         healthy traffic before the shift cost at most a block's weight, not a deficit \
         growing with time; see the `late` table. 1% → 2% at 50 req/s is slow for another \
         reason: 0.75 errors/s in all, and a 2× ratio is only 1.33× the +50% tolerance \
         boundary the test must exceed.",
        options.latency_sigma, options.shift_at,
    );
    let _ = writeln!(
        out,
        "- Wall time of this section: {:.1} s ({} threads; machine-dependent). Per scenario: \
         {}.\n",
        wall.as_secs_f64(),
        options.threads,
        timings.join("; ")
    );
    eprintln!("detect: done in {:.1} s", wall.as_secs_f64());
}

pub fn late_section(options: &Options, out: &mut String) {
    let elapsed = stopwatch();
    let mut cells = Vec::new();
    let late_error = 0.05;
    let late_factor = 1.5;
    for shift_at in &options.late_shifts {
        for rate in &options.late_rates {
            cells.push(Cell {
                label: format!(
                    "errors {}% → {}%",
                    options.error_rate * 100.0,
                    late_error * 100.0
                ),
                rate: *rate,
                shift_at: *shift_at,
                error_after: late_error,
                factor_after: 1.0,
                errors: false,
            });
            cells.push(Cell {
                label: format!("latency × {late_factor}"),
                rate: *rate,
                shift_at: *shift_at,
                error_after: options.error_rate,
                factor_after: late_factor,
                errors: false,
            });
        }
    }
    cells.sort_by(|left, right| {
        (&left.label, left.rate, left.shift_at).cmp(&(&right.label, right.rate, right.shift_at))
    });
    let mut rows = String::new();
    for cell in &cells {
        let measured = measure(options, cell, options.late_runs, LATE_STREAM);
        let detected = measured.judge.iter().flatten().count();
        let _ = writeln!(
            rows,
            "| {} | {} | {} s | {} | {} | {} | {} | {} | {} |",
            cell.label,
            cell.rate,
            cell.shift_at,
            cell.rate * cell.shift_at,
            measured.runs,
            pct(detected, measured.runs),
            seconds(quantile(&measured.judge, 0.5), options.cap),
            seconds(quantile(&measured.judge, 0.9), options.cap),
            measured.pre_shift,
        );
    }
    let wall = elapsed();

    let _ = writeln!(
        out,
        "## Detection time against how long the rollout was healthy first\n"
    );
    let _ = writeln!(
        out,
        "`late`: the same set-up as `detect` (one step at {}%, default judge checked every \
         second, cap {} s after the shift), {} runs per row, with the regression starting at \
         different seconds. Run seeds: stream {LATE_STREAM}.\n",
        options.share * 100.0,
        options.cap,
        options.late_runs,
    );
    let _ = writeln!(
        out,
        "| scenario | req/s | regression starts at | healthy requests before it | runs | detected | median delay | p90 delay | judge fail before the shift |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    out.push_str(&rows);
    let _ = writeln!(
        out,
        "\n- With restarts the delay no longer grows with the healthy time before the \
         regression: each fail test is a mixture over 30 s start blocks, so evidence gathered \
         after the shift is weighed against at most ln(1/π_k) (π_0 = 1/2, π_k = 1/(2k(k+1))), \
         not against the likelihood the alternatives lost while the arms were equal. Without \
         restarts the same table read 16 s, 65 s and 125 s for 1% → 5% at 1 000 req/s starting \
         at 60 s, 300 s and 600 s (about 0.2 s per healthy second). Regressions that start in \
         the first seconds wait for the latency threshold's warm-up and the first block.",
    );
    let _ = writeln!(
        out,
        "- Wall time of this section: {:.1} s ({} threads; machine-dependent).\n",
        wall.as_secs_f64(),
        options.threads
    );
    eprintln!("late: done in {:.1} s", wall.as_secs_f64());
}
