//! `rampart rollout …`: start, list, status, watch, and the operator actions.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use rampart_rollout::view::{RolloutView, StepStatus};
use rampart_rollout::{Phase, PlanSpec, RollbackMode, StepSpec, Strategy, Target};
use rampart_sdk::Client;

use crate::args::{Mode, Output, RolloutCommand, RolloutStartArgs, StrategyArg};
use crate::output::{self, emit, table};

pub async fn run(client: &Client, out: Output, command: RolloutCommand) -> anyhow::Result<()> {
    match command {
        RolloutCommand::Start(args) => {
            let watch = args.watch;
            let plan = plan_from_args(args)?;
            let view = client.start_rollout(&plan).await?;
            emit(out, &view, |v| {
                println!(
                    "rollout {} started on flag {}: {} → {}",
                    v.id, v.flag, v.baseline, v.candidate
                );
                println!("{}", render(v));
                println!("follow it with: rampart rollout watch {}", v.id);
            })?;
            if watch {
                watch_until_done(client, view.id, Duration::from_secs(1)).await
            } else {
                Ok(())
            }
        }
        RolloutCommand::List {
            flag,
            active,
            limit,
        } => {
            let limit = (limit > 0).then_some(limit);
            let rollouts = client.list_rollouts(flag.as_deref(), active, limit).await?;
            emit(out, &rollouts, |list| {
                let rows = list.iter().map(|v| {
                    [
                        v.id.to_string(),
                        v.flag.clone(),
                        format!("{} → {}", v.baseline, v.candidate),
                        v.strategy.clone(),
                        v.phase.as_str().to_owned(),
                        format!("{}/{}", (v.step + 1).min(v.steps.len()), v.steps.len()),
                        weights(&v.target, &v.candidate),
                        v.updated_at.clone(),
                    ]
                });
                println!(
                    "{}",
                    table(
                        [
                            "ID",
                            "FLAG",
                            "CHANGE",
                            "STRATEGY",
                            "PHASE",
                            "STEP",
                            "CANDIDATE",
                            "UPDATED"
                        ],
                        rows
                    )
                );
            })
        }
        RolloutCommand::Status { id } => {
            let view = client.get_rollout(id).await?;
            emit(out, &view, |v| {
                println!("{}", render(v));
                print_history(v);
            })
        }
        RolloutCommand::Watch { id, interval } => {
            watch_until_done(
                client,
                id,
                Duration::from_millis(interval.as_millis().max(100)),
            )
            .await
        }
        RolloutCommand::Approve { id } => action(client, out, id, "approve").await,
        RolloutCommand::Pause { id } => action(client, out, id, "pause").await,
        RolloutCommand::Resume { id } => action(client, out, id, "resume").await,
        RolloutCommand::Promote { id } => action(client, out, id, "promote").await,
        RolloutCommand::Abort { id } => action(client, out, id, "abort").await,
        RolloutCommand::Explain { id } => crate::commands::ledger::explain(client, out, id).await,
        RolloutCommand::Rollback { id, reason, mode } => {
            let view = client.rollback(id, mode_of(mode), &reason).await?;
            emit(out, &view, |v| println!("{}", render(v)))
        }
    }
}

async fn action(client: &Client, out: Output, id: u64, name: &str) -> anyhow::Result<()> {
    let view = client.rollout_action(id, name).await?;
    emit(out, &view, |v| println!("{}", render(v)))
}

fn mode_of(mode: Mode) -> RollbackMode {
    match mode {
        Mode::Immediate => RollbackMode::Immediate,
        Mode::Gradual => RollbackMode::Gradual,
        Mode::Kill => RollbackMode::Kill,
    }
}

