//! Cases: create, read, update, preconditions and their errors, empty change sets.

use std::sync::Arc;

use crate::change::Precondition;
use crate::error::StoreError;
use crate::store::Store;

use super::fixtures::{
    assert_time_between, commit, commit_err, delete_flag, flag, flag_keys, now_millis, put_flag,
    put_segment, revision, segment,
};

pub(super) async fn fresh_store_is_empty_at_revision_zero(store: Arc<dyn Store>) {
    let config = store.load().await.expect("load");
    assert_eq!(config.revision, 0);
    assert!(config.flags.is_empty(), "a fresh store has no flags");
    assert!(config.segments.is_empty(), "a fresh store has no segments");
    assert!(
        store
            .flag_history("never")
            .await
            .expect("history")
            .is_empty()
    );
    assert!(
        store
            .segment_history("never")
            .await
            .expect("history")
            .is_empty()
    );
}

pub(super) async fn create_then_load_lists_every_object_with_metadata(store: Arc<dyn Store>) {
    let before = now_millis();
    let created = commit(
        &*store,
        "alice",
        vec![
            put_flag(flag("zebra", 1), Precondition::MustNotExist),
            put_flag(flag("apple", 1), Precondition::MustNotExist),
            put_segment(segment("beta", 1), Precondition::MustNotExist),
        ],
    )
    .await;
    let after = now_millis();
    assert_eq!(created, 1, "the first commit is revision 1");

    let config = store.load().await.expect("load");
    assert_eq!(config.revision, 1);
    assert_eq!(
        flag_keys(&*store).await,
        ["apple", "zebra"],
        "flags are listed by key"
    );
    for stored in &config.flags {
        assert_eq!(
            stored.value,
            flag(stored.value.key(), 1),
            "the stored flag is what was put"
        );
        assert_eq!(stored.revision, 1);
        assert_eq!(stored.updated_by, "alice");
        assert_eq!(
            stored.created_at, stored.updated_at,
            "a new flag was created when updated"
        );
        assert_time_between(stored.created_at, before, after);
    }
    let beta = config.segment("beta").expect("segment `beta` is listed");
    assert_eq!(beta.value, segment("beta", 1));
    assert_eq!((beta.revision, beta.updated_by.as_str()), (1, "alice"));
    assert_time_between(beta.updated_at, before, after);
    assert!(config.flag("beta").is_none(), "a segment is not a flag");
}

pub(super) async fn create_twice_fails_with_already_exists(store: Arc<dyn Store>) {
    commit(
        &*store,
        "alice",
        vec![put_flag(flag("checkout", 1), Precondition::MustNotExist)],
    )
    .await;
    let error = commit_err(
        &*store,
        "bob",
        vec![put_flag(flag("checkout", 2), Precondition::MustNotExist)],
    )
    .await;
    assert!(
        matches!(&error, StoreError::AlreadyExists { kind: "flag", key } if key == "checkout"),
        "got {error:?}"
    );
    assert_eq!(error.to_string(), "flag `checkout` already exists");

    let config = store.load().await.expect("load");
    assert_eq!(
        config.revision, 1,
        "a failed commit does not bump the revision"
    );
    let stored = config.flag("checkout").expect("flag still there");
    assert_eq!(
        stored.value,
        flag("checkout", 1),
        "the first version is kept"
    );
    assert_eq!(stored.updated_by, "alice");
}

pub(super) async fn update_with_matching_revision_bumps_by_exactly_one(store: Arc<dyn Store>) {
    commit(
        &*store,
        "alice",
        vec![put_flag(flag("checkout", 1), Precondition::MustNotExist)],
    )
    .await;
    commit(
        &*store,
        "alice",
        vec![put_flag(flag("search", 1), Precondition::MustNotExist)],
    )
    .await;
    let created = store.load().await.expect("load");
    let created_at = created.flag("checkout").expect("checkout").created_at;

    let updated = commit(
        &*store,
        "bob",
        vec![put_flag(flag("checkout", 2), Precondition::Revision(1))],
    )
    .await;
    assert_eq!(updated, 3, "revision 2 + one commit");

    let config = store.load().await.expect("load");
    assert_eq!(config.revision, 3);
    let checkout = config.flag("checkout").expect("checkout");
    assert_eq!(checkout.value, flag("checkout", 2));
    assert_eq!(
        checkout.revision, 3,
        "the changed flag takes the commit's revision"
    );
    assert_eq!(
        checkout.created_at, created_at,
        "an update keeps the creation time"
    );
    assert!(checkout.updated_at >= checkout.created_at);
    assert_eq!(checkout.updated_by, "bob");
    let search = config.flag("search").expect("search");
    assert_eq!(
        search.revision, 2,
        "an untouched flag keeps its own revision"
    );
    assert_eq!(search.updated_by, "alice");

    let again = commit(
        &*store,
        "carol",
        vec![put_flag(flag("checkout", 3), Precondition::MustExist)],
    )
    .await;
    assert_eq!(again, 4, "MustExist updates an existing flag");
}

