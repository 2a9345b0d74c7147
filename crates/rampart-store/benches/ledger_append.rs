//! Ledger append throughput inside real SQLite transactions (`synchronous=FULL`), with a
//! write transaction that has no ledger entry (a health-window save) as the peer in the same
//! run. A config change can't commit without its entry, so the peer is the nearest write
//! that has none.
//!
//! Each commit is one flag change; it also seals and inserts its entry in the same
//! transaction. Run: `cargo bench -p rampart-store --bench ledger_append`

use std::time::Instant;

use rampart_model::{Flag, FlagSpec};
use rampart_store::{Arm, Change, ChangeSet, HealthWindow, Precondition, SqliteStore, Store};

const COMMITS: usize = 1_000;
const ROUNDS: usize = 3;
const AT: i64 = 1_800_000_000_000;

async fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).await.expect("store opens");
    store.set_ledger_signer(rampart_ledger::Signer::from_seed([42; 32]));
    (dir, store)
}

async fn commits_per_second() -> f64 {
    let (_dir, store) = open().await;
    let started = Instant::now();
    for i in 0..COMMITS {
        let mut spec = FlagSpec::boolean(format!("flag-{i}"));
        spec.description = Some("a realistic description of what this flag guards".repeat(3));
        let flag = Flag::try_new(spec).expect("valid flag");
        let change = Change::PutFlag {
            flag,
            expected: Precondition::MustNotExist,
        };
        store
            .commit(ChangeSet::new("bench", AT, vec![change]))
            .await
            .expect("commit");
    }
    COMMITS as f64 / started.elapsed().as_secs_f64()
}

/// The peer: one health window saved per transaction, no ledger entry.
async fn health_saves_per_second() -> f64 {
    let (_dir, store) = open().await;
    let create = Change::CreateRollout {
        flag: "checkout".to_owned(),
        plan: serde_json::json!({}),
        base: serde_json::json!({}),
        state: serde_json::json!({}),
        phase: "ramping".to_owned(),
        active: true,
        events: Vec::new(),
    };
    let committed = store
        .commit(ChangeSet::new("bench", AT, vec![create]))
        .await
        .expect("create rollout");
    let id = committed.created_rollouts[0];
    let aggregate = serde_json::json!({"n": 1000, "errors": 3, "note": "x".repeat(150)});
    let started = Instant::now();
    for i in 0..COMMITS {
        let window = HealthWindow {
            arm: Arm::Baseline,
            window: i as u64,
            aggregate: aggregate.clone(),
        };
        store.save_health(id, &[window]).await.expect("save");
    }
    COMMITS as f64 / started.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let mut with = Vec::new();
    let mut without = Vec::new();
    for _ in 0..ROUNDS {
        // Alternate, so machine noise hits both alike.
        without.push(health_saves_per_second().await);
        with.push(commits_per_second().await);
    }
    let (with, without) = (median(with), median(without));
    println!("| write transactions ({COMMITS} × {ROUNDS} rounds, median) | per second |");
    println!("|---|---|");
    println!("| a health-window save, no ledger entry (peer) | {without:.0} |");
    println!("| one flag change with its signed ledger entry | {with:.0} |");
    println!(
        "a commit costs {:.1}% more than the peer",
        (without / with - 1.0) * 100.0
    );
}
