//! Tampering with a sealed chain is detected at the right seq, with the right reason.

use rampart_ledger::{
    Draft, Entry, GENESIS_HASH, Head, PublicKey, Reason, Report, Signer, entry_hash,
    rotation_draft, seal, verify, verify_with_head,
};
use serde_json::json;

const START_MS: i64 = 1_700_000_000_000;
const LENGTH: u64 = 20;

fn signer(byte: u8) -> Signer {
    Signer::from_seed([byte; 32])
}

fn trusted() -> Signer {
    signer(1)
}

fn foreign() -> Signer {
    signer(66)
}

fn draft(number: u64) -> Draft {
    Draft {
        actor: format!("user-{}", number % 3),
        action: "flag_updated".to_owned(),
        subject: format!("flag-{number}"),
        detail: json!({"revision": number, "percent": number as f64 / 4.0, "note": "rollout ✓"}),
    }
}

/// Appends `draft` to `chain`, `step_ms` after the last entry, signed by `signer`.
fn append(chain: &mut Vec<Entry>, draft: Draft, step_ms: i64, signer: &Signer) {
    let (seq, at, prev_hash) = match chain.last() {
        Some(last) => (last.seq + 1, last.at + step_ms, last.hash.clone()),
        None => (1, START_MS, GENESIS_HASH.to_owned()),
    };
    chain.push(seal(draft, seq, at, &prev_hash, signer));
}

fn chain_of(length: u64, signer: &Signer) -> Vec<Entry> {
    let mut chain = Vec::new();
    for number in 1..=length {
        append(&mut chain, draft(number), 1_000, signer);
    }
    chain
}

/// Re-hashes and re-signs `entry` in place, as someone holding `signer`'s key could.
fn resign(entry: &mut Entry, signer: &Signer) {
    let draft = Draft {
        actor: entry.actor.clone(),
        action: entry.action.clone(),
        subject: entry.subject.clone(),
        detail: entry.detail.clone(),
    };
    *entry = seal(draft, entry.seq, entry.at, &entry.prev_hash, signer);
}

fn head_of(entry: &Entry) -> Head {
    Head {
        seq: entry.seq,
        hash: entry.hash.clone(),
    }
}

#[track_caller]
fn assert_ok(report: &Report, length: u64) {
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.first_bad, None);
    assert_eq!(report.entries, length);
}

#[track_caller]
fn assert_bad(report: &Report, seq: u64, reason: Reason) {
    assert!(!report.ok, "{report:#?}");
    let problem = report.first_bad.as_ref().expect("a problem");
    assert_eq!((problem.seq, problem.reason), (seq, reason), "{problem:#?}");
    assert!(!problem.message.is_empty());
    // Everything before the first bad entry verified; a missing anchored head may lie past
    // the end of a shorter chain.
    if reason == Reason::HeadMismatch {
        assert!(report.entries <= seq.saturating_sub(1), "{report:#?}");
    } else {
        assert_eq!(report.entries, seq - 1, "{report:#?}");
    }
    assert_eq!(
        report.head.as_ref().map_or(0, |head| head.seq),
        report.entries
    );
}

/// Signs `entry.hash` with `signer`'s key whatever `entry.key_id` claims.
fn sign_hash_with(entry: &mut Entry, signer: &Signer) {
    use ed25519_dalek::Signer as _;
    let hash_bytes = hex::decode(&entry.hash).unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&signer.seed());
    entry.signature = hex::encode(key.sign(&hash_bytes).to_bytes());
}

fn trusted_keys() -> Vec<PublicKey> {
    vec![trusted().public_key()]
}

#[test]
fn intact_chain_verifies() {
    let chain = chain_of(LENGTH, &trusted());
    let report = verify(&chain, &trusted_keys());
    assert_ok(&report, LENGTH);
    assert_eq!(report.head, Some(head_of(&chain[19])));
    assert_eq!(report.keys_seen, vec![trusted().key_id().to_owned()]);
    let anchored = verify_with_head(&chain, &trusted_keys(), &head_of(&chain[9]));
    assert_ok(&anchored, LENGTH);
}

