//! Property tests of the chain: every honestly built chain verifies, and every single-field
//! edit of any entry is reported exactly at that entry.

use proptest::prelude::*;
use proptest::sample::Index;
use rampart_ledger::{
    Draft, Entry, GENESIS_HASH, Head, PublicKey, Reason, Signer, Verifier, canonical_json,
    rotation_draft, seal, verify, verify_with_head,
};
use serde_json::Value;

/// One step of building a chain.
#[derive(Debug, Clone)]
enum Step {
    Append { draft: Draft, step_ms: u32 },
    Rotate { seed: [u8; 32], step_ms: u32 },
}

/// A chain and what building it used.
#[derive(Debug)]
struct Built {
    chain: Vec<Entry>,
    first_key: PublicKey,
    /// Key ids in order of signing use, consecutive repeats removed.
    keys_used: Vec<String>,
    /// The signer of each entry.
    signers: Vec<Signer>,
}

fn text() -> impl Strategy<Value = String> {
    // Any chars, including controls, quotes, backslashes and non-BMP characters.
    prop::collection::vec(any::<char>(), 0..10).prop_map(String::from_iter)
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("JSON numbers are finite", |float| {
            serde_json::Number::from_f64(float).map(Value::Number)
        }),
        text().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..5)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

fn draft() -> impl Strategy<Value = Draft> {
    let action = "[a-z_]{1,16}".prop_filter("not a rotation", |action| action != "key_rotated");
    (text(), action, text(), json_value()).prop_map(|(actor, action, subject, detail)| Draft {
        actor,
        action,
        subject,
        detail,
    })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (draft(), 0..10_000_u32).prop_map(|(draft, step_ms)| Step::Append { draft, step_ms }),
        1 => (any::<[u8; 32]>(), 0..10_000_u32).prop_map(|(seed, step_ms)| Step::Rotate { seed, step_ms }),
    ]
}

fn chain_plan() -> impl Strategy<Value = ([u8; 32], i64, Vec<Step>)> {
    (
        any::<[u8; 32]>(),
        -1_000_000_000_000_i64..4_000_000_000_000,
        prop::collection::vec(step(), 1..14),
    )
}

fn build((seed, start_ms, steps): ([u8; 32], i64, Vec<Step>)) -> Built {
    let mut signer = Signer::from_seed(seed);
    let first_key = signer.public_key();
    let mut chain: Vec<Entry> = Vec::new();
    let mut keys_used: Vec<String> = Vec::new();
    let mut signers: Vec<Signer> = Vec::new();
    for step in steps {
        let (draft, step_ms, next_signer) = match step {
            Step::Append { draft, step_ms } => (draft, step_ms, None),
            Step::Rotate { seed, step_ms } => {
                let next = Signer::from_seed(seed);
                (
                    rotation_draft("ops", &next.public_key()),
                    step_ms,
                    Some(next),
                )
            }
        };
        let (seq, at, prev_hash) = match chain.last() {
            Some(last) => (
                last.seq + 1,
                last.at + i64::from(step_ms),
                last.hash.clone(),
            ),
            None => (1, start_ms, GENESIS_HASH.to_owned()),
        };
        chain.push(seal(draft, seq, at, &prev_hash, &signer));
        signers.push(signer.clone());
        if keys_used.last().map(String::as_str) != Some(signer.key_id()) {
            keys_used.push(signer.key_id().to_owned());
        }
        if let Some(next) = next_signer {
            signer = next;
        }
    }
    Built {
        chain,
        first_key,
        keys_used,
        signers,
    }
}

/// A field of an entry to edit.
#[derive(Debug, Clone, Copy)]
enum Field {
    Seq,
    At,
    Actor,
    Action,
    Subject,
    Detail,
    PrevHash,
    Hash,
    Signature,
    KeyId,
}

fn field() -> impl Strategy<Value = Field> {
    prop::sample::select(vec![
        Field::Seq,
        Field::At,
        Field::Actor,
        Field::Action,
        Field::Subject,
        Field::Detail,
        Field::PrevHash,
        Field::Hash,
        Field::Signature,
        Field::KeyId,
    ])
}

