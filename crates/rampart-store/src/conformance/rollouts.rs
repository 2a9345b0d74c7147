//! Cases: rollouts are created and updated in the same commits as flag changes, with ids,
//! optimistic versions, at most one active rollout per flag, and a gap-free event log.

use std::sync::Arc;

use serde_json::json;

use crate::change::Precondition;
use crate::error::StoreError;
use crate::rollout::{RolloutEvent, RolloutId, RolloutRecord};
use crate::store::{Committed, Store};

use super::fixtures::{
    assert_time_between, checkout_rollout, commit, commit_err, committed, create_rollout, event,
    flag, flag_keys, now_millis, put_flag, revision, rollout_base, rollout_plan, rollout_state,
    update_rollout,
};

pub(super) async fn rollout(store: &dyn Store, id: RolloutId) -> RolloutRecord {
    store
        .rollout(id)
        .await
        .expect("read rollout")
        .unwrap_or_else(|| panic!("rollout {id} should exist"))
}

pub(super) async fn events(store: &dyn Store, id: RolloutId) -> Vec<RolloutEvent> {
    store.rollout_events(id).await.expect("read rollout events")
}

async fn listed(store: &dyn Store, flag: Option<&str>, active_only: bool) -> Vec<RolloutId> {
    store
        .rollouts(flag, active_only)
        .await
        .expect("list rollouts")
        .iter()
        .map(|record| record.id)
        .collect()
}

pub(super) fn seqs(events: &[RolloutEvent]) -> Vec<u64> {
    events.iter().map(|event| event.seq).collect()
}

pub(super) async fn create_rollout_assigns_ids_from_one_and_stores_what_was_given(
    store: Arc<dyn Store>,
) {
    assert!(listed(&*store, None, false).await.is_empty());
    assert_eq!(store.rollout(1).await.expect("read"), None);
    assert!(events(&*store, 1).await.is_empty());

    let before = now_millis();
    let first = checkout_rollout(&*store, "alice").await;
    let after = now_millis();
    assert_time_between(first.at, before, after);
    assert_eq!(
        first,
        Committed {
            revision: 1,
            at: first.at,
            created_rollouts: vec![1]
        }
    );
    let second = committed(
        &*store,
        "bob",
        vec![
            create_rollout("search", "ramping", true),
            put_flag(flag("other", 1), Precondition::None),
            create_rollout("billing", "completed", false),
        ],
    )
    .await;
    assert_eq!(
        second,
        Committed {
            revision: 2,
            at: second.at,
            created_rollouts: vec![2, 3]
        },
        "ids in change order, one revision"
    );
    let plain = committed(
        &*store,
        "bob",
        vec![put_flag(flag("other", 2), Precondition::None)],
    )
    .await;
    assert_eq!(plain.created_rollouts, Vec::<RolloutId>::new());

    let checkout = rollout(&*store, 1).await;
    assert_eq!(
        (checkout.id, checkout.flag.as_str()),
        (1, "checkout"),
        "{checkout:?}"
    );
    assert_eq!(checkout.plan, rollout_plan("checkout"), "plan round-trips");
    assert_eq!(checkout.base, rollout_base("checkout"), "base round-trips");
    assert_eq!(
        checkout.state,
        rollout_state("ramping", 0),
        "state round-trips"
    );
    assert_eq!(
        (checkout.phase.as_str(), checkout.active),
        ("ramping", true)
    );
    assert_eq!(checkout.version, 1, "a new rollout is at version 1");
    assert_eq!(checkout.created_by, "alice");
    assert_eq!(checkout.revision, 1);
    assert_eq!(checkout.created_at, checkout.updated_at);
    assert_time_between(checkout.created_at, before, after);

    let billing = rollout(&*store, 3).await;
    assert_eq!(
        (
            billing.flag.as_str(),
            billing.phase.as_str(),
            billing.active,
            billing.version,
            billing.created_by.as_str(),
            billing.revision
        ),
        ("billing", "completed", false, 1, "bob", 2)
    );
    assert_eq!(store.rollout(4).await.expect("read"), None);

    assert_eq!(
        events(&*store, 1).await,
        [RolloutEvent {
            rollout_id: 1,
            seq: 1,
            at: checkout.created_at,
            actor: "alice".to_owned(),
            event: "start".to_owned(),
            from_phase: "pending".to_owned(),
            to_phase: "ramping".to_owned(),
            detail: json!({ "flag": "checkout" }),
            revision: 1,
        }]
    );
    assert_eq!(
        seqs(&events(&*store, 3).await),
        [1],
        "seq starts at 1 per rollout"
    );
}

