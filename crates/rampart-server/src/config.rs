//! The server's configuration, validated before the server starts.

use std::path::PathBuf;

/// Where the configuration lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// SQLite in `<data_dir>/rampart.db` (WAL mode). The embedded default.
    Sqlite { data_dir: PathBuf },
    /// A throwaway in-memory SQLite database, for tests.
    InMemory,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub storage: Storage,
    /// The largest request body accepted, in bytes. Larger bodies get 413.
    pub max_body_bytes: usize,
}

/// 1 MiB: far above any flag document, small enough that a client can't exhaust memory.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

impl Config {
    pub fn sqlite(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            storage: Storage::Sqlite {
                data_dir: data_dir.into(),
            },
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    pub fn in_memory() -> Config {
        Config {
            storage: Storage::InMemory,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}
