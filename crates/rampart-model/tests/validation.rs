//! Flag validation: every rejection `Flag::try_new` makes, with its exact code and field path,
//! and the rich example in `testdata/rich.json`, which must pass every check. The catalog's
//! cross-reference checks are in `catalog.rs`.

use rampart_model::{Catalog, Document, ErrorCode, Flag, FlagSpec, ValidationError};
use serde_json::{Value, json};

/// A valid boolean flag (`on`/`off`, default `off`) with `overrides` replacing top-level fields.
fn flag(overrides: Value) -> Value {
    let mut flag = json!({
        "key": "new-checkout",
        "kind": "boolean",
        "variants": {"on": true, "off": false},
        "default_variant": "off",
    });
    for (field, value) in overrides.as_object().expect("overrides are an object") {
        flag[field] = value.clone();
    }
    flag
}

/// A flag whose single rule has a valid first condition and `second` as its second one,
/// so the error must point at `rules[0].when[1]`.
fn second_condition(second: Value) -> Value {
    flag(json!({"rules": [{
        "when": [{"attribute": "country", "op": "in", "values": ["DE"]}, second],
        "serve": {"variant": "on"},
    }]}))
}

/// A flag with one rule that serves `serve`.
fn rule_serving(serve: Value) -> Value {
    flag(json!({"rules": [{"when": [], "serve": serve}]}))
}

fn parse_flag(name: &str, flag: Value) -> FlagSpec {
    serde_json::from_value(flag).unwrap_or_else(|e| panic!("{name}: does not deserialize: {e}"))
}

fn describe(result: Result<(), ValidationError>) -> String {
    match result {
        Ok(()) => "accepted".to_owned(),
        Err(e) => format!("{} at `{}`: {}", e.code(), e.field(), e.message()),
    }
}

/// Runs one row of the flag table: the flag must deserialize and `Flag::try_new` must reject
/// it with exactly `code` at exactly `field`. Returns a description of any mismatch.
fn check(name: &str, flag: Value, code: ErrorCode, field: &str) -> Option<String> {
    let got = Flag::try_new(parse_flag(name, flag)).map(drop);
    match &got {
        Err(e) if e.code() == code && e.field() == field => None,
        _ => Some(format!(
            "{name}: want {code} at `{field}`, got {}",
            describe(got)
        )),
    }
}

