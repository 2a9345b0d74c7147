//! The verification walk: per-entry checks in order of specificity, and the current key.

use ed25519_dalek::Signature;

use super::{Problem, Reason, Report};
use crate::entry::{Entry, GENESIS_HASH, ROTATION_ACTION, ROTATION_SUBJECT, entry_hash};
use crate::head::Head;
use crate::key::{PublicKey, decode_hex_array};

/// A key that may sign the next entry, with its id computed once.
#[derive(Clone)]
struct KeyInUse {
    key: PublicKey,
    key_id: String,
}

/// The last verified entry, as the next one is checked against it.
struct Previous {
    seq: u64,
    hash: String,
    at: i64,
}

/// Verifies a chain fed in order, one slice at a time, so a long chain can be checked page by
/// page in bounded memory. [`Verifier::finish`] gives the same [`Report`] as verifying the
/// concatenation of every slice at once.
pub struct Verifier {
    trusted: Vec<KeyInUse>,
    /// `None` until entry 1 has picked one of the trusted keys.
    current: Option<KeyInUse>,
    previous: Option<Previous>,
    keys_seen: Vec<String>,
    expected: Option<Head>,
    verified: u64,
    problem: Option<Problem>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("verified", &self.verified)
            .field("problem", &self.problem)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// `trusted`: the keys an auditor trusts for entry 1; `expected`: a head the chain must
    /// contain (see [`super::verify_with_head`]).
    pub fn new(trusted: &[PublicKey], expected: Option<Head>) -> Verifier {
        let problem = match &expected {
            Some(head) if head.seq == 0 && head.hash != GENESIS_HASH => Some(Problem {
                seq: 0,
                reason: Reason::HeadMismatch,
                message: format!("head 0 must be the genesis hash, not {}", head.hash),
            }),
            _ => None,
        };
        Verifier {
            trusted: trusted
                .iter()
                .map(|key| KeyInUse {
                    key: key.clone(),
                    key_id: key.key_id(),
                })
                .collect(),
            current: None,
            previous: None,
            keys_seen: Vec::new(),
            expected,
            verified: 0,
            problem,
        }
    }

    /// Checks the next entries of the chain. Returns false once a problem is found; later
    /// calls then do nothing.
    pub fn feed(&mut self, entries: &[Entry]) -> bool {
        for entry in entries {
            if self.problem.is_some() {
                break;
            }
            let expected_seq = self.verified.saturating_add(1);
            if let Err(found) = self.check(expected_seq, entry) {
                self.problem = Some(found);
                break;
            }
            if let Some(head) = self.expected.as_ref().filter(|head| head.seq == entry.seq)
                && head.hash != entry.hash
            {
                self.problem = Some(Problem {
                    seq: entry.seq,
                    reason: Reason::HeadMismatch,
                    message: format!(
                        "entry {} has hash {}, but the anchored head is {head}: history was rewritten",
                        entry.seq, entry.hash
                    ),
                });
                break;
            }
            self.previous = Some(Previous {
                seq: entry.seq,
                hash: entry.hash.clone(),
                at: entry.at,
            });
            self.verified = expected_seq;
        }
        self.problem.is_none()
    }

    /// The report over everything fed.
    pub fn finish(mut self) -> Report {
        if self.problem.is_none()
            && let Some(head) = self
                .expected
                .as_ref()
                .filter(|head| head.seq > self.verified)
        {
            self.problem = Some(Problem {
                seq: head.seq,
                reason: Reason::HeadMismatch,
                message: format!(
                    "the chain ends at seq {}, before the anchored head {head}: it was truncated",
                    self.verified
                ),
            });
        }
        Report {
            ok: self.problem.is_none(),
            entries: self.verified,
            head: self.previous.map(|previous| Head {
                seq: previous.seq,
                hash: previous.hash,
            }),
            keys_seen: self.keys_seen,
            first_bad: self.problem,
        }
    }
}

/// Walks `entries` from seq 1; stops at the first problem.
pub(super) fn run(entries: &[Entry], trusted: &[PublicKey], expected: Option<&Head>) -> Report {
    let mut verifier = Verifier::new(trusted, expected.cloned());
    verifier.feed(entries);
    verifier.finish()
}

