//! Dispatch from parsed arguments to one command module.

mod apply;
mod demo;
mod eval;
mod events;
mod flag;
pub(crate) mod ledger;
pub(crate) mod rollout;
mod segment;
mod serve;

use rampart_sdk::Client;

use crate::args::{Cli, Command, Global};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let global = cli.global;
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Flag(command) => flag::run(&client(&global)?, global.output, command).await,
        Command::Segment(command) => segment::run(&client(&global)?, global.output, command).await,
        Command::Eval(args) => eval::run(&client(&global)?, global.output, args).await,
        Command::Apply(args) => apply::run(&client(&global)?, global.output, args).await,
        Command::Rollout(command) => rollout::run(&client(&global)?, global.output, command).await,
        Command::Ledger(command) => ledger::run(&client(&global)?, global.output, command).await,
        Command::Events(command) => events::run(&client(&global)?, global.output, command).await,
    }
}

/// A client for `--server`, identified by `--actor` (or the OS user).
fn client(global: &Global) -> anyhow::Result<Client> {
    let mut client = Client::new(&global.server).map_err(|e| crate::usage(e.to_string()))?;
    if let Some(token) = &global.token {
        client = client.with_token(token);
    }
    let actor = global
        .actor
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".to_owned());
    Ok(client.with_actor(actor))
}
