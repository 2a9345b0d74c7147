//! [`StoreError`]: every way a store operation fails, with typed fields.

use std::path::PathBuf;

use rampart_model::Revision;

/// Why a store operation failed. The first three are the caller's preconditions failing
/// (the server maps them to 404, 409 and 412); the rest are the storage failing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object must exist (or an If-Match was given) but does not.
    #[error("{kind} `{key}` not found")]
    NotFound { kind: &'static str, key: String },

    /// The object must not exist (a create) but does.
    #[error("{kind} `{key}` already exists")]
    AlreadyExists { kind: &'static str, key: String },

    /// The object's revision is not the one the caller expected (If-Match).
    #[error("{kind} `{key}` changed: If-Match revision {expected}, current revision {actual}")]
    Conflict {
        kind: &'static str,
        key: String,
        expected: Revision,
        actual: Revision,
    },

    /// Stored data no longer parses or validates, e.g. a flag body rejected by `Flag::try_new`.
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt { what: String, reason: String },

    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),

    #[error("cannot use `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}
