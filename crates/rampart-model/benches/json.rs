//! Criterion benchmarks of strict JSON parsing against plain serde_json, on the body OFREP
//! parses on every request.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;
use serde_json::Value;

/// The shape of an OFREP request body, as the server reads it.
#[derive(Deserialize)]
#[allow(dead_code, reason = "parsed for the benchmark, never read")]
struct EvaluationRequest {
    #[serde(default)]
    context: Option<Value>,
}

const BODY: &[u8] = br#"{"context":{"targetingKey":"user-123","email":"a@b.c","plan":"pro","country":"NL","version":"2.3.1"}}"#;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("ofrep_body");
    group.bench_function("serde_json::from_slice (before)", |b| {
        b.iter(|| black_box(serde_json::from_slice::<EvaluationRequest>(black_box(BODY)).is_ok()))
    });
    group.bench_function("rampart_model::json::from_slice (strict)", |b| {
        b.iter(|| {
            black_box(rampart_model::json::from_slice::<EvaluationRequest>(black_box(BODY)).is_ok())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