#[test]
fn empty_chain_verifies_but_not_against_a_head() {
    let report = verify(&[], &trusted_keys());
    assert_ok(&report, 0);
    assert_eq!(report.head, None);
    let head = Head::parse(&format!("3:{}", "a".repeat(64))).unwrap();
    assert_bad(
        &verify_with_head(&[], &trusted_keys(), &head),
        3,
        Reason::HeadMismatch,
    );
    let genesis = Head::parse(&format!("0:{GENESIS_HASH}")).unwrap();
    assert_ok(&verify_with_head(&[], &trusted_keys(), &genesis), 0);
    let not_genesis = Head::parse(&format!("0:{}", "1".repeat(64))).unwrap();
    let report = verify_with_head(&chain_of(3, &trusted()), &trusted_keys(), &not_genesis);
    assert_bad(&report, 0, Reason::HeadMismatch);
}

#[test]
fn one_changed_detail_byte_is_a_wrong_hash_at_that_seq() {
    let mut chain = chain_of(LENGTH, &trusted());
    chain[6].detail["note"] = json!("rollout ✗");
    let report = verify(&chain, &trusted_keys());
    assert_bad(&report, 7, Reason::WrongHash);
    assert_eq!(report.entries, 6);
    assert_eq!(report.head, Some(head_of(&chain[5])));
}

#[test]
fn changed_actor_is_a_wrong_hash() {
    let mut chain = chain_of(LENGTH, &trusted());
    chain[11].actor.push('x');
    assert_bad(&verify(&chain, &trusted_keys()), 12, Reason::WrongHash);
}

#[test]
fn deleted_entry_is_a_seq_gap_at_the_first_missing_seq() {
    let mut chain = chain_of(LENGTH, &trusted());
    chain.remove(7);
    assert_bad(&verify(&chain, &trusted_keys()), 8, Reason::SeqGap);
    let mut chain = chain_of(LENGTH, &trusted());
    chain.remove(0);
    assert_bad(&verify(&chain, &trusted_keys()), 1, Reason::SeqGap);
}

#[test]
fn deleted_tail_is_caught_only_by_the_head() {
    let original = chain_of(LENGTH, &trusted());
    let truncated = &original[..15];
    assert_ok(&verify(truncated, &trusted_keys()), 15);
    let report = verify_with_head(truncated, &trusted_keys(), &head_of(&original[19]));
    assert_bad(&report, 20, Reason::HeadMismatch);
    assert_eq!(report.entries, 15);
}

#[test]
fn swapped_entries_are_a_seq_gap_at_the_first_swapped_position() {
    let mut chain = chain_of(LENGTH, &trusted());
    chain.swap(4, 5);
    assert_bad(&verify(&chain, &trusted_keys()), 5, Reason::SeqGap);
}

#[test]
fn swapped_and_renumbered_entries_are_a_broken_link() {
    let mut chain = chain_of(LENGTH, &trusted());
    chain.swap(4, 5);
    chain[4].seq = 5;
    chain[5].seq = 6;
    assert_bad(&verify(&chain, &trusted_keys()), 5, Reason::BrokenLink);
}

#[test]
fn reordered_and_duplicated_entries_are_seq_gaps() {
    let mut chain = chain_of(LENGTH, &trusted());
    chain.reverse();
    assert_bad(&verify(&chain, &trusted_keys()), 1, Reason::SeqGap);
    let mut chain = chain_of(LENGTH, &trusted());
    chain[10..15].rotate_left(2);
    assert_bad(&verify(&chain, &trusted_keys()), 11, Reason::SeqGap);
    let mut chain = chain_of(LENGTH, &trusted());
    let copy = chain[8].clone();
    chain.insert(9, copy);
    assert_bad(&verify(&chain, &trusted_keys()), 10, Reason::SeqGap);
}