#[test]
fn invalid_flags_are_rejected_with_code_and_field() {
    use ErrorCode::*;
    let long_key = "k".repeat(129);
    let cases: Vec<(&str, Value, ErrorCode, &str)> = vec![
        // Keys and variants.
        ("empty key", flag(json!({"key": ""})), Required, "key"),
        (
            "key with a space",
            flag(json!({"key": "new checkout"})),
            InvalidKey,
            "key",
        ),
        (
            "key with a slash",
            flag(json!({"key": "a/b"})),
            InvalidKey,
            "key",
        ),
        (
            "key starting with a dash",
            flag(json!({"key": "-x"})),
            InvalidKey,
            "key",
        ),
        (
            "key of 129 characters",
            flag(json!({"key": long_key})),
            InvalidKey,
            "key",
        ),
        (
            "empty variants",
            flag(json!({"variants": {}})),
            Required,
            "variants",
        ),
        (
            "variant name with a space",
            flag(json!({"variants": {"on": true, "o ff": false}})),
            InvalidKey,
            "variants.o ff",
        ),
        (
            "boolean flag with a string variant",
            flag(json!({"variants": {"on": "yes", "off": false}})),
            WrongKind,
            "variants.on",
        ),
        (
            "string flag with a number variant",
            flag(json!({"kind": "string", "variants": {"off": "a", "on": 1}})),
            WrongKind,
            "variants.on",
        ),
        (
            "number flag with a numeric string",
            flag(json!({"kind": "number", "variants": {"off": 0, "on": "1.0"}})),
            WrongKind,
            "variants.on",
        ),
        (
            "object flag with an array",
            flag(json!({"kind": "object", "variants": {"off": {}, "on": []}})),
            WrongKind,
            "variants.on",
        ),
        (
            "string flag with null",
            flag(json!({"kind": "string", "variants": {"off": "", "on": null}})),
            WrongKind,
            "variants.on",
        ),
        // Unknown variants wherever a variant is named.
        (
            "unknown default",
            flag(json!({"default_variant": "maybe"})),
            UnknownVariant,
            "default_variant",
        ),
        (
            "default is case-sensitive",
            flag(json!({"default_variant": "Off"})),
            UnknownVariant,
            "default_variant",
        ),
        (
            "unknown variant in a rule serve",
            rule_serving(json!({"variant": "maybe"})),
            UnknownVariant,
            "rules[0].serve.variant",
        ),
        (
            "unknown variant in the third rule's split",
            flag(json!({
                "kind": "string",
                "variants": {"red": "#f00", "blue": "#00f"},
                "default_variant": "red",
                "rules": [
                    {"when": [], "serve": {"variant": "red"}},
                    {"when": [], "serve": {"split": {"red": 5000, "blue": 5000}}},
                    {"when": [], "serve": {"split": {"red": 5000, "on": 5000}}},
                ],
            })),
            UnknownVariant,
            "rules[2].serve.split.on",
        ),
        (
            "unknown variant in the fallthrough",
            flag(json!({"fallthrough": {"variant": "maybe"}})),
            UnknownVariant,
            "fallthrough.variant",
        ),
        (
            "unknown variant in the fallthrough split",
            flag(json!({"fallthrough": {"split": {"on": 5000, "maybe": 5000}}})),
            UnknownVariant,
            "fallthrough.split.maybe",
        ),
        // Split weights.
        (
            "weights summing to 9000",
            rule_serving(json!({"split": {"on": 5000, "off": 4000}})),
            InvalidWeights,
            "rules[0].serve.split",
        ),
        (
            "weights summing to 10001",
            rule_serving(json!({"split": {"on": 5001, "off": 5000}})),
            InvalidWeights,
            "rules[0].serve.split",
        ),
        (
            "a weight above 10000",
            rule_serving(json!({"split": {"on": 10001, "off": 0}})),
            InvalidWeights,
            "rules[0].serve.split.on",
        ),
        (
            "weights that would wrap a u32",
            rule_serving(json!({"split": {"on": 10000, "off": u32::MAX}})),
            InvalidWeights,
            "rules[0].serve.split.off",
        ),
        (
            "an empty split",
            rule_serving(json!({"split": {}})),
            InvalidWeights,
            "rules[0].serve.split",
        ),
        (
            "fallthrough weights summing to 0",
            flag(json!({"fallthrough": {"split": {"on": 0, "off": 0}}})),
            InvalidWeights,
            "fallthrough.split",
        ),
        (
            "unknown variant in a shadow split",
            rule_serving(json!({"variant": "on", "shadow": {"on": 5000, "maybe": 5000}})),
            UnknownVariant,
            "rules[0].serve.shadow.maybe",
        ),
        (
            "shadow weights summing to 5000",
            flag(json!({"fallthrough": {"split": {"on": 10000}, "shadow": {"on": 5000}}})),
            InvalidWeights,
            "fallthrough.shadow",
        ),
        // Serve shape.
        (
            "serve with both variant and split",
            rule_serving(json!({"variant": "on", "split": {"on": 10000}})),
            Conflict,
            "rules[0].serve.split",
        ),
        (
            "serve with neither",
            rule_serving(json!({})),
            Required,
            "rules[0].serve.variant",
        ),
        (
            "bucket_by on a variant serve",
            rule_serving(json!({"variant": "on", "bucket_by": "orgId"})),
            Conflict,
            "rules[0].serve.bucket_by",
        ),
        (
            "salt on a variant serve",
            rule_serving(json!({"variant": "on", "salt": "s"})),
            Conflict,
            "rules[0].serve.salt",
        ),
        (
            "bucket_by on a variant fallthrough",
            flag(json!({"fallthrough": {"variant": "on", "bucket_by": "orgId"}})),
            Conflict,
            "fallthrough.bucket_by",
        ),
        (
            "empty bucket_by on a split",
            rule_serving(json!({"split": {"on": 10000}, "bucket_by": ""})),
            Required,
            "rules[0].serve.bucket_by",
        ),
        // Condition values, always in the second condition of the first rule.
        (
            "invalid regex",
            second_condition(json!({"attribute": "ua", "op": "matches", "values": ["(unclosed"]})),
            InvalidCondition,
            "rules[0].when[1].values[0]",
        ),
        (
            "invalid semver",
            second_condition(json!({"attribute": "v", "op": "semver_lt", "values": ["1.2"]})),
            InvalidCondition,
            "rules[0].when[1].values[0]",
        ),
        (
            "invalid CIDR prefix",
            second_condition(
                json!({"attribute": "ip", "op": "in_cidr", "values": ["10.0.0.0/33"]}),
            ),
            InvalidCondition,
            "rules[0].when[1].values[0]",
        ),
        (
            "invalid CIDR address",
            second_condition(json!({"attribute": "ip", "op": "in_cidr", "values": ["10.0.0/8"]})),
            InvalidCondition,
            "rules[0].when[1].values[0]",
        ),
        (
            "invalid RFC 3339 timestamp",
            second_condition(json!({"attribute": "t", "op": "before", "values": ["2026-01-01"]})),
            InvalidCondition,
            "rules[0].when[1].values[0]",
        ),
        (
            "RFC 3339 timestamp without an offset",
            second_condition(
                json!({"attribute": "t", "op": "after", "values": ["2026-01-01T00:00:00"]}),
            ),
            InvalidCondition,
            "rules[0].when[1].values[0]",
        ),
        (
            "the second of several CIDRs is invalid",
            second_condition(
                json!({"attribute": "ip", "op": "in_cidr", "values": ["10.0.0.0/8", "nope"]}),
            ),
            InvalidCondition,
            "rules[0].when[1].values[1]",
        ),
        (
            "number operator with a string",
            second_condition(json!({"attribute": "age", "op": "gte", "values": ["18"]})),
            InvalidCondition,
            "rules[0].when[1].values[0]",
        ),
        (
            "string operator with a number",
            second_condition(json!({"attribute": "email", "op": "ends_with", "values": [1]})),
            InvalidCondition,
            "rules[0].when[1].values[0]",
        ),
        (
            "in with null",
            second_condition(json!({"attribute": "plan", "op": "in", "values": [null]})),
            InvalidCondition,
            "rules[0].when[1].values[0]",
        ),
        (
            "single-value operator with two values",
            second_condition(json!({"attribute": "age", "op": "eq", "values": [1, 2]})),
            InvalidCondition,
            "rules[0].when[1].values",
        ),
        (
            "operator without values",
            second_condition(json!({"attribute": "plan", "op": "in"})),
            InvalidCondition,
            "rules[0].when[1].values",
        ),
        (
            "attribute without op",
            second_condition(json!({"attribute": "plan", "values": ["pro"]})),
            Required,
            "rules[0].when[1].op",
        ),
        (
            "empty attribute",
            second_condition(json!({"attribute": "", "op": "in", "values": ["pro"]})),
            Required,
            "rules[0].when[1].attribute",
        ),
        (
            "condition with neither attribute nor segment",
            second_condition(json!({"negate": true})),
            Required,
            "rules[0].when[1].attribute",
        ),
        (
            "condition with both attribute and segment",
            second_condition(json!({"segment": "beta", "attribute": "plan"})),
            Conflict,
            "rules[0].when[1].segment",
        ),
        (
            "segment condition with an op",
            second_condition(json!({"segment": "beta", "op": "in"})),
            Conflict,
            "rules[0].when[1].op",
        ),
        (
            "segment name with a space",
            second_condition(json!({"segment": "beta users"})),
            InvalidKey,
            "rules[0].when[1].segment",
        ),
        // Prerequisites and tags.
        (
            "self-prerequisite",
            flag(json!({"prerequisites": [{"flag": "new-checkout", "variant": "on"}]})),
            PrerequisiteCycle,
            "prerequisites[0].flag",
        ),
        (
            "self-prerequisite after a valid one",
            flag(json!({"prerequisites": [
                {"flag": "payments", "variant": "on"},
                {"flag": "new-checkout", "variant": "off"},
            ]})),
            PrerequisiteCycle,
            "prerequisites[1].flag",
        ),
        (
            "prerequisite with an invalid flag key",
            flag(json!({"prerequisites": [{"flag": "no such flag", "variant": "on"}]})),
            InvalidKey,
            "prerequisites[0].flag",
        ),
        (
            "prerequisite with an empty variant",
            flag(json!({"prerequisites": [{"flag": "payments", "variant": ""}]})),
            Required,
            "prerequisites[0].variant",
        ),
        (
            "blank tag",
            flag(json!({"tags": ["checkout", " \t"]})),
            Required,
            "tags[1]",
        ),
    ];
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|(name, flag, code, field)| check(name, flag, code, field))
        .collect();
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Boundary cases next to the rejections above, which must all be accepted.
#[test]
fn valid_edge_cases_are_accepted() {
    let cases = [
        ("one variant", flag(json!({"variants": {"off": false}}))),
        ("a 128-character key", flag(json!({"key": "k".repeat(128)}))),
        (
            "keys may start with a digit",
            flag(json!({"key": "9lives", "variants": {"0": true, "off": false}})),
        ),
        (
            "all weight on one variant",
            rule_serving(json!({"split": {"on": 10000}})),
        ),
        (
            "a zero weight",
            rule_serving(json!({"split": {"off": 0, "on": 10000}})),
        ),
        (
            "salt may be empty",
            rule_serving(json!({"split": {"on": 10000}, "salt": ""})),
        ),
        (
            "a rule with no conditions",
            rule_serving(json!({"variant": "on"})),
        ),
        (
            "bucket_by and salt with a shadow split on a variant serve",
            rule_serving(json!({
                "variant": "off",
                "shadow": {"on": 100, "off": 9900},
                "bucket_by": "orgId",
                "salt": "s",
            })),
        ),
        (
            "a bare IPv6 address as a CIDR",
            second_condition(json!({"attribute": "ip", "op": "in_cidr", "values": ["::1"]})),
        ),
        (
            "a host-bits CIDR",
            second_condition(json!({"attribute": "ip", "op": "in_cidr", "values": ["10.1.2.3/8"]})),
        ),
        (
            "a timestamp with an offset and fraction",
            second_condition(
                json!({"attribute": "t", "op": "before", "values": ["2026-01-01T00:00:00.5-05:30"]}),
            ),
        ),
        (
            "a v-prefixed pre-release semver",
            second_condition(
                json!({"attribute": "v", "op": "semver_eq", "values": ["V1.0.0-beta.2"]}),
            ),
        ),
        (
            "in with mixed scalar types",
            second_condition(
                json!({"attribute": "x", "op": "not_in", "values": ["a", 1, 2.5, false]}),
            ),
        ),
        (
            "a prerequisite variant need not be a key",
            flag(json!({"prerequisites": [{"flag": "p", "variant": "any thing"}]})),
        ),
    ];
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|(name, flag)| {
            let got = Flag::try_new(parse_flag(name, flag)).map(drop);
            got.is_err().then(|| format!("{name}: {}", describe(got)))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} rejected:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Malformed input fails in serde, before validation: unknown fields, negative weights, and
/// unknown kinds and operators.
#[test]
fn malformed_specs_do_not_deserialize() {
    let cases = [
        ("misspelled field", flag(json!({"default": "off"}))),
        (
            "misspelled rule field",
            flag(json!({"rules": [{"when": [], "serve": {"variant": "on"}, "then": 1}]})),
        ),
        (
            "misspelled serve field",
            rule_serving(json!({"variant": "on", "bucket": "x"})),
        ),
        (
            "negative weight",
            rule_serving(json!({"split": {"on": -1, "off": 10001}})),
        ),
        (
            "fractional weight",
            rule_serving(json!({"split": {"on": 0.5, "off": 9999.5}})),
        ),
        (
            "weight above u32",
            rule_serving(json!({"split": {"on": 4_294_977_296_u64}})),
        ),
        ("unknown kind", flag(json!({"kind": "integer"}))),
        ("unknown state", flag(json!({"state": "paused"}))),
        (
            "unknown operator",
            second_condition(json!({"attribute": "a", "op": "like", "values": ["x"]})),
        ),
        ("rule without serve", flag(json!({"rules": [{"when": []}]}))),
        ("missing default", {
            let mut spec = flag(json!({}));
            spec.as_object_mut()
                .expect("object")
                .remove("default_variant");
            spec
        }),
    ];
    for (name, flag) in cases {
        assert!(
            serde_json::from_value::<FlagSpec>(flag).is_err(),
            "{name}: deserialized"
        );
    }
}

/// The `Flag` type validates when deserialized, so an invalid flag can't sneak in through serde.
#[test]
fn deserializing_a_flag_validates_it() {
    let error = serde_json::from_value::<Flag>(rule_serving(json!({"variant": "maybe"})))
        .expect_err("an unknown variant must not deserialize as a Flag");
    assert!(
        error.to_string().contains("rules[0].serve.variant"),
        "{error}"
    );
}

fn rich_document() -> Document {
    serde_json::from_str(include_str!("testdata/rich.json")).expect("testdata/rich.json parses")
}

#[test]
fn rich_example_passes_every_check() {
    let document = rich_document();
    let (flags, segments) = document.validate().expect("the rich document validates");
    let operators_used: std::collections::HashSet<_> = document
        .flags
        .iter()
        .flat_map(|f| &f.rules)
        .flat_map(|r| &r.when)
        .filter_map(|c| c.op)
        .collect();
    for op in rampart_model::Operator::ALL {
        assert!(
            operators_used.contains(&op),
            "the rich example does not use `{}`",
            op.as_str()
        );
    }
    let catalog =
        Catalog::try_new(7, flags.clone(), segments).expect("the rich catalog is consistent");
    assert_eq!(catalog.revision(), 7);
    assert_eq!(catalog.flags().len(), flags.len());
    for flag in &flags {
        assert_eq!(catalog.check_flag(flag), Ok(()), "{}", flag.key());
    }
    let checkout = catalog
        .flag("new-checkout")
        .expect("new-checkout is in the catalog")
        .spec();
    let fallthrough = checkout
        .fallthrough
        .as_ref()
        .expect("new-checkout has a fallthrough");
    assert_eq!(fallthrough.bucket_by.as_deref(), Some("orgId"));
    assert_eq!(fallthrough.salt.as_deref(), Some("ft-salt"));
    assert_eq!(checkout.owner.as_deref(), Some("team-payments@acme.com"));
    assert_eq!(checkout.tags, ["checkout", "experiment"]);
}
