//! Catalog checks: segment and prerequisite references, prerequisite cycles, and removals
//! refused while something depends on the flag or segment; each with its exact code and path.

use rampart_model::{Catalog, ErrorCode, Flag, Segment, ValidationError};
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

fn describe(result: Result<(), ValidationError>) -> String {
    match result {
        Ok(()) => "accepted".to_owned(),
        Err(e) => format!("{} at `{}`: {}", e.code(), e.field(), e.message()),
    }
}

/// What a row of the catalog table does to the catalog built by [`base_catalog`].
#[derive(Debug)]
enum Action {
    /// `check_flag`, `upsert_flag` and `Catalog::try_new` with the flag added must all reject
    /// it the same way (`try_new` with the path prefixed by `flags.KEY`).
    Insert(Value),
    /// Only `upsert_flag`: the flag is fine on its own but breaks an existing dependent.
    Upsert(Value),
    RemoveFlag(&'static str),
    RemoveSegment(&'static str),
}

/// Segments `internal` and `beta`; flags `payments` (boolean), `theme` (string),
/// `web-checkout` (needs `payments: on` and segment `internal`), a chain `b -> c -> a`, a
/// pair `top -> mid`, and a chain `deep00 -> deep01 -> … -> deep16`: 16 levels below
/// `deep00`, the most evaluation follows.
fn base_flags() -> Vec<Value> {
    let boolean =
        |key: &str, prerequisites: Value| flag(json!({"key": key, "prerequisites": prerequisites}));
    let deep = (0..=16).map(|i| {
        let below = if i < 16 {
            json!([{"flag": format!("deep{:02}", i + 1), "variant": "off"}])
        } else {
            json!([])
        };
        boolean(&format!("deep{i:02}"), below)
    });
    let mut flags = vec![
        boolean("payments", json!([])),
        flag(
            json!({"key": "theme", "kind": "string", "variants": {"light": "l", "dark": "d"},
                    "default_variant": "light"}),
        ),
        flag(json!({
            "key": "web-checkout",
            "prerequisites": [{"flag": "payments", "variant": "on"}],
            "rules": [{"when": [{"segment": "internal"}], "serve": {"variant": "on"}}],
        })),
        boolean("a", json!([])),
        boolean("b", json!([{"flag": "c", "variant": "on"}])),
        boolean("c", json!([{"flag": "a", "variant": "off"}])),
        boolean("top", json!([{"flag": "mid", "variant": "off"}])),
        boolean("mid", json!([])),
    ];
    flags.extend(deep);
    flags
}

fn to_flag(flag: Value) -> Flag {
    let spec = serde_json::from_value(flag).unwrap_or_else(|e| panic!("does not parse: {e}"));
    Flag::try_new(spec).unwrap_or_else(|e| panic!("the flag is valid on its own: {e}"))
}

fn base_segments() -> Vec<Segment> {
    ["internal", "beta"]
        .map(|name| {
            let spec = json!({"name": name, "conditions": [
                {"attribute": "email", "op": "ends_with", "values": ["@acme.com"]},
            ]});
            Segment::try_new(serde_json::from_value(spec).expect("segment parses"))
                .expect("segment is valid")
        })
        .to_vec()
}

fn base_catalog() -> Catalog {
    let flags = base_flags().into_iter().map(to_flag);
    Catalog::try_new(1, flags, base_segments()).expect("the base catalog is consistent")
}

fn mismatch(
    what: &str,
    got: &Result<(), ValidationError>,
    code: ErrorCode,
    field: &str,
    message: &str,
) -> Option<String> {
    match got {
        Err(e) if e.code() == code && e.field() == field && e.message().contains(message) => None,
        _ => Some(format!(
            "{what}: want {code} at `{field}` mentioning `{message}`, got {}",
            describe(got.clone())
        )),
    }
}

/// Runs one row of the catalog table against a fresh [`base_catalog`]. A rejected mutation
/// must leave the catalog unchanged.
fn check_catalog(
    name: &str,
    action: Action,
    code: ErrorCode,
    field: &str,
    message: &str,
) -> Vec<String> {
    let base = base_catalog();
    let mut catalog = base.clone();
    let mut failures = Vec::new();
    let mut expect = |what: &str, got: Result<(), ValidationError>, field: &str| {
        failures.extend(mismatch(
            &format!("{name} ({what})"),
            &got,
            code,
            field,
            message,
        ));
    };
    match action {
        Action::Insert(candidate) => {
            let candidate = to_flag(candidate);
            expect("check_flag", catalog.check_flag(&candidate), field);
            expect("upsert_flag", catalog.upsert_flag(candidate.clone()), field);
            let mut flags: Vec<Flag> = base
                .flags()
                .values()
                .filter(|f| f.key() != candidate.key())
                .cloned()
                .collect();
            let prefixed = format!("flags.{}.{field}", candidate.key());
            flags.push(candidate);
            let built = Catalog::try_new(1, flags, base.segments().values().cloned());
            expect("Catalog::try_new", built.map(drop), &prefixed);
        }
        Action::Upsert(candidate) => {
            expect(
                "upsert_flag",
                catalog.upsert_flag(to_flag(candidate)),
                field,
            );
        }
        Action::RemoveFlag(key) => expect("remove_flag", catalog.remove_flag(key).map(drop), field),
        Action::RemoveSegment(name) => {
            expect(
                "remove_segment",
                catalog.remove_segment(name).map(drop),
                field,
            );
        }
    }
    if catalog != base {
        failures.push(format!(
            "{name}: the rejected change still modified the catalog"
        ));
    }
    failures
}

#[test]
fn catalog_rejects_broken_references() {
    use Action::*;
    use ErrorCode::*;
    let cases = [
        (
            "unknown segment",
            Insert(flag(
                json!({"rules": [{"when": [{"segment": "ghost"}], "serve": {"variant": "on"}}]}),
            )),
            UnknownSegment,
            "rules[0].when[0].segment",
            "`ghost`",
        ),
        (
            "unknown segment deep in the second rule",
            Insert(flag(json!({"rules": [
                {"when": [{"segment": "internal"}], "serve": {"variant": "on"}},
                {"when": [
                    {"segment": "beta"},
                    {"attribute": "plan", "op": "in", "values": ["pro"]},
                    {"segment": "ghost", "negate": true},
                ], "serve": {"variant": "off"}},
            ]}))),
            UnknownSegment,
            "rules[1].when[2].segment",
            "`ghost`",
        ),
        (
            "unknown prerequisite flag",
            Insert(flag(
                json!({"prerequisites": [{"flag": "ghost", "variant": "on"}]}),
            )),
            UnknownFlag,
            "prerequisites[0].flag",
            "`ghost`",
        ),
        (
            "unknown prerequisite variant",
            Insert(flag(json!({"prerequisites": [
                {"flag": "payments", "variant": "on"},
                {"flag": "theme", "variant": "purple"},
            ]}))),
            UnknownVariant,
            "prerequisites[1].variant",
            "`purple`",
        ),
        (
            "cycle a -> b -> c -> a closed by upserting a",
            Insert(flag(
                json!({"key": "a", "prerequisites": [{"flag": "b", "variant": "on"}]}),
            )),
            PrerequisiteCycle,
            "prerequisites[0].flag",
            "a -> b -> c -> a",
        ),
        (
            "two-flag cycle through the second prerequisite",
            Insert(flag(json!({"key": "payments", "prerequisites": [
                {"flag": "theme", "variant": "dark"},
                {"flag": "web-checkout", "variant": "on"},
            ]}))),
            PrerequisiteCycle,
            "prerequisites[1].flag",
            "payments -> web-checkout -> payments",
        ),
        (
            "a cycle through a dependent: mid -> top -> mid",
            Insert(flag(
                json!({"key": "mid", "prerequisites": [{"flag": "top", "variant": "on"}]}),
            )),
            PrerequisiteCycle,
            "prerequisites[0].flag",
            "prerequisite cycle: mid -> top -> mid",
        ),
        (
            "a flag on top of a 16-level chain is 17 levels deep",
            Insert(flag(json!({"key": "over", "prerequisites": [
                {"flag": "payments", "variant": "on"},
                {"flag": "deep00", "variant": "on"},
            ]}))),
            PrerequisiteTooDeep,
            "prerequisites[1].flag",
            "17 levels deep; evaluation follows at most 16: over -> deep00 -> deep01 -> … (12 more) -> deep14 -> deep15 -> deep16",
        ),
        (
            "replacing a middle flag makes a dependent's chain too deep",
            Upsert(flag(
                json!({"key": "mid", "prerequisites": [{"flag": "deep01", "variant": "off"}]}),
            )),
            PrerequisiteTooDeep,
            "prerequisites[0].flag",
            "17 levels deep; evaluation follows at most 16: top -> mid -> deep01 -> … (12 more) -> deep14 -> deep15 -> deep16",
        ),
        (
            "replacing a flag drops a variant a dependent needs",
            Upsert(flag(
                json!({"key": "payments", "variants": {"enabled": true, "off": false}}),
            )),
            UnknownVariant,
            "variants",
            "`web-checkout` needs variant `on`",
        ),
        (
            "removing a prerequisite flag",
            RemoveFlag("payments"),
            Conflict,
            "key",
            "web-checkout",
        ),
        (
            "removing the end of a chain",
            RemoveFlag("a"),
            Conflict,
            "key",
            "of: c",
        ),
        (
            "removing a used segment",
            RemoveSegment("internal"),
            Conflict,
            "name",
            "web-checkout",
        ),
    ];
    let failures: Vec<String> = cases
        .into_iter()
        .flat_map(|(name, action, code, field, message)| {
            check_catalog(name, action, code, field, message)
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The positive side of the table: a diamond is not a cycle, and removal works once nothing
/// depends on the flag or segment.
#[test]
fn catalog_accepts_diamonds_and_removes_unused_entries() {
    let mut catalog = base_catalog();
    let diamond = to_flag(flag(json!({"key": "top", "prerequisites": [
        {"flag": "b", "variant": "on"},
        {"flag": "c", "variant": "on"},
        {"flag": "a", "variant": "off"},
    ]})));
    catalog
        .upsert_flag(diamond)
        .expect("a diamond is not a cycle");
    let sixteen = to_flag(flag(
        json!({"key": "sixteen", "prerequisites": [{"flag": "deep01", "variant": "on"}]}),
    ));
    catalog
        .upsert_flag(sixteen)
        .expect("16 levels below a flag are allowed");

    assert_eq!(
        catalog.remove_segment("beta").map(|s| s.is_some()),
        Ok(true)
    );
    assert_eq!(
        catalog.remove_segment("beta").map(|s| s.is_some()),
        Ok(false)
    );
    assert_eq!(
        catalog.remove_flag("web-checkout").map(|f| f.is_some()),
        Ok(true)
    );
    assert_eq!(
        catalog.remove_flag("payments").map(|f| f.is_some()),
        Ok(true)
    );
    assert_eq!(
        catalog.remove_segment("internal").map(|s| s.is_some()),
        Ok(true)
    );
    assert_eq!(catalog.remove_flag("ghost").map(|f| f.is_some()), Ok(false));
    let error = catalog.remove_flag("b").expect_err("`top` still needs `b`");
    assert_eq!((error.code(), error.field()), (ErrorCode::Conflict, "key"));
}
