//! The audit ledger end to end with real processes and the real SQLite file: tampering is
//! caught offline with the right seq and reason; an export verifies; `--expect-head` catches
//! history rewritten and re-signed with the trusted key; and a SIGKILL during a burst of
//! writes leaves a chain that verifies with exactly one entry per committed change.

#[path = "common/serve.rs"]
mod serve;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use rampart_ledger::{Entry, Signer};
use serde_json::{Value, json};

fn rampart(args: &[&str], server: Option<&str>) -> Output {
    let mut command = Command::new(serve::BIN);
    command.args(args);
    if let Some(url) = server {
        command
            .env("RAMPART_SERVER", url)
            .env("RAMPART_ACTOR", "auditor-test");
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A data dir with a few changes in its ledger, made by a real server that is then stopped.
fn populated() -> (tempfile::TempDir, String) {
    let data_dir = tempfile::tempdir().unwrap();
    let (mut child, url) = serve::spawn(data_dir.path(), &[]);
    for key in ["alpha", "beta", "gamma"] {
        let output = rampart(&["flag", "create", key], Some(&url));
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    }
    assert_eq!(
        rampart(&["flag", "disable", "alpha"], Some(&url))
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        rampart(&["flag", "delete", "gamma"], Some(&url))
            .status
            .code(),
        Some(0)
    );
    let key: Value =
        serde_json::from_slice(&rampart(&["ledger", "head", "-o", "json"], Some(&url)).stdout)
            .unwrap();
    assert_eq!(key["seq"], 5);
    child.kill().unwrap();
    child.wait().unwrap();
    let public_key = std::fs::read_to_string(data_dir.path().join("ledger.pub"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    (data_dir, public_key)
}

fn verify(dir: &Path, public_key: &str, extra: &[&str]) -> (i32, Value) {
    let dir = dir.to_str().unwrap();
    let mut args = vec![
        "ledger",
        "verify",
        "--data-dir",
        dir,
        "--public-key",
        public_key,
        "-o",
        "json",
    ];
    args.extend(extra);
    let output = rampart(&args, None);
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{}{}", text(&output.stdout), text(&output.stderr)));
    (output.status.code().unwrap_or(-1), report)
}

fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.path().join(entry.file_name())).unwrap();
    }
    to
}

fn database(dir: &Path) -> PathBuf {
    dir.join("rampart.db")
}

/// Runs SQL against the database file directly, as an attacker with file access would.
fn tamper(dir: &Path, statements: &[String]) {
    let url = format!("sqlite://{}", database(dir).display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        for statement in statements {
            sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    });
}

fn entries(dir: &Path) -> Vec<Entry> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(rampart_store::SqliteStore::read_ledger_file(&database(dir)))
        .unwrap()
}

fn reseal_update(entry: &Entry, signer: &Signer) -> String {
    let draft = rampart_ledger::Draft {
        actor: entry.actor.clone(),
        action: entry.action.clone(),
        subject: entry.subject.clone(),
        detail: entry.detail.clone(),
    };
    let sealed = rampart_ledger::seal(draft, entry.seq, entry.at, &entry.prev_hash, signer);
    format!(
        "UPDATE ledger SET detail = '{}', hash = '{}', signature = '{}', key_id = '{}' WHERE seq = {}",
        rampart_ledger::canonical_json(&sealed.detail).replace('\'', "''"),
        sealed.hash,
        sealed.signature,
        sealed.key_id,
        sealed.seq
    )
}

#[test]
fn tampering_with_the_database_file_is_caught_with_seq_and_reason() {
    let (data_dir, public_key) = populated();
    let (code, report) = verify(data_dir.path(), &public_key, &[]);
    assert_eq!(
        (code, &report["ok"], &report["entries"]),
        (0, &json!(true), &json!(5)),
        "{report}"
    );

    // One byte of one detail.
    let dir = copy_dir(data_dir.path());
    tamper(dir.path(), &["UPDATE ledger SET detail = replace(detail, '\"revision\":3', '\"revision\":8') WHERE seq = 3".into()]);
    let (code, report) = verify(dir.path(), &public_key, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        (&report["first_bad"]["seq"], &report["first_bad"]["reason"]),
        (&json!(3), &json!("wrong_hash")),
        "{report}"
    );

    // A deleted entry.
    let dir = copy_dir(data_dir.path());
    tamper(dir.path(), &["DELETE FROM ledger WHERE seq = 4".into()]);
    let (_, report) = verify(dir.path(), &public_key, &[]);
    assert_eq!(
        (&report["first_bad"]["seq"], &report["first_bad"]["reason"]),
        (&json!(4), &json!("seq_gap")),
        "{report}"
    );

    // Two entries swapped.
    let dir = copy_dir(data_dir.path());
    tamper(
        dir.path(),
        &[
            "UPDATE ledger SET seq = 1000 WHERE seq = 2".into(),
            "UPDATE ledger SET seq = 2 WHERE seq = 3".into(),
            "UPDATE ledger SET seq = 3 WHERE seq = 1000".into(),
        ],
    );
    let (_, report) = verify(dir.path(), &public_key, &[]);
    assert_eq!(report["first_bad"]["seq"], 2, "{report}");
    assert!(
        ["wrong_hash", "broken_link", "seq_gap"]
            .contains(&report["first_bad"]["reason"].as_str().unwrap()),
        "{report}"
    );

    // Re-signed with a foreign key.
    let dir = copy_dir(data_dir.path());
    let forged = reseal_update(&entries(dir.path())[1], &Signer::from_seed([7; 32]));
    tamper(dir.path(), &[forged]);
    let (_, report) = verify(dir.path(), &public_key, &[]);
    assert_eq!(
        (&report["first_bad"]["seq"], &report["first_bad"]["reason"]),
        (&json!(2), &json!("unknown_key")),
        "{report}"
    );
}

