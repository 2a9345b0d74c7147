//! Property tests: monotonic bucketing, split shares, determinism and panic-freedom.
#![allow(
    clippy::disallowed_methods,
    reason = "the test loads the shared vectors from disk; the IO ban guards the library"
)]

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use rampart_eval::{Context, Reason, Snapshot};
use rampart_model::{Catalog, Document, Flag, FlagSpec, Serve};
use serde_json::Value;

const VECTOR_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/eval");

/// A snapshot holding one boolean-like flag `rollout` with the given split.
fn split_snapshot(weights: &[(String, u32)]) -> Snapshot {
    let mut spec = FlagSpec::boolean("rollout");
    spec.variants = weights
        .iter()
        .map(|(name, _)| (name.clone(), Value::Bool(name == "candidate")))
        .collect();
    spec.default_variant = weights
        .first()
        .map(|(name, _)| name.clone())
        .unwrap_or_default();
    spec.fallthrough = Some(Serve::split(weights.iter().cloned()));
    let flag = Flag::try_new(spec).unwrap();
    Snapshot::compile(&Catalog::try_new(1, [flag], []).unwrap())
}

fn two_way(candidate: u32, candidate_first: bool) -> Snapshot {
    let candidate_slot = ("candidate".to_owned(), candidate);
    let baseline_slot = ("baseline".to_owned(), 10_000 - candidate);
    if candidate_first {
        split_snapshot(&[candidate_slot, baseline_slot])
    } else {
        split_snapshot(&[baseline_slot, candidate_slot])
    }
}

fn served(snapshot: &Snapshot, key: &str) -> String {
    let resolution = snapshot.evaluate("rollout", &Context::new(Some(key.to_owned())));
    assert_eq!(resolution.reason, Reason::Split, "{key}: {resolution:?}");
    resolution.variant.unwrap().to_owned()
}

proptest! {
    #![proptest_config(Config { cases: 64, ..Config::default() })]

    /// Raising the candidate's weight keeps everyone who already had the candidate, whether
    /// the candidate is listed first or second in the split.
    #[test]
    fn raising_the_candidate_weight_keeps_its_users(
        w1 in 0u32..=10_000,
        raise in 0u32..=10_000,
        candidate_first in any::<bool>(),
        key_seed in any::<u64>(),
    ) {
        let w2 = (w1 + raise).min(10_000);
        let before = two_way(w1, candidate_first);
        let after = two_way(w2, candidate_first);
        for i in 0..500 {
            let key = format!("user-{key_seed}-{i}");
            if served(&before, &key) == "candidate" {
                prop_assert_eq!(served(&after, &key), "candidate", "key {} lost the candidate going {} -> {}", key, w1, w2);
            }
        }
    }
}

/// 2 to 4 weights in basis points summing to 10 000.
fn weights() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(0u32..=10_000, 1..=3).prop_map(|mut cuts| {
        cuts.sort_unstable();
        let mut weights = Vec::with_capacity(cuts.len() + 1);
        let mut previous = 0;
        for cut in cuts.into_iter().chain([10_000]) {
            weights.push(cut - previous);
            previous = cut;
        }
        weights
    })
}

proptest! {
    // Each case checks up to four shares against a bound of about three standard errors, so a
    // random seed would fail now and then by chance alone; a fixed seed keeps the test exact
    // and repeatable while still failing on any real bias in the bucketing.
    #![proptest_config(Config { cases: 8, rng_seed: RngSeed::Fixed(0x5eed_b0c3), ..Config::default() })]

    /// Over 100 000 keys every variant's share is within 0.5 percentage points of its weight.
    #[test]
    fn observed_shares_follow_the_weights(weights in weights(), key_seed in any::<u64>()) {
        let names: Vec<String> = (0..weights.len()).map(|i| format!("v{i}")).collect();
        let split: Vec<(String, u32)> = names.iter().cloned().zip(weights.iter().copied()).collect();
        let snapshot = split_snapshot(&split);
        let n_keys = 100_000;
        let mut counts = vec![0u32; names.len()];
        for i in 0..n_keys {
            let context = Context::new(Some(format!("{key_seed:x}:{i}")));
            let variant = snapshot.evaluate("rollout", &context).variant.unwrap();
            let index = names.iter().position(|name| name == variant).unwrap();
            counts[index] += 1;
        }
        for ((name, weight), count) in split.iter().zip(&counts) {
            let expected = f64::from(*weight) / 100.0;
            let observed = f64::from(*count) * 100.0 / f64::from(n_keys);
            prop_assert!(
                (observed - expected).abs() <= 0.5,
                "{} has weight {}% but got {}% of keys ({:?})", name, expected, observed, split
            );
        }
    }
}

/// Every flag of every vector file, compiled; exercises every operator, segments,
/// prerequisites and splits.
fn vector_snapshots() -> Vec<Snapshot> {
    let mut paths: Vec<_> = std::fs::read_dir(VECTOR_DIR)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let mut file: Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let document = Document {
                segments: serde_json::from_value(file["segments"].take()).unwrap(),
                flags: serde_json::from_value(file["flags"].take()).unwrap(),
            };
            let (flags, segments) = document.validate().unwrap();
            // Some vector files pin how catalogs that writes refuse evaluate.
            Snapshot::compile(&Catalog::recover(1, flags, segments).0)
        })
        .collect()
}

