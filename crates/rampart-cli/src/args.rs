//! Command-line arguments. Raw values only; commands validate them into typed config.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "rampart",
    version,
    about = "Progressive delivery in one binary: feature flags, canary analysis and rollouts.",
    long_about = "Rampart serves feature flags over OFREP (any OpenFeature SDK works), ramps \
changes through planned steps, and keeps every change in a revision history.\n\n\
Start here:\n  rampart demo                      rehearse everything on a throwaway server\n  \
rampart serve                     run the server (SQLite in ./rampart-data)\n  \
rampart flag list                 list flags on the server\n  \
rampart eval new-checkout --context '{\"targetingKey\":\"u1\"}'",
    after_help = "Every option can also be set through its RAMPART_… environment variable."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The Rampart server to talk to.
    #[arg(
        long,
        global = true,
        env = "RAMPART_SERVER",
        default_value = "http://127.0.0.1:4242"
    )]
    pub server: String,
    /// Bearer token sent to the server.
    #[arg(long, global = true, env = "RAMPART_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Who is making changes; recorded in each flag's history.
    #[arg(long, global = true, env = "RAMPART_ACTOR")]
    pub actor: Option<String>,
    /// Output format: tables for people, JSON for scripts.
    #[arg(long, short = 'o', global = true, env = "RAMPART_OUTPUT", value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Rampart server.
    Serve(ServeArgs),
    /// Start a throwaway server, create example flags, evaluate them and explain the results.
    Demo(DemoArgs),
    /// Manage flags: list, get, create, update, delete, enable, disable (kill switch), history, revert.
    #[command(subcommand)]
    Flag(FlagCommand),
    /// Manage segments: named, reusable sets of conditions such as `internal` or `beta`.
    #[command(subcommand)]
    Segment(SegmentCommand),
    /// Evaluate a flag (or all flags) for a context, through OFREP, and show why.
    Eval(EvalArgs),
    /// Make the server's flags and segments match a YAML or JSON file. Shows a plan first.
    Apply(ApplyArgs),
    /// Ramp a flag from its baseline to a candidate variant through planned steps.
    #[command(subcommand)]
    Rollout(RolloutCommand),
    /// The signed, hash-chained audit ledger: list, show, head, export, verify, rotate-key.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Health events: send a file of request outcomes to the judge (services use the SDK).
    #[command(subcommand)]
    Events(EventsCommand),
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Send events from a JSON array or JSON lines file (`-` for stdin), in batches of up to
    /// 10,000. Each event: {"flag", "variant", "outcome": "success"|"error", "latency_ms"?,
    /// "values"?, "shadow"?, "ts"?}. Rejected events are listed by position; exits 1 if any.
    Send {
        /// The file to send, or `-` for standard input.
        #[arg(env = "RAMPART_EVENTS_FILE")]
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// List entries, oldest first.
    List {
        /// Start after this seq.
        #[arg(env = "RAMPART_LEDGER_AFTER", long, default_value_t = 0)]
        after: u64,
        #[arg(env = "RAMPART_LEDGER_LIMIT", long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one entry in full.
    Show { seq: u64 },
    /// Print the head as SEQ:HASH, to anchor it elsewhere (a ticket, a git tag).
    Head,
    /// Write every entry as JSON lines, for offline verification and archiving.
    Export {
        #[arg(env = "RAMPART_LEDGER_FORMAT", long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// Write to this file instead of stdout.
        #[arg(env = "RAMPART_LEDGER_OUT", long)]
        out: Option<PathBuf>,
    },
    /// Verify the chain and signatures. Offline with --file or --data-dir (no server needed;
    /// give the trusted --public-key); otherwise the server verifies its own ledger.
    Verify(LedgerVerifyArgs),
    /// Rotate the signing key: the old key signs an entry that introduces the new one.
    RotateKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
}

#[derive(Debug, Args)]
pub struct LedgerVerifyArgs {
    /// An exported JSON-lines file (from `rampart ledger export`).
    #[arg(env = "RAMPART_LEDGER_FILE", long, conflicts_with = "data_dir")]
    pub file: Option<PathBuf>,
    /// A data dir: its rampart.db is read directly, read-only.
    #[arg(long, env = "RAMPART_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A public key (hex) you trust for the first entry; repeatable. Rotations are followed.
    #[arg(
        long = "public-key",
        env = "RAMPART_LEDGER_PUBLIC_KEY",
        value_delimiter = ','
    )]
    pub public_keys: Vec<String>,
    /// SEQ:HASH recorded earlier (`rampart ledger head`): also prove it is still in the chain.
    #[arg(env = "RAMPART_LEDGER_EXPECT_HEAD", long)]
    pub expect_head: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Start a rollout from options or from a plan file (-f).
    ///
    /// Strategies: safe (5,10,25,50,75,100; 5m soak), fast (25,50,100; 1m), canary
    /// (shadow,1,5,10,25,50,100; 2m), instant (100), or custom via --steps.
    Start(RolloutStartArgs),
    /// List rollouts, newest first.
    List {
        /// Only this flag's rollouts.
        #[arg(env = "RAMPART_ROLLOUT_FLAG", long)]
        flag: Option<String>,
        /// Only rollouts still in progress.
        #[arg(env = "RAMPART_ROLLOUT_ACTIVE", long)]
        active: bool,
        /// Show at most this many (the newest); 0 shows every rollout.
        #[arg(env = "RAMPART_ROLLOUT_LIMIT", long, default_value_t = 50)]
        limit: usize,
    },
    /// Show a rollout: steps, current weights, soak left, the gate's state and history.
    Status {
        id: u64,
    },
    /// Follow a rollout live until it ends. Exits 0 when completed, 3 when rolled back,
    /// 1 when aborted.
    Watch {
        id: u64,
        /// How often to refresh.
        #[arg(env = "RAMPART_WATCH_INTERVAL", long, default_value = "1s", value_parser = parse_span)]
        interval: rampart_rollout::Span,
    },
    /// Let a step that needs approval go on.
    Approve {
        id: u64,
    },
    /// Hold the rollout where it is; the soak clock stops.
    Pause {
        id: u64,
    },
    Resume {
        id: u64,
    },
    /// Skip the rest of the current step (soak, gate, approval) and go to the next.
    Promote {
        id: u64,
    },
    /// Roll back: immediate (candidate to 0%), gradual (step back down), or kill (disable the flag).
    Rollback {
        id: u64,
        /// Why; recorded in the rollout's history.
        #[arg(env = "RAMPART_ROLLBACK_REASON", long)]
        reason: String,
        #[arg(env = "RAMPART_ROLLBACK_MODE", long, value_enum, default_value_t = Mode::Immediate)]
        mode: Mode,
    },
    /// Stop controlling the flag and leave its weights as they are.
    Abort {
        id: u64,
    },
    /// Explain, from the audit ledger alone, why every step advanced or rolled back.
    Explain {
        id: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Immediate,
    Gradual,
    Kill,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    Safe,
    Fast,
    Canary,
    Instant,
    Custom,
}

