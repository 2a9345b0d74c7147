//! `rampart segment …`: list, get, create, update, delete, history.

use rampart_model::SegmentSpec;
use rampart_model::api::SegmentResource;
use rampart_sdk::Client;

use crate::args::{Output, SegmentCommand};
use crate::commands::flag::print_history;
use crate::output::{self, emit, table};

pub async fn run(client: &Client, out: Output, command: SegmentCommand) -> anyhow::Result<()> {
    match command {
        SegmentCommand::List => {
            let list = client.list_segments().await?;
            emit(out, &list, |list| {
                let rows = list.segments.iter().map(|r| {
                    [
                        r.segment.name.clone(),
                        r.segment.conditions.len().to_string(),
                        r.segment.description.clone().unwrap_or_default(),
                        r.meta.revision.to_string(),
                        r.meta.updated_at.clone(),
                    ]
                });
                println!(
                    "{}",
                    table(
                        ["NAME", "CONDITIONS", "DESCRIPTION", "REVISION", "UPDATED"],
                        rows
                    )
                );
            })
        }
        SegmentCommand::Get { name } => {
            let segment = client.get_segment(&name).await?;
            match out {
                Output::Json => output::json(&segment),
                Output::Table => {
                    println!(
                        "# revision {} · updated {} by {}",
                        segment.meta.revision, segment.meta.updated_at, segment.meta.updated_by
                    );
                    output::yaml(&segment.segment)
                }
            }
        }
        SegmentCommand::Create { file } => {
            let spec: SegmentSpec = output::read_file(&file)?;
            done(out, &client.create_segment(&spec).await?, "created")
        }
        SegmentCommand::Update(args) => {
            let spec: SegmentSpec = output::read_file(&args.file)?;
            done(
                out,
                &client.update_segment(&spec, args.if_match).await?,
                "updated",
            )
        }
        SegmentCommand::Delete(args) => {
            let deleted = client.delete_segment(&args.key, args.if_match).await?;
            emit(out, &deleted, |d| {
                println!("segment {} deleted at revision {}", d.key, d.revision)
            })
        }
        SegmentCommand::History { name } => {
            let history = client.segment_history(&name).await?;
            emit(out, &history, print_history)
        }
    }
}

fn done(out: Output, segment: &SegmentResource, what: &str) -> anyhow::Result<()> {
    emit(out, segment, |s| {
        println!(
            "segment {} {what} (revision {})",
            s.segment.name, s.meta.revision
        )
    })
}
