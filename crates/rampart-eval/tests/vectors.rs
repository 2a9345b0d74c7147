//! Runs the shared evaluation vectors in `testdata/eval/*.json` through one test function.
#![allow(
    clippy::disallowed_methods,
    reason = "the test loads the shared vectors from disk; the IO ban guards the library"
)]

use std::path::{Path, PathBuf};

use rampart_eval::{Context, Resolution, Snapshot};
use rampart_model::{Catalog, Flag, FlagSpec, Segment, SegmentSpec};
use serde::Deserialize;
use serde_json::Value;

const VECTOR_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/eval");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VectorFile {
    description: String,
    #[serde(default)]
    segments: Vec<SegmentSpec>,
    /// The catalog's problems, as `Catalog::recover` reports them. Files with any describe
    /// configurations that writes refuse but a store written by an older release may hold;
    /// their cases pin how such a catalog evaluates.
    #[serde(default)]
    diagnostics: Vec<Diagnostic>,
    flags: Vec<FlagSpec>,
    cases: Vec<Case>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Diagnostic {
    code: String,
    field: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    flag: String,
    context: Value,
    expect: Expect,
}

/// What a case expects. `value` and `variant` are checked when present (`null` means none);
/// `bucket` when present. `error_code`, `rule_index` and `prerequisite_failed` are always
/// checked, and so is `shadow_variant`: leaving one out expects it to be absent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default, deserialize_with = "present")]
    value: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    variant: Option<Value>,
    reason: String,
    error_code: Option<String>,
    rule_index: Option<u32>,
    prerequisite_failed: Option<String>,
    bucket: Option<u32>,
    shadow_variant: Option<String>,
}

/// Keeps an explicit `null` as `Some(Value::Null)`, so "absent" and "expected none" differ.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

fn check(case: &Case, resolution: &Resolution<'_>) -> Vec<String> {
    let expect = &case.expect;
    let mut mismatches = Vec::new();
    let mut compare = |what: &str, want: String, got: String| {
        if want != got {
            mismatches.push(format!("{what}: want {want}, got {got}"));
        }
    };
    if let Some(value) = &expect.value {
        compare(
            "value",
            value.to_string(),
            resolution.value.cloned().unwrap_or(Value::Null).to_string(),
        );
    }
    if let Some(variant) = &expect.variant {
        compare(
            "variant",
            variant.to_string(),
            resolution
                .variant
                .map_or(Value::Null, Value::from)
                .to_string(),
        );
    }
    compare(
        "reason",
        expect.reason.clone(),
        resolution.reason.as_str().to_owned(),
    );
    compare(
        "error_code",
        format!("{:?}", expect.error_code.as_deref()),
        format!("{:?}", resolution.error_code.map(|code| code.as_str())),
    );
    compare(
        "rule_index",
        format!("{:?}", expect.rule_index),
        format!("{:?}", resolution.metadata.rule_index),
    );
    compare(
        "prerequisite_failed",
        format!("{:?}", expect.prerequisite_failed.as_deref()),
        format!("{:?}", resolution.metadata.prerequisite_failed),
    );
    compare(
        "shadow_variant",
        format!("{:?}", expect.shadow_variant.as_deref()),
        format!("{:?}", resolution.metadata.shadow_variant),
    );
    if expect.bucket.is_some() {
        compare(
            "bucket",
            format!("{:?}", expect.bucket),
            format!("{:?}", resolution.metadata.bucket),
        );
    }
    // An error always explains itself; nothing else carries a message.
    if resolution.error_code.is_some() != resolution.error_message.is_some() {
        mismatches.push(format!(
            "error_message {:?} does not fit the error code",
            resolution.error_message
        ));
    }
    mismatches
}

fn run_file(path: &Path, failures: &mut Vec<String>) -> usize {
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let parsed = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str::<VectorFile>(&text).map_err(|e| e.to_string()));
    let vectors = match parsed {
        Ok(vectors) => vectors,
        Err(error) => {
            failures.push(format!("{file}: cannot read: {error}"));
            return 0;
        }
    };
    assert!(
        !vectors.description.is_empty(),
        "{file}: description is empty"
    );
    let flags = vectors
        .flags
        .into_iter()
        .map(Flag::try_new)
        .collect::<Result<Vec<_>, _>>();
    let segments = vectors
        .segments
        .into_iter()
        .map(Segment::try_new)
        .collect::<Result<Vec<_>, _>>();
    let recovered = flags.and_then(|flags| Ok(Catalog::recover(1, flags, segments?)));
    let catalog = match recovered {
        Ok((catalog, diagnostics)) => {
            let diagnostics: Vec<Diagnostic> = diagnostics
                .iter()
                .map(|d| Diagnostic {
                    code: d.code().as_str().to_owned(),
                    field: d.field().to_owned(),
                })
                .collect();
            if diagnostics != vectors.diagnostics {
                failures.push(format!(
                    "{file}: catalog diagnostics: want {:?}, got {diagnostics:?}",
                    vectors.diagnostics
                ));
            }
            catalog
        }
        Err(error) => {
            failures.push(format!("{file}: invalid flag or segment: {error}"));
            return 0;
        }
    };
    let snapshot = Snapshot::compile(&catalog);
    for case in &vectors.cases {
        let context = match Context::from_json(case.context.clone()) {
            Ok(context) => context,
            Err(error) => {
                failures.push(format!("{file} :: {}: invalid context: {error}", case.name));
                continue;
            }
        };
        let resolution = snapshot.evaluate(&case.flag, &context);
        for mismatch in check(case, &resolution) {
            failures.push(format!("{file} :: {}: {mismatch}", case.name));
        }
        // evaluate_all must agree with evaluate for every flag it lists.
        if snapshot.contains(&case.flag) {
            let from_all = snapshot
                .evaluate_all(&context)
                .into_iter()
                .find(|(key, _)| *key == case.flag);
            if from_all.map(|(_, all)| all) != Some(resolution) {
                failures.push(format!(
                    "{file} :: {}: evaluate_all disagrees with evaluate",
                    case.name
                ));
            }
        }
    }
    vectors.cases.len()
}

#[test]
fn evaluation_vectors() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(VECTOR_DIR)
        .unwrap_or_else(|e| panic!("cannot list {VECTOR_DIR}: {e}"))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no vector files in {VECTOR_DIR}");
    let mut failures = Vec::new();
    let n_cases: usize = paths.iter().map(|path| run_file(path, &mut failures)).sum();
    assert!(
        failures.is_empty(),
        "{} mismatches in {n_cases} vector cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        n_cases >= 40,
        "only {n_cases} vector cases; the suite needs at least 40"
    );
    eprintln!(
        "{n_cases} evaluation vectors passed in {} files",
        paths.len()
    );
}