#[derive(Debug, Args)]
pub struct RolloutStartArgs {
    /// The flag to roll out (omit with -f).
    pub flag: Option<String>,
    /// Read the whole plan from a YAML or JSON file.
    #[arg(env = "RAMPART_PLAN_FILE", short = 'f', long = "file", conflicts_with_all = ["candidate", "strategy", "steps"])]
    pub file: Option<PathBuf>,
    /// The variant to move to.
    #[arg(env = "RAMPART_ROLLOUT_CANDIDATE", long)]
    pub candidate: Option<String>,
    /// The variant to move from (default: the flag's default variant).
    #[arg(env = "RAMPART_ROLLOUT_BASELINE", long)]
    pub baseline: Option<String>,
    #[arg(env = "RAMPART_ROLLOUT_STRATEGY", long, value_enum)]
    pub strategy: Option<StrategyArg>,
    /// Custom steps as percents, e.g. "1,5,25,100" (implies --strategy custom).
    #[arg(env = "RAMPART_ROLLOUT_STEPS", long)]
    pub steps: Option<String>,
    /// Soak at every step, e.g. 30s, 5m, 1h.
    #[arg(env = "RAMPART_ROLLOUT_SOAK", long, value_parser = parse_span)]
    pub soak: Option<rampart_rollout::Span>,
    /// Samples each step needs before it may pass.
    #[arg(env = "RAMPART_ROLLOUT_MIN_SAMPLES", long)]
    pub min_samples: Option<u64>,
    /// How a failed gate rolls back.
    #[arg(env = "RAMPART_ROLLOUT_ROLLBACK_MODE", long, value_enum)]
    pub rollback_mode: Option<Mode>,
    /// Follow the rollout after starting it (like `rollout watch`).
    #[arg(env = "RAMPART_ROLLOUT_WATCH", long)]
    pub watch: bool,
}

