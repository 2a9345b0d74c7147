//! Fixtures and assertions the conformance cases share.

use std::time::{SystemTime, UNIX_EPOCH};

use rampart_model::{Condition, Flag, FlagSpec, Operator, Revision, Segment, SegmentSpec};

use crate::At;
use crate::change::{Change, ChangeSet, Precondition};
use crate::error::StoreError;
use crate::rollout::{NewRolloutEvent, RolloutId};
use crate::store::{Committed, Store};

/// A boolean flag; `version` goes into its description so versions differ.
pub(super) fn flag(key: &str, version: u32) -> Flag {
    let spec = FlagSpec {
        description: Some(format!("version {version}")),
        ..FlagSpec::boolean(key)
    };
    Flag::try_new(spec).expect("fixture flag is valid")
}

/// A one-condition segment; `version` goes into its description so versions differ.
pub(super) fn segment(name: &str, version: u32) -> Segment {
    Segment::try_new(SegmentSpec {
        name: name.to_owned(),
        description: Some(format!("version {version}")),
        conditions: vec![Condition::attribute(
            "email",
            Operator::EndsWith,
            vec![serde_json::Value::from("@example.com")],
        )],
    })
    .expect("fixture segment is valid")
}

pub(super) fn put_flag(flag: Flag, expected: Precondition) -> Change {
    Change::PutFlag { flag, expected }
}

pub(super) fn delete_flag(key: &str, expected: Precondition) -> Change {
    Change::DeleteFlag {
        key: key.to_owned(),
        expected,
    }
}

pub(super) fn put_segment(segment: Segment, expected: Precondition) -> Change {
    Change::PutSegment { segment, expected }
}

pub(super) fn delete_segment(name: &str, expected: Precondition) -> Change {
    Change::DeleteSegment {
        name: name.to_owned(),
        expected,
    }
}

/// Commits and expects success; returns the new revision.
pub(super) async fn commit(store: &dyn Store, actor: &str, changes: Vec<Change>) -> Revision {
    committed(store, actor, changes).await.revision
}

/// Commits and expects success; checks it reports one new id per created rollout.
pub(super) async fn committed(store: &dyn Store, actor: &str, changes: Vec<Change>) -> Committed {
    let description = format!("{changes:?}");
    let n_creates = changes
        .iter()
        .filter(|change| matches!(change, Change::CreateRollout { .. }))
        .count();
    match store
        .commit(ChangeSet::new(actor, now_millis(), changes))
        .await
    {
        Ok(committed) => {
            assert_eq!(
                committed.created_rollouts.len(),
                n_creates,
                "one id per created rollout: {committed:?}\nchanges: {description}"
            );
            committed
        }
        Err(error) => panic!("commit by {actor} failed: {error}\nchanges: {description}"),
    }
}

/// Commits and expects failure.
pub(super) async fn commit_err(store: &dyn Store, actor: &str, changes: Vec<Change>) -> StoreError {
    match store
        .commit(ChangeSet::new(actor, now_millis(), changes))
        .await
    {
        Ok(committed) => {
            panic!("commit by {actor} succeeded ({committed:?}); expected an error")
        }
        Err(error) => error,
    }
}

/// A rollout event; `detail` is any JSON.
pub(super) fn event(
    name: &str,
    from: &str,
    to: &str,
    detail: serde_json::Value,
) -> NewRolloutEvent {
    NewRolloutEvent::new(name, from, to, detail)
}

/// The plan [`create_rollout`] submits: nested, with floats, nulls and non-ASCII text.
pub(super) fn rollout_plan(flag: &str) -> serde_json::Value {
    serde_json::json!({
        "flag": flag,
        "steps": [{ "weight": 10, "hold": "10m" }, { "weight": 50 }, { "weight": 100 }],
        "gate": { "max_error_rate": 0.025, "metric": null },
        "note": "ramp über 3 steps ✓",
    })
}

/// The base spec [`create_rollout`] records.
pub(super) fn rollout_base(flag: &str) -> serde_json::Value {
    serde_json::json!({ "key": flag, "variants": { "on": true, "off": false } })
}

/// The state [`create_rollout`] and [`update_rollout`] write.
pub(super) fn rollout_state(phase: &str, step: u32) -> serde_json::Value {
    serde_json::json!({ "phase": phase, "step": step })
}

/// Creates a rollout of `flag` at step 0 of `phase`, with one "start" event into it.
/// Commits, as `actor`, the flag `checkout` with an active, ramping rollout on it.
pub(super) async fn checkout_rollout(store: &dyn Store, actor: &str) -> Committed {
    committed(
        store,
        actor,
        vec![
            put_flag(flag("checkout", 1), Precondition::MustNotExist),
            create_rollout("checkout", "ramping", true),
        ],
    )
    .await
}

pub(super) fn create_rollout(flag: &str, phase: &str, active: bool) -> Change {
    Change::CreateRollout {
        flag: flag.to_owned(),
        plan: rollout_plan(flag),
        base: rollout_base(flag),
        state: rollout_state(phase, 0),
        phase: phase.to_owned(),
        active,
        events: vec![event(
            "start",
            "pending",
            phase,
            serde_json::json!({ "flag": flag }),
        )],
    }
}

/// Moves a rollout to `phase` at `step`, with the given events.
pub(super) fn update_rollout(
    id: RolloutId,
    expected_version: u64,
    phase: &str,
    step: u32,
    active: bool,
    events: Vec<NewRolloutEvent>,
) -> Change {
    Change::UpdateRollout {
        id,
        expected_version,
        state: rollout_state(phase, step),
        phase: phase.to_owned(),
        active,
        events,
    }
}

pub(super) async fn revision(store: &dyn Store) -> Revision {
    store.load().await.expect("load").revision
}

/// The keys of the current flags, in load order.
pub(super) async fn flag_keys(store: &dyn Store) -> Vec<String> {
    let config = store.load().await.expect("load");
    config
        .flags
        .iter()
        .map(|stored| stored.value.key().to_owned())
        .collect()
}

/// The wall clock, for the times conformance cases stamp on their change sets. A test
/// fixture standing in for the server's clock, hence the exemption from the store's ban.
#[allow(clippy::disallowed_methods)]
pub(super) fn now_millis() -> At {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    At::try_from(since_epoch.as_millis()).expect("time fits in i64")
}

/// Asserts a commit time is Unix milliseconds within `[before, after]`, with a second of slack
/// for clock granularity.
pub(super) fn assert_time_between(at: At, before: At, after: At) {
    assert!(
        (before - 1_000..=after + 1_000).contains(&at),
        "time {at} should be Unix milliseconds between {before} and {after}"
    );
}
