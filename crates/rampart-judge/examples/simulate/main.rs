//! Simulation harness for the statistical judge: the false-rollback rate under continuous
//! monitoring (A/A) and the detection time of injected regressions, next to two rules the
//! industry uses, on the same simulated data.
//!
//! ```text
//! cargo run --release -p rampart-judge --example simulate -- all > /tmp/sim-results.md
//! cargo run --release -p rampart-judge --example simulate -- --help
//! ```
//!
//! Every run generates traffic second by second into 1 000 ms windows and calls
//! `Judge::decide` after each window (`now` = 1 s, 2 s, …), stopping at the first `Fail`.
//! Runs are spread over `--threads` scoped threads; each has its own seed derived from
//! `--seed`, so the output doesn't depend on the thread count.

mod aa;
mod args;
mod detect;
mod rng;
mod sim;
mod stats;

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use rampart_judge::{AnalysisSpec, Comparison, ComparisonMetric, Judge};

use crate::args::{Options, USAGE, parse_args};
use crate::sim::{NaiveRule, ZTestRule};

/// Flagger/Argo-style fixed threshold on the trailing 60 s.
pub const NAIVE: NaiveRule = NaiveRule {
    window_s: 60,
    ratio: 1.5,
    min_candidate: 100,
};

/// Kayenta-style repeated fixed-horizon test, one-sided at α = 0.05.
pub const Z_TEST: ZTestRule = ZTestRule {
    critical_z: 1.645,
    min_per_arm: 100,
};

/// Wall-clock timing of the harness itself. The library is pure (no clock, enforced by the
/// crate's `clippy.toml`); this example binary is not part of it and only times its sections.
#[expect(
    clippy::disallowed_methods,
    reason = "the example harness times itself; the pure library never reads the clock"
)]
pub fn stopwatch() -> impl Fn() -> Duration {
    let start = std::time::Instant::now();
    move || start.elapsed()
}

/// `Judge::try_new(AnalysisSpec::default())`.
pub fn default_judge() -> Judge {
    Judge::try_new(AnalysisSpec::default()).expect("the default spec is valid")
}

/// The error-rate comparison alone at tolerance 0: the strictest judge, failing on any
/// excess like the comparators, with all of α on this one comparison.
pub fn strict_error_judge() -> Judge {
    Judge::try_new(AnalysisSpec {
        comparisons: vec![Comparison {
            metric: ComparisonMetric::ErrorRate,
            tolerance: 0.0,
        }],
        ..AnalysisSpec::default()
    })
    .expect("an error-rate comparison at tolerance 0 is valid")
}

/// `count` of `total` as a percentage with one decimal.
pub fn pct(count: usize, total: usize) -> String {
    if total == 0 {
        return "n/a".to_owned();
    }
    format!("{:.1}%", 100.0 * count as f64 / total as f64)
}

fn header(options: &Options, args: &[String], out: &mut String) {
    let command = format!(
        "cargo run --release -p rampart-judge --example simulate -- {}",
        args.join(" ")
    );
    let _ = writeln!(out, "# rampart-judge simulation results\n");
    let _ = writeln!(out, "Reproduce with:\n\n```sh\n{command}\n```\n");
    let _ = writeln!(
        out,
        "- **Seed**: base seed {} (`--seed`). Run `i` of seed stream `s` (1 = A/A, 2 = \
         detection, 3 = late start) uses `mix(base ^ mix(s·2^32 + i))`, `mix` being one \
         SplitMix64 step. Traffic comes from xoshiro256** with Box–Muller normals, three draws \
         per request whatever the scenario, so the tables are identical on every machine and \
         for any `--threads`; only the wall times vary.",
        options.seed
    );
    let _ = writeln!(
        out,
        "- **Traffic**: a fixed number of requests per second (the total rate), each routed to \
         the candidate with the current step's assigned share (Bernoulli), errors Bernoulli, \
         latency `{} ms · exp({} · Z)` (times the candidate's factor after a shift), recorded \
         with `Series::record(at_ms, outcome, Some(latency_ms))` into 1 000 ms windows.",
        options.latency_median_ms, options.latency_sigma
    );
    let _ = writeln!(
        out,
        "- **Judge**: `Judge::try_new(AnalysisSpec::default())`: error_rate with tolerance \
         +50%, latency_p99 with tolerance +100% and the slow threshold frozen from the \
         baseline's p99 once it has 1 000 latencies, α = 0.05 split over the two (each fails \
         at e-value ≥ 40). `decide(&Observations {{ baseline, candidate, steps }}, now_ms)` is \
         called after every window; a run stops at its first `Fail` (the verdict is sticky).",
    );
    let _ = writeln!(
        out,
        "- **Comparators**, evaluated after every window on the same data: (1) naive fixed \
         threshold (Flagger/Argo style): fail when the candidate's error rate over the \
         trailing 60 s exceeds 1.5× the baseline's, with at least 100 candidate requests in \
         those 60 s; (2) repeated fixed-horizon test (Kayenta-style peeking): pooled \
         two-proportion z-test on cumulative counts since the start, one-sided, fail at \
         z > 1.645, at least 100 requests per arm.\n"
    );
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse_args(&args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let elapsed = stopwatch();
    let mut out = String::new();
    header(&options, &args, &mut out);
    if options.mode.runs_aa() {
        aa::section(&options, &mut out);
    }
    if options.mode.runs_detect() {
        detect::section(&options, &mut out);
    }
    if options.mode.runs_late() {
        detect::late_section(&options, &mut out);
    }
    let _ = writeln!(
        out,
        "Total wall time: {:.1} s ({} threads).",
        elapsed().as_secs_f64(),
        options.threads
    );
    print!("{out}");
    ExitCode::SUCCESS
}