#[test]
fn changed_prev_hash_is_a_broken_link() {
    let mut chain = chain_of(LENGTH, &trusted());
    chain[3].prev_hash = chain[1].hash.clone();
    assert_bad(&verify(&chain, &trusted_keys()), 4, Reason::BrokenLink);
}

#[test]
fn entry_resigned_with_a_foreign_key_is_an_unknown_key() {
    let mut chain = chain_of(LENGTH, &trusted());
    chain[8].detail["revision"] = json!(999);
    resign(&mut chain[8], &foreign());
    assert_eq!(chain[8].key_id, foreign().key_id());
    assert_bad(&verify(&chain, &trusted_keys()), 9, Reason::UnknownKey);
}

#[test]
fn foreign_key_claiming_the_trusted_key_id_is_a_bad_signature() {
    let mut chain = chain_of(LENGTH, &trusted());
    let forged = &mut chain[8];
    forged.detail["revision"] = json!(999);
    forged.key_id = trusted().key_id().to_owned();
    forged.hash = entry_hash(forged);
    sign_hash_with(forged, &foreign());
    assert_bad(&verify(&chain, &trusted_keys()), 9, Reason::BadSignature);
}

#[test]
fn chain_of_an_untrusted_key_fails_at_entry_one() {
    let chain = chain_of(5, &foreign());
    assert_bad(&verify(&chain, &trusted_keys()), 1, Reason::UnknownKey);
    assert_bad(&verify(&chain, &[]), 1, Reason::UnknownKey);
    let both = [trusted().public_key(), foreign().public_key()];
    assert_ok(&verify(&chain, &both), 5);
}

#[test]
fn malformed_signature_is_reported() {
    let mut chain = chain_of(LENGTH, &trusted());
    chain[2].signature = chain[2].signature.to_uppercase();
    assert_bad(&verify(&chain, &trusted_keys()), 3, Reason::Malformed);
    let mut chain = chain_of(LENGTH, &trusted());
    chain[2].signature.pop();
    assert_bad(&verify(&chain, &trusted_keys()), 3, Reason::Malformed);
    let mut chain = chain_of(LENGTH, &trusted());
    chain[2].signature = chain[3].signature.clone();
    assert_bad(&verify(&chain, &trusted_keys()), 3, Reason::BadSignature);
}

#[test]
fn rewritten_history_resigned_by_the_trusted_key_fails_the_anchored_head() {
    let original = chain_of(LENGTH, &trusted());
    let mut rewritten = original[..10].to_vec();
    for number in 11..=25 {
        let mut other = draft(number);
        other.actor = "mallory".to_owned();
        append(&mut rewritten, other, 500, &trusted());
    }
    // Signed by the trusted key, so it verifies on its own ...
    assert_ok(&verify(&rewritten, &trusted_keys()), 25);
    // ... but not against the head anchored before the rewrite.
    let report = verify_with_head(&rewritten, &trusted_keys(), &head_of(&original[19]));
    assert_bad(&report, 20, Reason::HeadMismatch);
    assert_eq!(report.entries, 19);
    // An anchor inside the untouched prefix still holds.
    assert_ok(
        &verify_with_head(&rewritten, &trusted_keys(), &head_of(&original[9])),
        25,
    );
}

#[test]
fn time_going_backwards_is_reported_at_the_earlier_entry() {
    let mut chain = chain_of(11, &trusted());
    append(&mut chain, draft(12), -1, &trusted());
    append(&mut chain, draft(13), 5_000, &trusted());
    assert_bad(&verify(&chain, &trusted_keys()), 12, Reason::TimeBackwards);
    // Equal times are fine.
    let mut chain = chain_of(11, &trusted());
    append(&mut chain, draft(12), 0, &trusted());
    assert_ok(&verify(&chain, &trusted_keys()), 12);
}

