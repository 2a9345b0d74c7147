//! The reopen check: what one store committed, the next store on the same data reads.

use std::future::Future;

use serde_json::json;

use crate::change::Precondition;
use crate::error::StoreError;
use crate::store::{HistoryOp, Store};

use super::fixtures::{
    commit, commit_err, committed, create_rollout, delete_flag, event, flag, put_flag, put_segment,
    segment, update_rollout,
};

/// Commits through one store, drops it, then checks a store from a second `open()` call
/// (the same backing data) sees the same revision, objects, metadata, history, rollouts and
/// rollout events, and continues the revision, rollout version and event sequences.
pub async fn check_persistence<S, F, Fut>(mut open: F)
where
    S: Store,
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
{
    let first = open().await;
    first.set_ledger_signer(super::test_signer());
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
    let created = committed(
        &first,
        "carol",
        vec![
            create_rollout("checkout", "ramping", true),
            create_rollout("checkout", "aborted", false),
        ],
    )
    .await;
    assert_eq!(created.created_rollouts, [1, 2]);
    commit(
        &first,
        "carol",
        vec![update_rollout(
            1,
            1,
            "ramping",
            1,
            true,
            vec![event("tick", "ramping", "ramping", json!({ "step": 1 }))],
        )],
    )
    .await;
    let before = first.load().await.expect("load before reopening");
    let history_before = first.flag_history("checkout").await.expect("history");
    let rollouts_before = first.rollouts(None, false).await.expect("rollouts");
    let events_before = first.rollout_events(1).await.expect("events");
    drop(first);

    let second = open().await;
    let after = second.load().await.expect("load after reopening");
    assert_eq!(after.revision, 5, "the revision survives reopening");
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

    let rollouts_after = second.rollouts(None, false).await.expect("rollouts");
    assert_eq!(
        rollouts_after, rollouts_before,
        "rollouts survive reopening"
    );
    assert_eq!(
        rollouts_after.iter().map(|r| r.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(
        second.rollout_events(1).await.expect("events"),
        events_before,
        "rollout events survive reopening"
    );
    assert_eq!(events_before.len(), 2);

    let next = commit(
        &second,
        "carol",
        vec![put_flag(flag("checkout", 3), Precondition::Revision(2))],
    )
    .await;
    assert_eq!(next, 6, "revisions continue where they stopped");

    let error = commit_err(
        &second,
        "dave",
        vec![create_rollout("checkout", "ramping", true)],
    )
    .await;
    assert!(
        matches!(
            &error,
            StoreError::AlreadyExists {
                kind: "rollout",
                ..
            }
        ),
        "one active rollout per flag survives reopening: {error:?}"
    );
    commit(
        &second,
        "dave",
        vec![update_rollout(
            1,
            2,
            "completed",
            3,
            false,
            vec![event("complete", "ramping", "completed", json!({}))],
        )],
    )
    .await;
    let seqs: Vec<_> = second
        .rollout_events(1)
        .await
        .expect("events")
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [1, 2, 3], "versions and event seqs continue");
    let again = committed(
        &second,
        "dave",
        vec![create_rollout("checkout", "ramping", true)],
    )
    .await;
    assert!(
        again.created_rollouts[0] > 2,
        "rollout ids continue: {again:?}"
    );
}
