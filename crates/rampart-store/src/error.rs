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
    ///
    /// For `kind` "rollout", `key` is the flag that already has an active rollout.
    #[error("{}", already_exists(kind, key))]
    AlreadyExists { kind: &'static str, key: String },

    /// The object's revision is not the one the caller expected (If-Match).
    ///
    /// For `kind` "rollout", `key` is the rollout's id and the numbers are its versions.
    #[error("{}", conflict(kind, key, *expected, *actual))]
    Conflict {
        kind: &'static str,
        key: String,
        expected: Revision,
        actual: Revision,
    },

    /// A commit was attempted before a ledger signer was installed; nothing was written.
    #[error("no ledger signer is installed: a change can't commit without its signed ledger entry")]
    NoSigner,

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

fn already_exists(kind: &str, key: &str) -> String {
    match kind {
        "rollout" => format!("flag `{key}` already has an active rollout"),
        _ => format!("{kind} `{key}` already exists"),
    }
}

fn conflict(kind: &str, key: &str, expected: Revision, actual: Revision) -> String {
    match kind {
        "rollout" => format!(
            "rollout `{key}` changed: expected version {expected}, current version {actual}"
        ),
        _ => format!(
            "{kind} `{key}` changed: If-Match revision {expected}, current revision {actual}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::StoreError;

    #[test]
    fn rollout_errors_name_the_flag_or_the_version() {
        let exists = StoreError::AlreadyExists {
            kind: "rollout",
            key: "checkout".to_owned(),
        };
        assert_eq!(
            exists.to_string(),
            "flag `checkout` already has an active rollout"
        );
        let conflict = StoreError::Conflict {
            kind: "rollout",
            key: "7".to_owned(),
            expected: 2,
            actual: 3,
        };
        assert_eq!(
            conflict.to_string(),
            "rollout `7` changed: expected version 2, current version 3"
        );
        let flag = StoreError::AlreadyExists {
            kind: "flag",
            key: "checkout".to_owned(),
        };
        assert_eq!(flag.to_string(), "flag `checkout` already exists");
    }
}
