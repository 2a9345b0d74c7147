//! `ledger_canonical`: the ledger's canonical JSON, and verification of hostile chains.
//!
//! Input: JSON bytes, parsed with `serde_json` (as the store reads entries back).
//!
//! For every value, `canonical_json` is deterministic and idempotent (the canonical text
//! of the parse of the canonical text is the same text), and is valid JSON that parses back
//! to an equal value (numbers compared by value: `1.0` is written `1`, `-0` is `0`), with
//! every object's keys in strictly increasing UTF-16 order; without floats it is exactly
//! serde_json's compact text of the sorted value, and every float is written with its
//! shortest round-trip digits. Sealed as an entry's `detail`,
//! the entry's hash is the SHA-256 of the canonical JSON of its eight hashed fields, and
//! the one-entry chain verifies, also after a trip through JSON text.
//!
//! An array is also a chain to verify. Each element is sealed honestly as the next entry
//! with the element as its detail, unless it says otherwise: an element that reads as a
//! whole `Entry` is taken as it is, and an object's `$`-members tamper with the entry
//! (`$seq`, `$at`, `$prev_hash`, `$key_id`, `$hash`, `$signature` override that field;
//! `$key` signs with key 0, 1 or 2; `$rotate` seals a rotation to key 0, 1 or 2 instead).
//! Keys 0 and 1 are trusted. `verify` never panics, is deterministic, and its report is
//! consistent: `ok` exactly when nothing is bad and every entry counted; the verified prefix
//! verifies on its own; an honest chain (no tampering) verifies; the report is the same
//! after the chain's trip through JSON text; anchoring the reported head agrees.

use std::cmp::Ordering;
use std::sync::LazyLock;

use rampart_ledger::canonical::utf16_order;
use rampart_ledger::{
    Draft, Entry, GENESIS_HASH, Head, PublicKey, Reason, Report, Signer, canonical_json,
    entry_hash, rotation_draft, seal, verify, verify_with_head,
};
use serde_json::{Map, Value, json};

use crate::fixtures;
use sha2::{Digest, Sha256};

/// At most this many elements become entries (signing dominates the time per input).
const MAX_ENTRIES: usize = 32;
const FIRST_AT: i64 = 1_767_225_600_000;

static SIGNERS: LazyLock<[Signer; 3]> = LazyLock::new(|| {
    [
        Signer::from_seed([1; 32]),
        Signer::from_seed([2; 32]),
        Signer::from_seed([3; 32]),
    ]
});

fn trusted() -> Vec<PublicKey> {
    SIGNERS[..2].iter().map(Signer::public_key).collect()
}

pub fn init() {
    LazyLock::force(&SIGNERS);
}

/// Returns whether the input was JSON (so the properties were checked).
pub fn run(data: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return false;
    };
    check_canonical(&value);
    check_sealed(&value);
    if let Value::Array(items) = &value {
        check_chain(items);
    }
    true
}

fn check_canonical(value: &Value) {
    let canonical = canonical_json(value);
    assert_eq!(canonical, canonical_json(value), "not deterministic");
    let parsed: Value = match serde_json::from_str(&canonical) {
        Ok(parsed) => parsed,
        Err(e) => panic!("canonical JSON is not JSON ({e}): {canonical}"),
    };
    assert_eq!(
        canonical_json(&parsed),
        canonical,
        "not idempotent: the canonical text of its own parse differs"
    );
    assert!(
        fixtures::same_json(value, &parsed),
        "canonical JSON parses to another value: {value} -> {canonical}"
    );
    assert_sorted(&parsed);
    // Without fractions or exponents to format, canonical JSON is serde_json's compact
    // output of the sorted value: the same escapes, no whitespace.
    if !has_float(&parsed) {
        let compact = serde_json::to_string(&parsed).expect("a value serializes");
        assert_eq!(
            canonical, compact,
            "canonical JSON differs from compact JSON"
        );
    }
    check_numbers(value);
}

fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(number) => number.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(members) => members.values().any(has_float),
        _ => false,
    }
}

/// Every float is written with the fewest significant digits that read back as it.
fn check_numbers(value: &Value) {
    match value {
        Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64()) {
                let text = canonical_json(value);
                let read: f64 = match text.parse() {
                    Ok(read) => read,
                    Err(e) => panic!("canonical number {text} does not parse: {e}"),
                };
                assert_eq!(read, float, "canonical number {text} is not {float:e}");
                // Rust's `{:e}` gives the shortest round-trip digits (tie aside).
                let shortest = significant_digits(&format!("{:e}", float.abs()));
                assert_eq!(
                    significant_digits(&text),
                    shortest,
                    "canonical number {text} is not the shortest form of {float:e}"
                );
            }
        }
        Value::Array(items) => items.iter().for_each(check_numbers),
        Value::Object(members) => members.values().for_each(check_numbers),
        _ => {}
    }
}

/// The significant digits of a decimal number's text: no sign, exponent, point, or
/// leading and trailing zeros.
fn significant_digits(text: &str) -> usize {
    let mantissa = text.split(['e', 'E']).next().unwrap_or_default();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    digits.trim_start_matches('0').trim_end_matches('0').len()
}

/// Every object's keys (in parse order, which `preserve_order` keeps) ascend in UTF-16.
fn assert_sorted(value: &Value) {
    match value {
        Value::Array(items) => items.iter().for_each(assert_sorted),
        Value::Object(members) => {
            let keys: Vec<&String> = members.keys().collect();
            for pair in keys.windows(2) {
                assert_eq!(
                    utf16_order(pair[0], pair[1]),
                    Ordering::Less,
                    "canonical keys out of order: {:?} before {:?}",
                    pair[0],
                    pair[1]
                );
            }
            members.values().for_each(assert_sorted);
        }
        _ => {}
    }
}

/// The value as a sealed entry's detail: the hash is as documented, and it verifies.
fn check_sealed(detail: &Value) {
    let signer = &SIGNERS[0];
    let draft = Draft {
        actor: "fuzz".to_owned(),
        action: "flag_updated".to_owned(),
        subject: "new-checkout".to_owned(),
        detail: detail.clone(),
    };
    let entry = seal(draft, 1, FIRST_AT, GENESIS_HASH, signer);
    let hashed = json!({
        "seq": entry.seq,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
        "key_id": entry.key_id,
    });
    let documented = hex::encode(Sha256::digest(canonical_json(&hashed).as_bytes()));
    assert_eq!(
        entry.hash, documented,
        "the hash is not SHA-256 of the canonical JSON"
    );
    assert_eq!(entry_hash(&entry), entry.hash);
    let entries = [entry];
    let report = verify(&entries, &trusted());
    assert!(
        report.ok,
        "an honestly sealed entry does not verify: {report:?}"
    );
    assert_eq!(
        report_after_json(&entries),
        report,
        "the store's JSON trip broke the entry"
    );
}

fn report_after_json(entries: &[Entry]) -> Report {
    let text = serde_json::to_string(entries).expect("entries serialize");
    let back: Vec<Entry> = match serde_json::from_str(&text) {
        Ok(back) => back,
        Err(e) => panic!("entries do not read back from JSON: {e}"),
    };
    verify(&back, &trusted())
}

