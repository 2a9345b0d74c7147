//! The `rampart` binary end to end: a real `rampart serve` process on loopback, driven by
//! the CLI as a user would, checking output and exit codes (0 ok, 1 failure, 2 usage).

#[path = "common/serve.rs"]
mod serve;

use std::io::Write;
use std::process::{Child, Command, Output};

use serde_json::{Value, json};

use serve::BIN;

/// A `rampart serve` child process on an ephemeral port with its own data dir.
struct Served {
    child: Child,
    url: String,
    _data_dir: tempfile::TempDir,
}

impl Served {
    fn start() -> Served {
        let data_dir = tempfile::tempdir().unwrap();
        let (child, url) = serve::spawn(data_dir.path(), &[]);
        Served {
            child,
            url,
            _data_dir: data_dir,
        }
    }

    fn rampart(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("RAMPART_SERVER", &self.url)
            .env("RAMPART_ACTOR", "tester")
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let output = self.rampart(&all);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_teaches_the_first_steps() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let help = text(&output.stdout);
    for expected in ["rampart demo", "rampart serve", "RAMPART_", "flag", "apply"] {
        assert!(
            help.contains(expected),
            "--help lacks `{expected}`:\n{help}"
        );
    }
    let output = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = text(&output.stdout);
    assert!(
        help.contains("[env: RAMPART_LISTEN=]") && help.contains("[default: 127.0.0.1:4242]"),
        "{help}"
    );
    assert!(
        help.contains("[env: RAMPART_DATA_DIR=]") && help.contains("[default: ./rampart-data]"),
        "{help}"
    );
}

#[test]
fn usage_errors_exit_2_and_unreachable_servers_exit_1() {
    let output = Command::new(BIN).arg("frobnicate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = Command::new(BIN)
        .args(["eval", "f", "--context", "{not json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--context is not valid JSON"));
    let output = Command::new(BIN)
        .args(["flag", "list", "--server", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("cannot reach the Rampart server"),
        "{}",
        text(&output.stderr)
    );
    let output = Command::new(BIN)
        .args(["flag", "list", "--server", "ftp://x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn flag_lifecycle_through_the_cli() {
    let served = Served::start();
    let created = served.json(&[
        "flag",
        "create",
        "dark-mode",
        "--description",
        "Dark theme",
        "--tag",
        "ui",
    ]);
    assert_eq!(
        created["flag"]["variants"],
        json!({"on": true, "off": false})
    );
    assert_eq!(created["flag"]["default_variant"], "off");
    assert_eq!(created["updated_by"], "tester");

    let output = served.rampart(&[
        "flag",
        "create",
        "limits",
        "--kind",
        "number",
        "--variant",
        "low=10",
        "--variant",
        "high=100",
        "--default",
        "high",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let output = served.rampart(&["flag", "create", "limits"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("ALREADY_EXISTS"),
        "{}",
        text(&output.stderr)
    );

    let output = served.rampart(&["flag", "list"]);
    let table = text(&output.stdout);
    assert!(
        table.contains("KEY") && table.contains("dark-mode") && table.contains("limits"),
        "{table}"
    );

    let result = served.json(&["eval", "limits", "--context", r#"{"targetingKey":"u1"}"#]);
    assert_eq!(
        result,
        json!({"key": "limits", "value": 100, "reason": "STATIC", "variant": "high", "metadata": {"revision": 2}})
    );
    let output = served.rampart(&["eval", "ghost", "--context", "{}"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("FLAG_NOT_FOUND"));

    // The kill switch, then history and revert.
    let disabled = served.json(&["flag", "disable", "limits"]);
    assert_eq!(disabled["flag"]["state"], "disabled");
    let output = served.rampart(&["flag", "disable", "limits", "--if-match", "2"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a stale --if-match must fail"
    );
    assert!(
        text(&output.stderr).contains("REVISION_MISMATCH"),
        "{}",
        text(&output.stderr)
    );
    let history = served.json(&["flag", "history", "limits"]);
    assert_eq!(history["history"].as_array().unwrap().len(), 2);
    let reverted = served.json(&["flag", "revert", "limits", "--to-revision", "2"]);
    assert_eq!(reverted["flag"]["state"], "enabled");
    assert_eq!(reverted["revision"], 4);

    let all = served.json(&["eval", "--all", "--context", r#"{"targetingKey":"u1"}"#]);
    assert_eq!(all.as_array().unwrap().len(), 2);

    let deleted = served.json(&["flag", "delete", "dark-mode"]);
    assert_eq!(deleted["key"], "dark-mode");
    let output = served.rampart(&["flag", "get", "dark-mode"]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn apply_shows_a_plan_and_needs_yes_without_a_terminal() {
    let served = Served::start();
    let mut file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    writeln!(
        file,
        r#"segments:
  - name: staff
    conditions: [{{ attribute: email, op: ends_with, values: ["@acme.example"] }}]
flags:
  - key: new-nav
    kind: boolean
    variants: {{ "on": true, "off": false }}
    default_variant: "off"
    rules:
      - when: [{{ segment: staff }}]
        serve: {{ variant: "on" }}
"#
    )
    .unwrap();
    let path = file.path().to_str().unwrap();

    let output = served.rampart(&["apply", "-f", path, "--dry-run"]);
    assert_eq!(output.status.code(), Some(0));
    let plan = text(&output.stderr);
    assert!(
        plan.contains("+ create") && plan.contains("new-nav") && plan.contains("staff"),
        "{plan}"
    );
    assert_eq!(
        served.json(&["flag", "list"])["flags"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "a dry run changes nothing"
    );

    let output = served.rampart(&["apply", "-f", path]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "no terminal and no --yes must refuse"
    );
    assert!(text(&output.stderr).contains("--yes"));

    let output = served.rampart(&["apply", "-f", path, "--yes"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("applied 2 change(s)"));
    let staff = served.json(&[
        "eval",
        "new-nav",
        "--context",
        r#"{"targetingKey":"a","email":"a@acme.example"}"#,
    ]);
    assert_eq!(staff["value"], true);

    let output = served.rampart(&["apply", "-f", path, "--yes"]);
    assert!(
        text(&output.stdout).contains("nothing to do"),
        "{}",
        text(&output.stdout)
    );

    let mut bad = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    writeln!(
        bad,
        "flags:\n  - key: x\n    kind: boolean\n    variants: {{on: 3}}\n    default_variant: on"
    )
    .unwrap();
    let output = served.rampart(&["apply", "-f", bad.path().to_str().unwrap(), "--yes"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("document.flags[0].variants.on"),
        "{}",
        text(&output.stderr)
    );
}

#[cfg(unix)]
#[test]
fn serve_stops_cleanly_on_sigterm() {
    let mut served = Served::start();
    let status = Command::new("kill")
        .args(["-TERM", &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = served.child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "SIGTERM must drain and exit 0");
}

#[test]
fn demo_runs_end_to_end() {
    let output = Command::new(BIN).arg("demo").output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    for expected in [
        "TARGETING_MATCH",
        "SPLIT",
        "TARGETING_KEY_MISSING",
        "DISABLED",
        "stopped cleanly",
    ] {
        assert!(
            stdout.contains(expected),
            "demo output lacks `{expected}`:\n{stdout}"
        );
    }
}

#[test]
fn rollout_commands_and_watch_exit_codes() {
    let served = Served::start();
    served.json(&["flag", "create", "search"]);
    let started = served.json(&[
        "rollout",
        "start",
        "search",
        "--candidate",
        "on",
        "--steps",
        "10,50,100",
        "--soak",
        "10m",
    ]);
    assert_eq!(started["id"], 1);
    assert_eq!(started["strategy"], "custom");
    assert_eq!(started["steps"].as_array().unwrap().len(), 3);

    let output = served.rampart(&["rollout", "status", "1"]);
    let status = text(&output.stdout);
    assert!(
        status.contains("▶") && status.contains("10%") && status.contains("soak 10m"),
        "{status}"
    );
    assert!(status.contains("candidate on: 10%"), "{status}");
    let output = served.rampart(&["rollout", "list"]);
    assert!(text(&output.stdout).contains("search") && text(&output.stdout).contains("ramping"));

    // Usage errors exit 2; refusals from the server exit 1 with the reason.
    let output = served.rampart(&[
        "rollout",
        "start",
        "search",
        "--candidate",
        "on",
        "--strategy",
        "custom",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let output = served.rampart(&[
        "rollout",
        "start",
        "search",
        "--candidate",
        "on",
        "--steps",
        "10,ten",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let output = served.rampart(&["rollout", "start", "search", "--candidate", "on"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("already has an active rollout"),
        "{}",
        text(&output.stderr)
    );
    let output = served.rampart(&["rollout", "approve", "1"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("ILLEGAL_TRANSITION"),
        "{}",
        text(&output.stderr)
    );

    let output = served.rampart(&[
        "rollout",
        "rollback",
        "1",
        "--reason",
        "errors up",
        "--mode",
        "kill",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let output = served.rampart(&["rollout", "watch", "1", "--interval", "100ms"]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "watch exits 3 when the rollout ended rolled back"
    );
    assert!(
        text(&output.stderr).contains("rolled back: errors up"),
        "{}",
        text(&output.stderr)
    );
    let flag = served.json(&["flag", "get", "search"]);
    assert_eq!(flag["flag"]["state"], "disabled", "kill disables the flag");

    // The story, reconstructed from the signed ledger alone.
    let output = served.rampart(&["rollout", "explain", "1"]);
    let story = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    for expected in [
        "create",
        "start",
        "entered step 1",
        "rollback",
        "rollback (kill) started: errors up",
        "rolled back (kill)",
    ] {
        assert!(
            story.contains(expected),
            "explain lacks `{expected}`:\n{story}"
        );
    }
}

#[test]
fn events_send_reports_rejections_by_position_and_keeps_the_rest() {
    let served = Served::start();
    served.json(&["flag", "create", "search"]);
    served.json(&[
        "rollout",
        "start",
        "search",
        "--candidate",
        "on",
        "--steps",
        "50,100",
        "--soak",
        "10m",
    ]);
    let mut file = tempfile::Builder::new()
        .suffix(".jsonl")
        .tempfile()
        .unwrap();
    writeln!(
        file,
        r#"{{"flag": "search", "variant": "on", "outcome": "success", "latency_ms": 12}}
{{"flag": "search", "variant": "maybe", "outcome": "success"}}

{{"flag": "search", "variant": "off", "outcome": "error", "latency_ms": 80}}"#
    )
    .unwrap();
    let path = file.path().to_str().unwrap();
    let output = served.rampart(&["events", "send", path]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a rejection fails the command"
    );
    let report = text(&output.stdout);
    assert!(
        report.contains("3 events: 2 accepted (2 judged by an active rollout), 1 rejected"),
        "{report}"
    );
    assert!(report.contains("UNKNOWN_VARIANT"), "{report}");
    assert!(text(&output.stderr).contains("1 of 3 events were rejected"));

    // A file that isn't events is a usage error, and nothing is sent.
    let mut bad = tempfile::Builder::new()
        .suffix(".jsonl")
        .tempfile()
        .unwrap();
    writeln!(bad, r#"{{"flag": "search", "variant": "on"}}"#).unwrap();
    let output = served.rampart(&["events", "send", bad.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("line 1"),
        "{}",
        text(&output.stderr)
    );
}

/// Files people write are read strictly before anything is sent: a duplicate key (JSON or
/// YAML) or a wrong type is a usage error naming the field, whether the server is up or not.
#[test]
fn files_with_duplicate_keys_or_wrong_types_are_usage_errors() {
    let unreachable = "http://127.0.0.1:9";
    let cases: [(&[&str], &str, &str, &[&str]); 5] = [
        (
            &["apply", "--yes"],
            ".json",
            r#"{"flags": [{"key": "x", "kind": "boolean", "variants": {"on": true, "on": false}, "default_variant": "on"}]}"#,
            &["flags[0].variants.on", "duplicate key `on`"],
        ),
        (
            &["apply", "--yes"],
            ".yaml",
            "flags:\n  - key: x\n    kind: boolean\n    variants: {on: true, on: false}\n    default_variant: on\n",
            &["duplicate mapping key"],
        ),
        (
            &["apply", "--yes"],
            ".json",
            r#"{"flags": [["x", "boolean", {"on": true}, "on"]]}"#,
            &["flags[0]", "invalid type: sequence"],
        ),
        (
            &["rollout", "start"],
            ".json",
            r#"{"flag": "checkout", "candidate": "on", "strategy": 7}"#,
            &["strategy", "expected one of `safe`"],
        ),
        (
            &["rollout", "start"],
            ".json",
            r#"{"flag": "checkout", "candidate": "on", "candidate": "off"}"#,
            &["candidate", "duplicate key `candidate`"],
        ),
    ];
    for (command, suffix, content, expected) in cases {
        let mut file = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
        write!(file, "{content}").unwrap();
        let output = Command::new(BIN)
            .args(command)
            .args(["-f", file.path().to_str().unwrap(), "--server", unreachable])
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{command:?} {content}: {stderr}"
        );
        for piece in expected {
            assert!(stderr.contains(piece), "{command:?} {content}: {stderr}");
        }
    }
}
