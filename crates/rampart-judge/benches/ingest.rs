//! Criterion benchmark of in-process ingestion (budget: ≥ 2M events/s on one core).
//!
//! Each iteration records a batch of 10 000 pre-generated events (1% errors, latencies
//! spread over three decades, timestamps advancing through 1 s windows) into a [`Series`],
//! and into a single [`Aggregate`]; throughput is reported in elements per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_judge::{Aggregate, Outcome, Series};

const BATCH: usize = 10_000;

/// Deterministic events: `(timestamp ms, outcome, latency ms)`.
fn events() -> Vec<(u64, Outcome, f64)> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..BATCH)
        .map(|position| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let outcome = if state.is_multiple_of(100) {
                Outcome::Error
            } else {
                Outcome::Success
            };
            let latency_ms = 1.0 + (state >> 40) as f64 / 16_777_216.0 * 999.0;
            (position as u64 / 2, outcome, latency_ms)
        })
        .collect()
}

fn ingest(criterion: &mut Criterion) {
    let events = events();
    let mut group = criterion.benchmark_group("ingest");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("series_record", |bencher| {
        bencher.iter(|| {
            let mut series = Series::new(1_000).unwrap();
            for (at_ms, outcome, latency_ms) in &events {
                series.record(*at_ms, *outcome, Some(*latency_ms));
            }
            black_box(series)
        })
    });
    group.bench_function("aggregate_record", |bencher| {
        bencher.iter(|| {
            let mut aggregate = Aggregate::new();
            for (_, outcome, latency_ms) in &events {
                aggregate.record(*outcome, Some(*latency_ms));
            }
            black_box(aggregate)
        })
    });
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