impl Verifier {
    /// Checks one entry against the previous one and the current key; on success, records
    /// the key's use and applies a rotation.
    fn check(&mut self, expected_seq: u64, entry: &Entry) -> Result<(), Problem> {
        let fail = |reason: Reason, message: String| Problem {
            seq: expected_seq,
            reason,
            message,
        };
        if entry.seq != expected_seq {
            let message = if entry.seq > expected_seq {
                format!(
                    "seq {expected_seq} is missing: the next entry is seq {}",
                    entry.seq
                )
            } else {
                format!(
                    "expected seq {expected_seq}, found seq {} again or out of order",
                    entry.seq
                )
            };
            return Err(fail(Reason::SeqGap, message));
        }
        let expected_prev = self
            .previous
            .as_ref()
            .map_or(GENESIS_HASH, |previous| previous.hash.as_str());
        if entry.prev_hash != expected_prev {
            return Err(fail(
                Reason::BrokenLink,
                format!(
                    "prev_hash is {}, but the previous hash is {expected_prev}",
                    entry.prev_hash
                ),
            ));
        }
        let recomputed = entry_hash(entry);
        if entry.hash != recomputed {
            return Err(fail(
                Reason::WrongHash,
                format!(
                    "hash is {}, but the fields hash to {recomputed}",
                    entry.hash
                ),
            ));
        }
        let signer_key = self
            .signing_key(entry)
            .map_err(|message| fail(Reason::UnknownKey, message))?
            .clone();
        check_signature(&signer_key.key, entry)
            .map_err(|(reason, message)| fail(reason, message))?;
        if let Some(previous) = &self.previous
            && entry.at < previous.at
        {
            return Err(fail(
                Reason::TimeBackwards,
                format!(
                    "at {} is earlier than the previous entry's {}",
                    entry.at, previous.at
                ),
            ));
        }
        let rotated_to = if entry.action == ROTATION_ACTION {
            Some(rotation_target(entry).map_err(|message| fail(Reason::Malformed, message))?)
        } else {
            None
        };
        if self.keys_seen.last() != Some(&signer_key.key_id) {
            self.keys_seen.push(signer_key.key_id.clone());
        }
        // Entry 1 fixes the current key to the trusted key that signed it; a rotation
        // replaces it for the entries that follow.
        self.current = Some(rotated_to.unwrap_or(signer_key));
        Ok(())
    }

    /// The key that must have signed `entry`: the current key, or for entry 1 the trusted key
    /// with the entry's key id.
    fn signing_key(&self, entry: &Entry) -> Result<&KeyInUse, String> {
        match &self.current {
            Some(current) if current.key_id == entry.key_id => Ok(current),
            Some(current) => Err(format!(
                "signed by key {}, but the current key is {}",
                entry.key_id, current.key_id
            )),
            None => self
                .trusted
                .iter()
                .find(|trusted| trusted.key_id == entry.key_id)
                .ok_or_else(|| format!("signed by key {}, which is not trusted", entry.key_id)),
        }
    }
}

/// Checks the signature over the raw bytes of the (already verified) hash.
fn check_signature(key: &PublicKey, entry: &Entry) -> Result<(), (Reason, String)> {
    let malformed = |what: &str| (Reason::Malformed, what.to_owned());
    if !is_lowercase_hex(&entry.signature) {
        return Err(malformed("signature is not lowercase hex"));
    }
    let signature_bytes: [u8; 64] = decode_hex_array("signature", &entry.signature)
        .map_err(|_| malformed("signature is not 128 hex characters"))?;
    let hash_bytes: [u8; 32] = decode_hex_array("hash", &entry.hash)
        .map_err(|_| malformed("hash is not 64 hex characters"))?;
    key.verifying_key()
        .verify_strict(&hash_bytes, &Signature::from_bytes(&signature_bytes))
        .map_err(|_| {
            (
                Reason::BadSignature,
                format!("signature does not verify under key {}", entry.key_id),
            )
        })
}

/// The new key a `key_rotated` entry introduces.
fn rotation_target(entry: &Entry) -> Result<KeyInUse, String> {
    if entry.subject != ROTATION_SUBJECT {
        return Err(format!(
            "a {ROTATION_ACTION} entry must have subject {ROTATION_SUBJECT:?}, not {:?}",
            entry.subject
        ));
    }
    let new_key_text = entry
        .detail
        .get("new_key")
        .and_then(serde_json::Value::as_str)
        .ok_or("rotation detail has no new_key string")?;
    if !is_lowercase_hex(new_key_text) {
        return Err("rotation new_key is not lowercase hex".to_owned());
    }
    let key = PublicKey::from_hex(new_key_text)
        .map_err(|error| format!("rotation new_key is invalid: {error}"))?;
    let key_id = key.key_id();
    let claimed_id = entry
        .detail
        .get("new_key_id")
        .and_then(serde_json::Value::as_str);
    if claimed_id != Some(key_id.as_str()) {
        return Err(format!(
            "rotation new_key_id must be {key_id}, found {claimed_id:?}"
        ));
    }
    Ok(KeyInUse { key, key_id })
}

fn is_lowercase_hex(text: &str) -> bool {
    text.bytes()
        .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}
