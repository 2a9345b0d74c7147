//! Criterion benchmarks of catalog checks (issue 9: a 1,200-deep prerequisite chain took
//! 25 s to apply and every later write 12.8 s). Results are returned, so criterion drops
//! them outside the timing; the inputs are cloned outside it too.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rampart_model::{Catalog, Flag, FlagSpec, Prerequisite};

fn flag(key: String, prerequisite: Option<String>) -> Flag {
    let mut spec = FlagSpec::boolean(key);
    spec.prerequisites = prerequisite
        .map(|flag| Prerequisite {
            flag,
            variant: "on".to_owned(),
        })
        .into_iter()
        .collect();
    Flag::try_new(spec).expect("a valid flag")
}

/// `c0000 -> c0001 -> … -> c1200`: 1,200 levels, refused.
fn chain_1200() -> Vec<Flag> {
    (0..=1_200)
        .map(|i| {
            flag(
                format!("c{i:04}"),
                (i < 1_200).then(|| format!("c{:04}", i + 1)),
            )
        })
        .collect()
}

fn flat_1000() -> Vec<Flag> {
    (0..1_000).map(|i| flag(format!("f{i:04}"), None)).collect()
}

/// 1,000 flags in chains of 16 levels below their first flag: as deep as is allowed.
fn chains_of_16() -> Vec<Flag> {
    (0..1_000)
        .map(|i| {
            let below = (i % 17 != 16 && i + 1 < 1_000).then(|| format!("d{:04}", i + 1));
            flag(format!("d{i:04}"), below)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("catalog");
    let chain = chain_1200();
    group.bench_function("try_new/chain_1200 (refused)", |b| {
        b.iter_batched(
            || chain.clone(),
            |flags| black_box(Catalog::try_new(1, flags, [])),
            BatchSize::SmallInput,
        )
    });
    let flat = flat_1000();
    group.bench_function("try_new/flat_1000", |b| {
        b.iter_batched(
            || flat.clone(),
            |flags| black_box(Catalog::try_new(1, flags, [])),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("upsert_flags/chain_1200 (refused, the apply path)", |b| {
        b.iter_batched(
            || (Catalog::default(), chain.clone()),
            |(mut catalog, flags)| black_box((catalog.upsert_flags(flags).is_err(), catalog)),
            BatchSize::SmallInput,
        )
    });
    let catalog = Catalog::try_new(1, chains_of_16(), []).expect("16 levels are allowed");
    let rewired = flag("d0500".to_owned(), None);
    // The check of one write that rewires a flag; `upsert_flag` is this plus one insert.
    group.bench_function(
        "check_flag/rewire one of 1000 flags in 16-level chains",
        |b| b.iter(|| black_box(catalog.check_flag(&rewired))),
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