/// Attribute names the vector flags read, plus a few they don't.
const NAMES: &[&str] = &[
    "targetingKey",
    "plan",
    "status",
    "country",
    "tier",
    "email",
    "user_agent",
    "age",
    "score",
    "signup",
    "app_version",
    "ip",
    "beta",
    "beta_opt_in",
    "org",
    "device",
    "user",
    "region",
    "a.b",
    "",
];

/// Strings that parse for some operator, so conditions get past their type checks.
const INTERESTING: &[&str] = &[
    "pro",
    "NL",
    "ana@acme.com",
    "admin@x",
    "10.1.2.3",
    "::ffff:10.0.0.1",
    "2001:db8::9",
    "v2.1.0",
    "1.10.0-rc.1",
    "2026-01-01T00:00:00Z",
    "17.5",
    "NaN",
    "user-1",
    "",
    "Mobile",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |n| serde_json::Number::from_f64(n)
            .map(Value::Number)),
        "\\PC{0,16}".prop_map(Value::String),
        prop::sample::select(INTERESTING).prop_map(|text| Value::String(text.to_owned())),
    ];
    leaf.prop_recursive(3, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(attribute_name(), inner, 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

fn attribute_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(NAMES).prop_map(str::to_owned),
        "[a-z.]{0,6}"
    ]
}

proptest! {
    #![proptest_config(Config { cases: 256, ..Config::default() })]

    /// Evaluating any context, however malformed, never panics and always gives the same
    /// result; `evaluate_all` agrees with `evaluate`.
    #[test]
    fn evaluation_is_deterministic_and_total(
        attributes in prop::collection::vec((attribute_name(), json_value()), 0..8),
        raw_context in json_value(),
    ) {
        let snapshots = vector_snapshots_cached();
        let built = attributes
            .iter()
            .fold(Context::new(None), |context, (name, value)| context.with(name.clone(), value.clone()));
        let object = Value::Object(attributes.into_iter().collect());
        let contexts = [Some(built), Context::from_json(object).ok(), Context::from_json(raw_context).ok()];
        for context in contexts.iter().flatten() {
            for snapshot in snapshots {
                let all = snapshot.evaluate_all(context);
                prop_assert_eq!(all.len(), snapshot.flag_keys().count());
                for (key, resolution) in all {
                    let again = snapshot.evaluate(key, context);
                    prop_assert_eq!(&again, &resolution);
                    prop_assert!(resolution.value.is_some(), "{}: a known flag always has a value", key);
                    prop_assert_eq!(resolution.error_code.is_some(), resolution.reason == Reason::Error);
                }
            }
        }
    }
}

fn vector_snapshots_cached() -> &'static [Snapshot] {
    static SNAPSHOTS: std::sync::OnceLock<Vec<Snapshot>> = std::sync::OnceLock::new();
    SNAPSHOTS.get_or_init(vector_snapshots)
}

#[test]
fn compiling_twice_gives_identical_answers() {
    let first = vector_snapshots();
    let second = vector_snapshots();
    let context = Context::new(Some("user-1".to_owned()))
        .with("plan", "pro".into())
        .with("country", "NL".into());
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a.evaluate_all(&context), b.evaluate_all(&context));
    }
}

/// Flags `p00…`, each serving `on` and needing at most one other flag's `on`: chains,
/// cycles and trees, so every prerequisite holds unless evaluation gives up. (At most one
/// prerequisite per flag keeps evaluation of random graphs cheap.)
fn prerequisite_graph() -> impl Strategy<Value = Vec<Option<usize>>> {
    (2usize..40).prop_flat_map(|n| {
        let next = prop_oneof![
            10 => Just(Some(1usize)),
            1 => Just(None),
            1 => (0..n).prop_map(Some),
        ];
        prop::collection::vec(next, n).prop_map(move |steps| {
            steps
                .into_iter()
                .enumerate()
                .map(|(i, step)| match step {
                    // A step of 1 continues the chain; the last flag's ends it.
                    Some(1) => (i + 1 < n).then_some(i + 1),
                    Some(target) => (target != i).then_some(target),
                    None => None,
                })
                .collect()
        })
    })
}

proptest! {
    #![proptest_config(Config { cases: 128, ..Config::default() })]

    /// The model's write checks and evaluation's depth guard draw the line in the same
    /// place: a catalog is refused exactly when some flag in it would evaluate to an error.
    #[test]
    fn writes_refuse_exactly_the_catalogs_that_evaluation_gives_up_on(
        graph in prerequisite_graph(),
    ) {
        let flags: Vec<Flag> = graph
            .iter()
            .enumerate()
            .map(|(i, next)| {
                let mut spec = FlagSpec::boolean(format!("p{i:02}"));
                spec.fallthrough = Some(Serve::variant("on"));
                spec.prerequisites = next
                    .iter()
                    .map(|target| rampart_model::Prerequisite {
                        flag: format!("p{target:02}"),
                        variant: "on".to_owned(),
                    })
                    .collect();
                Flag::try_new(spec).unwrap()
            })
            .collect();
        let accepted = Catalog::try_new(1, flags.clone(), []).is_ok();
        let (catalog, _) = Catalog::recover(1, flags, []);
        let snapshot = Snapshot::compile(&catalog);
        let errors: Vec<&str> = snapshot
            .evaluate_all(&Context::new(None))
            .into_iter()
            .filter(|(_, resolution)| resolution.reason == Reason::Error)
            .map(|(key, _)| key)
            .collect();
        prop_assert_eq!(accepted, errors.is_empty(), "flags in error: {:?}", errors);
    }
}
