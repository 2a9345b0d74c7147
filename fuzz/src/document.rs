//! `document`: flags and segments as code, as `POST /v1/apply` (JSON) and
//! `rampart apply -f` (YAML, which reads JSON files too) take them.
//!
//! Input: either an apply request (structure-aware input, see `generate`, builds one) (`{"document": {...}, "dry_run": ...}`, read with the
//! server's body parser) or a document in YAML. For every document that parses:
//! - validation is deterministic;
//! - a valid document comes back unchanged, to the written JSON text, from JSON and from
//!   YAML (`to_yaml` then `from_yaml`);
//! - applied to the demo catalog as `/v1/apply` does (segments, then flags in dependency
//!   order), a success leaves a catalog that reloads as valid, compiles and evaluates
//!   within the invariants; into an empty catalog, whether it applies does not depend on
//!   the order of the flags in the document.
//!
//! An apply request's document is also read as YAML, the way `rampart apply -f doc.json`
//! would read the same text; when both readings succeed they must agree (numbers by value).

use rampart_model::api::ApplyRequest;
use rampart_model::{Catalog, Document, Flag, Segment};
use rampart_server::fuzzing::{parse_json, upsert_all};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{fixtures, generate};

pub fn init() {
    fixtures::init();
}

/// Returns whether the input held a valid document (so the deeper properties were checked).
pub fn run(data: &[u8]) -> bool {
    let data = &*generate::input(
        data,
        |g| serde_json::json!({"document": generate::document(g), "dry_run": true}),
    );
    let mut valid = false;
    if let Ok(request) = parse_json::<ApplyRequest>(data) {
        valid |= check_document(&request.document);
        check_json_read_as_yaml(data, &request.document);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(document) = Document::from_yaml(text)
    {
        valid |= check_document(&document);
    }
    valid
}

/// The request's `document` member, read as YAML, is the document the server read.
fn check_json_read_as_yaml(data: &[u8], from_json: &Document) {
    #[derive(Deserialize)]
    struct Raw<'a> {
        #[serde(borrow)]
        document: &'a RawValue,
    }
    let Ok(raw) = serde_json::from_slice::<Raw<'_>>(data) else {
        return;
    };
    if let Ok(from_yaml) = Document::from_yaml(raw.document.get()) {
        // Numbers compare by value: JSON's `-0` is serde_json's -0.0 but YAML's integer 0,
        // which evaluate, hash and display the same.
        let as_value = |document: &Document| serde_json::to_value(document).expect("serializes");
        assert!(
            fixtures::same_json(&as_value(&from_yaml), &as_value(from_json)),
            "the same JSON text reads differently as YAML (rampart apply -f) and as JSON \
             (POST /v1/apply):\n{}\n{}",
            written(&from_yaml),
            written(from_json)
        );
    }
}

fn written(document: &Document) -> String {
    serde_json::to_string(document).expect("a document serializes")
}

fn check_document(document: &Document) -> bool {
    let verdict = document.validate();
    assert_eq!(
        verdict,
        document.validate(),
        "validation is not deterministic"
    );
    let Ok((flags, segments)) = verdict else {
        return false;
    };
    check_round_trips(document);
    apply_to_demo(&flags, &segments);
    check_order_independent(&flags, &segments);
    true
}

/// A valid document is written and read back unchanged as JSON and as YAML.
fn check_round_trips(document: &Document) {
    let request = ApplyRequest {
        document: document.clone(),
        dry_run: true,
    };
    let json = serde_json::to_vec(&request).expect("an apply request serializes");
    match parse_json::<ApplyRequest>(&json) {
        Ok(back) => assert_eq!(
            written(&back.document),
            written(document),
            "JSON round trip"
        ),
        Err(e) => panic!("a valid document's JSON does not parse back: {e}"),
    }
    let yaml = match document.to_yaml() {
        Ok(yaml) => yaml,
        Err(e) => panic!("a valid document cannot be written as YAML: {e}"),
    };
    match Document::from_yaml(&yaml) {
        Ok(back) => assert_eq!(
            written(&back),
            written(document),
            "YAML round trip changed the document; the YAML was:\n{yaml}"
        ),
        Err(e) => panic!("a valid document's YAML does not parse back: {e}\n{yaml}"),
    }
}

/// `/v1/apply` against the demo's catalog.
fn apply_to_demo(flags: &[Flag], segments: &[Segment]) {
    let mut catalog = fixtures::demo_catalog().clone();
    for segment in segments {
        catalog.upsert_segment(segment.clone());
    }
    if upsert_all(&mut catalog, flags.to_vec()).is_ok() {
        for flag in flags {
            assert_eq!(
                catalog.flag(flag.key()),
                Some(flag),
                "an applied flag is missing"
            );
        }
        fixtures::check_catalog_reloads(&catalog);
        fixtures::check_evaluation(&catalog);
    }
}

/// Into an empty catalog, the document applies (to the same catalog) in any flag order.
fn check_order_independent(flags: &[Flag], segments: &[Segment]) {
    let forward = fixtures::catalog_of(0, flags, segments.iter().cloned());
    let reversed: Vec<Flag> = flags.iter().rev().cloned().collect();
    let backward = fixtures::catalog_of(0, &reversed, segments.iter().cloned());
    match (&forward, &backward) {
        (Ok(forward), Ok(backward)) => {
            assert_eq!(forward, backward, "flag order changed the applied catalog");
            fixtures::check_catalog_reloads(forward);
            fixtures::check_evaluation(forward);
        }
        (Err(_), Err(_)) => {}
        _ => panic!(
            "whether a document applies depends on its flag order: forward {:?}, reversed {:?}",
            forward
                .as_ref()
                .map(Catalog::revision)
                .map_err(ToString::to_string),
            backward
                .as_ref()
                .map(Catalog::revision)
                .map_err(ToString::to_string)
        ),
    }
}
