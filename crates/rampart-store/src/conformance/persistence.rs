//! The reopen check: what one store committed, the next store on the same data reads.

use std::future::Future;

use crate::change::Precondition;
use crate::store::{HistoryOp, Store};

use super::fixtures::{commit, delete_flag, flag, put_flag, put_segment, segment};

/// Commits through one store, drops it, then checks a store from a second `open()` call
/// (the same backing data) sees the same revision, objects, metadata and history, and
/// continues the revision sequence.
pub async fn check_persistence<S, F, Fut>(mut open: F)
where
    S: Store,
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
{
    let first = open().await;
    commit(
        &first,
        "alice",
        vec![
            put_flag(flag("checkout", 1), Precondition::MustNotExist),
            put_flag(flag("doomed", 1), Precondition::MustNotExist),
            put_segment(segment("beta", 1), Precondition::MustNotExist),
        ],
    )
    .await;
    commit(
        &first,
        "bob",
        vec![put_flag(flag("checkout", 2), Precondition::Revision(1))],
    )
    .await;
    commit(
        &first,
        "bob",
        vec![delete_flag("doomed", Precondition::MustExist)],
    )
    .await;
    let before = first.load().await.expect("load before reopening");
    let history_before = first.flag_history("checkout").await.expect("history");
    drop(first);

    let second = open().await;
    let after = second.load().await.expect("load after reopening");
    assert_eq!(after.revision, 3, "the revision survives reopening");
    let keys: Vec<_> = after
        .flags
        .iter()
        .map(|stored| stored.value.key())
        .collect();
    assert_eq!(keys, ["checkout"]);
    let (old, new) = (&before.flags[0], &after.flags[0]);
    assert_eq!(new.value, flag("checkout", 2));
    assert_eq!(
        (
            old.revision,
            old.created_at,
            old.updated_at,
            &old.updated_by
        ),
        (
            new.revision,
            new.created_at,
            new.updated_at,
            &new.updated_by
        ),
        "metadata survives reopening"
    );
    assert_eq!(
        after.segment("beta").expect("beta").value,
        segment("beta", 1)
    );
    assert_eq!(
        second.flag_history("checkout").await.expect("history"),
        history_before
    );
    let doomed: Vec<_> = second
        .flag_history("doomed")
        .await
        .expect("history")
        .iter()
        .map(|e| e.op)
        .collect();
    assert_eq!(doomed, [HistoryOp::Created, HistoryOp::Deleted]);

    let next = commit(
        &second,
        "carol",
        vec![put_flag(flag("checkout", 3), Precondition::Revision(2))],
    )
    .await;
    assert_eq!(next, 4, "revisions continue where they stopped");
}
