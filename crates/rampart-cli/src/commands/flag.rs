//! `rampart flag …`: list, get, create, update, delete, enable, disable, history, revert.

use rampart_model::api::{FlagResource, History};
use rampart_model::flag::VariantMap;
use rampart_model::{FlagKind, FlagSpec, FlagState};
use rampart_sdk::Client;

use crate::args::{FlagCommand, FlagCreateArgs, Output};
use crate::output::{self, emit, table};

pub async fn run(client: &Client, out: Output, command: FlagCommand) -> anyhow::Result<()> {
    match command {
        FlagCommand::List => {
            let list = client.list_flags().await?;
            emit(out, &list, |list| {
                let rows = list.flags.iter().map(|r| {
                    let f = &r.flag;
                    [
                        f.key.clone(),
                        f.kind.as_str().to_owned(),
                        state_name(f.state).to_owned(),
                        f.variants.keys().cloned().collect::<Vec<_>>().join(","),
                        f.default_variant.clone(),
                        f.rules.len().to_string(),
                        r.meta.revision.to_string(),
                        r.meta.updated_at.clone(),
                    ]
                });
                println!(
                    "{}",
                    table(
                        [
                            "KEY", "KIND", "STATE", "VARIANTS", "DEFAULT", "RULES", "REVISION",
                            "UPDATED"
                        ],
                        rows
                    )
                );
                println!(
                    "config revision {}, {} flag(s)",
                    list.revision,
                    list.flags.len()
                );
            })
        }
        FlagCommand::Get { key } => show(out, &client.get_flag(&key).await?),
        FlagCommand::Create(args) => {
            let spec = spec_from_args(args)?;
            let created = client.create_flag(&spec).await?;
            done(out, &created, "created")
        }
        FlagCommand::Update(args) => {
            let spec: FlagSpec = output::read_file(&args.file)?;
            let updated = client.update_flag(&spec, args.if_match).await?;
            done(out, &updated, "updated")
        }
        FlagCommand::Delete(args) => {
            let deleted = client.delete_flag(&args.key, args.if_match).await?;
            emit(out, &deleted, |d| {
                println!("flag {} deleted at revision {}", d.key, d.revision)
            })
        }
        FlagCommand::Enable(args) => {
            let flag = client
                .set_flag_enabled(&args.key, true, args.if_match)
                .await?;
            done(out, &flag, "enabled")
        }
        FlagCommand::Disable(args) => {
            let flag = client
                .set_flag_enabled(&args.key, false, args.if_match)
                .await?;
            done(
                out,
                &flag,
                "disabled: everyone now gets the default variant",
            )
        }
        FlagCommand::History { key } => {
            let history = client.flag_history(&key).await?;
            emit(out, &history, print_history)
        }
        FlagCommand::Revert { key, to_revision } => {
            let flag = client.revert_flag(&key, to_revision).await?;
            done(
                out,
                &flag,
                &format!("reverted to its version at revision {to_revision}"),
            )
        }
    }
}

fn state_name(state: FlagState) -> &'static str {
    match state {
        FlagState::Enabled => "enabled",
        FlagState::Disabled => "DISABLED",
    }
}

fn done(out: Output, flag: &FlagResource, what: &str) -> anyhow::Result<()> {
    emit(out, flag, |f| {
        println!("flag {} {what} (revision {})", f.flag.key, f.meta.revision)
    })
}

fn show(out: Output, flag: &FlagResource) -> anyhow::Result<()> {
    match out {
        Output::Json => output::json(flag),
        Output::Table => {
            println!(
                "# revision {} · updated {} by {} · created {}",
                flag.meta.revision,
                flag.meta.updated_at,
                flag.meta.updated_by,
                flag.meta.created_at
            );
            output::yaml(&flag.flag)
        }
    }
}

pub fn print_history<T>(history: &History<T>) {
    let rows = history.history.iter().map(|h| {
        [
            h.revision.to_string(),
            h.at.clone(),
            h.actor.clone(),
            h.op.clone(),
        ]
    });
    println!("{}", table(["REVISION", "AT", "ACTOR", "CHANGE"], rows));
    println!(
        "restore a version with: rampart flag revert {} --to-revision N",
        history.key
    );
}

fn spec_from_args(args: FlagCreateArgs) -> anyhow::Result<FlagSpec> {
    if let Some(file) = &args.file {
        let spec: FlagSpec = output::read_file(file)?;
        if let Some(key) = &args.key
            && key != &spec.key
        {
            return Err(crate::usage(format!(
                "key `{key}` does not match `{}` in {}",
                spec.key,
                file.display()
            )));
        }
        return Ok(spec);
    }
    let key = args
        .key
        .ok_or_else(|| crate::usage("give a flag KEY, or -f FILE"))?;
    let kind: FlagKind = serde_json::from_value(serde_json::Value::String(args.kind.clone()))
        .map_err(|_| {
            crate::usage(format!(
                "--kind `{}`: expected boolean, string, number or object",
                args.kind
            ))
        })?;
    let mut spec = FlagSpec::boolean(key);
    spec.kind = kind;
    if !args.variant.is_empty() || kind != FlagKind::Boolean {
        spec.variants = variants_from_args(&args.variant)?;
        if spec.variants.is_empty() {
            return Err(crate::usage(format!(
                "a {} flag needs --variant NAME=VALUE (repeat for each)",
                kind.as_str()
            )));
        }
        spec.default_variant = spec.variants.keys().next().cloned().unwrap_or_default();
    }
    if let Some(default) = args.default {
        spec.default_variant = default;
    }
    spec.description = args.description;
    spec.owner = args.owner;
    spec.tags = args.tags;
    Ok(spec)
}

/// Parses `--variant NAME=VALUE` options.
fn variants_from_args(args: &[String]) -> anyhow::Result<VariantMap> {
    let mut variants = VariantMap::default();
    for arg in args {
        let Some((name, raw)) = arg.split_once('=') else {
            return Err(crate::usage(format!(
                "--variant `{arg}`: expected NAME=VALUE"
            )));
        };
        // JSON when it parses (true, 42, {"a":1}); otherwise the text itself as a string.
        let value =
            serde_json::from_str(raw).unwrap_or_else(|_| serde_json::Value::String(raw.to_owned()));
        if variants.insert(name.to_owned(), value).is_some() {
            return Err(crate::usage(format!("--variant `{name}` is given twice")));
        }
    }
    Ok(variants)
}