pub fn parse_span(text: &str) -> Result<rampart_rollout::Span, String> {
    rampart_rollout::Span::parse(text)
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "RAMPART_LISTEN", default_value = "127.0.0.1:4242")]
    pub listen: SocketAddr,
    /// Directory for the SQLite database; created if missing.
    #[arg(long, env = "RAMPART_DATA_DIR", default_value = "./rampart-data")]
    pub data_dir: PathBuf,
    /// Largest accepted request body, in bytes (except `POST /v1/events`).
    #[arg(long, env = "RAMPART_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Largest accepted `POST /v1/events` body, in bytes (batches of up to 10,000 events).
    #[arg(long, env = "RAMPART_MAX_EVENTS_BODY_BYTES", default_value_t = 8 << 20)]
    pub max_events_body_bytes: usize,
    /// The ledger signing key (hex Ed25519 seed). Default: <data-dir>/ledger.key, generated
    /// with mode 0600 on first start.
    #[arg(long, env = "RAMPART_LEDGER_KEY_FILE")]
    pub ledger_key: Option<PathBuf>,
    /// How often the rollout controller checks every active rollout.
    #[arg(long, env = "RAMPART_TICK_INTERVAL", default_value = "1s", value_parser = parse_span)]
    pub tick_interval: rampart_rollout::Span,
    /// Close a connection whose request headers take longer than this to arrive; also how
    /// long a kept-alive connection may sit idle between requests.
    #[arg(long, env = "RAMPART_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_span)]
    pub header_timeout: rampart_rollout::Span,
    /// Answer 408 when a request's body takes longer than this to arrive, from its headers.
    #[arg(long, env = "RAMPART_REQUEST_TIMEOUT", default_value = "10s", value_parser = parse_span)]
    pub request_timeout: rampart_rollout::Span,
    /// Serve at most this many connections at once; more get 503 with Retry-After. Keep it
    /// below the process's open-file limit (`ulimit -n`), which the server checks at start.
    #[arg(long, env = "RAMPART_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// On SIGTERM or Ctrl-C, give in-flight requests this long to finish, then close.
    #[arg(long, env = "RAMPART_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = parse_span)]
    pub shutdown_timeout: rampart_rollout::Span,
    /// Log filter, e.g. `info` or `rampart_server=debug` (RUST_LOG syntax).
    #[arg(long, env = "RAMPART_LOG", default_value = "info")]
    pub log: String,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's data here (so it can be inspected afterwards) instead of a temporary dir.
    #[arg(long, env = "RAMPART_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum FlagCommand {
    /// List every flag.
    List,
    /// Show one flag (YAML in table mode).
    Get { key: String },
    /// Create a flag from a file (-f) or from options.
    Create(FlagCreateArgs),
    /// Replace a flag with the contents of a file.
    Update(UpdateArgs),
    /// Delete a flag. Its history is kept.
    Delete(DeleteArgs),
    /// Turn a flag back on after `disable`.
    Enable(StateArgs),
    /// The kill switch: serve the default variant to everyone, with reason DISABLED.
    Disable(StateArgs),
    /// Show every version of a flag.
    History { key: String },
    /// Restore a flag as it was at a revision (recorded as a new change).
    Revert {
        key: String,
        /// The revision to restore, from `rampart flag history KEY`.
        #[arg(env = "RAMPART_TO_REVISION", long = "to-revision")]
        to_revision: u64,
    },
}

