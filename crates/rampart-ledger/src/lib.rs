//! Rampart's ledger: an append-only, hash-chained, Ed25519-signed record of every mutation
//! and every decision, and the offline verifier that names the first bad entry.
//!
//! Layout:
//! - [`canonical`]: [`canonical_json`], the JCS-style (RFC 8785) byte form that is hashed.
//! - [`key`]: [`Signer`] (the secret signing key) and [`PublicKey`] with its key id.
//! - [`entry`]: [`Draft`], [`Entry`], [`seal`], [`entry_hash`] and [`rotation_draft`].
//! - [`head`]: [`Head`], the `SEQ:HASH` anchor of a chain.
//! - [`verify`]: [`verify`] and [`verify_with_head`], which return a [`Report`] naming the
//!   first bad `seq` and its [`Reason`].
//! - [`error`]: [`LedgerError`], for parse errors of keys and heads.
//!
//! Architecture invariant: this crate is pure. It does no IO, never reads the clock, the
//! environment or a random source (the caller passes `at` and the key seed), and never
//! panics on input: verification of any entries returns a [`Report`].
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod canonical;
pub mod entry;
pub mod error;
pub mod head;
pub mod key;
pub mod verify;

pub use canonical::canonical_json;
pub use entry::{
    Draft, Entry, GENESIS_HASH, ROTATION_ACTION, ROTATION_SUBJECT, entry_hash, rotation_draft, seal,
};
pub use error::LedgerError;
pub use head::Head;
pub use key::{PublicKey, Signer};
pub use verify::{Problem, Reason, Report, Verifier, verify, verify_with_head};