pub(super) async fn second_active_rollout_on_a_flag_fails_and_leaves_nothing(
    store: Arc<dyn Store>,
) {
    checkout_rollout(&*store, "alice").await;

    let error = commit_err(
        &*store,
        "bob",
        vec![
            put_flag(flag("checkout", 2), Precondition::Revision(1)),
            create_rollout("checkout", "ramping", true),
        ],
    )
    .await;
    assert!(
        matches!(&error, StoreError::AlreadyExists { kind: "rollout", key } if key == "checkout"),
        "got {error:?}"
    );
    assert_eq!(
        error.to_string(),
        "flag `checkout` already has an active rollout"
    );
    assert_eq!(revision(&*store).await, 1, "the revision is unchanged");
    let config = store.load().await.expect("load");
    let checkout = config.flag("checkout").expect("checkout");
    assert_eq!(
        (&checkout.value, checkout.revision),
        (&flag("checkout", 1), 1),
        "the flag change in the failed set was not applied"
    );
    assert_eq!(
        store.flag_history("checkout").await.expect("history").len(),
        1
    );
    assert_eq!(listed(&*store, None, false).await, [1]);
    assert_eq!(seqs(&events(&*store, 1).await), [1]);

    // Two active rollouts of one flag in one change set fail the same way.
    let error = commit_err(
        &*store,
        "bob",
        vec![
            create_rollout("search", "ramping", true),
            create_rollout("search", "ramping", true),
        ],
    )
    .await;
    assert!(
        matches!(&error, StoreError::AlreadyExists { kind: "rollout", key } if key == "search"),
        "got {error:?}"
    );
    assert!(listed(&*store, Some("search"), false).await.is_empty());
    assert_eq!(revision(&*store).await, 1);

    let next = committed(
        &*store,
        "carol",
        vec![create_rollout("search", "ramping", true)],
    )
    .await;
    assert_eq!(next.revision, 2, "failed commits used up no revision");
    assert!(
        next.created_rollouts[0] > 1,
        "a new id is beyond every earlier one: {next:?}"
    );
}

pub(super) async fn finished_rollouts_do_not_block_a_new_active_one(store: Arc<dyn Store>) {
    let created = committed(
        &*store,
        "alice",
        vec![
            create_rollout("checkout", "completed", false),
            create_rollout("checkout", "rolled_back", false),
            create_rollout("checkout", "ramping", true),
        ],
    )
    .await;
    assert_eq!(created.created_rollouts, [1, 2, 3]);

    // Finishing the active one frees the flag for another.
    commit(
        &*store,
        "alice",
        vec![update_rollout(
            3,
            1,
            "completed",
            3,
            false,
            vec![event("complete", "ramping", "completed", json!({}))],
        )],
    )
    .await;
    let again = committed(
        &*store,
        "bob",
        vec![create_rollout("checkout", "ramping", true)],
    )
    .await;
    assert_eq!(again.created_rollouts, [4]);
    assert_eq!(listed(&*store, Some("checkout"), true).await, [4]);

    // Reactivating a finished one while another is active is a second active rollout.
    let error = commit_err(
        &*store,
        "bob",
        vec![update_rollout(1, 1, "ramping", 1, true, Vec::new())],
    )
    .await;
    assert!(
        matches!(&error, StoreError::AlreadyExists { kind: "rollout", key } if key == "checkout"),
        "got {error:?}"
    );
    let first = rollout(&*store, 1).await;
    assert_eq!((first.version, first.active), (1, false), "unchanged");
    assert_eq!(listed(&*store, Some("checkout"), true).await, [4]);
}

