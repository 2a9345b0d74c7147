//! Ledger append throughput inside real SQLite transactions (`synchronous=FULL`), with the
//! same commits without a ledger as the peer in the same run.
//!
//! Each commit is one flag change; with a signer it also seals and inserts its entry in the
//! same transaction. Run: `cargo bench -p rampart-store --bench ledger_append`

use std::time::Instant;

use rampart_model::{Flag, FlagSpec};
use rampart_store::{Change, ChangeSet, Precondition, SqliteStore, Store};

const COMMITS: usize = 1_000;
const ROUNDS: usize = 3;

async fn commits_per_second(with_ledger: bool) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).await.expect("store opens");
    if with_ledger {
        store.set_ledger_signer(rampart_ledger::Signer::from_seed([42; 32]));
    }
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
            .commit(ChangeSet::new("bench", vec![change]))
            .await
            .expect("commit");
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
        without.push(commits_per_second(false).await);
        with.push(commits_per_second(true).await);
    }
    let (with, without) = (median(with), median(without));
    println!("| commits of one flag change ({COMMITS} × {ROUNDS} rounds, median) | commits/s |");
    println!("|---|---|");
    println!("| without the ledger (peer) | {without:.0} |");
    println!("| with a signed ledger entry in the same transaction | {with:.0} |");
    println!(
        "ledger overhead: {:.1}% per commit",
        (without / with - 1.0) * 100.0
    );
}
