//! Lossless round trips: a flag written as JSON or YAML reads back equal, in the same order
//! (variants, split weights, object keys), byte-identical when written again, and still valid.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use indexmap::IndexMap;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::FileFailurePersistence;
use rampart_model::{Condition, Segment};
use rampart_model::{
    Document, Flag, FlagKind, FlagSpec, FlagState, Operator, Prerequisite, Rule, Serve,
    TOTAL_WEIGHT,
};
use serde_json::{Value, json};

/// The order-sensitive parts of a flag: its variant names and the variant names of each split
/// and shadow split. `IndexMap` equality ignores order, so `==` alone would miss a reordering.
fn orders(spec: &FlagSpec) -> Vec<Vec<String>> {
    let serves = spec
        .rules
        .iter()
        .map(|r| &r.serve)
        .chain(spec.fallthrough.as_ref());
    std::iter::once(spec.variants.keys().cloned().collect())
        .chain(
            serves
                .flat_map(|s| s.split.iter().chain(&s.shadow))
                .map(|s| s.keys().cloned().collect()),
        )
        .collect()
}

/// Writes `spec` as JSON and as YAML, reads both back, and checks that nothing changed:
/// equal values, the same order, the same text when written again, and still valid.
fn check(spec: &FlagSpec) -> Result<(), String> {
    check_json(spec)?;
    check_yaml(spec)
}

fn check_json(spec: &FlagSpec) -> Result<(), String> {
    let flag = Flag::try_new(spec.clone()).map_err(|e| format!("input is invalid: {e}"))?;
    let json = serde_json::to_string(&flag).map_err(|e| format!("cannot write JSON: {e}"))?;
    let from_json: Flag =
        serde_json::from_str(&json).map_err(|e| format!("cannot read JSON back: {e}\n{json}"))?;
    if from_json != flag || orders(from_json.spec()) != orders(spec) {
        return Err(format!("JSON changed the flag:\n{json}\n=> {from_json:?}"));
    }
    let json_again = serde_json::to_string(&from_json).map_err(|e| e.to_string())?;
    if json_again != json {
        return Err(format!("JSON is not stable:\n{json}\n{json_again}"));
    }
    Ok(())
}

fn check_yaml(spec: &FlagSpec) -> Result<(), String> {
    Flag::try_new(spec.clone()).map_err(|e| format!("input is invalid: {e}"))?;
    let document = Document {
        segments: Vec::new(),
        flags: vec![spec.clone()],
    };
    let yaml = document
        .to_yaml()
        .map_err(|e| format!("cannot write YAML: {e}"))?;
    let from_yaml =
        Document::from_yaml(&yaml).map_err(|e| format!("cannot read YAML back: {e}\n{yaml}"))?;
    if from_yaml != document || orders(&from_yaml.flags[0]) != orders(spec) {
        return Err(format!(
            "YAML changed the flag:\n{yaml}\n=> {:?}",
            from_yaml.flags
        ));
    }
    let yaml_again = from_yaml.to_yaml().map_err(|e| e.to_string())?;
    if yaml_again != yaml {
        return Err(format!("YAML is not stable:\n{yaml}\n{yaml_again}"));
    }
    // Comparing the JSON text (written, never parsed) catches what `==` forgives: `-0.0` vs
    // `0.0`, `1` vs `1.0`, and key order inside object values.
    let written = |spec: &FlagSpec| serde_json::to_string(spec).map_err(|e| e.to_string());
    let (before, after) = (written(spec)?, written(&from_yaml.flags[0])?);
    if before != after {
        return Err(format!(
            "YAML lost detail:\n{yaml}\nwas {before}\nnow {after}"
        ));
    }
    from_yaml
        .validate()
        .map(drop)
        .map_err(|e| format!("no longer valid after YAML: {e}"))
}

/// Without its `float_roundtrip` feature, serde_json parses roughly one in six full-precision
/// doubles one unit in the last place off: `10.654754638671875` reads back as
/// `10.654754638671877`. The workspace turns the feature on; this guards that it stays on.
fn json_parses_floats_exactly() -> bool {
    let exact = serde_json::from_str::<f64>("10.654754638671875")
        .is_ok_and(|x| x.to_bits() == 10.654_754_638_671_875_f64.to_bits());
    assert!(
        exact,
        "serde_json lost its `float_roundtrip` feature: JSON would alter full-precision floats"
    );
    exact
}

fn spec(flag: Value) -> FlagSpec {
    serde_json::from_value(flag).unwrap_or_else(|e| panic!("test flag does not parse: {e}"))
}

