//! Criterion benchmarks of in-process evaluation (budget: 250 ns for 3 rules and a split).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_eval::{Context, Reason, Snapshot};
use rampart_model::{Catalog, Document};
use serde_json::{Value, json};

/// The benchmark catalog: a static flag, a flag with three rules and a split fallthrough,
/// and a flag whose one rule has 50 conditions.
fn snapshot() -> Snapshot {
    let wide_rule: Vec<Value> = (0..50)
        .map(|i| match i % 5 {
            0 => json!({"attribute": "plan", "op": "in", "values": ["free", "pro", "team"]}),
            1 => json!({"attribute": "email", "op": "ends_with", "values": ["@example.com"]}),
            2 => json!({"attribute": "age", "op": "gte", "values": [i]}),
            3 => json!({"attribute": "country", "op": "neq", "values": ["CN"]}),
            _ => json!({"attribute": "app_version", "op": "semver_gt", "values": ["1.0.0"]}),
        })
        .collect();
    let document = json!({
        "segments": [
            {"name": "internal", "conditions": [
                {"attribute": "email", "op": "ends_with", "values": ["@acme.com"]}
            ]}
        ],
        "flags": [
            {
                "key": "static-flag", "kind": "boolean",
                "variants": {"on": true, "off": false}, "default_variant": "off",
                "fallthrough": {"variant": "on"}
            },
            {
                "key": "three-rules", "kind": "string",
                "variants": {"internal": "i", "eu": "e", "beta": "b", "candidate": "c", "baseline": "a"},
                "default_variant": "baseline",
                "rules": [
                    {"when": [{"segment": "internal"}], "serve": {"variant": "internal"}},
                    {"when": [
                        {"attribute": "country", "op": "in", "values": ["DE", "FR", "NL", "BE"]},
                        {"attribute": "plan", "op": "eq", "values": ["enterprise"]}
                    ], "serve": {"variant": "eu"}},
                    {"when": [
                        {"attribute": "beta", "op": "eq", "values": [true]},
                        {"attribute": "email", "op": "ends_with", "values": ["@beta.example.com"]}
                    ], "serve": {"variant": "beta"}}
                ],
                "fallthrough": {"split": {"candidate": 1000, "baseline": 9000}}
            },
            {
                "key": "fifty-conditions", "kind": "boolean",
                "variants": {"on": true, "off": false}, "default_variant": "off",
                "rules": [{"when": wide_rule, "serve": {"variant": "on"}}]
            }
        ]
    });
    let document: Document = serde_json::from_value(document).unwrap();
    let (flags, segments) = document.validate().unwrap();
    Snapshot::compile(&Catalog::try_new(1, flags, segments).unwrap())
}

fn context() -> Context {
    Context::from_json(json!({
        "targetingKey": "user-4821",
        "email": "ana@example.com",
        "country": "US",
        "plan": "pro",
        "beta": false,
        "age": 64,
        "app_version": "2.3.1",
    }))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let snapshot = snapshot();
    let context = context();
    // Guard against benchmarking the wrong path.
    assert_eq!(
        snapshot.evaluate("static-flag", &context).reason,
        Reason::Static
    );
    assert_eq!(
        snapshot.evaluate("three-rules", &context).reason,
        Reason::Split
    );
    assert_eq!(
        snapshot.evaluate("fifty-conditions", &context).reason,
        Reason::TargetingMatch
    );

    c.bench_function("static flag", |b| {
        b.iter(|| {
            snapshot
                .evaluate(black_box("static-flag"), black_box(&context))
                .reason
        })
    });
    c.bench_function("3 rules + split fallthrough", |b| {
        b.iter(|| {
            snapshot
                .evaluate(black_box("three-rules"), black_box(&context))
                .metadata
                .bucket
        })
    });
    c.bench_function("1 rule of 50 conditions", |b| {
        b.iter(|| {
            snapshot
                .evaluate(black_box("fifty-conditions"), black_box(&context))
                .reason
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
