//! [`LedgerError`]: the one error type of this crate, for parsing keys and heads.
//!
//! Verification never returns an error: a bad chain is a [`crate::Report`] with a
//! [`crate::Problem`], because "this ledger was tampered with" is a result, not a failure.

/// Why a public key or a head could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LedgerError {
    /// The text has the wrong number of hex characters.
    #[error("{what}: expected {expected} hex characters, found {found}")]
    HexLength {
        /// What was being parsed, e.g. "public key".
        what: &'static str,
        /// The required number of hex characters.
        expected: usize,
        /// The number of characters found.
        found: usize,
    },
    /// The text has the right length but is not hexadecimal.
    #[error("{what}: not hexadecimal: {source}")]
    Hex {
        /// What was being parsed, e.g. "public key".
        what: &'static str,
        /// The decoder's complaint.
        #[source]
        source: hex::FromHexError,
    },
    /// The 32 bytes are not the encoding of a point on the Ed25519 curve.
    #[error("public key is not a valid Ed25519 point")]
    InvalidPoint,
    /// The point has small order: strict verification rejects every signature under it.
    #[error("public key is a weak (small-order) Ed25519 point")]
    WeakKey,
    /// A head is not of the form `SEQ:HASH`.
    #[error("head {text:?}: {reason}")]
    Head {
        /// The text that was parsed.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}
