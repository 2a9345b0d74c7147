//! Offline verification of a whole chain: [`verify`] and [`verify_with_head`] walk the entries
//! from seq 1 and report the FIRST bad entry and why, as a [`Report`].
//!
//! Each entry is checked in this order, so the reason is the most specific one:
//! 1. `seq` is the next number ([`Reason::SeqGap`], reported at the expected seq);
//! 2. `prev_hash` is the previous entry's hash ([`Reason::BrokenLink`]);
//! 3. `hash` matches the fields ([`Reason::WrongHash`]); it covers everything but `hash` and
//!    `signature`, so any edit of a sealed entry is caught at that entry;
//! 4. `key_id` names the current key ([`Reason::UnknownKey`]);
//! 5. `signature` is well-formed hex ([`Reason::Malformed`]) and strictly valid for that key
//!    ([`Reason::BadSignature`]);
//! 6. `at` is not earlier than the previous entry's ([`Reason::TimeBackwards`]);
//! 7. a `key_rotated` entry's detail names a valid new key ([`Reason::Malformed`]), which then
//!    becomes the current key;
//! 8. for [`verify_with_head`], the anchored entry has the anchored hash
//!    ([`Reason::HeadMismatch`]).

mod walk;

pub use walk::Verifier;

use serde::{Deserialize, Serialize};

use crate::entry::Entry;
use crate::head::Head;
use crate::key::PublicKey;

/// Why an entry is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Reason {
    /// The expected seq is missing: a gap, a duplicate, a reordering, or no entry 1.
    SeqGap,
    /// `prev_hash` is not the previous entry's `hash`.
    BrokenLink,
    /// `hash` does not match the entry's fields: the entry was edited after sealing.
    WrongHash,
    /// The signature does not verify under the key it names.
    BadSignature,
    /// The entry is signed by a key that is not the current (trusted or rotated-in) key.
    UnknownKey,
    /// `at` is earlier than the previous entry's `at`.
    TimeBackwards,
    /// The anchored entry is missing or has a different hash: history was rewritten.
    HeadMismatch,
    /// The signature is not 128 lowercase hex characters, or a rotation's detail is invalid.
    Malformed,
}

impl Reason {
    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SeqGap => "seq_gap",
            Reason::BrokenLink => "broken_link",
            Reason::WrongHash => "wrong_hash",
            Reason::BadSignature => "bad_signature",
            Reason::UnknownKey => "unknown_key",
            Reason::TimeBackwards => "time_backwards",
            Reason::HeadMismatch => "head_mismatch",
            Reason::Malformed => "malformed",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first bad entry of a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// The seq at which the chain goes wrong (for a gap: the first missing seq).
    pub seq: u64,
    /// Why.
    pub reason: Reason,
    /// A sentence for humans.
    pub message: String,
}

/// The outcome of verifying a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    /// True when every entry verified (and the anchored head matched).
    pub ok: bool,
    /// How many entries verified: all of them when `ok`, else those before the first bad one.
    pub entries: u64,
    /// The last verified entry, if any.
    pub head: Option<Head>,
    /// Ids of the keys that signed verified entries, in order of use (a key appears again
    /// if the chain rotates back to it).
    pub keys_seen: Vec<String>,
    /// The first bad entry, when not `ok`.
    pub first_bad: Option<Problem>,
}

/// Verifies a whole chain from seq 1. `trusted`: the keys an auditor trusts for the FIRST
/// entry; rotations (a `key_rotated` entry validly signed by the current key) switch the
/// current key. Reports the first bad seq and why (see the module documentation).
pub fn verify(entries: &[Entry], trusted: &[PublicKey]) -> Report {
    walk::run(entries, trusted, None)
}

/// As [`verify`], and also checks that the chain contains `expected` (entry `expected.seq`
/// has exactly `expected.hash`): proof that history up to an anchored head was not rewritten
/// and re-signed. A chain that ends before `expected.seq` fails with
/// [`Reason::HeadMismatch`] at `expected.seq`. Head `0:GENESIS_HASH` is in every chain.
pub fn verify_with_head(entries: &[Entry], trusted: &[PublicKey], expected: &Head) -> Report {
    walk::run(entries, trusted, Some(expected))
}
