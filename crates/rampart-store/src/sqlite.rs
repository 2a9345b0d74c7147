//! [`SqliteStore`]: the embedded default backend, one database file in the data dir.
//!
//! Concurrency: all writes go through a pool of exactly one connection, so commits in this
//! process queue up in order, and each commit starts with `BEGIN IMMEDIATE`, which takes
//! SQLite's write lock before reading the revision, so a writer in another process (a
//! second server on the same data dir, `rampart restore`) waits or fails instead of reading
//! the same revision. Reads use a separate pool and, thanks to WAL, never wait for writers.

mod health;
mod ledger;
mod read;
mod rollouts;
mod table;
mod write;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use rampart_ledger::{Entry, Head, Signer};
use rampart_model::{Flag, FlagSpec, Segment, SegmentSpec};
use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::change::ChangeSet;
use crate::error::StoreError;
use crate::rollout::{HealthWindow, RolloutEvent, RolloutId, RolloutRecord};
use crate::store::{Committed, HistoryEntry, Store, StoredConfig};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// The database file's name inside the data dir.
pub const DATABASE_FILE: &str = "rampart.db";

/// How long a statement waits for another process's lock before failing with SQLITE_BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Reader connections. Reads are short; a few cover the server's concurrent requests.
const READ_CONNECTIONS: u32 = 4;

/// The SQLite-backed [`Store`]. Cloning shares the connection pools.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    /// Exactly one connection: commits in this process run one at a time.
    writer: SqlitePool,
    path: Option<PathBuf>,
    /// Signs one ledger entry per change. Until it is set, commits fail with `NoSigner`.
    signer: Arc<RwLock<Option<Signer>>>,
}

impl SqliteStore {
    /// Reads the whole ledger of a database file without the server, read-only, for
    /// offline verification (`rampart ledger verify --data-dir`).
    pub async fn read_ledger_file(path: &Path) -> Result<Vec<Entry>, StoreError> {
        let options = SqliteConnectOptions::new().filename(path).read_only(true);
        let mut conn = sqlx::ConnectOptions::connect(&options).await?;
        let mut entries = Vec::new();
        loop {
            let after = entries.last().map_or(0, |e: &Entry| e.seq);
            let page = ledger::read(&mut conn, after, 10_000).await?;
            if page.is_empty() {
                return Ok(entries);
            }
            entries.extend(page);
        }
    }

    /// Opens (creating if needed) `<data_dir>/rampart.db`, creating `data_dir` if missing, and
    /// runs the migrations.
    ///
    /// Every connection uses WAL, foreign keys and a busy timeout. `synchronous` is FULL, not
    /// NORMAL: with NORMAL a power loss can undo the last commits, and a revision that SDKs and
    /// the ledger have already seen must never be handed out again for different content.
    /// Config commits are rare, so one extra fsync each costs nothing that matters.
    pub async fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        tokio::fs::create_dir_all(data_dir)
            .await
            .map_err(|source| StoreError::Io {
                path: data_dir.to_owned(),
                source,
            })?;
        let path = data_dir.join(DATABASE_FILE);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().create_if_missing(true))
            .await?;
        MIGRATOR.run(&writer).await?;
        // `query_only` makes a stray write through the reader pool fail loudly.
        let reader = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(options.pragma("query_only", "ON"))
            .await?;
        tracing::debug!(path = %path.display(), "opened SQLite store");
        Ok(SqliteStore {
            reader,
            writer,
            path: Some(path),
            signer: Arc::default(),
        })
    }

    /// An in-memory database (for tests); each call is a fresh, isolated database.
    ///
    /// One connection serves reads and writes: an in-memory database lives and dies with its
    /// connection, so the pool never closes it.
    pub async fn in_memory() -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore {
            reader: pool.clone(),
            writer: pool,
            path: None,
            signer: Arc::default(),
        })
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Closes every connection, waiting for them to finish; SQLite then checkpoints the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn load(&self) -> Result<StoredConfig, StoreError> {
        read::load(&self.reader).await
    }

    async fn commit(&self, changes: ChangeSet) -> Result<Committed, StoreError> {
        if changes.changes.is_empty() {
            let mut conn = self.reader.acquire().await?;
            let config = read::config_row(&mut conn).await?;
            return Ok(Committed {
                revision: config.revision,
                at: config.updated_at,
                created_rollouts: Vec::new(),
            });
        }
        let signer = self
            .signer
            .read()
            .ok()
            .and_then(|s| s.clone())
            .ok_or(StoreError::NoSigner)?;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // On error `tx` is dropped, which rolls every change back.
        let committed = write::commit_in(&mut tx, &changes, &signer).await?;
        tx.commit().await?;
        tracing::debug!(
            revision = committed.revision,
            actor = %changes.actor,
            n_changes = changes.changes.len(),
            created_rollouts = ?committed.created_rollouts,
            "committed"
        );
        Ok(committed)
    }

    async fn ledger(&self, after: u64, limit: u32) -> Result<Vec<Entry>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        ledger::read(&mut conn, after, limit).await
    }

    /// Called once at start-up, and again after a key rotation commits.
    fn set_ledger_signer(&self, signer: Signer) {
        if let Ok(mut slot) = self.signer.write() {
            *slot = Some(signer);
        }
    }

    async fn ledger_head(&self) -> Result<Option<Head>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        ledger::read_head(&mut conn).await
    }

    async fn flag_history(&self, key: &str) -> Result<Vec<HistoryEntry<FlagSpec>>, StoreError> {
        read::history::<Flag>(&self.reader, key).await
    }

    async fn segment_history(
        &self,
        name: &str,
    ) -> Result<Vec<HistoryEntry<SegmentSpec>>, StoreError> {
        read::history::<Segment>(&self.reader, name).await
    }

    async fn rollouts(
        &self,
        flag: Option<&str>,
        active_only: bool,
    ) -> Result<Vec<RolloutRecord>, StoreError> {
        rollouts::list(&self.reader, flag, active_only, None, None).await
    }

    async fn rollout_page(
        &self,
        flag: Option<&str>,
        active_only: bool,
        before: Option<RolloutId>,
        limit: u32,
    ) -> Result<Vec<RolloutRecord>, StoreError> {
        rollouts::list(&self.reader, flag, active_only, before, Some(limit)).await
    }

    async fn rollout(&self, id: RolloutId) -> Result<Option<RolloutRecord>, StoreError> {
        rollouts::one(&self.reader, id).await
    }

    async fn rollout_events(&self, id: RolloutId) -> Result<Vec<RolloutEvent>, StoreError> {
        rollouts::events(&self.reader, id).await
    }

    async fn save_health(
        &self,
        rollout: RolloutId,
        windows: &[HealthWindow],
    ) -> Result<(), StoreError> {
        health::save(&self.writer, rollout, windows).await
    }

    async fn health(&self, rollout: RolloutId) -> Result<Vec<HealthWindow>, StoreError> {
        health::load(&self.reader, rollout).await
    }
}

#[cfg(test)]
mod tests;
