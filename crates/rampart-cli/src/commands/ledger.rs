//! `rampart ledger …` and `rampart rollout explain`: read, export and verify the signed
//! audit ledger, offline when given a file or a data dir.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use rampart_ledger::{Entry, Head, PublicKey, Report};
use rampart_sdk::Client;

use crate::args::{LedgerCommand, LedgerVerifyArgs, Output};
use crate::output::{self, emit, table};

pub async fn run(client: &Client, out: Output, command: LedgerCommand) -> anyhow::Result<()> {
    match command {
        LedgerCommand::List { after, limit } => {
            let page = client.ledger_page(after, limit).await?;
            emit(out, &page.entries, |entries| {
                let rows = entries.iter().map(|e| {
                    [
                        e.seq.to_string(),
                        rampart_model::api::rfc3339(e.at),
                        e.actor.clone(),
                        e.action.clone(),
                        e.subject.clone(),
                        e.key_id.clone(),
                    ]
                });
                println!(
                    "{}",
                    table(["SEQ", "AT", "ACTOR", "ACTION", "SUBJECT", "KEY"], rows)
                );
                println!("head {}", page.head);
            })
        }
        LedgerCommand::Show { seq } => {
            let page = client.ledger_page(seq.saturating_sub(1), 1).await?;
            let entry = page
                .entries
                .into_iter()
                .find(|e| e.seq == seq)
                .ok_or_else(|| anyhow::anyhow!("no ledger entry {seq}"))?;
            output::json(&entry)
        }
        LedgerCommand::Head => {
            let head = client.ledger_head().await?;
            emit(out, &head, |h| println!("{h}"))
        }
        LedgerCommand::Export { out: file, .. } => {
            let entries = client.ledger_all().await?;
            let mut text = String::new();
            for entry in &entries {
                text.push_str(&serde_json::to_string(entry)?);
                text.push('\n');
            }
            match file {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("exported {} entries to {}", entries.len(), path.display());
                }
                None => std::io::stdout().write_all(text.as_bytes())?,
            }
            Ok(())
        }
        LedgerCommand::RotateKey => {
            let key = client.ledger_rotate_key().await?;
            emit(out, &key, |k| {
                println!(
                    "ledger key rotated; new key {} ({})",
                    k["key_id"], k["public_key"]
                )
            })
        }
        LedgerCommand::Verify(args) => verify(client, out, args).await,
    }
}

async fn verify(client: &Client, out: Output, args: LedgerVerifyArgs) -> anyhow::Result<()> {
    let offline = args.file.is_some() || args.data_dir.is_some();
    let report = if offline {
        if args.public_keys.is_empty() {
            return Err(crate::usage(
                "offline verification needs --public-key HEX (from `rampart ledger` key, or GET /v1/ledger/key)",
            ));
        }
        let trusted = args
            .public_keys
            .iter()
            .map(|k| {
                PublicKey::from_hex(k).map_err(|e| crate::usage(format!("--public-key `{k}`: {e}")))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let entries = match (&args.file, &args.data_dir) {
            (Some(file), _) => read_export(file)?,
            (None, Some(dir)) => rampart_store::SqliteStore::read_ledger_file(
                &dir.join(rampart_store::sqlite::DATABASE_FILE),
            )
            .await
            .with_context(|| format!("cannot read the ledger in {}", dir.display()))?,
            (None, None) => Vec::new(),
        };
        match &args.expect_head {
            Some(text) => {
                let head =
                    Head::parse(text).map_err(|e| crate::usage(format!("--expect-head: {e}")))?;
                rampart_ledger::verify_with_head(&entries, &trusted, &head)
            }
            None => rampart_ledger::verify(&entries, &trusted),
        }
    } else {
        client
            .ledger_verify(&args.public_keys, args.expect_head.as_deref())
            .await?
    };
    emit(out, &report, print_report)?;
    if report.ok {
        Ok(())
    } else {
        Err(anyhow::Error::new(crate::Exit {
            code: 1,
            message: summary(&report),
        }))
    }
}

fn summary(report: &Report) -> String {
    match &report.first_bad {
        Some(problem) => format!(
            "ledger verification FAILED at seq {}: {:?}: {}",
            problem.seq, problem.reason, problem.message
        ),
        None => "ledger verification failed".to_owned(),
    }
}

fn print_report(report: &Report) {
    if report.ok {
        let head = report
            .head
            .as_ref()
            .map_or("empty".to_owned(), |h| h.to_string());
        println!(
            "ledger OK: {} entries, head {head}, keys {}",
            report.entries,
            report.keys_seen.join(" → ")
        );
    } else {
        println!("{}", summary(report));
    }
}

fn read_export(path: &Path) -> anyhow::Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::usage(format!("cannot read {}: {e}", path.display())))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| {
                crate::usage(format!(
                    "{}:{}: not a ledger entry: {e}",
                    path.display(),
                    i + 1
                ))
            })
        })
        .collect()
}

