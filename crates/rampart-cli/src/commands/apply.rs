//! `rampart apply -f FILE`: flags and segments as code. Shows the plan, then applies it
//! atomically after confirmation (`--yes` for scripts and CI).

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context as _;
use rampart_model::Document;
use rampart_model::api::{ApplyResponse, PlannedAction};
use rampart_sdk::Client;

use crate::args::{ApplyArgs, Output};
use crate::output::{self, table};

pub async fn run(client: &Client, out: Output, args: ApplyArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| crate::usage(format!("cannot read {}: {e}", args.file.display())))?;
    let document = Document::from_yaml(&text)
        .map_err(|e| crate::usage(format!("{}: {e}", args.file.display())))?;
    let plan = client.apply(&document, true).await?;
    let pending = plan
        .changes
        .iter()
        .filter(|c| c.action != PlannedAction::Unchanged)
        .count();
    if out == Output::Table || !args.yes {
        print_plan(&plan);
    }
    if args.dry_run || pending == 0 {
        if out == Output::Json {
            output::json(&plan)?;
        }
        if pending == 0 && out == Output::Table {
            println!(
                "nothing to do: the server already matches {}",
                args.file.display()
            );
        }
        return Ok(());
    }
    if !args.yes && !confirm(pending)? {
        anyhow::bail!("not applied");
    }
    let applied = client.apply(&document, false).await?;
    match out {
        Output::Json => output::json(&applied),
        Output::Table => {
            println!(
                "applied {pending} change(s); config revision is now {}",
                applied.revision
            );
            Ok(())
        }
    }
}

fn print_plan(plan: &ApplyResponse) {
    let rows = plan.changes.iter().map(|c| {
        let action = match c.action {
            PlannedAction::Create => "+ create",
            PlannedAction::Update => "~ update",
            PlannedAction::Unchanged => "  unchanged",
        };
        [
            action.to_owned(),
            c.kind.clone(),
            c.key.clone(),
            c.fields.join(", "),
        ]
    });
    eprintln!(
        "{}",
        table(["ACTION", "KIND", "KEY", "CHANGED FIELDS"], rows)
    );
}

fn confirm(pending: usize) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(crate::usage(
            "stdin is not a terminal: pass --yes to apply, or --dry-run to only plan",
        ));
    }
    eprint!("apply {pending} change(s)? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
