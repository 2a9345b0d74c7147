//! Command-line options, parsed by hand (the crate has no CLI dependency).

pub const USAGE: &str = "\
Simulation harness for rampart-judge.

USAGE:
    cargo run --release -p rampart-judge --example simulate -- <MODE> [OPTIONS]

MODES:
    aa        A/A rollouts: false-rollback rate of the judge and of two comparators
    detect    injected regressions: time from the shift to the first fail
    late      detection time as a function of when the regression starts
    all       aa, detect and late, as one Markdown document on stdout

OPTIONS (defaults in brackets):
    --seed N                base seed; run i of stream s uses mix(seed ^ mix(s<<32 | i)) [20260519]
    --threads N             worker threads [2]
    --runs N                runs for every mode (aa: total; detect, late: per scenario)
    --aa-runs N             A/A runs [1000]
    --detect-runs N         runs per detection scenario [200]
    --late-runs N           runs per late-start scenario [50]
    --error-rate P          baseline error rate (the candidate's before any shift) [0.01]
    --latency-median MS     log-normal latency median, ms [100]
    --latency-sigma S       log-normal sigma [0.5]
  aa:
    --rate R                total requests per second [200]
    --shares LIST           the steps' candidate shares [0.05,0.1,0.25,0.5]
    --step-secs S           seconds per step [150]
  detect, late:
    --share S               candidate share of the single step [0.5]
    --cap S                 seconds after the shift before a run counts as not detected [1800]
  detect:
    --rates LIST            total requests per second [50,200,1000]
    --shift-at S            second at which the regression starts [60]
    --error-targets LIST    candidate error rates after the shift [0.02,0.03,0.05]
    --latency-factors LIST  candidate latency multipliers after the shift [1.5,2]
  late (candidate errors -> 5% and latency x 1.5):
    --late-rates LIST       total requests per second [200,1000]
    --late-shifts LIST      seconds at which the regression starts [15,60,300,600]
    -h, --help              this text
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Aa,
    Detect,
    Late,
    All,
}

impl Mode {
    pub fn runs_aa(self) -> bool {
        matches!(self, Mode::Aa | Mode::All)
    }

    pub fn runs_detect(self) -> bool {
        matches!(self, Mode::Detect | Mode::All)
    }

    pub fn runs_late(self) -> bool {
        matches!(self, Mode::Late | Mode::All)
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    pub seed: u64,
    pub threads: usize,
    pub aa_runs: usize,
    pub detect_runs: usize,
    pub late_runs: usize,
    pub error_rate: f64,
    pub latency_median_ms: f64,
    pub latency_sigma: f64,
    pub rate: u64,
    pub shares: Vec<f64>,
    pub step_secs: u64,
    pub share: f64,
    pub cap: u64,
    pub rates: Vec<u64>,
    pub shift_at: u64,
    pub error_targets: Vec<f64>,
    pub latency_factors: Vec<f64>,
    pub late_rates: Vec<u64>,
    pub late_shifts: Vec<u64>,
}

impl Options {
    fn defaults(mode: Mode) -> Options {
        Options {
            mode,
            seed: 20_260_519,
            threads: 2,
            aa_runs: 1_000,
            detect_runs: 200,
            late_runs: 50,
            error_rate: 0.01,
            latency_median_ms: 100.0,
            latency_sigma: 0.5,
            rate: 200,
            shares: vec![0.05, 0.1, 0.25, 0.5],
            step_secs: 150,
            share: 0.5,
            cap: 1_800,
            rates: vec![50, 200, 1_000],
            shift_at: 60,
            error_targets: vec![0.02, 0.03, 0.05],
            latency_factors: vec![1.5, 2.0],
            late_rates: vec![200, 1_000],
            late_shifts: vec![15, 60, 300, 600],
        }
    }
}

fn parse<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: cannot parse {value:?}"))
}

fn parse_list<T: std::str::FromStr>(flag: &str, value: &str) -> Result<Vec<T>, String> {
    value
        .split(',')
        .map(|item| parse(flag, item.trim()))
        .collect()
}

fn in_unit(name: &str, value: f64) -> Result<(), String> {
    if value > 0.0 && value < 1.0 {
        Ok(())
    } else {
        Err(format!(
            "{name} must be strictly between 0 and 1, got {value}"
        ))
    }
}

/// `Ok(None)` means `--help`.
pub fn parse_args(args: &[String]) -> Result<Option<Options>, String> {
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        return Ok(None);
    }
    let mut rest = args.iter();
    let mode = match rest.next().map(String::as_str) {
        Some("aa") => Mode::Aa,
        Some("detect") => Mode::Detect,
        Some("late") => Mode::Late,
        Some("all") => Mode::All,
        Some(other) => return Err(format!("unknown mode {other:?} (aa, detect, late or all)")),
        None => return Err("missing mode (aa, detect, late or all)".to_owned()),
    };
    let mut options = Options::defaults(mode);
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .as_str();
        match flag.as_str() {
            "--seed" => options.seed = parse(flag, value)?,
            "--threads" => options.threads = parse(flag, value)?,
            "--runs" => {
                let runs = parse(flag, value)?;
                options.aa_runs = runs;
                options.detect_runs = runs;
                options.late_runs = runs;
            }
            "--aa-runs" => options.aa_runs = parse(flag, value)?,
            "--detect-runs" => options.detect_runs = parse(flag, value)?,
            "--late-runs" => options.late_runs = parse(flag, value)?,
            "--error-rate" => options.error_rate = parse(flag, value)?,
            "--latency-median" => options.latency_median_ms = parse(flag, value)?,
            "--latency-sigma" => options.latency_sigma = parse(flag, value)?,
            "--rate" => options.rate = parse(flag, value)?,
            "--shares" => options.shares = parse_list(flag, value)?,
            "--step-secs" => options.step_secs = parse(flag, value)?,
            "--share" => options.share = parse(flag, value)?,
            "--cap" => options.cap = parse(flag, value)?,
            "--rates" => options.rates = parse_list(flag, value)?,
            "--shift-at" => options.shift_at = parse(flag, value)?,
            "--error-targets" => options.error_targets = parse_list(flag, value)?,
            "--latency-factors" => options.latency_factors = parse_list(flag, value)?,
            "--late-rates" => options.late_rates = parse_list(flag, value)?,
            "--late-shifts" => options.late_shifts = parse_list(flag, value)?,
            other => return Err(format!("unknown option {other:?}; see --help")),
        }
    }
    validate(&options)?;
    Ok(Some(options))
}

fn validate(options: &Options) -> Result<(), String> {
    in_unit("--error-rate", options.error_rate)?;
    in_unit("--share", options.share)?;
    for share in &options.shares {
        in_unit("--shares", *share)?;
    }
    for target in &options.error_targets {
        in_unit("--error-targets", *target)?;
    }
    if options.rate == 0 || options.rates.contains(&0) || options.late_rates.contains(&0) {
        return Err("request rates must be positive".to_owned());
    }
    if options.step_secs == 0 || options.cap == 0 || options.threads == 0 {
        return Err("--step-secs, --cap and --threads must be positive".to_owned());
    }
    if !(options.latency_median_ms > 0.0 && options.latency_sigma >= 0.0) {
        return Err("--latency-median must be > 0 and --latency-sigma >= 0".to_owned());
    }
    if options.latency_factors.iter().any(|factor| *factor <= 0.0) {
        return Err("--latency-factors must be > 0".to_owned());
    }
    Ok(())
}
