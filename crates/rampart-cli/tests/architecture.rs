//! Checks of ARCHITECTURE.md's invariants that no compiler or clippy lint can state: which
//! crates may depend on which, where the CLI may bypass the SDK, and how long tests may
//! sleep. Each test names the sentence it enforces.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The names in a manifest's `[dependencies]` table (not dev- or build-dependencies).
fn dependencies(krate: &str) -> Vec<String> {
    let manifest =
        std::fs::read_to_string(workspace().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let mut in_dependencies = false;
    let mut names = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if in_dependencies && let Some((name, _)) = line.split_once(['=', '.']) {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// "rampart-sdk: depends on no server, store or runtime crate."
#[test]
fn issue_9_the_sdk_depends_only_on_the_pure_crates() {
    let rampart: Vec<String> = dependencies("rampart-sdk")
        .into_iter()
        .filter(|name| name.starts_with("rampart-"))
        .collect();
    assert_eq!(
        rampart,
        ["rampart-model", "rampart-rollout", "rampart-ledger"],
        "the SDK speaks the wire types the pure crates define, nothing of the server's"
    );
}

/// "The pure crates use no tokio, no IO, no randomness": their dependencies say so.
#[test]
fn issue_9_the_pure_crates_depend_on_no_runtime_or_io_crate() {
    // Runtime, IO, logging and randomness: the pure crates take all of these as arguments.
    let forbidden = [
        "tokio",
        "axum",
        "sqlx",
        "reqwest",
        "hyper",
        "anyhow",
        "tracing",
        "getrandom",
        "rand",
    ];
    for krate in [
        "rampart-model",
        "rampart-eval",
        "rampart-judge",
        "rampart-rollout",
        "rampart-ledger",
    ] {
        for name in dependencies(krate) {
            assert!(
                !forbidden.contains(&name.as_str()) && !name.starts_with("rampart-s"),
                "{krate} depends on {name}"
            );
        }
    }
}

/// "Errors are `anyhow` in the binary only."
#[test]
fn issue_9_only_the_cli_uses_anyhow() {
    for entry in std::fs::read_dir(workspace().join("crates")).unwrap() {
        let krate = entry.unwrap().file_name().into_string().unwrap();
        if krate != "rampart-cli" {
            assert!(
                !dependencies(&krate).iter().any(|name| name == "anyhow"),
                "{krate} is a library and uses anyhow; give it a thiserror type"
            );
        }
    }
}

/// "The CLI talks to a server only through rampart-sdk; it embeds the server for `serve` and
/// `demo`, and opens the database read-only for `ledger verify --data-dir`."
#[test]
fn issue_9_the_cli_bypasses_the_sdk_only_to_serve_and_to_verify_offline() {
    let source = workspace().join("crates/rampart-cli/src");
    let allowed = [
        ("rampart_server", ["serve.rs", "demo.rs"].as_slice()),
        ("rampart_store", ["ledger.rs"].as_slice()),
    ];
    for file in rust_files(&source) {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_str().unwrap();
        for (krate, files) in allowed {
            if text.contains(&format!("{krate}::")) {
                assert!(
                    files.contains(&name),
                    "{} uses {krate}; talk to the server through rampart_sdk",
                    file.display()
                );
            }
        }
    }
}

/// "Every state change goes through `AppState::mutate`": nothing else in the server calls
/// `Store::commit` (`.commit(ChangeSet…`).
#[test]
fn issue_9_only_the_write_path_commits() {
    for file in rust_files(&workspace().join("crates/rampart-server/src")) {
        let text = std::fs::read_to_string(&file).unwrap();
        if text.contains(".commit(ChangeSet") {
            assert!(
                file.ends_with("state.rs"),
                "{} commits to the store itself; go through AppState::mutate",
                file.display()
            );
        }
    }
}

/// "`error.rs` is the one place errors become an HTTP status": elsewhere the server names
/// only success statuses (OFREP's own failure shapes are built in `ofrep.rs`, and the raw
/// answer to a connection over the cap in `serve.rs`).
#[test]
fn issue_9_error_statuses_are_chosen_in_one_place() {
    let successes = [
        "StatusCode::OK",
        "StatusCode::CREATED",
        "StatusCode::NOT_MODIFIED",
    ];
    for file in rust_files(&workspace().join("crates/rampart-server/src")) {
        let name = file.file_name().unwrap().to_str().unwrap();
        if ["error.rs", "ofrep.rs", "serve.rs"].contains(&name) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            for (at, _) in line.match_indices("StatusCode::") {
                let named: String = line[at..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == ':' || *c == '_')
                    .collect();
                // Comparing a rejection's status is reading one, not choosing one.
                let compared = line.contains("status() ==");
                assert!(
                    successes.contains(&named.as_str()) || compared,
                    "{}:{}: {named}: map errors in error.rs",
                    file.display(),
                    number + 1
                );
            }
        }
    }
}

/// "No test sleeps for seconds": time-driven tests use a manual clock, and real waits are
/// short polls with a deadline.
#[test]
fn issue_9_no_test_sleeps_for_a_second_or_more() {
    let mut offenders = Vec::new();
    for file in rust_files(&workspace().join("crates")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            if !line.contains("sleep(") {
                continue;
            }
            let long = line.contains("from_secs(")
                || line
                    .split("from_millis(")
                    .nth(1)
                    .and_then(|rest| rest.split(')').next())
                    .and_then(|ms| ms.replace('_', "").parse::<u64>().ok())
                    .is_some_and(|ms| ms >= 1_000);
            if long {
                offenders.push(format!(
                    "{}:{}: {}",
                    file.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "sleeps of a second or more:\n{}",
        offenders.join("\n")
    );
}

/// STYLE: "Every `.rs` file starts with a `//!` line that says what it owns."
#[test]
fn issue_9_every_source_file_says_what_it_owns() {
    let mut missing = Vec::new();
    for file in rust_files(&workspace().join("crates")) {
        let text = std::fs::read_to_string(&file).unwrap();
        if !text.trim_start().starts_with("//!") {
            missing.push(file.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "no `//!` header:\n{}",
        missing.join("\n")
    );
}
