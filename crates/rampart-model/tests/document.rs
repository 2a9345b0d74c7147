//! The flags-as-code document: parsing YAML and JSON (strictly: wrong types, arrays for
//! objects and duplicate keys are refused) and the document-level checks, duplicate keys
//! and names, with their field paths.

use rampart_model::{Document, ErrorCode, FlagState, Serve};
use serde_json::json;

const SMALL: &str = include_str!("testdata/small.yaml");

#[test]
fn small_yaml_document_parses_and_validates() {
    let document = Document::from_yaml(SMALL).expect("testdata/small.yaml parses");
    assert_eq!(document.segments.len(), 1);
    assert_eq!(document.segments[0].name, "internal");
    assert_eq!(document.flags.len(), 2);

    let checkout = &document.flags[0];
    assert_eq!(checkout.key, "new-checkout");
    let variants: Vec<_> = checkout
        .variants
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    assert_eq!(variants, [("on", &json!(true)), ("off", &json!(false))]);
    // Unquoted `on` / `off` in string positions stay strings; they are not YAML 1.1 booleans.
    assert_eq!(checkout.default_variant, "off");
    assert_eq!(checkout.rules[0].serve, Serve::variant("on"));
    let fallthrough = checkout.fallthrough.as_ref().expect("fallthrough");
    let split: Vec<_> = fallthrough
        .split
        .iter()
        .flatten()
        .map(|(k, w)| (k.as_str(), *w))
        .collect();
    assert_eq!(split, [("on", 500), ("off", 9500)]);
    assert_eq!(fallthrough.bucket_by.as_deref(), Some("accountId"));

    let banner = &document.flags[1];
    assert_eq!(banner.state, FlagState::Disabled);
    assert_eq!(banner.variants["empty"], json!(""));

    let (flags, segments) = document.validate().expect("the document is valid");
    assert_eq!((flags.len(), segments.len()), (2, 1));
}

#[test]
fn json_documents_parse_as_yaml() {
    let text = include_str!("testdata/rich.json");
    let from_yaml = Document::from_yaml(text).expect("JSON is YAML");
    let from_json: Document = serde_json::from_str(text).expect("JSON parses");
    assert_eq!(from_yaml, from_json);
    // A YAML flow mapping starts like JSON but is not; it is read as YAML.
    let flow = Document::from_yaml("{flags: [], segments: []}").expect("YAML flow mapping");
    assert_eq!(flow, Document::default());
}

/// Runs one row of the document table: `text` must be rejected by `from_yaml` or, if it
/// parses, by `validate`, with exactly `code` at exactly `field`.
fn check(name: &str, text: &str, code: ErrorCode, field: &str) -> Option<String> {
    let got = Document::from_yaml(text).and_then(|document| document.validate().map(drop));
    match &got {
        Err(e) if e.code() == code && e.field() == field => None,
        Err(e) => Some(format!(
            "{name}: want {code} at `{field}`, got {} at `{}`: {e}",
            e.code(),
            e.field()
        )),
        Ok(()) => Some(format!("{name}: want {code} at `{field}`, got accepted")),
    }
}

