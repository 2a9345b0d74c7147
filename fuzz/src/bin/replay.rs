//! Replays inputs through a fuzz target without AFL++, for triage:
//! `cargo run --manifest-path fuzz/Cargo.toml --bin replay -- TARGET FILE...`.
//! A failing property panics with its message; a passing input is listed as valid (it
//! reached the deeper properties) or rejected early (it did not parse or validate).

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let names: Vec<&str> = rampart_fuzz::TARGETS
        .iter()
        .map(|(name, _, _)| *name)
        .collect();
    let Some(run) = args.next().as_deref().and_then(rampart_fuzz::target) else {
        eprintln!(
            "usage: replay TARGET FILE...  (targets: {})",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    for path in args {
        let data = match std::fs::read(&path) {
            Ok(data) => data,
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let valid = run(&data);
        println!(
            "{path} ({} bytes): ok, {}",
            data.len(),
            if valid { "valid" } else { "rejected early" }
        );
    }
    ExitCode::SUCCESS
}