/// Builds the chain the array describes; returns it and whether it is honest.
fn build_chain(items: &[Value]) -> (Vec<Entry>, bool) {
    let mut entries: Vec<Entry> = Vec::new();
    let mut honest = true;
    let mut current = 0usize;
    for item in items.iter().take(MAX_ENTRIES) {
        if item.is_object()
            && let Ok(entry) = serde_json::from_value::<Entry>(item.clone())
        {
            entries.push(entry);
            honest = false;
            continue;
        }
        let mut detail = item.clone();
        let mut controls = Map::new();
        if let Value::Object(members) = &mut detail {
            let names: Vec<String> = members
                .keys()
                .filter(|k| k.starts_with('$'))
                .cloned()
                .collect();
            for name in names {
                if let Some(value) = members.shift_remove(&name) {
                    controls.insert(name, value);
                }
            }
        }
        honest &= controls.is_empty();
        let control = |name: &str| controls.get(name);
        let pick = |value: Option<&Value>| value.and_then(Value::as_u64).map(|k| (k % 3) as usize);
        let previous = entries.last();
        let seq = control("$seq")
            .and_then(Value::as_u64)
            .unwrap_or_else(|| previous.map_or(1, |p| p.seq.saturating_add(1)));
        let at = control("$at")
            .and_then(Value::as_i64)
            .unwrap_or_else(|| previous.map_or(FIRST_AT, |p| p.at.saturating_add(1)));
        let prev_hash = control("$prev_hash")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| previous.map_or(GENESIS_HASH.to_owned(), |p| p.hash.clone()));
        let signer = pick(control("$key")).unwrap_or(current);
        let rotate = pick(control("$rotate"));
        let draft = match rotate {
            Some(to) => rotation_draft("fuzz", &SIGNERS[to].public_key()),
            None => Draft {
                actor: "fuzz".to_owned(),
                action: "flag_updated".to_owned(),
                subject: "new-checkout".to_owned(),
                detail,
            },
        };
        let mut entry = seal(draft, seq, at, &prev_hash, &SIGNERS[signer]);
        if let Some(to) = rotate {
            current = to;
        }
        let text = |name: &str| control(name).and_then(Value::as_str).map(str::to_owned);
        if let Some(key_id) = text("$key_id") {
            entry.key_id = key_id;
        }
        if let Some(hash) = text("$hash") {
            entry.hash = hash;
        }
        if let Some(signature) = text("$signature") {
            entry.signature = signature;
        }
        entries.push(entry);
    }
    (entries, honest)
}

fn check_chain(items: &[Value]) {
    let (entries, honest) = build_chain(items);
    let trusted = trusted();
    let report = verify(&entries, &trusted);
    assert_eq!(
        report,
        verify(&entries, &trusted),
        "verify is not deterministic"
    );
    let count = entries.len() as u64;
    assert!(report.entries <= count, "verified more entries than given");
    assert_eq!(
        report.ok,
        report.first_bad.is_none(),
        "ok and first_bad disagree"
    );
    if report.ok {
        assert_eq!(report.entries, count, "ok without verifying every entry");
    }
    if honest {
        assert!(report.ok, "an honest chain does not verify: {report:?}");
    }
    match &report.head {
        Some(head) => {
            let last = &entries[report.entries as usize - 1];
            assert_eq!((head.seq, &head.hash), (last.seq, &last.hash), "wrong head");
        }
        None => assert_eq!(report.entries, 0, "entries verified but no head"),
    }
    let prefix = &entries[..report.entries as usize];
    let prefix_report = verify(prefix, &trusted);
    assert!(
        prefix_report.ok,
        "the verified prefix does not verify: {prefix_report:?}"
    );
    assert_eq!(prefix_report.entries, report.entries);
    assert_eq!(prefix_report.head, report.head);
    if let Some(problem) = &report.first_bad {
        assert_eq!(
            problem.seq,
            report.entries + 1,
            "first_bad is not the next seq"
        );
        assert!(!problem.message.is_empty());
        assert_ne!(
            problem.reason,
            Reason::HeadMismatch,
            "head mismatch without a head"
        );
    }
    assert_eq!(
        report_after_json(&entries),
        report,
        "the store's JSON trip changed the report"
    );
    let head = report.head.clone().unwrap_or(Head {
        seq: 0,
        hash: GENESIS_HASH.to_owned(),
    });
    let anchored = verify_with_head(&entries, &trusted, &head);
    assert_eq!(
        anchored, report,
        "anchoring the reported head changed the report"
    );
}