#[test]
fn invalid_documents_are_rejected_with_code_and_field() {
    use ErrorCode::*;
    let duplicate_flag = SMALL.replace("key: banner-text", "key: new-checkout");
    let duplicate_segment = SMALL.replacen(
        "\nflags:",
        "  - name: internal\n    conditions: [{attribute: plan, op: eq, values: [pro]}]\n\nflags:",
        1,
    );
    let cases = [
        (
            "duplicate flag key",
            duplicate_flag.as_str(),
            Conflict,
            "flags[1].key",
        ),
        (
            "duplicate flag key, third entry",
            "flags:\n\
             - {key: a, kind: boolean, variants: {on: true}, default_variant: on}\n\
             - {key: b, kind: string, variants: {x: x}, default_variant: x}\n\
             - {key: a, kind: string, variants: {x: x}, default_variant: x}\n",
            Conflict,
            "flags[2].key",
        ),
        (
            "duplicate segment name",
            duplicate_segment.as_str(),
            Conflict,
            "segments[1].name",
        ),
        (
            "invalid flag inside a document",
            "flags:\n\
             - {key: ok, kind: boolean, variants: {on: true}, default_variant: on}\n\
             - {key: bad, kind: boolean, variants: {on: true}, default_variant: on,\n   \
                rules: [{when: [], serve: {split: {on: 9999}}}]}\n",
            InvalidWeights,
            "flags[1].rules[0].serve.split",
        ),
        (
            "a YAML 1.1 boolean is not a string",
            "flags:\n- {key: k, kind: string, variants: {a: yes}, default_variant: a}\n",
            WrongKind,
            "flags[0].variants.a",
        ),
        ("unclosed flow mapping", "flags: [{key: a\n", Parse, ""),
        (
            "bad indentation",
            "flags:\n  - key: a\n   kind: boolean\n",
            Parse,
            "",
        ),
        ("tab indentation", "flags:\n\t- key: a\n", Parse, ""),
        ("unknown top-level field", "flagz: []\n", Parse, ""),
        (
            "unknown flag field",
            "flags:\n- {key: a, kind: boolean, variants: {on: true}, default_variant: on, owners: x}\n",
            Parse,
            "",
        ),
        (
            "unknown kind",
            "flags:\n- {key: a, kind: bool, variants: {on: true}, default_variant: on}\n",
            Parse,
            "",
        ),
        (
            "missing kind",
            "flags:\n- {key: a, variants: {on: true}, default_variant: on}\n",
            Parse,
            "",
        ),
        ("flags is a map", "flags: {key: a}\n", Parse, ""),
        (
            "negative weight",
            "flags:\n- {key: a, kind: boolean, variants: {on: true}, default_variant: on, fallthrough: {split: {on: -1}}}\n",
            Parse,
            "",
        ),
        ("not YAML at all", "{{{", Parse, ""),
        // YAML refuses duplicate keys, in maps and in structs.
        (
            "YAML duplicate variant",
            "flags:\n- {key: a, kind: boolean, variants: {on: true, on: false}, default_variant: on}\n",
            DuplicateKey,
            "",
        ),
        (
            "YAML duplicate field",
            "flags:\n- key: a\n  key: b\n  kind: boolean\n  variants: {on: true}\n  default_variant: on\n",
            DuplicateKey,
            "",
        ),
        (
            "YAML sequence for a flag",
            "flags:\n- [a, boolean, {on: true}, on]\n",
            Parse,
            "",
        ),
        // JSON is read strictly, with the path of the offending value.
        (
            "JSON duplicate variant",
            r#"{"flags": [{"key": "a", "kind": "boolean", "variants": {"on": true, "on": false}, "default_variant": "on"}]}"#,
            DuplicateKey,
            "flags[0].variants.on",
        ),
        (
            "JSON duplicate top-level key",
            r#"{"flags": [], "flags": []}"#,
            DuplicateKey,
            "flags",
        ),
        (
            "JSON number for the kind",
            r#"{"flags": [{"key": "a", "kind": 5, "variants": {"on": true}, "default_variant": "on"}]}"#,
            InvalidField,
            "flags[0].kind",
        ),
        (
            "JSON array for a flag",
            r#"{"flags": [["a", "boolean", {"on": true}, "on"]]}"#,
            InvalidField,
            "flags[0]",
        ),
        (
            "JSON object for an operator",
            r#"{"flags": [{"key": "a", "kind": "boolean", "variants": {"on": true}, "default_variant": "on",
                "rules": [{"when": [{"attribute": "x", "op": {}, "values": []}], "serve": {"variant": "on"}}]}]}"#,
            InvalidField,
            "flags[0].rules[0].when[0].op",
        ),
    ];
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|(name, text, code, field)| check(name, text, code, field))
        .collect();
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn parse_errors_say_where() {
    let error =
        Document::from_yaml("flags:\n  - key: a\n   kind: boolean\n").expect_err("bad YAML");
    assert_eq!(error.code(), ErrorCode::Parse);
    assert!(
        error.message().starts_with("cannot parse document:"),
        "{error}"
    );
    assert!(
        error.message().contains("line"),
        "the message should locate the error: {error}"
    );
}

#[test]
fn empty_documents_are_valid() {
    for text in ["", "{}", "segments: []\nflags: []\n", "# only a comment\n"] {
        let document = Document::from_yaml(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(document, Document::default(), "{text:?}");
    }
}
