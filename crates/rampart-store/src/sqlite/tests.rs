//! Unit tests for what only the SQLite backend can show: its connection settings and pools.

use sqlx::SqlitePool;

use super::SqliteStore;

async fn journal_mode(pool: &SqlitePool) -> String {
    sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .expect("journal_mode")
}

async fn integer_pragma(pool: &SqlitePool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

#[tokio::test]
async fn on_disk_connections_use_wal_full_sync_foreign_keys_and_a_busy_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).await.expect("open");
    for pool in [&store.writer, &store.reader] {
        assert_eq!(journal_mode(pool).await, "wal");
        assert_eq!(
            integer_pragma(pool, "PRAGMA synchronous").await,
            2,
            "2 is FULL"
        );
        assert_eq!(integer_pragma(pool, "PRAGMA foreign_keys").await, 1);
        assert_eq!(integer_pragma(pool, "PRAGMA busy_timeout").await, 5_000);
    }
    assert_eq!(integer_pragma(&store.writer, "PRAGMA query_only").await, 0);
    assert_eq!(integer_pragma(&store.reader, "PRAGMA query_only").await, 1);
    assert_eq!(
        store.writer.options().get_max_connections(),
        1,
        "one writer connection"
    );
    store.close().await;
}

#[tokio::test]
async fn the_reader_pool_refuses_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).await.expect("open");
    let outcome = sqlx::query("UPDATE config SET revision = 99")
        .execute(&store.reader)
        .await;
    assert!(
        outcome.is_err(),
        "a write through the reader pool must fail"
    );
}

#[tokio::test]
async fn in_memory_store_keeps_its_data_on_its_one_connection() {
    let store = SqliteStore::in_memory().await.expect("in_memory");
    assert_eq!(
        integer_pragma(&store.writer, "PRAGMA foreign_keys").await,
        1
    );
    assert_eq!(store.writer.options().get_max_connections(), 1);
    assert_eq!(
        store.writer.options().get_idle_timeout(),
        None,
        "never closed while idle"
    );
    assert_eq!(
        store.writer.options().get_max_lifetime(),
        None,
        "never recycled"
    );
}

mod storage_full {
    //! A full filesystem, for real: `PRAGMA max_page_count` on the writer connection makes
    //! SQLite refuse to grow the file exactly as ENOSPC does (`SQLITE_FULL`).

    use rampart_model::{Flag, FlagSpec};
    use serde_json::json;

    use super::integer_pragma;
    use crate::rollout::{Arm, HealthWindow, NewRolloutEvent};
    use crate::{Change, ChangeSet, Precondition, SqliteStore, Store, StoreError};

    /// A flag whose description fills about `bytes` bytes, so a commit needs new pages.
    fn big_flag(key: &str, bytes: usize) -> Change {
        let spec = FlagSpec {
            description: Some("x".repeat(bytes)),
            ..FlagSpec::boolean(key)
        };
        Change::PutFlag {
            flag: Flag::try_new(spec).expect("valid flag"),
            expected: Precondition::None,
        }
    }

    fn windows(count: u64) -> Vec<HealthWindow> {
        (0..count)
            .map(|i| HealthWindow {
                arm: if i % 2 == 0 {
                    Arm::Baseline
                } else {
                    Arm::Candidate
                },
                window: 1_800_000_000 + i / 2,
                aggregate: json!({"requests": i, "sketch": "y".repeat(400)}),
            })
            .collect()
    }

    /// Sets the writer's page limit to what the file has now (+ `extra`): the disk is full.
    async fn fill(store: &SqliteStore, extra: i64) {
        let pages = integer_pragma(&store.writer, "PRAGMA page_count").await;
        // A number the test computed: nothing to inject.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "PRAGMA max_page_count = {}",
            pages + extra
        )))
        .execute(&store.writer)
        .await
        .expect("set max_page_count");
    }

    async fn free(store: &SqliteStore) {
        sqlx::query("PRAGMA max_page_count = 1073741823")
            .execute(&store.writer)
            .await
            .expect("raise max_page_count");
    }

    #[tokio::test]
    async fn a_full_disk_fails_commits_and_health_saves_as_storage_full_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).await.expect("open");
        let signer = rampart_ledger::Signer::from_seed([7; 32]);
        store.set_ledger_signer(signer.clone());
        store
            .commit(ChangeSet::new(
                "test",
                1_800_000_000_000,
                vec![big_flag("before", 100)],
            ))
            .await
            .expect("first commit");
        let created = store
            .commit(ChangeSet::new(
                "test",
                1_800_000_000_000,
                vec![Change::CreateRollout {
                    flag: "before".to_owned(),
                    plan: json!({"steps": [50, 100]}),
                    base: json!({"key": "before"}),
                    state: json!({"phase": "ramping"}),
                    phase: "ramping".to_owned(),
                    active: true,
                    events: vec![NewRolloutEvent::new(
                        "start",
                        "pending",
                        "ramping",
                        json!({}),
                    )],
                }],
            ))
            .await
            .expect("rollout");
        let rollout = created.created_rollouts[0];
        store
            .save_health(rollout, &windows(4))
            .await
            .expect("first windows");
        let before = store.load().await.expect("load").revision;
        let head = store.ledger_head().await.expect("head");

        fill(&store, 0).await;
        // A commit of two flags, the second too big for the space left: all or nothing.
        let error = store
            .commit(ChangeSet::new(
                "test",
                1_800_000_000_000,
                vec![big_flag("small", 10), big_flag("huge", 64 * 1024)],
            ))
            .await
            .expect_err("the disk is full");
        assert!(matches!(error, StoreError::StorageFull { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.starts_with("the data directory is full (database or disk is full)"),
            "{message}"
        );
        assert!(
            !message.contains(&*dir.path().to_string_lossy()),
            "clients see this text: no path in it: {message}"
        );
        // SQLite rolled that transaction back by itself, which leaves sqlx counting it as
        // open: the store replaced the connection, and the limit (a per-connection pragma)
        // went with it. Fill again.
        fill(&store, 0).await;
        let error = store
            .save_health(rollout, &windows(400))
            .await
            .expect_err("the disk is full");
        assert!(matches!(error, StoreError::StorageFull { .. }), "{error:?}");

        // Nothing of either was written: no revision, no flag, no ledger entry, no window.
        let stored = store.load().await.expect("load while full");
        assert_eq!(stored.revision, before);
        assert_eq!(stored.flags.len(), 1);
        assert_eq!(store.ledger_head().await.expect("head"), head);
        assert_eq!(store.health(rollout).await.expect("health").len(), 4);

        // Space comes back: the store writes again (on a fresh connection where the failure
        // left the old one unusable), with one ledger entry per change.
        free(&store).await;
        let committed = store
            .commit(ChangeSet::new(
                "test",
                1_800_000_000_000,
                vec![big_flag("small", 10), big_flag("huge", 64 * 1024)],
            ))
            .await
            .expect("commit after space is freed");
        assert_eq!(committed.revision, before + 1);
        store
            .save_health(rollout, &windows(400))
            .await
            .expect("windows after space is freed");
        assert_eq!(store.health(rollout).await.expect("health").len(), 400);
        let entries = store.ledger(0, 1_000).await.expect("ledger");
        assert_eq!(
            entries.len() as u64,
            head.as_ref().map_or(0, |h| h.seq) + 2,
            "one entry per change, none for the failed commit"
        );
        let report = rampart_ledger::verify(&entries, &[signer.public_key()]);
        assert!(report.ok, "{report:?}");
        store.close().await;
    }
}
