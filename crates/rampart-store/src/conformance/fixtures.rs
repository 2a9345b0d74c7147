//! Fixtures and assertions the conformance cases share.

use std::time::{SystemTime, UNIX_EPOCH};

use rampart_model::{Condition, Flag, FlagSpec, Operator, Revision, Segment, SegmentSpec};

use crate::At;
use crate::change::{Change, ChangeSet, Precondition};
use crate::error::StoreError;
use crate::store::Store;

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

/// Commits and expects success.
pub(super) async fn commit(store: &dyn Store, actor: &str, changes: Vec<Change>) -> Revision {
    let description = format!("{changes:?}");
    match store.commit(ChangeSet::new(actor, changes)).await {
        Ok(revision) => revision,
        Err(error) => panic!("commit by {actor} failed: {error}\nchanges: {description}"),
    }
}

/// Commits and expects failure.
pub(super) async fn commit_err(store: &dyn Store, actor: &str, changes: Vec<Change>) -> StoreError {
    match store.commit(ChangeSet::new(actor, changes)).await {
        Ok(revision) => {
            panic!("commit by {actor} succeeded at revision {revision}; expected an error")
        }
        Err(error) => error,
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
