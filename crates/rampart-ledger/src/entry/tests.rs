//! Unit tests of sealing and hashing.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::*;
use crate::canonical_json;

fn sample_entry() -> Entry {
    let signer = Signer::from_seed([3; 32]);
    let draft = Draft {
        actor: "alice".into(),
        action: "flag_updated".into(),
        subject: "checkout-v2".into(),
        detail: json!({"z": [1, 2.5, "é\n"], "a": null, "€": {"y": true, "b": -0.0}}),
    };
    seal(draft, 7, 1_700_000_000_123, GENESIS_HASH, &signer)
}

#[test]
fn preimage_equals_canonical_json_of_the_hashed_fields() {
    let entry = sample_entry();
    let object = json!({
        "seq": entry.seq,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
        "key_id": entry.key_id,
    });
    let expected = canonical_json(&object);
    let input = HashInput {
        seq: entry.seq,
        at: entry.at,
        actor: &entry.actor,
        action: &entry.action,
        subject: &entry.subject,
        detail: &entry.detail,
        prev_hash: &entry.prev_hash,
        key_id: &entry.key_id,
    };
    assert_eq!(hash_preimage(&input), expected);
    assert_eq!(entry.hash, hex::encode(Sha256::digest(expected.as_bytes())));
}

#[test]
fn preimage_is_pinned() {
    let entry = sample_entry();
    let expected = format!(
        concat!(
            r#"{{"action":"flag_updated","actor":"alice","at":1700000000123,"#,
            r#""detail":{{"a":null,"z":[1,2.5,"é\n"],"€":{{"b":0,"y":true}}}},"#,
            r#""key_id":"{}","prev_hash":"{}","seq":7,"subject":"checkout-v2"}}"#
        ),
        entry.key_id, GENESIS_HASH
    );
    assert_eq!(
        entry_hash(&entry),
        hex::encode(Sha256::digest(expected.as_bytes()))
    );
}

#[test]
fn seal_fills_every_field_and_signs_the_raw_hash() {
    use ed25519_dalek::Verifier as _;
    let entry = sample_entry();
    let signer = Signer::from_seed([3; 32]);
    assert_eq!(entry.seq, 7);
    assert_eq!(entry.prev_hash, GENESIS_HASH);
    assert_eq!(entry.key_id, signer.key_id());
    assert_eq!(entry.hash, entry_hash(&entry));
    assert_eq!(entry.hash.len(), 64);
    assert_eq!(entry.signature.len(), 128);
    let hash_bytes = hex::decode(&entry.hash).unwrap();
    let signature_bytes: [u8; 64] = hex::decode(&entry.signature).unwrap().try_into().unwrap();
    let signature = ed25519_dalek::Signature::from_bytes(&signature_bytes);
    assert!(
        signer
            .public_key()
            .verifying_key()
            .verify(&hash_bytes, &signature)
            .is_ok()
    );
}

#[test]
fn entry_serde_round_trip_keeps_the_hash() {
    let entry = sample_entry();
    let text = serde_json::to_string(&entry).unwrap();
    let back: Entry = serde_json::from_str(&text).unwrap();
    assert_eq!(entry_hash(&back), entry.hash);
}

#[test]
fn rotation_draft_names_the_new_key() {
    let new_key = Signer::from_seed([9; 32]).public_key();
    let draft = rotation_draft("ops", &new_key);
    assert_eq!(draft.action, "key_rotated");
    assert_eq!(draft.subject, "ledger");
    assert_eq!(
        draft.detail,
        json!({"new_key": new_key.to_hex(), "new_key_id": new_key.key_id()})
    );
}

#[test]
fn genesis_hash_is_64_zeros() {
    assert_eq!(GENESIS_HASH, "0".repeat(64));
}
