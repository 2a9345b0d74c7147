//! [`JudgeError`]: the one error type of the crate, for invalid configuration and merges.

/// Why a judge configuration or an aggregate operation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JudgeError {
    /// A numeric setting is outside its allowed range; `field` is the setting's path.
    #[error("{field}: {value} is out of range ({expected})")]
    OutOfRange {
        field: String,
        value: f64,
        expected: &'static str,
    },
    /// A series window must be at least one millisecond long.
    #[error("window length must be at least 1 ms")]
    ZeroWindow,
    /// Two series with different window lengths can't be merged exactly.
    #[error("cannot merge series with windows of {left_ms} ms and {right_ms} ms")]
    WindowMismatch { left_ms: u64, right_ms: u64 },
    /// Two criteria would report under the same name.
    #[error("criterion {name:?} is configured twice")]
    DuplicateCriterion { name: String },
}