pub(super) async fn update_with_current_version_bumps_it_and_continues_event_seq(
    store: Arc<dyn Store>,
) {
    commit(
        &*store,
        "alice",
        vec![create_rollout("checkout", "ramping", true)],
    )
    .await;
    let created = rollout(&*store, 1).await;

    let revision_2 = commit(
        &*store,
        "bob",
        vec![update_rollout(
            1,
            1,
            "ramping",
            1,
            true,
            vec![
                event("tick", "ramping", "ramping", json!({ "step": 1 })),
                event("approve", "ramping", "ramping", json!({ "by": "bob" })),
            ],
        )],
    )
    .await;
    assert_eq!(revision_2, 2);
    let updated = rollout(&*store, 1).await;
    assert_eq!(updated.version, 2, "an update bumps the version by one");
    assert_eq!(updated.state, rollout_state("ramping", 1));
    assert_eq!(updated.revision, 2);
    assert_eq!(
        (
            &updated.plan,
            &updated.base,
            updated.created_at,
            &updated.created_by
        ),
        (
            &created.plan,
            &created.base,
            created.created_at,
            &created.created_by
        ),
        "an update keeps what the rollout was created with"
    );
    assert!(updated.updated_at >= created.updated_at);
    let log = events(&*store, 1).await;
    let names: Vec<_> = log.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["start", "tick", "approve"]);
    assert_eq!(seqs(&log), [1, 2, 3], "seq continues after the last event");

    commit(
        &*store,
        "carol",
        vec![update_rollout(1, 2, "paused", 1, true, Vec::new())],
    )
    .await;
    let paused = rollout(&*store, 1).await;
    assert_eq!(
        (paused.version, paused.phase.as_str(), paused.revision),
        (3, "paused", 3)
    );
    assert_eq!(
        seqs(&events(&*store, 1).await),
        [1, 2, 3],
        "no events, none added"
    );

    commit(
        &*store,
        "dave",
        vec![update_rollout(
            1,
            3,
            "completed",
            3,
            false,
            vec![event("complete", "paused", "completed", json!(null))],
        )],
    )
    .await;
    let done = rollout(&*store, 1).await;
    assert_eq!(
        (done.version, done.phase.as_str(), done.active),
        (4, "completed", false)
    );
    let log = events(&*store, 1).await;
    assert_eq!(seqs(&log), [1, 2, 3, 4]);
    let last = log.last().expect("an event");
    assert_eq!(
        (last.actor.as_str(), last.revision, &last.detail),
        ("dave", 4, &json!(null))
    );
}

pub(super) async fn stale_rollout_version_fails_with_conflict(store: Arc<dyn Store>) {
    commit(
        &*store,
        "alice",
        vec![create_rollout("checkout", "ramping", true)],
    )
    .await;
    commit(
        &*store,
        "bob",
        vec![update_rollout(1, 1, "ramping", 1, true, Vec::new())],
    )
    .await;
    let before = rollout(&*store, 1).await;

    for stale in [1, 5] {
        let error = commit_err(
            &*store,
            "carol",
            vec![update_rollout(
                1,
                stale,
                "rolled_back",
                0,
                false,
                vec![event("rollback", "ramping", "rolled_back", json!({}))],
            )],
        )
        .await;
        assert!(
            matches!(
                &error,
                StoreError::Conflict { kind: "rollout", key, expected, actual: 2 }
                    if key == "1" && *expected == stale
            ),
            "got {error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("rollout `1` changed: expected version {stale}, current version 2")
        );
    }
    assert_eq!(
        rollout(&*store, 1).await,
        before,
        "the rollout is unchanged"
    );
    assert_eq!(seqs(&events(&*store, 1).await), [1]);
    assert_eq!(revision(&*store).await, 2);
}