#[test]
fn exported_files_verify_and_the_anchored_head_catches_a_resigned_rewrite() {
    let (data_dir, public_key) = populated();
    let (mut child, url) = serve::spawn(data_dir.path(), &[]);
    let export = data_dir.path().join("export.jsonl");
    let output = rampart(
        &[
            "ledger",
            "export",
            "--format",
            "jsonl",
            "--out",
            export.to_str().unwrap(),
        ],
        Some(&url),
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let head = text(&rampart(&["ledger", "head"], Some(&url)).stdout)
        .trim()
        .to_owned();
    assert!(head.starts_with("5:"), "{head}");
    let output = rampart(
        &[
            "ledger",
            "verify",
            "--file",
            export.to_str().unwrap(),
            "--public-key",
            &public_key,
            "--expect-head",
            &head,
        ],
        None,
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert!(text(&output.stdout).contains("ledger OK: 5 entries"));
    let output = rampart(&["rollout", "list"], Some(&url));
    assert_eq!(output.status.code(), Some(0));
    child.kill().unwrap();
    child.wait().unwrap();

    // Someone with the signing key rewrites entry 2 and re-signs everything after it. The
    // chain verifies again, but not against the head anchored before.
    let dir = copy_dir(data_dir.path());
    let signer = {
        let seed = hex_seed(&std::fs::read_to_string(dir.path().join("ledger.key")).unwrap());
        Signer::from_seed(seed)
    };
    let mut chain = entries(dir.path());
    chain[1].actor = "someone-else".into();
    let mut statements = Vec::new();
    let mut prev = chain[0].hash.clone();
    for entry in chain.iter().skip(1) {
        let draft = rampart_ledger::Draft {
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            subject: entry.subject.clone(),
            detail: entry.detail.clone(),
        };
        let sealed = rampart_ledger::seal(draft, entry.seq, entry.at, &prev, &signer);
        statements.push(format!(
            "UPDATE ledger SET actor = '{}', prev_hash = '{}', hash = '{}', signature = '{}' WHERE seq = {}",
            sealed.actor, sealed.prev_hash, sealed.hash, sealed.signature, sealed.seq
        ));
        prev = sealed.hash;
    }
    tamper(dir.path(), &statements);
    let (code, report) = verify(dir.path(), &public_key, &[]);
    assert_eq!(
        (code, &report["ok"]),
        (0, &json!(true)),
        "re-signed with the real key, the chain alone looks fine"
    );
    let (code, report) = verify(dir.path(), &public_key, &["--expect-head", &head]);
    assert_eq!(code, 1);
    assert_eq!(report["first_bad"]["reason"], "head_mismatch", "{report}");
}

fn hex_seed(text: &str) -> [u8; 32] {
    let text = text.trim();
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
    }
    seed
}

#[cfg(unix)]
#[test]
fn sigkill_during_a_burst_of_writes_keeps_the_chain_and_one_entry_per_change() {
    let data_dir = tempfile::tempdir().unwrap();
    let (mut child, url) = serve::spawn(data_dir.path(), &[]);
    // Writers keep creating flags until the server dies under them.
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let url = url.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    let output = rampart(
                        &["flag", "create", &format!("burst-{writer}-{i}")],
                        Some(&url),
                    );
                    if output.status.code() != Some(0) {
                        return;
                    }
                }
            })
        })
        .collect();
    // Kill once the burst is well under way: enough commits that some are surely in flight.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let output = rampart(&["ledger", "head", "-o", "json"], Some(&url));
        let head: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        if head["seq"].as_u64().unwrap_or(0) >= 40 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the burst never got going"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL in the middle of the burst
    child.wait().unwrap();
    for writer in writers {
        writer.join().unwrap();
    }

    let (mut child, url) = serve::spawn(data_dir.path(), &[]);
    let output = rampart(&["ledger", "verify", "-o", "json"], Some(&url));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    let flags: Value =
        serde_json::from_slice(&rampart(&["flag", "list", "-o", "json"], Some(&url)).stdout)
            .unwrap();
    let committed = flags["flags"].as_array().unwrap().len();
    assert!(committed > 0, "some writes committed before the kill");
    let entries: Vec<Entry> = {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime
            .block_on(rampart_store::SqliteStore::read_ledger_file(&database(
                data_dir.path(),
            )))
            .unwrap()
    };
    assert_eq!(
        entries.len(),
        committed,
        "exactly one entry per committed change"
    );
    for flag in flags["flags"].as_array().unwrap() {
        let subject = format!("flag:{}", flag["flag"]["key"].as_str().unwrap());
        assert_eq!(
            entries.iter().filter(|e| e.subject == subject).count(),
            1,
            "{subject}"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_key_given_by_path_signs_the_ledger() {
    let data_dir = tempfile::tempdir().unwrap();
    let key_file = data_dir.path().join("my-key.hex");
    std::fs::write(&key_file, format!("{}\n", "ab".repeat(32))).unwrap();
    let (mut child, url) = serve::spawn(
        data_dir.path(),
        &["--ledger-key", key_file.to_str().unwrap()],
    );
    let output = rampart(&["flag", "create", "keyed"], Some(&url));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let expected = Signer::from_seed([0xab; 32]);
    let page: Value =
        serde_json::from_slice(&rampart(&["ledger", "list", "-o", "json"], Some(&url)).stdout)
            .unwrap();
    assert_eq!(page[0]["key_id"], expected.key_id());
    assert!(
        !data_dir.path().join("ledger.key").exists(),
        "no key is generated when one is given"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let (code, report) = verify(data_dir.path(), &expected.public_key().to_hex(), &[]);
    assert_eq!((code, &report["ok"]), (0, &json!(true)), "{report}");
}
