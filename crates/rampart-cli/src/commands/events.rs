//! `rampart events send`: post a file of health events, in batches, and list what was refused.

use std::io::Read as _;

use anyhow::Context as _;
use rampart_model::api::{EventRejection, EventsResponse, HealthEvent, MAX_EVENTS_PER_BATCH};
use rampart_sdk::Client;

use crate::args::{EventsCommand, Output};
use crate::output::{self, table};

pub async fn run(client: &Client, out: Output, command: EventsCommand) -> anyhow::Result<()> {
    let EventsCommand::Send { file } = command;
    let text = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read events from standard input")?;
        text
    } else {
        std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let events = parse(&text)?;
    let mut total = EventsResponse {
        accepted: 0,
        judged: 0,
        rejected: Vec::new(),
    };
    for (batch_number, batch) in events.chunks(MAX_EVENTS_PER_BATCH).enumerate() {
        let answer = client.send_events(batch).await?;
        total.accepted += answer.accepted;
        total.judged += answer.judged;
        // Positions in the file, not in the batch.
        total
            .rejected
            .extend(answer.rejected.into_iter().map(|r| EventRejection {
                index: r.index + batch_number * MAX_EVENTS_PER_BATCH,
                ..r
            }));
    }
    match out {
        Output::Json => output::json(&total)?,
        Output::Table => {
            println!(
                "{} events: {} accepted ({} judged by an active rollout), {} rejected",
                events.len(),
                total.accepted,
                total.judged,
                total.rejected.len()
            );
            if !total.rejected.is_empty() {
                let rows = total
                    .rejected
                    .iter()
                    .map(|r| [r.index.to_string(), r.code.clone(), r.message.clone()]);
                println!("{}", table(["#", "CODE", "MESSAGE"], rows));
            }
        }
    }
    if !total.rejected.is_empty() {
        anyhow::bail!(
            "{} of {} events were rejected (the others were accepted)",
            total.rejected.len(),
            events.len()
        );
    }
    Ok(())
}

/// A JSON array, or one JSON object per line, read strictly (`rampart_model::json`). Events
/// that don't parse are a usage error naming the line or field, before anything is sent.
fn parse(text: &str) -> anyhow::Result<Vec<HealthEvent>> {
    if text.trim_start().starts_with('[') {
        return rampart_model::json::from_str(text)
            .map_err(|e| crate::usage(format!("the events file is not a valid event array: {e}")));
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| {
            rampart_model::json::from_str(line)
                .map_err(|e| crate::usage(format!("line {}: not a valid event: {e}", number + 1)))
        })
        .collect()
}
