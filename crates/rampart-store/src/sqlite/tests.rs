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
