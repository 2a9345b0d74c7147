//! The `rampart` binary: parses arguments, runs one command, maps the outcome to an exit code.
//!
//! Layout:
//! - `args`: the clap definitions (every option has a `RAMPART_…` env twin).
//! - `commands/*`: one module per subcommand.
//! - `output`: tables for people, JSON for scripts.
//!
//! Exit codes: 0 ok, 1 failure, 2 usage error, 3 a rollout ended rolled back.

mod args;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

/// An error that should exit with a specific code (usage errors are 2).
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// A usage error: the command line was understood but a value is wrong. Exits with 2.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Exit {
        code: 2,
        message: message.into(),
    })
}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let code = error.downcast_ref::<Exit>().map_or(1, |exit| exit.code);
            eprintln!("error: {error:#}");
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Catches conflicting flags (e.g. two `-o`) in every subcommand, which clap otherwise
    /// reports only when that subcommand runs.
    #[test]
    fn the_command_line_definition_is_consistent() {
        crate::args::Cli::command().debug_assert();
    }

    /// Every option (not positionals, not --help/--version) has a `RAMPART_…` env twin.
    #[test]
    fn every_option_has_an_env_twin() {
        fn check(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if arg.is_positional() || builtin {
                    continue;
                }
                match arg.get_env() {
                    Some(env) if env.to_string_lossy().starts_with("RAMPART_") => {}
                    _ => missing.push(format!("{path} --{}", arg.get_long().unwrap_or("?"))),
                }
            }
            for sub in command.get_subcommands() {
                check(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        check(&crate::args::Cli::command(), "rampart", &mut missing);
        assert!(
            missing.is_empty(),
            "options without an env twin: {missing:?}"
        );
    }
}
