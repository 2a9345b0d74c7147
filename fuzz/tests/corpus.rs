//! Regression run without the fuzzer: every committed input of every target (the seed
//! corpus in `corpus/TARGET/` and the minimized crashes in `regressions/TARGET/`) goes
//! through the target's checks. `cargo test --manifest-path fuzz/Cargo.toml`.

use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str) {
    let run = rampart_fuzz::target(target).expect("a known target");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = inputs(&root.join("corpus").join(target));
    assert!(!corpus.is_empty(), "target `{target}` has no seed corpus");
    let mut deep = 0;
    for path in corpus
        .iter()
        .chain(&inputs(&root.join("regressions").join(target)))
    {
        let data = std::fs::read(path).expect("an input reads");
        match std::panic::catch_unwind(|| run(&data)) {
            Ok(valid) => deep += usize::from(valid),
            Err(_) => panic!("{} fails target `{target}`", path.display()),
        }
    }
    // Seeds that no longer parse or validate would leave the fuzzer at the front door.
    assert!(
        deep * 2 >= corpus.len(),
        "only {deep} of {} seeds of `{target}` get past parsing and validation",
        corpus.len()
    );
}

#[test]
fn flag() {
    replay("flag");
}

#[test]
fn document() {
    replay("document");
}

#[test]
fn plan() {
    replay("plan");
}

#[test]
fn context_eval() {
    replay("context_eval");
}

#[test]
fn events() {
    replay("events");
}

#[test]
fn ledger_canonical() {
    replay("ledger_canonical");
}

#[test]
fn every_target_has_a_test() {
    let names: Vec<&str> = rampart_fuzz::TARGETS
        .iter()
        .map(|(name, _, _)| *name)
        .collect();
    assert_eq!(
        names,
        [
            "flag",
            "document",
            "plan",
            "context_eval",
            "events",
            "ledger_canonical"
        ]
    );
}