#[derive(Debug, Args)]
pub struct FlagCreateArgs {
    /// The flag key (omit with -f).
    pub key: Option<String>,
    /// Read the flag from a YAML or JSON file.
    #[arg(env = "RAMPART_FLAG_FILE", short = 'f', long = "file", conflicts_with_all = ["kind", "variant", "default"])]
    pub file: Option<PathBuf>,
    /// Kind of values: boolean, string, number or object.
    #[arg(env = "RAMPART_FLAG_KIND", long, default_value = "boolean")]
    pub kind: String,
    /// A variant as NAME=VALUE; VALUE is JSON, or a plain string. Repeat for each variant.
    /// Boolean flags default to on=true, off=false.
    #[arg(
        env = "RAMPART_FLAG_VARIANTS",
        long = "variant",
        value_name = "NAME=VALUE"
    )]
    pub variant: Vec<String>,
    /// The variant served when nothing else applies (defaults to `off`, or the first variant).
    #[arg(env = "RAMPART_FLAG_DEFAULT", long)]
    pub default: Option<String>,
    #[arg(env = "RAMPART_FLAG_DESCRIPTION", long)]
    pub description: Option<String>,
    #[arg(env = "RAMPART_FLAG_OWNER", long)]
    pub owner: Option<String>,
    /// A tag; repeat for several.
    #[arg(env = "RAMPART_FLAG_TAGS", long = "tag")]
    pub tags: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The YAML or JSON file with the new definition.
    #[arg(env = "RAMPART_UPDATE_FILE", short = 'f', long = "file")]
    pub file: PathBuf,
    /// Only update if the object is still at this revision (optimistic concurrency).
    #[arg(env = "RAMPART_IF_MATCH", long)]
    pub if_match: Option<u64>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    pub key: String,
    /// Only delete if the object is still at this revision.
    #[arg(env = "RAMPART_IF_MATCH", long)]
    pub if_match: Option<u64>,
}

#[derive(Debug, Args)]
pub struct StateArgs {
    pub key: String,
    /// Only change the flag if it is still at this revision.
    #[arg(env = "RAMPART_IF_MATCH", long)]
    pub if_match: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum SegmentCommand {
    /// List every segment.
    List,
    /// Show one segment (YAML in table mode).
    Get { name: String },
    /// Create a segment from a YAML or JSON file.
    Create {
        #[arg(env = "RAMPART_SEGMENT_FILE", short = 'f', long = "file")]
        file: PathBuf,
    },
    /// Replace a segment with the contents of a file.
    Update(UpdateArgs),
    /// Delete a segment; refused while flags use it.
    Delete(DeleteArgs),
    /// Show every version of a segment.
    History { name: String },
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The flag to evaluate; omit with --all.
    #[arg(required_unless_present = "all")]
    pub flag: Option<String>,
    /// The evaluation context as JSON, e.g. '{"targetingKey":"user-1","email":"a@b.c"}'.
    #[arg(env = "RAMPART_EVAL_CONTEXT", long, short = 'c', default_value = "{}")]
    pub context: String,
    /// Evaluate every flag (OFREP bulk evaluation).
    #[arg(env = "RAMPART_EVAL_ALL", long, conflicts_with = "flag")]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A YAML or JSON file with `segments:` and `flags:` lists.
    #[arg(env = "RAMPART_APPLY_FILE", short = 'f', long = "file")]
    pub file: PathBuf,
    /// Apply without asking.
    #[arg(env = "RAMPART_APPLY_YES", long, short = 'y')]
    pub yes: bool,
    /// Show the plan and stop.
    #[arg(env = "RAMPART_APPLY_DRY_RUN", long, conflicts_with = "yes")]
    pub dry_run: bool,
}