/// A chain A → B → C: five entries, rotation to B at 6, five entries, rotation to C at 12,
/// five entries.
fn rotating_chain() -> Vec<Entry> {
    let (key_a, key_b, key_c) = (trusted(), signer(2), signer(3));
    let mut chain = chain_of(5, &key_a);
    append(
        &mut chain,
        rotation_draft("ops", &key_b.public_key()),
        10,
        &key_a,
    );
    for number in 7..=11 {
        append(&mut chain, draft(number), 10, &key_b);
    }
    append(
        &mut chain,
        rotation_draft("ops", &key_c.public_key()),
        10,
        &key_b,
    );
    for number in 13..=17 {
        append(&mut chain, draft(number), 10, &key_c);
    }
    chain
}

#[test]
fn chain_rotating_twice_verifies_with_only_the_first_key_trusted() {
    let chain = rotating_chain();
    let report = verify(&chain, &trusted_keys());
    assert_ok(&report, 17);
    let expected_keys: Vec<String> = [trusted(), signer(2), signer(3)]
        .iter()
        .map(|key| key.key_id().to_owned())
        .collect();
    assert_eq!(report.keys_seen, expected_keys);
    // Trusting only a later key does not help: entry 1 is signed by the first.
    assert_bad(
        &verify(&chain, &[signer(3).public_key()]),
        1,
        Reason::UnknownKey,
    );
}

#[test]
fn old_key_after_its_rotation_is_an_unknown_key() {
    let mut chain = rotating_chain();
    resign(&mut chain[7], &trusted());
    assert_bad(&verify(&chain, &trusted_keys()), 8, Reason::UnknownKey);
}

#[test]
fn rotation_by_a_foreign_key_is_rejected() {
    let mut chain = rotating_chain();
    resign(&mut chain[5], &foreign());
    assert_bad(&verify(&chain, &trusted_keys()), 6, Reason::UnknownKey);

    let mut chain = rotating_chain();
    let forged = &mut chain[5];
    forged.detail = rotation_draft("ops", &foreign().public_key()).detail;
    forged.hash = entry_hash(forged);
    sign_hash_with(forged, &foreign());
    assert_bad(&verify(&chain, &trusted_keys()), 6, Reason::BadSignature);
}

#[test]
fn rotation_with_a_malformed_detail_is_reported() {
    let mut chain = rotating_chain();
    chain[5].detail["new_key"] = json!("not a key");
    resign(&mut chain[5], &trusted());
    assert_bad(&verify(&chain, &trusted_keys()), 6, Reason::Malformed);

    let mut chain = rotating_chain();
    chain[5].detail["new_key_id"] = json!("ed25519:0000000000000000");
    resign(&mut chain[5], &trusted());
    assert_bad(&verify(&chain, &trusted_keys()), 6, Reason::Malformed);

    let mut chain = rotating_chain();
    chain[5].subject = "flag-6".to_owned();
    resign(&mut chain[5], &trusted());
    assert_bad(&verify(&chain, &trusted_keys()), 6, Reason::Malformed);
}

#[test]
fn chain_survives_a_json_round_trip() {
    let chain = rotating_chain();
    let text = serde_json::to_string(&chain).unwrap();
    let back: Vec<Entry> = serde_json::from_str(&text).unwrap();
    assert_ok(&verify(&back, &trusted_keys()), 17);
}

#[test]
fn report_serializes_reasons_in_snake_case() {
    let mut chain = chain_of(3, &trusted());
    chain.remove(1);
    let value = serde_json::to_value(verify(&chain, &trusted_keys())).unwrap();
    assert_eq!(value["ok"], json!(false));
    assert_eq!(value["first_bad"]["seq"], json!(2));
    assert_eq!(value["first_bad"]["reason"], json!("seq_gap"));
    assert_eq!(value["head"]["seq"], json!(1));
    assert_eq!(
        serde_json::to_value(Reason::TimeBackwards).unwrap(),
        json!("time_backwards")
    );
}
