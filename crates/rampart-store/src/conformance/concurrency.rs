//! Cases: revisions stay gap-free under many and under concurrent commits.

use std::collections::BTreeSet;
use std::sync::Arc;

use rampart_model::Revision;

use crate::change::{ChangeSet, Precondition};
use crate::error::StoreError;
use crate::store::Store;

use super::fixtures::{commit, flag, put_flag, put_segment, revision, segment};

const TASKS: u32 = 8;
const COMMITS_PER_TASK: u32 = 10;

pub(super) async fn revision_is_monotonic_and_gap_free_over_50_commits(store: Arc<dyn Store>) {
    for i in 1..=50_u32 {
        // Alternate kinds, so both tables draw on the one config revision.
        let change = if i % 2 == 0 {
            put_segment(segment("ring", i), Precondition::None)
        } else {
            put_flag(flag("counter", i), Precondition::None)
        };
        assert_eq!(
            commit(&*store, "loop", vec![change]).await,
            Revision::from(i)
        );
    }
    assert_eq!(revision(&*store).await, 50);
    let flag_revisions: Vec<_> = store
        .flag_history("counter")
        .await
        .expect("history")
        .iter()
        .map(|e| e.revision)
        .collect();
    let segment_revisions: Vec<_> = store
        .segment_history("ring")
        .await
        .expect("history")
        .iter()
        .map(|e| e.revision)
        .collect();
    assert_eq!(flag_revisions, (1..=50).step_by(2).collect::<Vec<_>>());
    assert_eq!(segment_revisions, (2..=50).step_by(2).collect::<Vec<_>>());
}

pub(super) async fn concurrent_commits_from_8_tasks_serialize(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let key = format!("task-{task}");
                let mut revisions = Vec::new();
                for version in 1..=COMMITS_PER_TASK {
                    let change = put_flag(flag(&key, version), Precondition::None);
                    revisions.push(commit(&*store, &key, vec![change]).await);
                }
                (key, revisions)
            })
        })
        .collect();

    let mut all_revisions = BTreeSet::new();
    for task in tasks {
        let (key, revisions) = task.await.expect("task did not panic");
        assert!(
            revisions.windows(2).all(|pair| pair[0] < pair[1]),
            "{key}: {revisions:?}"
        );
        let history = store.flag_history(&key).await.expect("history");
        let history_revisions: Vec<_> = history.iter().map(|entry| entry.revision).collect();
        assert_eq!(
            history_revisions, revisions,
            "{key}: history has every commit"
        );
        let last = history.last().and_then(|entry| entry.value.as_ref());
        assert_eq!(
            last,
            Some(flag(&key, COMMITS_PER_TASK).spec()),
            "{key}: last version"
        );
        for revision in revisions {
            assert!(
                all_revisions.insert(revision),
                "revision {revision} handed out twice"
            );
        }
    }
    let total = Revision::from(TASKS * COMMITS_PER_TASK);
    assert_eq!(revision(&*store).await, total);
    assert_eq!(
        all_revisions,
        (1..=total).collect::<BTreeSet<_>>(),
        "no gaps, no repeats"
    );
}

pub(super) async fn concurrent_if_match_updates_let_exactly_one_win(store: Arc<dyn Store>) {
    commit(
        &*store,
        "setup",
        vec![put_flag(flag("contended", 0), Precondition::MustNotExist)],
    )
    .await;
    let outcomes = race(&store, |task| {
        put_flag(flag("contended", task), Precondition::Revision(1))
    })
    .await;

    let winners: Vec<_> = outcomes
        .iter()
        .filter(|(_, outcome)| outcome.is_ok())
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one If-Match update wins: {outcomes:?}"
    );
    let (winner, winning_revision) = (winners[0].0, winners[0].1.as_ref().ok().copied());
    assert_eq!(winning_revision, Some(2));
    for (task, outcome) in &outcomes {
        if *task != winner {
            assert!(
                matches!(
                    outcome,
                    Err(StoreError::Conflict {
                        expected: 1,
                        actual: 2,
                        ..
                    })
                ),
                "task {task}: {outcome:?}"
            );
        }
    }
    let config = store.load().await.expect("load");
    assert_eq!(config.revision, 2);
    assert_eq!(
        config.flag("contended").expect("flag").value,
        flag("contended", winner)
    );
}

pub(super) async fn concurrent_creates_let_exactly_one_win(store: Arc<dyn Store>) {
    let outcomes = race(&store, |task| {
        put_flag(flag("fresh", task), Precondition::MustNotExist)
    })
    .await;
    let n_created = outcomes
        .iter()
        .filter(|(_, outcome)| outcome.is_ok())
        .count();
    assert_eq!(n_created, 1, "exactly one create wins: {outcomes:?}");
    let n_already = outcomes
        .iter()
        .filter(|(_, outcome)| matches!(outcome, Err(StoreError::AlreadyExists { .. })))
        .count();
    assert_eq!(n_already, outcomes.len() - 1);
    assert_eq!(revision(&*store).await, 1);
    assert_eq!(store.flag_history("fresh").await.expect("history").len(), 1);
}

/// Starts one commit per task at once; returns each task's number and outcome.
async fn race(
    store: &Arc<dyn Store>,
    change_for: impl Fn(u32) -> crate::change::Change,
) -> Vec<(u32, Result<Revision, StoreError>)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (store, barrier) = (Arc::clone(store), Arc::clone(&barrier));
            let changes = ChangeSet::new(
                format!("task-{task}"),
                super::fixtures::now_millis(),
                vec![change_for(task)],
            );
            tokio::spawn(async move {
                barrier.wait().await;
                let outcome = store.commit(changes).await;
                (task, outcome.map(|committed| committed.revision))
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task did not panic"));
    }
    outcomes
}