fn plan_from_args(args: RolloutStartArgs) -> anyhow::Result<PlanSpec> {
    if let Some(file) = &args.file {
        let mut plan: PlanSpec = output::read_file(file)?;
        if let Some(flag) = args.flag {
            plan.flag = flag;
        }
        return Ok(plan);
    }
    let flag = args
        .flag
        .ok_or_else(|| crate::usage("give the FLAG to roll out, or -f plan.yaml"))?;
    let candidate = args
        .candidate
        .ok_or_else(|| crate::usage("--candidate VARIANT is required: the variant to roll out"))?;
    let steps = match &args.steps {
        None => Vec::new(),
        Some(text) => text
            .split(',')
            .map(|part| {
                let part = part.trim();
                if part == "shadow" {
                    return Ok(StepSpec { shadow: true, ..StepSpec::default() });
                }
                part.trim_end_matches('%')
                    .parse::<f64>()
                    .map(|percent| StepSpec { percent: Some(percent), ..StepSpec::default() })
                    .map_err(|_| crate::usage(format!("--steps: `{part}` is not a percent; write e.g. \"1,5,25,100\" or \"shadow,10,100\"")))
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    let strategy = match (args.strategy, steps.is_empty()) {
        (Some(StrategyArg::Safe), true) | (None, true) => Strategy::Safe,
        (Some(StrategyArg::Fast), true) => Strategy::Fast,
        (Some(StrategyArg::Canary), true) => Strategy::Canary,
        (Some(StrategyArg::Instant), true) => Strategy::Instant,
        (Some(StrategyArg::Custom), true) => {
            return Err(crate::usage(
                "--strategy custom needs --steps, e.g. --steps \"1,5,25,100\"",
            ));
        }
        (None | Some(StrategyArg::Custom), false) => Strategy::Custom,
        (Some(_), false) => {
            return Err(crate::usage(
                "--steps makes a custom plan; drop --strategy or use --strategy custom",
            ));
        }
    };
    let mut plan: PlanSpec =
        serde_json::from_value(serde_json::json!({"flag": flag, "candidate": candidate}))?;
    plan.baseline = args.baseline;
    plan.strategy = strategy;
    plan.steps = steps;
    plan.soak = args.soak;
    plan.min_samples = args.min_samples;
    if let Some(mode) = args.rollback_mode {
        plan.rollback.mode = mode_of(mode);
    }
    Ok(plan)
}

/// The candidate's exposure, e.g. "25%" or "25% + rings internal 100%".
fn weights(target: &Target, candidate: &str) -> String {
    match target {
        Target::Completed => format!("100% {candidate}"),
        Target::Restored => "0% (restored)".to_owned(),
        Target::Weights(w) => {
            let mut text = format!("{}%", f64::from(w.everyone) / 100.0);
            if !w.rings.is_empty() {
                let rings: Vec<String> = w
                    .rings
                    .iter()
                    .map(|(s, bp)| format!("{s} {}%", f64::from(*bp) / 100.0))
                    .collect();
                text.push_str(&format!(" + rings {}", rings.join(", ")));
            }
            if let Some(shadow) = w.shadow {
                text.push_str(&format!(" (shadow {}%)", f64::from(shadow) / 100.0));
            }
            text
        }
    }
}

fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0)) * width as f64).round() as usize;
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

