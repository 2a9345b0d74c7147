//! Cases: a change set applies entirely or not at all, and in order.

use std::sync::Arc;

use crate::change::Precondition;
use crate::error::StoreError;
use crate::store::{HistoryOp, Store};

use super::fixtures::{
    commit, commit_err, delete_flag, flag, flag_keys, put_flag, put_segment, revision, segment,
};

pub(super) async fn failed_second_change_leaves_nothing_changed(store: Arc<dyn Store>) {
    commit(
        &*store,
        "alice",
        vec![put_flag(flag("existing", 1), Precondition::MustNotExist)],
    )
    .await;
    let error = commit_err(
        &*store,
        "bob",
        vec![
            put_flag(flag("new", 1), Precondition::None),
            put_flag(flag("existing", 2), Precondition::MustNotExist),
        ],
    )
    .await;
    assert!(
        matches!(&error, StoreError::AlreadyExists { key, .. } if key == "existing"),
        "got {error:?}"
    );
    assert_eq!(revision(&*store).await, 1, "the revision is unchanged");
    assert_eq!(
        flag_keys(&*store).await,
        ["existing"],
        "the first change was not applied"
    );
    assert!(store.flag_history("new").await.expect("history").is_empty());
    let config = store.load().await.expect("load");
    assert_eq!(
        config.flag("existing").expect("existing").value,
        flag("existing", 1)
    );
}

pub(super) async fn conflict_midway_rolls_back_every_kind_of_change(store: Arc<dyn Store>) {
    commit(
        &*store,
        "alice",
        vec![
            put_flag(flag("a", 1), Precondition::MustNotExist),
            put_segment(segment("beta", 1), Precondition::MustNotExist),
        ],
    )
    .await;
    commit(
        &*store,
        "alice",
        vec![put_flag(flag("b", 1), Precondition::MustNotExist)],
    )
    .await;
    let before = store.load().await.expect("load");

    let error = commit_err(
        &*store,
        "bob",
        vec![
            delete_flag("a", Precondition::MustExist),
            put_segment(segment("beta", 2), Precondition::Revision(1)),
            put_flag(flag("c", 1), Precondition::MustNotExist),
            put_flag(flag("b", 2), Precondition::Revision(1)),
        ],
    )
    .await;
    assert!(
        matches!(&error, StoreError::Conflict { key, expected: 1, actual: 2, .. } if key == "b"),
        "got {error:?}"
    );

    let after = store.load().await.expect("load");
    assert_eq!(after.revision, 2);
    assert_eq!(
        flag_keys(&*store).await,
        ["a", "b"],
        "`a` not deleted, `c` not created"
    );
    for (old, new) in before.flags.iter().zip(&after.flags) {
        assert_eq!((&old.value, old.revision), (&new.value, new.revision));
    }
    let beta = after.segment("beta").expect("beta");
    assert_eq!(
        (&beta.value, beta.revision),
        (&segment("beta", 1), 1),
        "segment unchanged"
    );
    assert_eq!(store.flag_history("a").await.expect("history").len(), 1);
    assert_eq!(
        store.segment_history("beta").await.expect("history").len(),
        1
    );
    assert!(store.flag_history("c").await.expect("history").is_empty());

    // The failed commit used up no revision: the next one is exactly one more.
    let next = commit(
        &*store,
        "bob",
        vec![put_flag(flag("b", 2), Precondition::Revision(2))],
    )
    .await;
    assert_eq!(next, 3);
}

pub(super) async fn changes_apply_in_order_within_a_change_set(store: Arc<dyn Store>) {
    let revision_1 = commit(
        &*store,
        "alice",
        vec![
            put_flag(flag("temp", 1), Precondition::MustNotExist),
            delete_flag("temp", Precondition::MustExist),
            put_flag(flag("kept", 1), Precondition::MustNotExist),
            put_flag(flag("kept", 2), Precondition::Revision(1)),
        ],
    )
    .await;
    assert_eq!(revision_1, 1);
    assert_eq!(flag_keys(&*store).await, ["kept"]);
    let config = store.load().await.expect("load");
    assert_eq!(
        config.flag("kept").expect("kept").value,
        flag("kept", 2),
        "the later put wins"
    );

    let temp: Vec<_> = store
        .flag_history("temp")
        .await
        .expect("history")
        .iter()
        .map(|e| (e.revision, e.op))
        .collect();
    assert_eq!(temp, [(1, HistoryOp::Created), (1, HistoryOp::Deleted)]);
    let kept: Vec<_> = store
        .flag_history("kept")
        .await
        .expect("history")
        .iter()
        .map(|e| (e.revision, e.op))
        .collect();
    assert_eq!(kept, [(1, HistoryOp::Created), (1, HistoryOp::Updated)]);
}