pub(super) async fn update_of_missing_rollout_fails_with_not_found(store: Arc<dyn Store>) {
    let error = commit_err(
        &*store,
        "alice",
        vec![update_rollout(42, 1, "ramping", 1, true, Vec::new())],
    )
    .await;
    assert!(
        matches!(&error, StoreError::NotFound { kind: "rollout", key } if key == "42"),
        "got {error:?}"
    );
    assert_eq!(error.to_string(), "rollout `42` not found");
    assert_eq!(revision(&*store).await, 0);
    assert!(listed(&*store, None, false).await.is_empty());
    assert!(events(&*store, 42).await.is_empty());

    commit(
        &*store,
        "alice",
        vec![create_rollout("checkout", "ramping", true)],
    )
    .await;
    for id in [2, RolloutId::MAX] {
        let error = commit_err(
            &*store,
            "alice",
            vec![update_rollout(
                id,
                1,
                "ramping",
                1,
                true,
                vec![event("tick", "ramping", "ramping", json!({}))],
            )],
        )
        .await;
        assert!(
            matches!(&error, StoreError::NotFound { kind: "rollout", key } if *key == id.to_string()),
            "got {error:?}"
        );
        assert!(events(&*store, id).await.is_empty());
        assert_eq!(store.rollout(id).await.expect("read"), None);
    }
    assert_eq!(revision(&*store).await, 1);
}

pub(super) async fn failed_rollout_update_rolls_back_the_flag_change(store: Arc<dyn Store>) {
    checkout_rollout(&*store, "alice").await;
    let rollout_before = rollout(&*store, 1).await;
    let tick = || vec![event("tick", "ramping", "ramping", json!({ "step": 1 }))];

    // The flag change is fine; the rollout update after it is stale.
    let error = commit_err(
        &*store,
        "bob",
        vec![
            put_flag(flag("checkout", 2), Precondition::Revision(1)),
            update_rollout(1, 7, "ramping", 1, true, tick()),
        ],
    )
    .await;
    assert!(
        matches!(
            &error,
            StoreError::Conflict {
                kind: "rollout",
                expected: 7,
                actual: 1,
                ..
            }
        ),
        "got {error:?}"
    );
    assert_checkout_unchanged(&*store, &rollout_before).await;

    // The rollout update is fine; the flag change after it is stale.
    let error = commit_err(
        &*store,
        "bob",
        vec![
            update_rollout(1, 1, "ramping", 1, true, tick()),
            put_flag(flag("checkout", 2), Precondition::Revision(9)),
        ],
    )
    .await;
    assert!(
        matches!(&error, StoreError::Conflict { kind: "flag", .. }),
        "got {error:?}"
    );
    assert_checkout_unchanged(&*store, &rollout_before).await;

    // A new flag and a missing rollout.
    let error = commit_err(
        &*store,
        "bob",
        vec![
            put_flag(flag("search", 1), Precondition::MustNotExist),
            update_rollout(9, 1, "ramping", 1, true, tick()),
        ],
    )
    .await;
    assert!(
        matches!(
            &error,
            StoreError::NotFound {
                kind: "rollout",
                ..
            }
        ),
        "got {error:?}"
    );
    assert!(
        store
            .flag_history("search")
            .await
            .expect("history")
            .is_empty()
    );
    assert_checkout_unchanged(&*store, &rollout_before).await;

    // Both fine: applied together at one revision.
    let revision_2 = commit(
        &*store,
        "bob",
        vec![
            put_flag(flag("checkout", 2), Precondition::Revision(1)),
            update_rollout(1, 1, "ramping", 1, true, tick()),
        ],
    )
    .await;
    assert_eq!(revision_2, 2);
    let config = store.load().await.expect("load");
    let checkout = config.flag("checkout").expect("checkout");
    assert_eq!(
        (&checkout.value, checkout.revision),
        (&flag("checkout", 2), 2)
    );
    let updated = rollout(&*store, 1).await;
    assert_eq!((updated.version, updated.revision), (2, 2));
    assert_eq!(
        updated.updated_at, checkout.updated_at,
        "one commit, one time"
    );
    assert_eq!(seqs(&events(&*store, 1).await), [1, 2]);
}

