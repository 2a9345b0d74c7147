//! Fixed inputs the targets share: the demo's catalog, a few contexts, and the invariants
//! every evaluation result must keep.

use std::sync::LazyLock;

use rampart_eval::{Context, ErrorCode, Reason, Resolution, Snapshot};
use rampart_model::{Catalog, Document, Flag, Segment, TOTAL_WEIGHT};
use serde_json::{Value, json};

/// The demo's flags-as-code document: two segments, flags of every kind, a prerequisite.
pub const DEMO_DOCUMENT: &str = include_str!("../../crates/rampart-cli/demo/flags.yaml");

static DEMO: LazyLock<Catalog> = LazyLock::new(|| {
    let document = Document::from_yaml(DEMO_DOCUMENT).expect("the demo document parses");
    let (flags, segments) = document.validate().expect("the demo document is valid");
    catalog_of(1, &flags, segments).expect("the demo document makes a catalog")
});

static CONTEXTS: LazyLock<Vec<Context>> = LazyLock::new(|| {
    [
        json!({}),
        json!({"targetingKey": "user-1"}),
        json!({
            "targetingKey": "user-2",
            "email": "ada@acme.example",
            "beta": true,
            "app_version": "2.4.0",
            "country": "DE",
        }),
        json!({"targetingKey": "", "beta": false, "country": 7, "app_version": "v1"}),
    ]
    .into_iter()
    .map(|value| Context::from_json(value).expect("a fixture context is an object"))
    .collect()
});

/// The demo's catalog at revision 1 (`crates/rampart-cli/demo/flags.yaml`).
pub fn demo_catalog() -> &'static Catalog {
    &DEMO
}

/// A few contexts: empty, key only, one that matches the demo's rules, and odd types.
pub fn contexts() -> &'static [Context] {
    &CONTEXTS
}

/// Builds everything the fixtures need before the fuzz loop starts.
pub fn init() {
    LazyLock::force(&DEMO);
    LazyLock::force(&CONTEXTS);
}

/// A catalog from validated flags and segments, inserted the way `POST /v1/apply` does:
/// segments first, then the flags in one check (`rampart_server`'s `upsert_all`).
pub fn catalog_of(
    revision: u64,
    flags: &[Flag],
    segments: impl IntoIterator<Item = Segment>,
) -> Result<Catalog, rampart_server::ApiError> {
    let mut catalog = Catalog::default();
    catalog.set_revision(revision);
    for segment in segments {
        catalog.upsert_segment(segment);
    }
    rampart_server::fuzzing::upsert_all(&mut catalog, flags.to_vec())?;
    Ok(catalog)
}

/// The invariant the model promises for a catalog in hand: rebuilt from its own flags and
/// segments (as the server does on every reload from the store), it is valid and equal.
pub fn check_catalog_reloads(catalog: &Catalog) {
    let rebuilt = Catalog::try_new(
        catalog.revision(),
        catalog.flags().values().cloned(),
        catalog.segments().values().cloned(),
    );
    match rebuilt {
        Ok(rebuilt) => assert_eq!(&rebuilt, catalog, "a reloaded catalog differs"),
        Err(e) => panic!("a catalog built by the mutators fails to reload: {e}"),
    }
}

/// Compiles `catalog` and evaluates every flag (and one unknown key) for every fixture
/// context, checking each result and that single and bulk evaluation agree.
pub fn check_evaluation(catalog: &Catalog) {
    let snapshot = Snapshot::compile(catalog);
    for context in contexts() {
        check_snapshot(&snapshot, context);
    }
}

