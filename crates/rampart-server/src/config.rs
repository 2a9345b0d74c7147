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
    /// The longest a client may take to send a request's headers (also the keep-alive idle
    /// timeout).
    pub header_timeout: Duration,
    /// The longest a client may take to send a request's body, from when its headers arrived.
    pub request_timeout: Duration,
    /// At most this many connections are served at once; more get `503` and are closed.
    pub max_connections: usize,
    /// How long a shutdown waits for in-flight requests before closing their connections.
    pub shutdown_timeout: Duration,
    /// The ledger signing key file (a hex Ed25519 seed). Default: `<data_dir>/ledger.key`,
    /// generated with mode 0600 on first start.
    pub ledger_key_file: Option<PathBuf>,
}

/// One second: fast enough that a failed gate rolls back within a second of the evidence.
pub const DEFAULT_TICK_INTERVAL: Duration = Duration::from_secs(1);

/// 10 s: a request's headers are a few hundred bytes; a client that can't send them in ten
/// seconds is stalled or hostile, and holds a connection (and a file descriptor) meanwhile.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// 10 s: an 8 MiB event batch needs 7 Mbit/s to make it, a flag document or an OFREP
/// context a few hundred bytes per second; a body slower than that is stalled or hostile.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// 4,096 concurrent connections: more than an OFREP fleet behind a few proxies needs, and far
/// below common file-descriptor limits once raised (the server warns when the limit is lower).
pub const DEFAULT_MAX_CONNECTIONS: usize = 4_096;

/// 10 s: in-flight requests finish in milliseconds; this bounds a stuck client's hold on a
/// restart (orchestrators usually kill after 30 s).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

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
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            clock: Arc::new(SystemClock),
            ledger_key_file: None,
        }
    }
}