/// Strings that YAML could read as something else (booleans, null, numbers, syntax), or that
/// need escaping.
const TRICKY_STRINGS: &[&str] = &[
    "",
    " ",
    "on",
    "off",
    "On",
    "OFF",
    "yes",
    "no",
    "Yes",
    "NO",
    "y",
    "n",
    "Y",
    "true",
    "False",
    "null",
    "Null",
    "NULL",
    "~",
    "1",
    "1.0",
    "-1",
    "+1",
    "007",
    "0x1F",
    "0o17",
    "0b101",
    "1e3",
    "1_000",
    "1:20",
    ".5",
    ".inf",
    "-.inf",
    ".nan",
    "NaN",
    "2024-01-01",
    "12:30:00",
    " lead",
    "trail ",
    "a: b",
    "a:b",
    "a #b",
    "#comment",
    "- item",
    "-",
    "---",
    "...",
    "? key",
    "*alias",
    "&anchor",
    "!tag",
    "!!str",
    "%YAML",
    "@at",
    "`tick",
    "{",
    "}",
    "[",
    "]",
    ",",
    "|",
    ">",
    "|-",
    "'",
    "\"",
    "'quoted'",
    "\"dq\"",
    "\\",
    "\\n",
    "multi\nline",
    "trailing\n",
    "\nleading",
    "a\n\nb",
    "a\r\nb",
    "\r",
    "\t",
    "tab\there",
    "\0",
    "\u{7}",
    "\u{1b}[31m",
    "\u{7f}",
    "\u{85}",
    "\u{a0}",
    "\u{feff}",
    "\u{2028}",
    "\u{2029}",
    "é",
    "日本語",
    "🚀",
    "<<",
    "=",
];

/// Variant names and keys (valid by `check_key`) that a YAML 1.1 reader would retype.
const TRICKY_KEYS: &[&str] = &[
    "on",
    "off",
    "On",
    "OFF",
    "yes",
    "no",
    "y",
    "n",
    "Y",
    "N",
    "true",
    "false",
    "True",
    "null",
    "Null",
    "NULL",
    "1",
    "0",
    "1.0",
    "007",
    "0x1F",
    "0o17",
    "0b101",
    "1e3",
    "1_000",
    "NaN",
    "nan",
    "inf",
    "2024-01-01",
    "12.30",
    "1.2.3",
    "1-2",
];