fn seconds(ms: u64) -> String {
    if ms >= 60_000 {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

/// The live view: one line per step with a progress bar on the current one, the weights,
/// the soak left, and the gate's state.
pub fn render(v: &RolloutView) -> String {
    let mut lines = vec![format!(
        "rollout {} · flag {} · {} → {} · {} · {}",
        v.id,
        v.flag,
        v.baseline,
        v.candidate,
        v.strategy,
        match v.phase {
            Phase::Completed | Phase::RolledBack | Phase::Aborted =>
                v.phase.as_str().to_uppercase(),
            _ => format!(
                "{} (step {} of {})",
                v.phase.as_str(),
                v.step + 1,
                v.steps.len()
            ),
        }
    )];
    for step in &v.steps {
        let what = match (&step.segment, step.shadow) {
            (_, true) => format!("shadow {}%", step.percent),
            (Some(segment), _) => format!("{}% of {segment}", step.percent),
            (None, _) => format!("{}%", step.percent),
        };
        let approval = if step.approval == rampart_rollout::Approval::Required {
            " · approval"
        } else {
            ""
        };
        let line = match step.status {
            StepStatus::Done => format!(
                "  ✓ {:>2}  {what:<22} soak {}{approval}",
                step.index + 1,
                step.soak
            ),
            StepStatus::Pending => format!(
                "    {:>2}  {what:<22} soak {}{approval}",
                step.index + 1,
                step.soak
            ),
            StepStatus::Current => {
                let fraction = if v.soak_required_ms == 0 {
                    1.0
                } else {
                    v.soak_elapsed_ms as f64 / v.soak_required_ms as f64
                };
                let left = v.soak_required_ms.saturating_sub(v.soak_elapsed_ms);
                format!(
                    "  ▶ {:>2}  {what:<22} {} soak {} left of {}{approval}",
                    step.index + 1,
                    bar(fraction, 20),
                    seconds(left),
                    step.soak
                )
            }
        };
        lines.push(line);
    }
    lines.push(format!(
        "  candidate {}: {}",
        v.candidate,
        weights(&v.target, &v.candidate)
    ));
    if let Some(gate) = &v.gate {
        lines.push(format!("  gate: {}", gate.verdict.as_str()));
        lines.extend(gate_lines(gate));
    }
    if let Some(rollback) = &v.rollback {
        lines.push(format!(
            "  rollback ({}): {}",
            rollback.mode.as_str(),
            rollback.reason
        ));
        if let Some(timings) = &rollback.timings {
            lines.push(format!("  timings: {}", describe_timings(timings)));
        }
    }
    lines.join("\n")
}

/// One line per criterion (mark, name, what was observed, the statistic), then blockers.
pub fn gate_lines(gate: &rampart_rollout::Decision) -> Vec<String> {
    let mut lines: Vec<String> = gate
        .criteria
        .iter()
        .map(|c| {
            let mark = match c.verdict {
                rampart_rollout::Verdict::Pass => "✓",
                rampart_rollout::Verdict::Fail => "✗",
                rampart_rollout::Verdict::Inconclusive => "…",
            };
            let statistic = if c.statistic.is_empty() {
                String::new()
            } else {
                format!(" · {}", c.statistic)
            };
            format!("    {mark} {:<22} {}{statistic}", c.name, c.observed)
        })
        .collect();
    lines.extend(gate.blockers.iter().map(|b| format!("    blocker: {b}")));
    lines
}

/// `first bad sample → decision 4.0 s · decision → served 1.9 ms`.
pub fn describe_timings(timings: &rampart_rollout::RollbackTimings) -> String {
    let mut parts = Vec::new();
    if let Some(first) = timings.first_bad_sample_at {
        parts.push(format!(
            "first bad sample → decision {:.1} s",
            (timings.decided_at - first) as f64 / 1000.0
        ));
    }
    match timings.decision_to_served_us {
        Some(us) => parts.push(format!(
            "decision → weights served {:.1} ms",
            us as f64 / 1000.0
        )),
        None => parts.push("weights not yet confirmed served".to_owned()),
    }
    parts.join(" · ")
}

fn print_history(v: &RolloutView) {
    if v.history.is_empty() {
        return;
    }
    let rows = v.history.iter().map(|e| {
        [
            e.seq.to_string(),
            e.at.clone(),
            e.actor.clone(),
            e.event.clone(),
            format!("{} → {}", e.from, e.to),
        ]
    });
    println!("\n{}", table(["#", "AT", "ACTOR", "EVENT", "PHASE"], rows));
}

/// Refreshes the view until the rollout ends. On a terminal the screen is redrawn; otherwise
/// a line is printed whenever the phase or step changes.
pub async fn watch_until_done(client: &Client, id: u64, interval: Duration) -> anyhow::Result<()> {
    let tty = std::io::stdout().is_terminal();
    let mut last: Option<(Phase, usize)> = None;
    loop {
        let view = client.get_rollout(id).await?;
        if tty {
            println!("\x1b[2J\x1b[H{}", render(&view));
            std::io::stdout().flush()?;
        } else if last != Some((view.phase, view.step)) {
            println!("{}\n", render(&view));
        }
        last = Some((view.phase, view.step));
        match view.phase {
            Phase::Completed => {
                println!("rollout {id} completed: everyone gets `{}`", view.candidate);
                return Ok(());
            }
            Phase::RolledBack => {
                let reason = view.rollback.map(|r| r.reason).unwrap_or_default();
                return Err(anyhow::Error::new(crate::Exit {
                    code: 3,
                    message: format!("rollout {id} was rolled back: {reason}"),
                }));
            }
            Phase::Aborted => {
                anyhow::bail!("rollout {id} was aborted; the flag keeps its current weights")
            }
            _ => tokio::time::sleep(interval).await,
        }
    }
}