/// `rampart rollout explain ID`: the rollout's story from the ledger alone.
pub async fn explain(client: &Client, out: Output, id: u64) -> anyhow::Result<()> {
    let subject = format!("rollout:{id}");
    let entries: Vec<Entry> = client
        .ledger_all()
        .await?
        .into_iter()
        .filter(|e| e.subject == subject)
        .collect();
    if entries.is_empty() {
        anyhow::bail!("the ledger has no entries for rollout {id}");
    }
    if out == Output::Json {
        return output::json(&entries);
    }
    for entry in &entries {
        let at = rampart_model::api::rfc3339(entry.at);
        let events = entry.detail["events"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for event in events {
            let name = event["event"].as_str().unwrap_or("?");
            println!(
                "{at}  seq {:<5} {:<10} {} → {}  by {}",
                entry.seq,
                name,
                event["from"].as_str().unwrap_or("?"),
                event["to"].as_str().unwrap_or("?"),
                entry.actor
            );
            for record in event["detail"]["records"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                println!("        {}", describe_record(&record));
            }
            if let Some(decision) = event["detail"].get("decision") {
                let criteria: Vec<String> = decision["criteria"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|c| {
                        format!(
                            "{} {} (observed {}, needs {})",
                            c["name"].as_str().unwrap_or("?"),
                            c["verdict"].as_str().unwrap_or("?"),
                            c["observed"].as_str().unwrap_or("?"),
                            c["threshold"].as_str().unwrap_or("?")
                        )
                    })
                    .collect();
                println!(
                    "        gate {}: {}",
                    decision["verdict"].as_str().unwrap_or("?"),
                    criteria.join("; ")
                );
            }
            if let Some(reason) = event["detail"].get("reason").and_then(|r| r.as_str()) {
                println!("        reason: {reason}");
            }
        }
    }
    Ok(())
}

fn describe_record(record: &serde_json::Value) -> String {
    let detail = &record["detail"];
    match record["event"].as_str().unwrap_or("?") {
        "step_started" => format!(
            "entered step {} with target {}",
            detail["step"].as_u64().map_or(0, |s| s + 1),
            detail["target"]
        ),
        "gate_passed" => format!(
            "step {} passed its gate",
            detail["step"].as_u64().map_or(0, |s| s + 1)
        ),
        "approved" => format!(
            "step {} approved by {}",
            detail["step"].as_u64().map_or(0, |s| s + 1),
            detail["actor"].as_str().unwrap_or("?")
        ),
        "rollback_started" => format!(
            "rollback ({}) started: {}",
            detail["mode"].as_str().unwrap_or("?"),
            detail["reason"].as_str().unwrap_or("")
        ),
        "rolled_back" => format!("rolled back ({})", detail["mode"].as_str().unwrap_or("?")),
        other => format!("{other} {detail}"),
    }
}
