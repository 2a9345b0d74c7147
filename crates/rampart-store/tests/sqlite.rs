//! Runs the conformance suite against SqliteStore (in memory and on disk), plus the
//! behaviour only SQLite has: the data dir, the file, WAL, the schema's own guarantees and
//! corrupt rows.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use rampart_model::{Flag, FlagSpec};
use rampart_store::sqlite::DATABASE_FILE;
use rampart_store::{
    Change, ChangeSet, NewRolloutEvent, Precondition, SqliteStore, Store, StoreError, conformance,
};
use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;

fn boolean_flag(key: &str) -> Flag {
    Flag::try_new(FlagSpec::boolean(key)).expect("valid flag")
}

fn now_millis() -> i64 {
    1_800_000_000_000
}

/// A store ready to commit: every commit needs a ledger signer.
fn signing<S: Store>(store: S) -> S {
    store.set_ledger_signer(conformance::test_signer());
    store
}

fn put(key: &str) -> ChangeSet {
    ChangeSet::new(
        "test",
        now_millis(),
        vec![Change::PutFlag {
            flag: boolean_flag(key),
            expected: Precondition::None,
        }],
    )
}

/// A raw connection to the store's file, as another process (or a hand edit) would have.
async fn raw_connection(data_dir: &Path) -> SqliteConnection {
    let url = format!("sqlite://{}", data_dir.join(DATABASE_FILE).display());
    SqliteConnection::connect(&url)
        .await
        .expect("raw connection")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_in_memory() {
    conformance::run_all(|| async {
        signing(SqliteStore::in_memory().await.expect("in-memory store"))
    })
    .await;
}

#[tokio::test]
async fn issue_9_a_store_without_a_signer_commits_nothing() {
    let in_memory = SqliteStore::in_memory().await.expect("store");
    conformance::check_refuses_commit_without_signer(&in_memory).await;
    let data_dir = tempfile::tempdir().expect("tempdir");
    let on_disk = SqliteStore::open(data_dir.path()).await.expect("store");
    conformance::check_refuses_commit_without_signer(&on_disk).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_disk() {
    let base = tempfile::tempdir().expect("tempdir");
    let n_stores = AtomicUsize::new(0);
    conformance::run_all(|| {
        // A fresh, not yet existing data dir per case: `open` must create it.
        let data_dir = base
            .path()
            .join(format!("case-{}", n_stores.fetch_add(1, Ordering::Relaxed)));
        async move { signing(SqliteStore::open(&data_dir).await.expect("on-disk store")) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_persists_across_reopen_in_wal_mode() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    conformance::check_persistence(|| async {
        let store = signing(SqliteStore::open(data_dir.path()).await.expect("open"));
        assert_eq!(
            store.path(),
            Some(data_dir.path().join(DATABASE_FILE).as_path())
        );
        store
    })
    .await;

    // WAL is a property of the file, so a fresh connection reports it too.
    let mut raw = raw_connection(data_dir.path()).await;
    let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut raw)
        .await
        .expect("pragma");
    assert_eq!(journal_mode, "wal");
}

#[tokio::test]
async fn in_memory_stores_are_isolated_and_have_no_path() {
    let first = signing(SqliteStore::in_memory().await.expect("first"));
    let second = signing(SqliteStore::in_memory().await.expect("second"));
    let committed = first.commit(put("only-in-first")).await.expect("commit");
    assert_eq!(committed.revision, 1);
    assert!(committed.created_rollouts.is_empty());
    let config = second.load().await.expect("load");
    assert_eq!(config.revision, 0);
    assert!(config.flags.is_empty());
    assert_eq!(first.path(), None);
}

#[tokio::test]
async fn open_creates_a_missing_nested_data_dir() {
    let base = tempfile::tempdir().expect("tempdir");
    let data_dir = base.path().join("a").join("b");
    let store = signing(SqliteStore::open(&data_dir).await.expect("open"));
    assert!(data_dir.join(DATABASE_FILE).is_file());
    assert_eq!(store.load().await.expect("load").revision, 0);
}

#[tokio::test]
async fn open_fails_with_an_io_error_naming_a_data_dir_that_is_a_file() {
    let base = tempfile::tempdir().expect("tempdir");
    let not_a_dir = base.path().join("file");
    std::fs::write(&not_a_dir, "x").expect("write");
    let error = SqliteStore::open(&not_a_dir)
        .await
        .expect_err("a file is not a data dir");
    assert!(
        matches!(&error, StoreError::Io { path, .. } if path == &not_a_dir),
        "got {error:?}"
    );
    assert!(
        error.to_string().contains(&not_a_dir.display().to_string()),
        "{error}"
    );
}

/// Two stores on one file stand for two processes: `BEGIN IMMEDIATE` must keep them from
/// reading the same revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_still_hand_out_every_revision_once() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let first = signing(SqliteStore::open(data_dir.path()).await.expect("first"));
    let second = signing(SqliteStore::open(data_dir.path()).await.expect("second"));
    let tasks: Vec<_> = [first, second]
        .into_iter()
        .enumerate()
        .map(|(n, store)| {
            tokio::spawn(async move {
                let mut revisions = Vec::new();
                for _ in 0..20 {
                    revisions.push(
                        store
                            .commit(put(&format!("store-{n}")))
                            .await
                            .expect("commit")
                            .revision,
                    );
                }
                revisions
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("task"));
    }
    all.sort_unstable();
    assert_eq!(all, (1..=40).collect::<Vec<u64>>());
}

async fn corrupt_flag_body(body: &str) -> StoreError {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let store = signing(SqliteStore::open(data_dir.path()).await.expect("open"));
    store.commit(put("fine")).await.expect("commit");
    store.commit(put("broken")).await.expect("commit");
    let mut raw = raw_connection(data_dir.path()).await;
    sqlx::query("UPDATE flags SET body = $1 WHERE key = 'broken'")
        .bind(body)
        .execute(&mut raw)
        .await
        .expect("corrupt the row");
    store
        .load()
        .await
        .expect_err("a corrupt body fails the load")
}

#[tokio::test]
async fn a_flag_body_that_does_not_parse_fails_load_naming_the_flag() {
    let error = corrupt_flag_body("{not json").await;
    assert!(
        matches!(&error, StoreError::Corrupt { what, .. } if what == "flag `broken`"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("stored flag `broken` is corrupt: "),
        "{error}"
    );
}

#[tokio::test]
async fn a_flag_body_that_fails_validation_fails_load_naming_the_flag() {
    let mut spec = FlagSpec::boolean("broken");
    spec.default_variant = "missing".to_owned();
    let error = corrupt_flag_body(&serde_json::to_string(&spec).expect("json")).await;
    assert!(
        matches!(&error, StoreError::Corrupt { what, reason } if what == "flag `broken`" && reason.contains("default_variant")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_flag_body_for_another_key_fails_load() {
    let body = serde_json::to_string(&FlagSpec::boolean("fine")).expect("json");
    let error = corrupt_flag_body(&body).await;
    assert!(
        matches!(&error, StoreError::Corrupt { what, reason } if what == "flag `broken`" && reason.contains("`fine`")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_corrupt_history_body_fails_history_naming_the_revision() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let store = signing(SqliteStore::open(data_dir.path()).await.expect("open"));
    store.commit(put("x")).await.expect("commit");
    let mut raw = raw_connection(data_dir.path()).await;
    sqlx::query("UPDATE flag_history SET body = 'nope' WHERE key = 'x'")
        .execute(&mut raw)
        .await
        .expect("corrupt the row");
    let error = store.flag_history("x").await.expect_err("corrupt history");
    assert!(
        matches!(&error, StoreError::Corrupt { what, .. } if what == "flag `x` history at revision 1"),
        "{error:?}"
    );
}

fn create_rollout(flag: &str, active: bool) -> ChangeSet {
    ChangeSet::new(
        "test",
        now_millis(),
        vec![Change::CreateRollout {
            flag: flag.to_owned(),
            plan: serde_json::json!({ "steps": [10, 100] }),
            base: serde_json::json!({ "key": flag }),
            state: serde_json::json!({ "phase": "ramping" }),
            phase: "ramping".to_owned(),
            active,
            events: vec![NewRolloutEvent::new(
                "start",
                "pending",
                "ramping",
                serde_json::json!({}),
            )],
        }],
    )
}

#[tokio::test]
async fn a_failed_create_uses_up_no_rollout_id() {
    let store = signing(SqliteStore::in_memory().await.expect("store"));
    let first = store
        .commit(create_rollout("a", true))
        .await
        .expect("first");
    assert_eq!(first.created_rollouts, [1]);
    store
        .commit(create_rollout("a", true))
        .await
        .expect_err("a second active rollout of `a`");
    let second = store
        .commit(create_rollout("b", true))
        .await
        .expect("second");
    assert_eq!((second.revision, second.created_rollouts), (2, vec![2]));
}

/// The one-active-rollout rule and the column types hold for any writer, not just the store.
#[tokio::test]
async fn the_schema_itself_allows_one_active_rollout_per_flag_and_strict_columns() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let store = signing(SqliteStore::open(data_dir.path()).await.expect("open"));
    store
        .commit(create_rollout("a", true))
        .await
        .expect("commit");
    let mut raw = raw_connection(data_dir.path()).await;
    let insert = |active: &'static str| {
        format!(
            "INSERT INTO rollouts (flag, plan, base, state, phase, active, version, created_at, \
             created_by, updated_at, revision) \
             VALUES ('a', '{{}}', '{{}}', '{{}}', 'ramping', {active}, 1, 0, 'raw', 0, 1)"
        )
    };
    let second_active = sqlx::query(sqlx::AssertSqlSafe(insert("1")))
        .execute(&mut raw)
        .await
        .expect_err("a second active rollout of `a`");
    assert!(
        second_active
            .to_string()
            .contains("UNIQUE constraint failed: rollouts.flag"),
        "{second_active}"
    );
    sqlx::query(sqlx::AssertSqlSafe(insert("0")))
        .execute(&mut raw)
        .await
        .expect("finished rollouts are not limited");
    sqlx::query(sqlx::AssertSqlSafe(insert("'yes'")))
        .execute(&mut raw)
        .await
        .expect_err("STRICT: `active` is an INTEGER");
    sqlx::query("UPDATE rollouts SET version = 0 WHERE id = 1")
        .execute(&mut raw)
        .await
        .expect_err("versions start at 1");
    sqlx::query(
        "INSERT INTO rollout_events (rollout_id, seq, at, actor, event, from_phase, to_phase, \
         detail, revision) VALUES (1, 1, 0, 'raw', 'tick', 'a', 'b', '{}', 1)",
    )
    .execute(&mut raw)
    .await
    .expect_err("seq is unique per rollout");
}

/// Corrupts one column of rollout 1 (with one event) through a raw connection.
async fn corrupt_rollout(sql: &'static str) -> (tempfile::TempDir, SqliteStore) {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let store = signing(SqliteStore::open(data_dir.path()).await.expect("open"));
    store
        .commit(create_rollout("a", true))
        .await
        .expect("commit");
    let mut raw = raw_connection(data_dir.path()).await;
    sqlx::query(sql)
        .execute(&mut raw)
        .await
        .expect("corrupt the row");
    (data_dir, store)
}

#[tokio::test]
async fn a_rollout_state_that_does_not_parse_fails_reads_naming_the_rollout() {
    let (_dir, store) =
        corrupt_rollout("UPDATE rollouts SET state = '{not json' WHERE id = 1").await;
    for error in [
        store.rollout(1).await.expect_err("corrupt state"),
        store
            .rollouts(None, false)
            .await
            .expect_err("corrupt state"),
        store
            .rollouts(Some("a"), true)
            .await
            .expect_err("corrupt state"),
    ] {
        assert!(
            matches!(&error, StoreError::Corrupt { what, reason } if what == "rollout `1`" && reason.contains("state")),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .starts_with("stored rollout `1` is corrupt: its state is not valid JSON"),
            "{error}"
        );
    }
    assert_eq!(
        store
            .rollout_events(1)
            .await
            .expect("events are fine")
            .len(),
        1
    );
}

#[tokio::test]
async fn a_rollout_event_detail_that_does_not_parse_fails_events_naming_it() {
    let (_dir, store) =
        corrupt_rollout("UPDATE rollout_events SET detail = 'nope' WHERE rollout_id = 1").await;
    let error = store.rollout_events(1).await.expect_err("corrupt detail");
    assert!(
        matches!(&error, StoreError::Corrupt { what, reason } if what == "rollout `1` event 1" && reason.contains("detail")),
        "{error:?}"
    );
    assert!(
        store
            .rollout(1)
            .await
            .expect("the rollout is fine")
            .is_some()
    );
}

mod damaged_file {
    //! A damaged database file, for real: `open` refuses it, naming the file and what to do,
    //! before anything is written to it.

    use std::path::{Path, PathBuf};

    use rampart_model::{Flag, FlagSpec};
    use rampart_store::sqlite::DATABASE_FILE;
    use rampart_store::{Change, ChangeSet, Precondition, SqliteStore, Store, StoreError};

    const PAGE: usize = 4096;

    /// A closed data dir with 60 flags (one commit each, so 60 ledger entries over several
    /// pages); returns the database file.
    async fn populated(dir: &Path) -> PathBuf {
        let store = SqliteStore::open(dir).await.expect("open");
        store.set_ledger_signer(rampart_ledger::Signer::from_seed([9; 32]));
        for i in 0..60 {
            let spec = FlagSpec {
                description: Some(format!("flag {i}: {}", "words ".repeat(20))),
                ..FlagSpec::boolean(format!("flag-{i}"))
            };
            let change = Change::PutFlag {
                flag: Flag::try_new(spec).expect("valid flag"),
                expected: Precondition::MustNotExist,
            };
            store
                .commit(ChangeSet::new("test", super::now_millis(), vec![change]))
                .await
                .expect("commit");
        }
        store.close().await;
        let file = dir.join(DATABASE_FILE);
        assert!(
            !dir.join(format!("{DATABASE_FILE}-wal")).exists(),
            "closing checkpoints the WAL into the file"
        );
        file
    }

    /// Opens and expects `DatabaseCorrupt` naming `file`; returns its message.
    async fn refused(dir: &Path, file: &Path) -> String {
        match SqliteStore::open(dir).await {
            Err(StoreError::DatabaseCorrupt { path, detail }) => {
                assert_eq!(path, file);
                let message = StoreError::DatabaseCorrupt {
                    path,
                    detail: detail.clone(),
                }
                .to_string();
                assert!(message.contains(&*file.to_string_lossy()), "{message}");
                assert!(
                    message.contains("restore the data dir from a backup"),
                    "{message}"
                );
                detail
            }
            Err(other) => panic!("expected DatabaseCorrupt, got {other:?}"),
            Ok(_) => panic!("a damaged file was opened"),
        }
    }

    fn page_of(number: usize) -> std::ops::Range<usize> {
        (number - 1) * PAGE..number * PAGE
    }

    /// Big-endian u32 at `at`.
    fn be32(bytes: &[u8], at: usize) -> usize {
        u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize
    }

    #[tokio::test]
    async fn a_file_with_an_overwritten_header_is_refused_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = populated(dir.path()).await;
        let mut bytes = std::fs::read(&file).expect("read");
        bytes[..100].fill(0xA5);
        std::fs::write(&file, &bytes).expect("write");
        let detail = refused(dir.path(), &file).await;
        assert!(detail.contains("file is not a database"), "{detail}");
        assert_eq!(
            std::fs::read(&file).expect("read"),
            bytes,
            "nothing written"
        );
    }

    #[tokio::test]
    async fn a_truncated_file_is_refused_even_when_sqlite_would_take_it_for_a_new_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = populated(dir.path()).await;
        let length = std::fs::metadata(&file).expect("metadata").len();
        let bytes = std::fs::read(&file).expect("read");

        std::fs::write(&file, &bytes[..bytes.len() / 2]).expect("truncate to half");
        let detail = refused(dir.path(), &file).await;
        assert!(detail.contains("malformed"), "{detail}");

        // SQLite takes a file shorter than a page for an empty database and would write a
        // fresh schema over it; `open` refuses it first.
        for short in [0, 80] {
            std::fs::write(&file, &bytes[..short]).expect("truncate");
            let detail = refused(dir.path(), &file).await;
            assert!(
                detail.contains(&format!("it is {short} bytes long")),
                "{detail}"
            );
            assert_eq!(
                std::fs::metadata(&file).expect("metadata").len(),
                short as u64
            );
        }
        assert!(
            length > 4 * PAGE as u64,
            "the fixture spans pages: {length}"
        );
    }

    /// Bytes flipped in the middle of a ledger page: SQLite opens the file and reads the
    /// config without noticing (the ledger is not read at open); `quick_check` finds it.
    #[tokio::test]
    async fn bytes_flipped_in_the_middle_of_a_page_are_found_by_the_start_up_check() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = populated(dir.path()).await;
        let root: i64 = {
            let mut conn = super::raw_connection(dir.path()).await;
            sqlx::query_scalar("SELECT rootpage FROM sqlite_master WHERE name = 'ledger'")
                .fetch_one(&mut conn)
                .await
                .expect("ledger root page")
        };
        let mut bytes = std::fs::read(&file).expect("read");
        let root = page_of(usize::try_from(root).expect("page number"));
        assert_eq!(
            bytes[root.start], 0x05,
            "the ledger spans pages: an interior root"
        );
        // The root's right-most child, a leaf full of entries.
        let leaf = page_of(be32(&bytes, root.start + 8));
        assert_eq!(bytes[leaf.start], 0x0d, "a table leaf page");
        // The cell that starts nearest the page's middle: flip its first 8 bytes (its
        // payload size, rowid and record header).
        let cells = usize::from(u16::from_be_bytes([
            bytes[leaf.start + 3],
            bytes[leaf.start + 4],
        ]));
        let middle = (0..cells)
            .map(|i| {
                let at = leaf.start + 8 + 2 * i;
                usize::from(u16::from_be_bytes([bytes[at], bytes[at + 1]]))
            })
            .min_by_key(|offset| offset.abs_diff(PAGE / 2))
            .expect("cells");
        for byte in &mut bytes[leaf.start + middle..leaf.start + middle + 8] {
            *byte ^= 0xFF;
        }
        std::fs::write(&file, &bytes).expect("write");

        {
            let mut conn = super::raw_connection(dir.path()).await;
            let revision: i64 = sqlx::query_scalar("SELECT revision FROM config")
                .fetch_one(&mut conn)
                .await
                .expect("SQLite alone does not notice");
            assert_eq!(revision, 60);
        }
        let detail = refused(dir.path(), &file).await;
        assert!(detail.starts_with("PRAGMA quick_check found"), "{detail}");
        assert!(!detail.contains('\n'), "one line: {detail}");
        assert!(!detail.contains("*** in database"), "{detail}");
    }
}
