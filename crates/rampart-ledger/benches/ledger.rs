//! Throughput of sealing and verifying a 10,000-entry chain with realistic (~300-byte) details.
//! Budget: verify at least 20,000 entries per second.

use std::hint::black_box;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rampart_ledger::{Draft, Entry, GENESIS_HASH, Signer, canonical_json, seal, verify};
use serde_json::json;

const ENTRIES: u64 = 10_000;

/// A flag update as the server records it: about 300 bytes of canonical JSON.
fn draft(number: u64) -> Draft {
    Draft {
        actor: format!("user-{}@example.com", number % 17),
        action: "rollout_step_advanced".to_owned(),
        subject: format!("checkout-redesign-{}", number % 50),
        detail: json!({
            "rollout": format!("ro-{number:08}"),
            "revision": 10_000 + number,
            "step": {"index": number % 7, "percent": 2_500, "soak_secs": 300},
            "weights": {"baseline": 7_500, "candidate": 2_500},
            "decision": {"verdict": "pass", "error_rate": 0.0042, "p99_ms": 187.5, "samples": 12_840},
            "reason": "all criteria passed after soak",
            "request_id": format!("req-{:016x}", number.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        }),
    }
}

fn build_chain(drafts: &[Draft], signer: &Signer) -> Vec<Entry> {
    let mut chain: Vec<Entry> = Vec::with_capacity(drafts.len());
    for (draft, seq) in drafts.iter().zip(1_u64..) {
        let prev_hash = chain.last().map_or(GENESIS_HASH, |last| last.hash.as_str());
        let at = 1_700_000_000_000 + i64::try_from(seq).unwrap_or(0) * 250;
        let entry = seal(draft.clone(), seq, at, prev_hash, signer);
        chain.push(entry);
    }
    chain
}

fn ledger(criterion: &mut Criterion) {
    let signer = Signer::from_seed([7; 32]);
    let drafts: Vec<Draft> = (1..=ENTRIES).map(draft).collect();
    let detail_bytes: usize = drafts
        .iter()
        .map(|draft| canonical_json(&draft.detail).len())
        .sum();
    eprintln!(
        "mean canonical detail: {} bytes",
        detail_bytes / drafts.len()
    );
    let chain = build_chain(&drafts, &signer);
    let trusted = [signer.public_key()];
    assert!(verify(&chain, &trusted).ok);

    let mut group = criterion.benchmark_group("ledger");
    group.throughput(Throughput::Elements(ENTRIES));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.bench_function("seal_10000", |bencher| {
        bencher.iter(|| build_chain(black_box(&drafts), &signer));
    });
    group.bench_function("verify_10000", |bencher| {
        bencher.iter(|| verify(black_box(&chain), &trusted));
    });
    group.finish();
}

criterion_group!(benches, ledger);
criterion_main!(benches);
