//! Cases: deletion, history of every version, segments, one revision per change set.

use std::sync::Arc;

use crate::change::Precondition;
use crate::error::StoreError;
use crate::store::{HistoryOp, Store};

use super::fixtures::{
    commit, commit_err, delete_flag, delete_segment, flag, flag_keys, put_flag, put_segment,
    revision, segment,
};

pub(super) async fn delete_then_history_shows_every_version(store: Arc<dyn Store>) {
    commit(
        &*store,
        "alice",
        vec![put_flag(flag("checkout", 1), Precondition::MustNotExist)],
    )
    .await;
    commit(
        &*store,
        "bob",
        vec![put_flag(flag("checkout", 2), Precondition::Revision(1))],
    )
    .await;
    let deleted = commit(
        &*store,
        "carol",
        vec![delete_flag("checkout", Precondition::Revision(2))],
    )
    .await;
    assert_eq!(deleted, 3);
    assert!(
        flag_keys(&*store).await.is_empty(),
        "a deleted flag is not listed"
    );

    let history = store.flag_history("checkout").await.expect("history");
    let summary: Vec<_> = history
        .iter()
        .map(|entry| (entry.revision, entry.actor.as_str(), entry.op))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "alice", HistoryOp::Created),
            (2, "bob", HistoryOp::Updated),
            (3, "carol", HistoryOp::Deleted)
        ]
    );
    assert_eq!(history[0].value.as_ref(), Some(flag("checkout", 1).spec()));
    assert_eq!(history[1].value.as_ref(), Some(flag("checkout", 2).spec()));
    assert_eq!(history[2].value, None, "a deletion has no body");
    assert!(
        history.windows(2).all(|pair| pair[0].at <= pair[1].at),
        "times never go back"
    );

    // The key can be reused; its history goes on.
    commit(
        &*store,
        "dave",
        vec![put_flag(flag("checkout", 4), Precondition::MustNotExist)],
    )
    .await;
    let config = store.load().await.expect("load");
    let recreated = config.flag("checkout").expect("recreated");
    assert_eq!(recreated.revision, 4);
    assert!(
        recreated.created_at >= history[2].at,
        "a recreated flag gets a new creation time"
    );
    let history = store.flag_history("checkout").await.expect("history");
    assert_eq!(history.len(), 4);
    assert_eq!(
        (history[3].revision, history[3].op),
        (4, HistoryOp::Created)
    );
    assert_eq!(history[3].value.as_ref(), Some(flag("checkout", 4).spec()));
}

pub(super) async fn stale_delete_conflicts_and_keeps_the_flag(store: Arc<dyn Store>) {
    commit(
        &*store,
        "alice",
        vec![put_flag(flag("x", 1), Precondition::MustNotExist)],
    )
    .await;
    commit(
        &*store,
        "alice",
        vec![put_flag(flag("x", 2), Precondition::MustExist)],
    )
    .await;
    let error = commit_err(
        &*store,
        "bob",
        vec![delete_flag("x", Precondition::Revision(1))],
    )
    .await;
    assert!(
        matches!(
            error,
            StoreError::Conflict {
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "got {error:?}"
    );
    assert_eq!(flag_keys(&*store).await, ["x"]);
    let history = store.flag_history("x").await.expect("history");
    assert_eq!(history.len(), 2, "a failed delete records nothing");
}

pub(super) async fn segments_have_the_same_lifecycle(store: Arc<dyn Store>) {
    let put = |version, expected| put_segment(segment("beta", version), expected);
    assert_eq!(
        commit(&*store, "alice", vec![put(1, Precondition::MustNotExist)]).await,
        1
    );

    let error = commit_err(&*store, "bob", vec![put(2, Precondition::MustNotExist)]).await;
    assert!(
        matches!(&error, StoreError::AlreadyExists { kind: "segment", key } if key == "beta"),
        "got {error:?}"
    );
    assert_eq!(error.to_string(), "segment `beta` already exists");

    assert_eq!(
        commit(&*store, "bob", vec![put(2, Precondition::Revision(1))]).await,
        2
    );
    let error = commit_err(&*store, "carol", vec![put(3, Precondition::Revision(1))]).await;
    assert!(
        matches!(
            &error,
            StoreError::Conflict {
                kind: "segment",
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "got {error:?}"
    );
    assert_eq!(
        error.to_string(),
        "segment `beta` changed: If-Match revision 1, current revision 2"
    );

    let error = commit_err(
        &*store,
        "carol",
        vec![delete_segment("ghost", Precondition::MustExist)],
    )
    .await;
    assert_eq!(error.to_string(), "segment `ghost` not found");

    let config = store.load().await.expect("load");
    let stored = config.segment("beta").expect("beta");
    assert_eq!((stored.revision, stored.updated_by.as_str()), (2, "bob"));
    assert_eq!(stored.value, segment("beta", 2));

    assert_eq!(
        commit(
            &*store,
            "dave",
            vec![delete_segment("beta", Precondition::Revision(2))]
        )
        .await,
        3
    );
    assert!(store.load().await.expect("load").segments.is_empty());
    let history = store.segment_history("beta").await.expect("history");
    let summary: Vec<_> = history
        .iter()
        .map(|entry| (entry.revision, entry.actor.as_str(), entry.op))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "alice", HistoryOp::Created),
            (2, "bob", HistoryOp::Updated),
            (3, "dave", HistoryOp::Deleted)
        ]
    );
    assert_eq!(history[0].value.as_ref(), Some(segment("beta", 1).spec()));
    assert_eq!(history[1].value.as_ref(), Some(segment("beta", 2).spec()));
    assert_eq!(history[2].value, None);
    assert!(
        store
            .flag_history("beta")
            .await
            .expect("history")
            .is_empty(),
        "kinds keep apart"
    );
}

pub(super) async fn one_change_set_gives_every_change_one_revision(store: Arc<dyn Store>) {
    commit(
        &*store,
        "alice",
        vec![put_flag(flag("old", 1), Precondition::None)],
    )
    .await;
    let revision_2 = commit(
        &*store,
        "bob",
        vec![
            put_segment(segment("beta", 1), Precondition::MustNotExist),
            put_flag(flag("a", 1), Precondition::MustNotExist),
            put_flag(flag("b", 1), Precondition::MustNotExist),
            delete_flag("old", Precondition::MustExist),
        ],
    )
    .await;
    assert_eq!(revision_2, 2, "four changes, one bump");
    assert_eq!(revision(&*store).await, 2);

    let config = store.load().await.expect("load");
    assert!(
        config
            .flags
            .iter()
            .all(|stored| stored.revision == 2 && stored.updated_by == "bob")
    );
    assert_eq!(config.segment("beta").expect("beta").revision, 2);
    for key in ["a", "b", "old"] {
        let history = store.flag_history(key).await.expect("history");
        let last = history.last().expect("an entry");
        assert_eq!(
            (last.revision, last.actor.as_str()),
            (2, "bob"),
            "flag {key}"
        );
    }
}
