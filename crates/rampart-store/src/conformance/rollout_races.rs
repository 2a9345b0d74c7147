//! Cases: the rollout event log (actor, time, revision, gap-free seq), including under
//! updates racing at one version — exactly one wins and none is lost.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;

use crate::change::{Change, ChangeSet, Precondition};
use crate::error::StoreError;
use crate::store::Store;

use super::fixtures::{
    assert_time_between, checkout_rollout, commit, committed, create_rollout, event, flag,
    now_millis, put_flag, revision, update_rollout,
};
use super::rollouts::{events, rollout, seqs};

const TASKS: u32 = 8;
const WINS_PER_TASK: u32 = 5;

pub(super) async fn rollout_events_carry_the_commits_actor_time_and_revision(
    store: Arc<dyn Store>,
) {
    // One commit first, so rollout revisions and seqs differ.
    commit(
        &*store,
        "setup",
        vec![put_flag(flag("other", 1), Precondition::None)],
    )
    .await;
    let before = now_millis();
    checkout_rollout(&*store, "alice").await;
    let after = now_millis();
    commit(
        &*store,
        "bob",
        vec![
            put_flag(flag("checkout", 2), Precondition::Revision(2)),
            update_rollout(
                1,
                1,
                "ramping",
                1,
                true,
                vec![
                    event("tick", "ramping", "ramping", json!({ "weight": 50 })),
                    event("approve", "ramping", "holding", json!({ "note": "ok" })),
                ],
            ),
        ],
    )
    .await;

    let log = events(&*store, 1).await;
    let summary: Vec<_> = log
        .iter()
        .map(|e| (e.rollout_id, e.seq, e.actor.as_str(), e.revision))
        .collect();
    assert_eq!(
        summary,
        [(1, 1, "alice", 2), (1, 2, "bob", 3), (1, 3, "bob", 3)],
        "each event carries its commit's actor and revision"
    );
    assert_time_between(log[0].at, before, after);
    let history = store.flag_history("checkout").await.expect("history");
    assert_eq!(
        (log[0].at, log[1].at, log[2].at),
        (history[0].at, history[1].at, history[1].at),
        "an event's time is its commit's time"
    );
    assert_eq!(
        (
            log[2].event.as_str(),
            log[2].from_phase.as_str(),
            log[2].to_phase.as_str(),
            &log[2].detail
        ),
        ("approve", "ramping", "holding", &json!({ "note": "ok" }))
    );
    let record = rollout(&*store, 1).await;
    assert_eq!((record.updated_at, record.revision), (log[2].at, 3));
}

pub(super) async fn concurrent_updates_at_one_version_let_exactly_one_win(store: Arc<dyn Store>) {
    commit(
        &*store,
        "setup",
        vec![create_rollout("contended", "ramping", true)],
    )
    .await;
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            let change = update_rollout(
                1,
                1,
                &format!("phase-{task}"),
                task,
                true,
                vec![event("tick", "ramping", "ramping", json!({ "task": task }))],
            );
            tokio::spawn(async move {
                barrier.wait().await;
                let outcome = store
                    .commit(ChangeSet::new(
                        format!("task-{task}"),
                        super::fixtures::now_millis(),
                        vec![change],
                    ))
                    .await;
                (task, outcome)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (task, outcome) = task.await.expect("task did not panic");
        match outcome {
            Ok(committed) => {
                assert_eq!(committed.revision, 2, "task {task}");
                winners.push(task);
            }
            Err(StoreError::Conflict {
                kind: "rollout",
                expected: 1,
                actual: 2,
                ..
            }) => {}
            Err(error) => panic!("task {task}: unexpected {error:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one update wins: {winners:?}");
    let winner = winners[0];
    let record = rollout(&*store, 1).await;
    assert_eq!(
        (record.version, record.phase.clone()),
        (2, format!("phase-{winner}"))
    );
    let log = events(&*store, 1).await;
    assert_eq!(seqs(&log), [1, 2]);
    assert_eq!(
        (log[1].actor.clone(), &log[1].detail),
        (format!("task-{winner}"), &json!({ "task": winner }))
    );
    assert_eq!(revision(&*store).await, 2);
}

pub(super) async fn concurrent_read_modify_write_updates_lose_nothing(store: Arc<dyn Store>) {
    let created = committed(
        &*store,
        "setup",
        vec![Change::CreateRollout {
            flag: "counter".to_owned(),
            plan: json!({}),
            base: json!({}),
            state: json!({ "count": 0 }),
            phase: "ramping".to_owned(),
            active: true,
            events: vec![event("start", "pending", "ramping", json!({}))],
        }],
    )
    .await;
    let id = created.created_rollouts[0];

    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut won_versions = Vec::new();
                while won_versions.len() < WINS_PER_TASK as usize {
                    let current = rollout(&*store, id).await;
                    let count = current.state["count"].as_u64().expect("a count");
                    let change = Change::UpdateRollout {
                        id,
                        expected_version: current.version,
                        state: json!({ "count": count + 1 }),
                        phase: "ramping".to_owned(),
                        active: true,
                        events: vec![event(
                            "tick",
                            "ramping",
                            "ramping",
                            json!({ "task": task, "from_version": current.version }),
                        )],
                    };
                    let changes = ChangeSet::new(
                        format!("task-{task}"),
                        super::fixtures::now_millis(),
                        vec![change],
                    );
                    match store.commit(changes).await {
                        Ok(_) => won_versions.push(current.version),
                        Err(StoreError::Conflict { .. }) => tokio::task::yield_now().await,
                        Err(error) => panic!("task {task}: unexpected {error:?}"),
                    }
                }
                won_versions
            })
        })
        .collect();

    let mut all_won = BTreeSet::new();
    for task in tasks {
        for version in task.await.expect("task did not panic") {
            assert!(all_won.insert(version), "version {version} won twice");
        }
    }
    let n_updates = u64::from(TASKS * WINS_PER_TASK);
    assert_eq!(
        all_won,
        (1..=n_updates).collect::<BTreeSet<_>>(),
        "exactly one win per version"
    );
    let record = rollout(&*store, id).await;
    assert_eq!(record.version, n_updates + 1);
    assert_eq!(
        record.state,
        json!({ "count": n_updates }),
        "no update was lost"
    );
    let log = events(&*store, id).await;
    assert_eq!(
        seqs(&log),
        (1..=n_updates + 1).collect::<Vec<_>>(),
        "seq is gap-free"
    );
    let from_versions: Vec<_> = log[1..]
        .iter()
        .map(|e| e.detail["from_version"].as_u64().expect("from_version"))
        .collect();
    assert_eq!(
        from_versions,
        (1..=n_updates).collect::<Vec<_>>(),
        "events are in version order"
    );
    assert!(
        log[1..]
            .iter()
            .all(|e| e.actor == format!("task-{}", e.detail["task"])),
        "each event carries its own commit's actor"
    );
    assert_eq!(revision(&*store).await, n_updates + 1);
}