/// Random material for an edit; `apply` turns it into a guaranteed change.
#[derive(Debug, Clone)]
struct Edit {
    number: u64,
    text: String,
    value: Value,
    position: Index,
    flip_hex_char: bool,
}

fn edit() -> impl Strategy<Value = Edit> {
    (
        any::<u64>(),
        text(),
        json_value(),
        any::<Index>(),
        any::<bool>(),
    )
        .prop_map(|(number, text, value, position, flip_hex_char)| Edit {
            number,
            text,
            value,
            position,
            flip_hex_char,
        })
}

/// A different string: usually one hex digit changed, sometimes arbitrary text.
fn changed_text(original: &str, edit: &Edit) -> String {
    let mut changed = if edit.flip_hex_char && !original.is_empty() {
        let mut chars: Vec<char> = original.chars().collect();
        let at = edit.position.index(chars.len());
        chars[at] = if chars[at] == '0' { 'f' } else { '0' };
        chars.into_iter().collect()
    } else {
        edit.text.clone()
    };
    if changed == original {
        changed.push('x');
    }
    changed
}

fn apply(entry: &mut Entry, field: Field, edit: &Edit) {
    match field {
        Field::Seq => {
            entry.seq = if edit.number == entry.seq {
                edit.number ^ 1
            } else {
                edit.number
            }
        }
        Field::At => {
            let at = edit.number as i64;
            entry.at = if at == entry.at {
                at.wrapping_add(1)
            } else {
                at
            };
        }
        Field::Actor => entry.actor = changed_text(&entry.actor, edit),
        Field::Action => entry.action = changed_text(&entry.action, edit),
        Field::Subject => entry.subject = changed_text(&entry.subject, edit),
        Field::Detail => {
            let mut value = edit.value.clone();
            if canonical_json(&value) == canonical_json(&entry.detail) {
                value = Value::Array(vec![value]);
            }
            entry.detail = value;
        }
        Field::PrevHash => entry.prev_hash = changed_text(&entry.prev_hash, edit),
        Field::Hash => entry.hash = changed_text(&entry.hash, edit),
        Field::Signature => entry.signature = changed_text(&entry.signature, edit),
        Field::KeyId => entry.key_id = changed_text(&entry.key_id, edit),
    }
}

