//! The result of one evaluation, borrowed from the snapshot so success allocates nothing.

use std::fmt;

use serde_json::Value;

/// One flag's evaluation. Borrows variant names and values from the [`crate::Snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution<'s> {
    /// The served value; `None` only when there is no flag to take a default from.
    pub value: Option<&'s Value>,
    pub variant: Option<&'s str>,
    pub reason: Reason,
    pub error_code: Option<ErrorCode>,
    pub error_message: Option<String>,
    pub metadata: Metadata<'s>,
}

impl Resolution<'_> {
    pub fn is_error(&self) -> bool {
        self.error_code.is_some()
    }
}

/// Where in the flag the served value came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata<'s> {
    /// The index of the matched rule.
    pub rule_index: Option<u32>,
    /// The split bucket, in `0..10_000`, when a split served.
    pub bucket: Option<u32>,
    /// The key of the first prerequisite flag that did not hold.
    pub prerequisite_failed: Option<&'s str>,
    /// In a shadow (dark launch) step: the variant the shadow split would have served.
    pub shadow_variant: Option<&'s str>,
}

/// Why a value was served; OpenFeature's resolution reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The flag has no rules and no prerequisites; everyone gets the same value.
    Static,
    /// A rule serving a variant matched.
    TargetingMatch,
    /// A split (in a rule or the fallthrough) chose the variant.
    Split,
    /// The flag is disabled: the kill switch serves the default variant.
    Disabled,
    /// No rule matched, or a prerequisite failed.
    Default,
    /// Evaluation failed; see the error code.
    Error,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Static => "STATIC",
            Reason::TargetingMatch => "TARGETING_MATCH",
            Reason::Split => "SPLIT",
            Reason::Disabled => "DISABLED",
            Reason::Default => "DEFAULT",
            Reason::Error => "ERROR",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// OpenFeature's error codes. Evaluation itself produces `FLAG_NOT_FOUND`,
/// `TARGETING_KEY_MISSING` and `GENERAL`; the others are for callers (the server maps a
/// [`crate::ContextError`] to `INVALID_CONTEXT`, an SDK a wrongly typed read to
/// `TYPE_MISMATCH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    FlagNotFound,
    TypeMismatch,
    TargetingKeyMissing,
    InvalidContext,
    ParseError,
    General,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::FlagNotFound => "FLAG_NOT_FOUND",
            ErrorCode::TypeMismatch => "TYPE_MISMATCH",
            ErrorCode::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            ErrorCode::InvalidContext => "INVALID_CONTEXT",
            ErrorCode::ParseError => "PARSE_ERROR",
            ErrorCode::General => "GENERAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
