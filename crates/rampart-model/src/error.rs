//! Validation errors. Each names the field path that is wrong, e.g. `rules[2].serve.split.on`.

use std::fmt;

/// A stable, machine-readable reason for a rejection. Serialized in SCREAMING_SNAKE_CASE
/// and used verbatim as the API's error `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A required field is missing or empty.
    Required,
    /// A key or name has characters or a length that is not allowed.
    InvalidKey,
    /// A variant value does not match the flag's kind.
    WrongKind,
    /// A rule, split, default or prerequisite names a variant that does not exist.
    UnknownVariant,
    /// Split weights are out of range or do not sum to 10 000.
    InvalidWeights,
    /// A condition's values do not fit its operator (count, type, regex, semver, CIDR, time).
    InvalidCondition,
    /// A condition references a segment that does not exist.
    UnknownSegment,
    /// A prerequisite names a flag that does not exist.
    UnknownFlag,
    /// Prerequisites form a cycle.
    PrerequisiteCycle,
    /// A prerequisite chain is longer than evaluation follows
    /// ([`crate::MAX_PREREQUISITE_DEPTH`] levels).
    PrerequisiteTooDeep,
    /// A JSON or YAML object names the same key twice.
    DuplicateKey,
    /// A value has the wrong type or shape for its field (a number for an enum, an array
    /// for an object), or a field is unknown; see [`crate::json`].
    InvalidField,
    /// Two mutually exclusive fields are both set, or neither is.
    Conflict,
    /// The document could not be parsed at all.
    Parse,
    /// A number is outside its allowed range (α, tolerances, quantiles, limits).
    OutOfRange,
}

impl ErrorCode {
    /// The stable code string used in API errors.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Required => "REQUIRED",
            ErrorCode::InvalidKey => "INVALID_KEY",
            ErrorCode::WrongKind => "WRONG_KIND",
            ErrorCode::UnknownVariant => "UNKNOWN_VARIANT",
            ErrorCode::InvalidWeights => "INVALID_WEIGHTS",
            ErrorCode::InvalidCondition => "INVALID_CONDITION",
            ErrorCode::UnknownSegment => "UNKNOWN_SEGMENT",
            ErrorCode::UnknownFlag => "UNKNOWN_FLAG",
            ErrorCode::PrerequisiteCycle => "PREREQUISITE_CYCLE",
            ErrorCode::PrerequisiteTooDeep => "PREREQUISITE_TOO_DEEP",
            ErrorCode::DuplicateKey => "DUPLICATE_KEY",
            ErrorCode::InvalidField => "INVALID_FIELD",
            ErrorCode::Conflict => "CONFLICTING_FIELDS",
            ErrorCode::Parse => "PARSE_ERROR",
            ErrorCode::OutOfRange => "OUT_OF_RANGE",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a flag, segment or document was rejected, and where. Displays as `field: message`,
/// or just the message when it is about the whole input (an empty field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{}", .field, if .field.is_empty() { "" } else { ": " }, .message)]
pub struct ValidationError {
    code: ErrorCode,
    field: String,
    message: String,
}

impl ValidationError {
    pub fn new(code: ErrorCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            code,
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The field path, relative to the object that was validated (`rules[0].when[1].values`).
    pub fn field(&self) -> &str {
        &self.field
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefixes the field path, so nested validators can report full paths.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

pub(crate) type Result<T, E = ValidationError> = std::result::Result<T, E>;