fn is_signature_hex(text: &str) -> bool {
    text.len() == 128
        && text
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn honest_chains_verify(plan in chain_plan()) {
        let built = build(plan);
        let trusted = [built.first_key.clone()];
        let report = verify(&built.chain, &trusted);
        prop_assert!(report.ok, "{:#?}", report);
        prop_assert_eq!(report.entries, built.chain.len() as u64);
        let last = built.chain.last().unwrap();
        let head = Head { seq: last.seq, hash: last.hash.clone() };
        prop_assert_eq!(report.head.as_ref(), Some(&head));
        prop_assert_eq!(&report.keys_seen, &built.keys_used);
        // Anchoring any entry of an honest chain also verifies.
        let anchor = &built.chain[built.chain.len() / 2];
        let anchor = Head { seq: anchor.seq, hash: anchor.hash.clone() };
        prop_assert!(verify_with_head(&built.chain, &trusted, &anchor).ok);
        // So does the chain after the store's JSON round trip.
        let stored = serde_json::to_string(&built.chain).unwrap();
        let loaded: Vec<Entry> = serde_json::from_str(&stored).unwrap();
        prop_assert!(verify(&loaded, &trusted).ok);
    }

    /// Every entry field but `hash` and `signature` is covered by the hash, and those two are
    /// checked against it, so an edit is always caught AT the edited entry, never later: an
    /// earlier `at` is a wrong hash before it could be a time going backwards.
    #[test]
    fn any_single_field_edit_is_reported_at_that_entry(
        plan in chain_plan(), target in any::<Index>(), field in field(), edit in edit()
    ) {
        let Built { mut chain, first_key, .. } = build(plan);
        let index = target.index(chain.len());
        let seq = index as u64 + 1;
        apply(&mut chain[index], field, &edit);
        let report = verify(&chain, &[first_key]);
        let problem = report.first_bad.clone().unwrap();
        prop_assert!(!report.ok);
        prop_assert_eq!(problem.seq, seq, "{:?}: {:#?}", field, problem);
        prop_assert_eq!(report.entries, seq - 1);
        let expected = match field {
            Field::Seq => Reason::SeqGap,
            Field::PrevHash => Reason::BrokenLink,
            Field::Signature if !is_signature_hex(&chain[index].signature) => Reason::Malformed,
            Field::Signature => Reason::BadSignature,
            Field::At | Field::Actor | Field::Action | Field::Subject | Field::Detail
            | Field::Hash | Field::KeyId => Reason::WrongHash,
        };
        prop_assert_eq!(problem.reason, expected, "{:?}: {:#?}", field, problem);
    }

    /// Someone holding the current key re-seals entry `seq` with another `at`: the entry itself
    /// is consistent, so it is caught at `seq` only if time now goes backwards there, else at
    /// the next entry (whose prev_hash no longer matches), else, for the last entry, only by
    /// an anchored head.
    #[test]
    fn resealed_edits_are_caught_at_that_entry_or_the_next(
        plan in chain_plan(), target in any::<Index>(), shift in -20_000_i64..20_000
    ) {
        let built = build(plan);
        let trusted = [built.first_key.clone()];
        let mut chain = built.chain.clone();
        let index = target.index(chain.len());
        let seq = index as u64 + 1;
        let shift = if shift == 0 { 1 } else { shift };
        let signer = &built.signers[index];
        let original = chain[index].clone();
        let draft = Draft {
            actor: original.actor.clone(),
            action: original.action.clone(),
            subject: original.subject.clone(),
            detail: original.detail.clone(),
        };
        chain[index] = seal(draft, seq, original.at + shift, &original.prev_hash, signer);
        let report = verify(&chain, &trusted);
        let backwards = index > 0 && chain[index].at < chain[index - 1].at;
        if backwards {
            let problem = report.first_bad.unwrap();
            prop_assert_eq!((problem.seq, problem.reason), (seq, Reason::TimeBackwards));
        } else if index + 1 < chain.len() {
            let problem = report.first_bad.unwrap();
            prop_assert_eq!((problem.seq, problem.reason), (seq + 1, Reason::BrokenLink));
        } else {
            prop_assert!(report.ok);
            let anchored = Head { seq, hash: original.hash.clone() };
            let problem = verify_with_head(&chain, &trusted, &anchored).first_bad.unwrap();
            prop_assert_eq!((problem.seq, problem.reason), (seq, Reason::HeadMismatch));
        }
    }

    /// Verifying page by page (as the server does, in bounded memory) reports exactly what
    /// verifying the whole chain at once does, honest or tampered, anchored or not.
    #[test]
    fn issue_9_paged_verification_equals_whole_chain_verification(
        plan in chain_plan(), target in any::<Index>(), field in field(), edit in edit(),
        tamper in any::<bool>(), page in 1_usize..7, anchored in any::<bool>()
    ) {
        let Built { mut chain, first_key, .. } = build(plan);
        let anchor = anchored.then(|| {
            let entry = &chain[chain.len() / 2];
            Head { seq: entry.seq, hash: entry.hash.clone() }
        });
        if tamper {
            let index = target.index(chain.len());
            apply(&mut chain[index], field, &edit);
        }
        let trusted = [first_key];
        let whole = match &anchor {
            Some(head) => verify_with_head(&chain, &trusted, head),
            None => verify(&chain, &trusted),
        };
        let mut verifier = Verifier::new(&trusted, anchor.clone());
        for slice in chain.chunks(page) {
            verifier.feed(slice);
        }
        prop_assert_eq!(verifier.finish(), whole);
    }
}
