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

    /// The filesystem holding the database is full (SQLite's `SQLITE_FULL`, from `ENOSPC`).
    /// Nothing of the failed write was committed; writes succeed again once space is freed.
    /// The text names no path: the server shows it to clients.
    #[error(
        "the data directory is full ({detail}); nothing was written. Free space on its filesystem: writes resume by themselves"
    )]
    StorageFull { detail: String },

    /// The database file could not be read or written (SQLite's `SQLITE_IOERR_*`): a failing
    /// disk, a filesystem gone read-only, a volume removed. Nothing of the failed write was
    /// committed. The text names no path: the server shows it to clients.
    #[error(
        "the data directory cannot be read or written ({detail}); nothing was written. Check its disk and filesystem"
    )]
    StorageIo { detail: String },

    /// The database file is damaged: SQLite reports it corrupt or not a database, or the
    /// start-up integrity check (`PRAGMA quick_check`) found problems. Only `open` reports
    /// it, naming the file: the server must not run on a damaged store.
    #[error(
        "the database file {} is damaged: {detail}. Rampart will not run on it: keep the file for inspection, and restore the data dir from a backup (or move the file away to start empty)",
        path.display()
    )]
    DatabaseCorrupt { path: PathBuf, detail: String },

    /// Any other database failure. Built through `From<sqlx::Error>`, which sorts out a full
    /// disk and I/O errors first.
    #[error("database error: {0}")]
    Database(sqlx::Error),

    #[error("database migration failed: {0}")]
    Migration(sqlx::migrate::MigrateError),

    #[error("cannot use `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// SQLite's primary result codes that get their own [`StoreError`] (extended codes carry
/// the primary one in their low byte).
const SQLITE_IOERR: i64 = 10;
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_FULL: i64 = 13;
const SQLITE_NOTADB: i64 = 26;

/// SQLite's primary result code of a database error, if it is one.
fn primary_code(error: &sqlx::Error) -> Option<i64> {
    primary(&error.as_database_error()?.code()?)
}

/// The primary result code in an extended one as sqlx shows it (`"778"` is
/// `SQLITE_IOERR_WRITE`, primary `SQLITE_IOERR`).
fn primary(extended: &str) -> Option<i64> {
    Some(extended.parse::<i64>().ok()? & 0xff)
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        let detail = || {
            error
                .as_database_error()
                .map_or_else(|| error.to_string(), |db| db.message().to_owned())
        };
        match primary_code(&error) {
            Some(SQLITE_FULL) => StoreError::StorageFull { detail: detail() },
            Some(SQLITE_IOERR) => StoreError::StorageIo { detail: detail() },
            _ => StoreError::Database(error),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> StoreError {
        use sqlx::migrate::MigrateError;
        match error {
            MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _)
                if matches!(primary_code(&e), Some(SQLITE_FULL | SQLITE_IOERR)) =>
            {
                StoreError::from(e)
            }
            other => StoreError::Migration(other),
        }
    }
}

impl StoreError {
    /// SQLite's message when it reported the database file corrupt or not a database at all.
    pub(crate) fn damage(&self) -> Option<&str> {
        use sqlx::migrate::MigrateError;
        let error = match self {
            StoreError::Database(e)
            | StoreError::Migration(
                MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _),
            ) => e,
            _ => return None,
        };
        match primary_code(error) {
            Some(SQLITE_CORRUPT | SQLITE_NOTADB) => {
                error.as_database_error().map(|db| db.message())
            }
            _ => None,
        }
    }
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
    use super::{SQLITE_CORRUPT, SQLITE_FULL, SQLITE_IOERR, SQLITE_NOTADB, StoreError, primary};

    /// The extended codes a full or failing disk produces map to their primary codes (a full
    /// disk for real is in `sqlite::tests::storage_full`; I/O errors can't be provoked there).
    #[test]
    fn extended_result_codes_map_to_their_primary_code() {
        for (extended, want) in [
            ("13", SQLITE_FULL),
            ("10", SQLITE_IOERR),
            ("778", SQLITE_IOERR),  // SQLITE_IOERR_WRITE
            ("1034", SQLITE_IOERR), // SQLITE_IOERR_FSYNC
            ("4874", SQLITE_IOERR), // SQLITE_IOERR_SHMSIZE
            ("11", SQLITE_CORRUPT),
            ("267", SQLITE_CORRUPT), // SQLITE_CORRUPT_VTAB
            ("26", SQLITE_NOTADB),
        ] {
            assert_eq!(primary(extended), Some(want), "{extended}");
        }
        assert_eq!(
            primary("2067"),
            Some(19),
            "SQLITE_CONSTRAINT_UNIQUE stays a constraint"
        );
        assert_eq!(primary("not a number"), None);
    }

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