/// After a failed commit: revision 1, flag `checkout` at version 1, rollout 1 as `before`.
async fn assert_checkout_unchanged(store: &dyn Store, before: &RolloutRecord) {
    assert_eq!(revision(store).await, 1, "the revision is unchanged");
    let config = store.load().await.expect("load");
    let checkout = config.flag("checkout").expect("checkout");
    assert_eq!(
        (&checkout.value, checkout.revision),
        (&flag("checkout", 1), 1),
        "the flag is unchanged"
    );
    assert_eq!(
        store.flag_history("checkout").await.expect("history").len(),
        1
    );
    assert_eq!(flag_keys(store).await, ["checkout"]);
    assert_eq!(&rollout(store, 1).await, before, "the rollout is unchanged");
    assert_eq!(seqs(&events(store, 1).await), [1]);
}

pub(super) async fn listing_filters_by_flag_and_active_newest_first(store: Arc<dyn Store>) {
    commit(
        &*store,
        "alice",
        vec![create_rollout("a", "completed", false)],
    )
    .await;
    commit(&*store, "alice", vec![create_rollout("b", "ramping", true)]).await;
    let both = committed(
        &*store,
        "alice",
        vec![
            create_rollout("a", "ramping", true),
            create_rollout("c", "aborted", false),
        ],
    )
    .await;
    assert_eq!(both.created_rollouts, [3, 4]);

    assert_eq!(
        listed(&*store, None, false).await,
        [4, 3, 2, 1],
        "newest first"
    );
    assert_eq!(listed(&*store, Some("a"), false).await, [3, 1]);
    assert_eq!(listed(&*store, None, true).await, [3, 2]);
    assert_eq!(listed(&*store, Some("a"), true).await, [3]);
    assert_eq!(listed(&*store, Some("c"), false).await, [4]);
    assert!(listed(&*store, Some("c"), true).await.is_empty());
    assert!(listed(&*store, Some("zzz"), false).await.is_empty());
    assert!(
        listed(&*store, Some(""), false).await.is_empty(),
        "an empty flag filter matches no rollout, it is not `all`"
    );

    for record in store.rollouts(None, false).await.expect("list") {
        assert_eq!(
            rollout(&*store, record.id).await,
            record,
            "a listed rollout is the one read by id"
        );
    }
    let active = store.rollouts(None, true).await.expect("list");
    assert!(active.iter().all(|record| record.active), "{active:?}");
    let phases: Vec<_> = active.iter().map(|r| r.phase.as_str()).collect();
    assert_eq!(phases, ["ramping", "ramping"]);
}

/// Pages of the listing concatenate to the whole listing, newest first, under every filter.
pub(super) async fn rollout_pages_walk_the_listing_newest_first(store: Arc<dyn Store>) {
    let mut changes = Vec::new();
    for i in 0..7 {
        let flag = if i % 2 == 0 { "checkout" } else { "search" };
        changes.push(create_rollout(flag, "completed", false));
    }
    changes.push(create_rollout("checkout", "ramping", true));
    committed(&*store, "alice", changes).await;
    for (flag, active_only) in [(None, false), (Some("checkout"), false), (None, true)] {
        let whole = listed(&*store, flag, active_only).await;
        for limit in [1, 2, 3, 100] {
            let mut paged = Vec::new();
            let mut before = None;
            loop {
                let page = store
                    .rollout_page(flag, active_only, before, limit)
                    .await
                    .expect("page");
                assert!(page.len() <= limit as usize, "a page holds at most `limit`");
                let Some(last) = page.last() else { break };
                before = Some(last.id);
                paged.extend(page.iter().map(|record| record.id));
            }
            assert_eq!(
                paged, whole,
                "flag {flag:?}, active {active_only}, limit {limit}"
            );
        }
    }
}
