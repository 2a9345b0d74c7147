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
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Sqlite, SqlitePool};

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

    /// Opens (creating if needed) `<data_dir>/rampart.db`, creating `data_dir` if missing,
    /// checks the file's integrity and runs the migrations.
    ///
    /// Every connection uses WAL, foreign keys and a busy timeout. `synchronous` is FULL, not
    /// NORMAL: with NORMAL a power loss can undo the last commits, and a revision that SDKs and
    /// the ledger have already seen must never be handed out again for different content.
    /// Config commits are rare, so one extra fsync each costs nothing that matters.
    ///
    /// A damaged file is refused with [`StoreError::DatabaseCorrupt`] naming it, before
    /// anything is written to it: one shorter than a page (SQLite would take it for a new,
    /// empty database), one SQLite reports corrupt or not a database, and one in which
    /// `PRAGMA quick_check` (every page and record of every b-tree, without cross-checking
    /// indexes) finds problems. The check reads the whole file once; BENCHMARKS.md has its cost.
    pub async fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        tokio::fs::create_dir_all(data_dir)
            .await
            .map_err(|source| StoreError::Io {
                path: data_dir.to_owned(),
                source,
            })?;
        let path = data_dir.join(DATABASE_FILE);
        let damaged = |detail: String| StoreError::DatabaseCorrupt {
            path: path.clone(),
            detail,
        };
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.len() < MIN_DATABASE_BYTES => {
                return Err(damaged(format!(
                    "it is {} bytes long, shorter than one SQLite page ({MIN_DATABASE_BYTES} bytes): \
                     truncated",
                    meta.len()
                )));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.clone(),
                    source,
                });
            }
        }
        SqliteStore::open_file(&path)
            .await
            .map_err(|e| match e.damage() {
                Some(message) => damaged(format!("SQLite says \"{message}\"")),
                None => e,
            })
    }

    async fn open_file(path: &Path) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().create_if_missing(true))
            .await?;
        integrity_check(&writer, path).await?;
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
            path: Some(path.to_owned()),
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

    /// After a failed write transaction: keeps the writer connection if it is usable, else
    /// closes it so that the pool opens a fresh one for the next write.
    ///
    /// SQLite rolls a transaction back by itself on some errors (a full disk, I/O errors).
    /// sqlx's own ROLLBACK then fails, and it goes on counting the transaction as open:
    /// every later `BEGIN` on that connection would fail ("attempted to call begin_with at
    /// non-zero transaction depth") until the process restarts. An in-memory store keeps its
    /// one connection whatever happens: closing it would drop the database.
    async fn check_writer(&self, conn: &mut PoolConnection<Sqlite>) {
        // The dropped transaction queued its ROLLBACK; the ping runs after it.
        let usable = conn.ping().await.is_ok() && !conn.is_in_transaction();
        if !usable && self.path.is_some() {
            tracing::warn!(
                "closing the writer connection: a failed write left it unusable (SQLite had \
                 rolled the transaction back itself); the next write opens a new one"
            );
            conn.close_on_drop();
        }
    }

    /// Closes every connection, waiting for them to finish; SQLite then checkpoints the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// The smallest SQLite database file: one page of the smallest page size. SQLite itself takes
/// a shorter file for a new, empty database and would write a fresh schema over it.
const MIN_DATABASE_BYTES: u64 = 512;

/// How many of `quick_check`'s findings the error quotes.
const QUICK_CHECK_QUOTED: usize = 3;

/// Runs `PRAGMA quick_check` and refuses a file with any finding. SQLite errors it raises on
/// a badly damaged file are classified by the caller.
async fn integrity_check(writer: &SqlitePool, path: &Path) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    let findings: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_all(writer)
        .await?;
    if findings.len() == 1 && findings[0] == "ok" {
        tracing::info!(
            path = %path.display(),
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "database integrity check (quick_check) passed"
        );
        return Ok(());
    }
    // A finding may span lines, the first naming the schema ("*** in database main ***"):
    // one line each, so that the message stays on one line.
    let problems: Vec<&str> = findings
        .iter()
        .flat_map(|finding| finding.lines())
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("*** in database"))
        .collect();
    let mut detail = format!(
        "PRAGMA quick_check found {} problem(s): {}",
        problems.len(),
        problems[..problems.len().min(QUICK_CHECK_QUOTED)].join("; ")
    );
    if problems.len() > QUICK_CHECK_QUOTED {
        detail.push_str("; …");
    }
    Err(StoreError::DatabaseCorrupt {
        path: path.to_owned(),
        detail,
    })
}

/// Commits `changes` in one `BEGIN IMMEDIATE` transaction on `conn`. On error the transaction
/// is dropped, which rolls every change back.
async fn commit_on(
    conn: &mut SqliteConnection,
    changes: &ChangeSet,
    signer: &Signer,
) -> Result<Committed, StoreError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let committed = write::commit_in(&mut tx, changes, signer).await?;
    tx.commit().await?;
    Ok(committed)
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
        let mut conn = self.writer.acquire().await?;
        let outcome = commit_on(&mut conn, &changes, &signer).await;
        if outcome.is_err() {
            self.check_writer(&mut conn).await;
        }
        let committed = outcome?;
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
        let mut conn = self.writer.acquire().await?;
        let outcome = health::save(&mut conn, rollout, windows).await;
        if outcome.is_err() {
            self.check_writer(&mut conn).await;
        }
        outcome
    }

    async fn health(&self, rollout: RolloutId) -> Result<Vec<HealthWindow>, StoreError> {
        health::load(&self.reader, rollout).await
    }
}

#[cfg(test)]
mod tests;
