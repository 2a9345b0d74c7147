//! The admin API's error codes are a contract: this pins the set, and checks that the
//! README's table lists exactly these codes with their statuses and meanings.

use rampart_model::ErrorCode;

/// Every code clients may switch on. Removing or renaming one breaks clients: add new
/// codes instead, and add them here and to the README.
const PINNED: &[(&str, u16)] = &[
    ("INVALID_JSON", 400),
    ("INVALID_FIELD", 400),
    ("DUPLICATE_KEY", 400),
    ("INVALID_BODY", 400),
    ("INVALID_HEADER", 400),
    ("INVALID_PATH", 400),
    ("INVALID_QUERY", 400),
    ("REQUIRED", 400),
    ("INVALID_KEY", 400),
    ("WRONG_KIND", 400),
    ("UNKNOWN_VARIANT", 400),
    ("INVALID_WEIGHTS", 400),
    ("INVALID_CONDITION", 400),
    ("UNKNOWN_SEGMENT", 400),
    ("UNKNOWN_FLAG", 400),
    ("PREREQUISITE_CYCLE", 400),
    ("PREREQUISITE_TOO_DEEP", 400),
    ("CONFLICTING_FIELDS", 400),
    ("PARSE_ERROR", 400),
    ("OUT_OF_RANGE", 400),
    ("KEY_MISMATCH", 400),
    ("REVISION_NOT_FOUND", 400),
    ("REVISION_IS_DELETION", 400),
    ("INVALID_HEAD", 400),
    ("INVALID_PUBLIC_KEY", 400),
    ("INVALID_OUTCOME", 400),
    ("INVALID_LATENCY", 400),
    ("INVALID_VALUE", 400),
    ("INVALID_TS", 400),
    ("TS_OUT_OF_RANGE", 400),
    ("INVALID_EVENT", 400),
    ("NOT_FOUND", 404),
    ("METHOD_NOT_ALLOWED", 405),
    ("REQUEST_TIMEOUT", 408),
    ("ALREADY_EXISTS", 409),
    ("IN_USE", 409),
    ("ROLLOUT_ACTIVE", 409),
    ("ILLEGAL_TRANSITION", 409),
    ("CONCURRENT_CHANGE", 409),
    ("KEY_NOT_ROTATABLE", 409),
    ("REVISION_MISMATCH", 412),
    ("PAYLOAD_TOO_LARGE", 413),
    ("BATCH_TOO_LARGE", 413),
    ("INTERNAL", 500),
    ("UNAVAILABLE", 503),
    ("STORAGE_UNAVAILABLE", 503),
    ("STORAGE_FULL", 507),
];

#[test]
fn issue_9_the_set_of_error_codes_is_pinned() {
    let actual: Vec<(&str, u16)> = ErrorCode::ALL
        .iter()
        .map(|code| (code.as_str(), code.http_status()))
        .collect();
    assert_eq!(actual, PINNED);
    for code in ErrorCode::ALL {
        assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        assert!(code.meaning().ends_with('.'), "{code}: {}", code.meaning());
    }
    assert_eq!(ErrorCode::parse("NOPE"), None);
}

/// The README's table, as the enum renders it.
fn expected_table() -> String {
    let mut table = String::from("| code | status | meaning |\n|---|---|---|\n");
    for code in ErrorCode::ALL {
        table.push_str(&format!(
            "| `{}` | {} | {} |\n",
            code.as_str(),
            code.http_status(),
            code.meaning()
        ));
    }
    table
}

#[test]
fn issue_9_the_readme_lists_every_error_code() {
    // Included at compile time (the crate reads no files); cargo rebuilds when it changes.
    let readme = include_str!("../../../README.md");
    let expected = expected_table();
    assert!(
        readme.contains(&expected),
        "README.md's error-code table is out of date; replace it with:\n\n{expected}"
    );
}