/// Evaluates every flag of `snapshot` for `context`: deterministic, total, consistent.
pub fn check_snapshot(snapshot: &Snapshot, context: &Context) {
    let bulk = snapshot.evaluate_all(context);
    let keys: Vec<&str> = snapshot.flag_keys().collect();
    assert_eq!(
        bulk.iter().map(|(key, _)| *key).collect::<Vec<_>>(),
        keys,
        "bulk evaluation lists other flags than the snapshot has, or out of order"
    );
    assert_eq!(
        snapshot
            .catalog()
            .flags()
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        keys,
        "the snapshot's flags are not the catalog's"
    );
    for (key, from_bulk) in &bulk {
        let single = snapshot.evaluate(key, context);
        assert_eq!(
            &single, from_bulk,
            "flag `{key}`: single and bulk evaluation differ"
        );
        assert_eq!(
            single,
            snapshot.evaluate(key, context),
            "flag `{key}`: evaluation is not deterministic"
        );
        check_resolution(snapshot.catalog(), key, &single);
    }
    let unknown = "no-such-flag.fuzz";
    if !snapshot.contains(unknown) {
        check_resolution(
            snapshot.catalog(),
            unknown,
            &snapshot.evaluate(unknown, context),
        );
    }
}

/// What every resolution must satisfy, whatever the flag and context (the crate
/// documentation of `rampart_eval`, rules 1 to 7).
pub fn check_resolution(catalog: &Catalog, key: &str, resolution: &Resolution<'_>) {
    let Some(flag) = catalog.flag(key) else {
        assert_eq!(
            resolution.error_code,
            Some(ErrorCode::FlagNotFound),
            "{key}"
        );
        assert!(
            resolution.value.is_none() && resolution.variant.is_none(),
            "{key}"
        );
        return;
    };
    let spec = flag.spec();
    assert_eq!(
        resolution.reason == Reason::Error,
        resolution.error_code.is_some(),
        "flag `{key}`: reason ERROR iff an error code: {resolution:?}"
    );
    assert_ne!(
        resolution.error_code,
        Some(ErrorCode::FlagNotFound),
        "{key}"
    );
    if resolution.error_code.is_none() {
        assert!(
            resolution.value.is_some() && resolution.variant.is_some(),
            "flag `{key}`: a success without a value: {resolution:?}"
        );
    }
    if let Some(variant) = resolution.variant {
        assert_eq!(
            resolution.value,
            spec.variants.get(variant),
            "flag `{key}`: the value is not variant `{variant}`'s"
        );
    }
    if let Some(value) = resolution.value {
        assert!(
            spec.kind.accepts(value),
            "flag `{key}`: a value of the wrong kind"
        );
    }
    if !spec.state.is_enabled() {
        assert_eq!(
            resolution.reason,
            Reason::Disabled,
            "flag `{key}` is disabled"
        );
        assert_eq!(resolution.variant, Some(spec.default_variant.as_str()));
    }
    let metadata = &resolution.metadata;
    if let Some(bucket) = metadata.bucket {
        assert!(bucket < TOTAL_WEIGHT, "flag `{key}`: bucket {bucket}");
    }
    if let Some(index) = metadata.rule_index {
        assert!(
            (index as usize) < spec.rules.len(),
            "flag `{key}`: rule_index {index} of {} rules",
            spec.rules.len()
        );
    }
    if let Some(shadow) = metadata.shadow_variant {
        assert!(
            spec.variants.contains_key(shadow),
            "flag `{key}`: shadow `{shadow}`"
        );
    }
    if let Some(failed) = metadata.prerequisite_failed {
        assert!(
            spec.prerequisites.iter().any(|p| p.flag == failed),
            "flag `{key}`: prerequisite_failed `{failed}` is not a prerequisite"
        );
    }
}

/// Equal as JSON values, numbers compared by value.
pub fn same_json(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(l), Value::Number(r)) => match (l.as_i128(), r.as_i128()) {
            (Some(l), Some(r)) if !is_float(left) && !is_float(right) => l == r,
            _ => l.as_f64() == r.as_f64(),
        },
        (Value::Array(l), Value::Array(r)) => {
            l.len() == r.len() && l.iter().zip(r).all(|(l, r)| same_json(l, r))
        }
        (Value::Object(l), Value::Object(r)) => {
            l.len() == r.len()
                && l.iter()
                    .all(|(key, l)| r.get(key).is_some_and(|r| same_json(l, r)))
        }
        _ => left == right,
    }
}

fn is_float(value: &Value) -> bool {
    value.as_number().is_some_and(serde_json::Number::is_f64)
}