#[test]
fn tricky_strings_round_trip_everywhere_a_string_goes() {
    let failures: Vec<String> = TRICKY_STRINGS
        .iter()
        .filter_map(|&text| {
            let mut flag = json!({
                "key": "k",
                "kind": "string",
                "variants": {"value": text, "other": "x"},
                "default_variant": "value",
                "description": text,
                "owner": text,
                "rules": [{
                    "description": text,
                    "when": [{"attribute": "plan", "op": "in", "values": [text, "x"]}],
                    "serve": {"split": {"other": 10000}, "salt": text},
                }],
            });
            if !text.is_empty() {
                let when = flag["rules"][0]["when"]
                    .as_array_mut()
                    .expect("when is a list");
                when.push(json!({"attribute": text, "op": "contains", "values": [text]}));
                flag["rules"][0]["serve"]["bucket_by"] = json!(text);
                flag["prerequisites"] = json!([{"flag": "other-flag", "variant": text}]);
            }
            if !text.trim().is_empty() {
                flag["tags"] = json!([text]);
            }
            let object = json!({
                "key": "o",
                "kind": "object",
                "variants": {"v": {text: text, "nested": [text, {text: [text]}]}},
                "default_variant": "v",
            });
            let errors: Vec<String> = [check(&spec(flag)), check(&spec(object))]
                .into_iter()
                .filter_map(Result::err)
                .collect();
            (!errors.is_empty()).then(|| format!("{text:?}: {}", errors.join("\n")))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn tricky_keys_round_trip_as_keys_and_variant_names() {
    let failures: Vec<String> = TRICKY_KEYS
        .iter()
        .filter_map(|&key| {
            let flag = spec(json!({
                "key": key,
                "kind": "boolean",
                "variants": {"z": false, key: true},
                "default_variant": key,
                "rules": [{"when": [{"segment": key}], "serve": {"variant": key}}],
                "fallthrough": {"split": {key: 5000, "z": 5000}, "bucket_by": key, "salt": key},
                "prerequisites": [{"flag": format!("x{key}"), "variant": key}],
                "tags": [key],
                "owner": key,
            }));
            check(&flag).err().map(|e| format!("{key:?}: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn numbers_round_trip_exactly() {
    // `true` marks floats that serde_json only parses exactly with `float_roundtrip`.
    let numbers = [
        (json!(0), false),
        (json!(1), false),
        (json!(1.0), false),
        (json!(-0.0), false),
        (json!(0.1), false),
        (json!(0.30000000000000004), false),
        (json!(1e-7), false),
        (json!(1e21), false),
        (json!(-1e300), false),
        (json!(5e-324), false),
        (json!(f64::MIN_POSITIVE), false),
        (json!(f64::MAX), false),
        (json!(f64::MIN), false),
        (json!(9_007_199_254_740_993_u64), false),
        (json!(i64::MIN), false),
        (json!(i64::MAX), false),
        (json!(u64::MAX), false),
        (json!(10.654_754_638_671_875), true),
        (json!(93.348_922_729_492_19), true),
        (json!(2.260_417_549_419_042_8e-153), true),
    ];
    let json_is_exact = json_parses_floats_exactly();
    let failures: Vec<String> = numbers
        .iter()
        .filter_map(|(number, needs_exact_json)| {
            let flag = spec(json!({
                "key": "n",
                "kind": "number",
                "variants": {"v": number, "object": 1},
                "default_variant": "v",
                "rules": [{
                    "when": [
                        {"attribute": "x", "op": "lt", "values": [number]},
                        {"attribute": "x", "op": "in", "values": [number, 1.5]},
                    ],
                    "serve": {"variant": "v"},
                }],
            }));
            let result = if *needs_exact_json && !json_is_exact {
                check_yaml(&flag)
            } else {
                check(&flag)
            };
            result.err().map(|e| format!("{number}: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Bucketing depends on the split order, and users read variants in the order they wrote
/// them: neither may be sorted on the way through.
#[test]
fn variant_split_and_object_key_order_is_preserved() {
    let flag = spec(json!({
        "key": "ordered",
        "kind": "object",
        "variants": {
            "zulu": {"z": 1, "a": 2, "m": {"y": null, "b": [3, 2, 1]}},
            "alpha": {},
            "mike": {"only": true},
        },
        "default_variant": "mike",
        "rules": [{"when": [], "serve": {
            "split": {"mike": 1, "zulu": 9998, "alpha": 1},
            "shadow": {"alpha": 9000, "mike": 1000},
        }}],
        "fallthrough": {"split": {"zulu": 5000, "alpha": 5000}},
    }));
    check(&flag).expect("round trips");

    let yaml = Document {
        segments: Vec::new(),
        flags: vec![flag],
    }
    .to_yaml()
    .expect("writes");
    let back = Document::from_yaml(&yaml).expect("reads").flags.remove(0);
    assert_eq!(
        orders(&back),
        [
            vec!["zulu", "alpha", "mike"],
            vec!["mike", "zulu", "alpha"],
            vec!["alpha", "mike"],
            vec!["zulu", "alpha"],
        ]
    );
    let zulu: Vec<&String> = back.variants["zulu"]
        .as_object()
        .expect("object")
        .keys()
        .collect();
    assert_eq!(zulu, ["z", "a", "m"]);
}

#[test]
fn rich_example_round_trips() {
    let document: Document = serde_json::from_str(include_str!("testdata/rich.json"))
        .expect("testdata/rich.json parses");
    for flag in &document.flags {
        assert_eq!(check(flag), Ok(()), "{}", flag.key);
    }
    // Segments go through the document as well.
    let yaml = document.to_yaml().expect("writes");
    assert_eq!(Document::from_yaml(&yaml).expect("reads"), document);
    let segments: Vec<Segment> = document.validate().expect("valid").1;
    let json = serde_json::to_string(&segments).expect("writes");
    assert_eq!(
        serde_json::from_str::<Vec<Segment>>(&json).expect("reads"),
        segments
    );
}

// Generators for random valid flags.

fn text() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        select(TRICKY_STRINGS).prop_map(str::to_owned),
        any::<String>(),
        "[a-zA-Z0-9 ._:-]{0,12}",
    ]
}

fn non_empty_text() -> impl Strategy<Value = String> + Clone {
    text().prop_filter("non-empty", |s| !s.is_empty())
}

fn key() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        select(TRICKY_KEYS).prop_map(str::to_owned),
        "[a-z0-9][a-zA-Z0-9._-]{0,15}"
    ]
}

/// Integers, short decimals, and (when serde_json can read them back exactly, see
/// [`json_parses_floats_exactly`]) any finite double.
fn number() -> BoxedStrategy<Value> {
    use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    let integer_or_decimal = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-100_000i32..100_000, 0i32..6)
            .prop_map(|(n, scale)| { Value::from(f64::from(n) / 10f64.powi(scale)) }),
    ];
    if *JSON_FLOATS_EXACT {
        let double = (POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO).prop_map(Value::from);
        prop_oneof![integer_or_decimal, double].boxed()
    } else {
        integer_or_decimal.boxed()
    }
}

static JSON_FLOATS_EXACT: LazyLock<bool> = LazyLock::new(json_parses_floats_exactly);

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((text(), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

fn variant_value(kind: FlagKind) -> BoxedStrategy<Value> {
    match kind {
        FlagKind::Boolean => any::<bool>().prop_map(Value::Bool).boxed(),
        FlagKind::String => text().prop_map(Value::String).boxed(),
        FlagKind::Number => number().boxed(),
        FlagKind::Object => vec((text(), json_value()), 0..4)
            .prop_map(|entries| Value::Object(entries.into_iter().collect()))
            .boxed(),
    }
}

fn timestamp() -> impl Strategy<Value = Value> {
    let offset = prop_oneof![
        Just("Z".to_owned()),
        (any::<bool>(), 0u8..24, 0u8..60)
            .prop_map(|(east, h, m)| format!("{}{h:02}:{m:02}", if east { '+' } else { '-' })),
    ];
    let fraction = proptest::option::of(1u32..1_000_000_000).prop_map(|nanos| match nanos {
        Some(nanos) => format!(".{nanos:09}"),
        None => String::new(),
    });
    (
        1900u16..2200,
        1u8..=12,
        1u8..=28,
        0u8..24,
        0u8..60,
        0u8..60,
        fraction,
        offset,
    )
        .prop_map(|(y, mo, d, h, mi, s, fraction, offset)| {
            Value::String(format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}{offset}"
            ))
        })
}

fn semver() -> impl Strategy<Value = Value> {
    let pre = proptest::option::of("(alpha|beta|rc)(\\.[1-9][0-9]{0,2}){0,2}");
    let build = proptest::option::of("[a-z0-9]{1,6}(\\.[a-z0-9]{1,4})?");
    (
        select(vec!["", "v", "V"]),
        0u64..1000,
        0u64..1000,
        0u64..1000,
        pre,
        build,
    )
        .prop_map(|(prefix, major, minor, patch, pre, build)| {
            let pre = pre.map(|p| format!("-{p}")).unwrap_or_default();
            let build = build.map(|b| format!("+{b}")).unwrap_or_default();
            Value::String(format!("{prefix}{major}.{minor}.{patch}{pre}{build}"))
        })
}

fn cidr() -> impl Strategy<Value = Value> {
    prop_oneof![
        (any::<u32>(), 0u8..=32).prop_map(|(a, p)| format!("{}/{p}", Ipv4Addr::from(a))),
        (any::<u128>(), 0u8..=128).prop_map(|(a, p)| format!("{}/{p}", Ipv6Addr::from(a))),
        any::<u32>().prop_map(|a| Ipv4Addr::from(a).to_string()),
        any::<u128>().prop_map(|a| Ipv6Addr::from(a).to_string()),
    ]
    .prop_map(Value::String)
}

fn regex_pattern() -> impl Strategy<Value = Value> {
    prop_oneof![
        select(vec![
            "",
            "^a.*b$",
            "(Firefox|Chrome)/\\d+",
            "\\p{L}+",
            "[[:alpha:]]",
            "(?i)on|off"
        ])
        .prop_map(str::to_owned),
        text().prop_map(|s| regex::escape(&s)),
    ]
    .prop_map(Value::String)
}

/// An operator with values that fit it.
fn operator_and_values() -> impl Strategy<Value = (Operator, Vec<Value>)> {
    use Operator::*;
    let scalar = prop_oneof![
        text().prop_map(Value::String),
        number(),
        any::<bool>().prop_map(Value::Bool)
    ];
    let one = |values: BoxedStrategy<Value>| values.prop_map(|v| vec![v]);
    prop_oneof![
        (select(vec![In, NotIn]), vec(scalar.clone(), 1..4)),
        (select(vec![Eq, Neq]), one(scalar.boxed())),
        (
            select(vec![StartsWith, EndsWith, Contains]),
            vec(text().prop_map(Value::String), 1..4)
        ),
        (Just(Matches), vec(regex_pattern(), 1..3)),
        (select(vec![Lt, Lte, Gt, Gte]), one(number().boxed())),
        (select(vec![Before, After]), one(timestamp().boxed())),
        (
            select(vec![SemverEq, SemverLt, SemverGt]),
            one(semver().boxed())
        ),
        (Just(InCidr), vec(cidr(), 1..4)),
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    prop_oneof![
        (key(), any::<bool>()).prop_map(|(name, negate)| Condition {
            negate,
            ..Condition::segment(name)
        }),
        (non_empty_text(), operator_and_values(), any::<bool>()).prop_map(
            |(attribute, (op, values), negate)| Condition {
                negate,
                ..Condition::attribute(attribute, op, values)
            }
        ),
    ]
}

/// Weights over a random, randomly ordered subset of `names`, summing to 10 000.
fn weights(names: Vec<String>) -> impl Strategy<Value = IndexMap<String, u32>> {
    let n = names.len();
    (Just(names).prop_shuffle(), 1..=n)
        .prop_flat_map(|(shuffled, k)| (Just(shuffled[..k].to_vec()), vec(0..=TOTAL_WEIGHT, k - 1)))
        .prop_map(|(chosen, mut cuts)| {
            cuts.sort_unstable();
            cuts.push(TOTAL_WEIGHT);
            let mut previous = 0;
            chosen
                .into_iter()
                .zip(cuts)
                .map(|(name, cut)| {
                    let weight = cut - previous;
                    previous = cut;
                    (name, weight)
                })
                .collect()
        })
}

/// One variant or a split, either with an optional shadow split; `bucket_by` and `salt` only
/// where a split or shadow split uses them.
fn serve(names: Vec<String>) -> impl Strategy<Value = Serve> {
    let served = prop_oneof![
        select(names.clone()).prop_map(Serve::variant),
        weights(names.clone()).prop_map(|split| Serve {
            split: Some(split),
            ..Serve::default()
        }),
    ];
    let bucketing = (
        proptest::option::of(non_empty_text()),
        proptest::option::of(text()),
    );
    (served, proptest::option::of(weights(names)), bucketing).prop_map(
        |(served, shadow, (bucket_by, salt))| {
            if served.split.is_none() && shadow.is_none() {
                return served;
            }
            Serve {
                shadow,
                bucket_by,
                salt,
                ..served
            }
        },
    )
}

fn rule(names: Vec<String>) -> impl Strategy<Value = Rule> {
    (
        proptest::option::of(text()),
        vec(condition(), 0..4),
        serve(names),
    )
        .prop_map(|(description, when, serve)| Rule {
            description,
            when,
            serve,
        })
}

fn flag_spec() -> impl Strategy<Value = FlagSpec> {
    let kind = select(vec![
        FlagKind::Boolean,
        FlagKind::String,
        FlagKind::Number,
        FlagKind::Object,
    ]);
    (kind, vec(key(), 1..5))
        .prop_flat_map(|(kind, mut names)| {
            let mut seen = std::collections::HashSet::new();
            names.retain(|name| seen.insert(name.clone()));
            let n = names.len();
            let prerequisite = (key(), non_empty_text())
                .prop_map(|(flag, variant)| Prerequisite { flag, variant });
            (
                (
                    key(),
                    Just(kind),
                    vec(variant_value(kind), n),
                    Just(names.clone()),
                    0..n,
                ),
                (
                    vec(rule(names.clone()), 0..4),
                    proptest::option::of(serve(names)),
                ),
                (
                    vec(prerequisite, 0..3),
                    vec(
                        text().prop_filter("non-blank", |t| !t.trim().is_empty()),
                        0..3,
                    ),
                ),
                (
                    proptest::option::of(text()),
                    proptest::option::of(text()),
                    any::<bool>(),
                ),
            )
        })
        .prop_map(|(variants, serves, references, about)| {
            let (key, kind, values, names, default_index) = variants;
            let (rules, fallthrough) = serves;
            let (mut prerequisites, tags) = references;
            let (owner, description, disabled) = about;
            prerequisites.retain(|p| p.flag != key);
            FlagSpec {
                default_variant: names[default_index].clone(),
                variants: names.into_iter().zip(values).collect(),
                key,
                kind,
                state: if disabled {
                    FlagState::Disabled
                } else {
                    FlagState::Enabled
                },
                rules,
                fallthrough,
                prerequisites,
                tags,
                owner,
                description,
            }
        })
}

proptest! {
    // Integration tests have no `lib.rs` beside them, so keep failures next to this file.
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_valid_flags_round_trip_through_json_and_yaml(spec in flag_spec()) {
        check(&spec).map_err(TestCaseError::fail)?;
    }
}
