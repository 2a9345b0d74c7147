//! Entries: what a [`Draft`] becomes once [`seal`]ed into the chain, and the exact bytes that
//! are hashed ([`entry_hash`]) and signed.
//!
//! `hash` is the lowercase hex SHA-256 of the canonical JSON of the object
//! `{seq, at, actor, action, subject, detail, prev_hash, key_id}`; `signature` is the hex
//! Ed25519 signature over the 32 raw bytes of that hash. Covering `key_id` in the hash binds
//! each entry to the key that must sign it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::canonical::{write_string, write_value};
use crate::key::{PublicKey, Signer};

/// The `prev_hash` of entry 1: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The `action` of a key-rotation entry.
pub const ROTATION_ACTION: &str = "key_rotated";

/// The `subject` of a key-rotation entry.
pub const ROTATION_SUBJECT: &str = "ledger";

/// What happened, before it gets a place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// Who did it: a user, a token name, or `rampart` for the controller.
    pub actor: String,
    /// What was done, e.g. `flag_updated`.
    pub action: String,
    /// What it was done to, e.g. a flag key.
    pub subject: String,
    /// Anything else worth keeping.
    pub detail: Value,
}

/// One sealed, signed ledger entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entry {
    /// Position in the chain: 1, 2, 3, … without gaps.
    pub seq: u64,
    /// When, in Unix milliseconds. Never earlier than the previous entry's.
    pub at: i64,
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub subject: String,
    /// Anything else worth keeping.
    pub detail: Value,
    /// The previous entry's `hash`, or [`GENESIS_HASH`] for entry 1.
    pub prev_hash: String,
    /// Lowercase hex SHA-256 of the canonical JSON of the other fields (see the module docs).
    pub hash: String,
    /// Lowercase hex Ed25519 signature over the 32 raw bytes of `hash`.
    pub signature: String,
    /// The id of the key that signed this entry (see [`PublicKey::key_id`]).
    pub key_id: String,
}

/// Seals a draft as entry `seq` after `prev_hash`, signed by `signer`.
pub fn seal(draft: Draft, seq: u64, at: i64, prev_hash: &str, signer: &Signer) -> Entry {
    let Draft {
        actor,
        action,
        subject,
        detail,
    } = draft;
    let digest = hash_bytes(&HashInput {
        seq,
        at,
        actor: &actor,
        action: &action,
        subject: &subject,
        detail: &detail,
        prev_hash,
        key_id: signer.key_id(),
    });
    let signature = signer.sign(&digest);
    Entry {
        seq,
        at,
        actor,
        action,
        subject,
        detail,
        prev_hash: prev_hash.to_owned(),
        hash: hex::encode(digest),
        signature: hex::encode(signature),
        key_id: signer.key_id().to_owned(),
    }
}

/// The draft of a key rotation: action `key_rotated`, subject `ledger`, detail
/// `{"new_key": hex, "new_key_id": id}`. Seal it with the OLD signer; every later entry must
/// be signed by the new key.
pub fn rotation_draft(actor: &str, new_key: &PublicKey) -> Draft {
    Draft {
        actor: actor.to_owned(),
        action: ROTATION_ACTION.to_owned(),
        subject: ROTATION_SUBJECT.to_owned(),
        detail: serde_json::json!({
            "new_key": new_key.to_hex(),
            "new_key_id": new_key.key_id(),
        }),
    }
}

/// Recomputes an entry's hash from its fields (everything but `hash` and `signature`).
pub fn entry_hash(entry: &Entry) -> String {
    hex::encode(hash_bytes(&HashInput {
        seq: entry.seq,
        at: entry.at,
        actor: &entry.actor,
        action: &entry.action,
        subject: &entry.subject,
        detail: &entry.detail,
        prev_hash: &entry.prev_hash,
        key_id: &entry.key_id,
    }))
}

/// The hashed fields of an entry, borrowed.
struct HashInput<'a> {
    seq: u64,
    at: i64,
    actor: &'a str,
    action: &'a str,
    subject: &'a str,
    detail: &'a Value,
    prev_hash: &'a str,
    key_id: &'a str,
}

fn hash_bytes(input: &HashInput<'_>) -> [u8; 32] {
    Sha256::digest(hash_preimage(input).as_bytes()).into()
}

/// The canonical JSON of the hashed fields, written directly instead of through a cloned
/// `Value`. The members are in canonical (sorted) key order; a unit test checks this against
/// [`crate::canonical_json`].
fn hash_preimage(input: &HashInput<'_>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"action\":");
    write_string(&mut out, input.action);
    out.push_str(",\"actor\":");
    write_string(&mut out, input.actor);
    out.push_str(",\"at\":");
    out.push_str(&input.at.to_string());
    out.push_str(",\"detail\":");
    write_value(&mut out, input.detail);
    out.push_str(",\"key_id\":");
    write_string(&mut out, input.key_id);
    out.push_str(",\"prev_hash\":");
    write_string(&mut out, input.prev_hash);
    out.push_str(",\"seq\":");
    out.push_str(&input.seq.to_string());
    out.push_str(",\"subject\":");
    write_string(&mut out, input.subject);
    out.push('}');
    out
}

#[cfg(test)]
mod tests;
