//! The server's configuration, validated before the server starts.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};

/// Where the configuration lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// SQLite in `<data_dir>/rampart.db` (WAL mode). The embedded default.
    Sqlite { data_dir: PathBuf },
    /// A throwaway in-memory SQLite database, for tests.
    InMemory,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub storage: Storage,
    /// The largest request body accepted, in bytes. Larger bodies get 413.
    pub max_body_bytes: usize,
    /// The largest `POST /v1/events` body (batches of up to 10 000 events).
    pub max_events_body_bytes: usize,
    /// How often the rollout controller checks every active rollout.
    pub tick_interval: Duration,
    /// Run the controller loop. Tests turn it off and call `Controller::tick` by hand.
    pub run_controller: bool,
    /// The source of time for rollouts. Tests pass a `ManualClock`.
    pub clock: Arc<dyn Clock>,
    /// The ledger signing key file (a hex Ed25519 seed). Default: `<data_dir>/ledger.key`,
    /// generated with mode 0600 on first start.
    pub ledger_key_file: Option<PathBuf>,
}

/// One second: fast enough that a failed gate rolls back within a second of the evidence.
pub const DEFAULT_TICK_INTERVAL: Duration = Duration::from_secs(1);

/// 1 MiB: far above any flag document, small enough that a client can't exhaust memory.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

impl Config {
    pub fn sqlite(data_dir: impl Into<PathBuf>) -> Config {
        Config::with_storage(Storage::Sqlite {
            data_dir: data_dir.into(),
        })
    }

    pub fn in_memory() -> Config {
        Config::with_storage(Storage::InMemory)
    }

    fn with_storage(storage: Storage) -> Config {
        Config {
            storage,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_events_body_bytes: crate::events::DEFAULT_MAX_EVENTS_BODY_BYTES,
            tick_interval: DEFAULT_TICK_INTERVAL,
            run_controller: true,
            clock: Arc::new(SystemClock),
            ledger_key_file: None,
        }
    }
}