pub(super) async fn stale_if_match_fails_with_conflict(store: Arc<dyn Store>) {
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
    let error = commit_err(
        &*store,
        "carol",
        vec![put_flag(flag("checkout", 3), Precondition::Revision(1))],
    )
    .await;
    assert!(
        matches!(
            &error,
            StoreError::Conflict { kind: "flag", key, expected: 1, actual: 2 } if key == "checkout"
        ),
        "got {error:?}"
    );
    assert_eq!(
        error.to_string(),
        "flag `checkout` changed: If-Match revision 1, current revision 2"
    );
    let config = store.load().await.expect("load");
    assert_eq!(config.revision, 2);
    assert_eq!(
        config.flag("checkout").expect("checkout").value,
        flag("checkout", 2)
    );
}

pub(super) async fn missing_object_fails_must_exist_and_if_match(store: Arc<dyn Store>) {
    let changes = [
        put_flag(flag("ghost", 1), Precondition::MustExist),
        put_flag(flag("ghost", 1), Precondition::Revision(1)),
        delete_flag("ghost", Precondition::MustExist),
        delete_flag("ghost", Precondition::Revision(1)),
    ];
    for change in changes {
        let description = format!("{change:?}");
        let error = commit_err(&*store, "alice", vec![change]).await;
        assert!(
            matches!(&error, StoreError::NotFound { kind: "flag", key } if key == "ghost"),
            "{description}: got {error:?}"
        );
        assert_eq!(error.to_string(), "flag `ghost` not found");
    }
    assert_eq!(revision(&*store).await, 0);
    assert!(flag_keys(&*store).await.is_empty());
    assert!(
        store
            .flag_history("ghost")
            .await
            .expect("history")
            .is_empty()
    );
}

pub(super) async fn unconditional_put_and_delete_upsert_and_tolerate_absence(
    store: Arc<dyn Store>,
) {
    assert_eq!(
        commit(
            &*store,
            "a",
            vec![put_flag(flag("x", 1), Precondition::None)]
        )
        .await,
        1
    );
    assert_eq!(
        commit(
            &*store,
            "a",
            vec![put_flag(flag("x", 2), Precondition::None)]
        )
        .await,
        2
    );
    let config = store.load().await.expect("load");
    assert_eq!(
        config.flag("x").expect("x").value,
        flag("x", 2),
        "None replaces"
    );

    // Deleting something absent without a precondition succeeds and records nothing for it;
    // it is still a commit, so the revision moves on.
    assert_eq!(
        commit(
            &*store,
            "a",
            vec![delete_flag("absent", Precondition::None)]
        )
        .await,
        3
    );
    assert!(
        store
            .flag_history("absent")
            .await
            .expect("history")
            .is_empty()
    );
    assert_eq!(
        commit(&*store, "a", vec![delete_flag("x", Precondition::None)]).await,
        4
    );
    assert!(
        flag_keys(&*store).await.is_empty(),
        "None deletes an existing flag"
    );
}

pub(super) async fn empty_change_set_returns_current_revision_without_bumping(
    store: Arc<dyn Store>,
) {
    assert_eq!(
        commit(&*store, "alice", Vec::new()).await,
        0,
        "nothing committed yet"
    );
    commit(
        &*store,
        "alice",
        vec![put_flag(flag("x", 1), Precondition::None)],
    )
    .await;
    assert_eq!(commit(&*store, "alice", Vec::new()).await, 1);
    assert_eq!(commit(&*store, "alice", Vec::new()).await, 1);
    assert_eq!(
        revision(&*store).await,
        1,
        "empty change sets do not bump the revision"
    );
    assert_eq!(
        commit(
            &*store,
            "alice",
            vec![put_flag(flag("x", 2), Precondition::None)]
        )
        .await,
        2
    );
}
