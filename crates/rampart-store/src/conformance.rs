//! Behavioural cases every [`Store`] backend must pass. A backend's tests call [`run_all`]
//! with a factory for fresh stores, and [`check_persistence`] with a way to reopen one.
//!
//! Cases assert what callers can see (revisions, errors, values, history, rollouts and their
//! events), never how a backend stores it. They panic on failure; [`run_all`] runs every case,
//! then fails naming each case that failed.

mod atomicity;
mod basics;
mod concurrency;
mod fixtures;
mod health;
mod history;
mod persistence;
mod rollout_races;
mod rollouts;

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use persistence::check_persistence;

/// A store with no ledger signer refuses every non-empty commit and writes nothing: "no code
/// path can commit a change without its ledger entry" holds for every backend. Give it a
/// fresh store on which `set_ledger_signer` was never called.
pub async fn check_refuses_commit_without_signer(store: &dyn Store) {
    let changes = vec![fixtures::put_flag(
        fixtures::flag("checkout", 1),
        crate::Precondition::MustNotExist,
    )];
    let error = store
        .commit(crate::ChangeSet::new(
            "alice",
            fixtures::now_millis(),
            changes,
        ))
        .await
        .expect_err("a commit without a signer must fail");
    assert!(
        matches!(error, crate::StoreError::NoSigner),
        "expected NoSigner, got {error}"
    );
    assert_eq!(fixtures::revision(store).await, 0, "nothing was written");
    assert!(store.ledger_head().await.expect("head").is_none());
    store.set_ledger_signer(test_signer());
    let changes = vec![fixtures::put_flag(
        fixtures::flag("checkout", 1),
        crate::Precondition::MustNotExist,
    )];
    let committed = store
        .commit(crate::ChangeSet::new(
            "alice",
            fixtures::now_millis(),
            changes,
        ))
        .await
        .expect("with a signer the same commit succeeds");
    assert_eq!(committed.revision, 1);
    assert_eq!(
        store.ledger_head().await.expect("head").map(|h| h.seq),
        Some(1)
    );
}

/// The signer conformance cases seal ledger entries with: a store can't commit without one.
pub fn test_signer() -> rampart_ledger::Signer {
    rampart_ledger::Signer::from_seed([0x5a; 32])
}

use crate::store::Store;

/// A running case.
pub type CaseFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One case: given a fresh, empty store, it panics if the store misbehaves.
pub type Case = fn(Arc<dyn Store>) -> CaseFuture;

/// Names a case after its function: `case!(module::function)`.
macro_rules! case {
    ($module:ident :: $function:ident) => {
        (stringify!($function), |store| {
            Box::pin($module::$function(store))
        })
    };
}

/// Every case, by name. Each needs a fresh store; some spawn tasks, so run them on a
/// multi-threaded tokio runtime.
pub const CASES: &[(&str, Case)] = &[
    case!(basics::fresh_store_is_empty_at_revision_zero),
    case!(basics::create_then_load_lists_every_object_with_metadata),
    case!(basics::create_twice_fails_with_already_exists),
    case!(basics::update_with_matching_revision_bumps_by_exactly_one),
    case!(basics::stale_if_match_fails_with_conflict),
    case!(basics::missing_object_fails_must_exist_and_if_match),
    case!(basics::unconditional_put_and_delete_upsert_and_tolerate_absence),
    case!(basics::empty_change_set_returns_current_revision_without_bumping),
    case!(history::delete_then_history_shows_every_version),
    case!(history::stale_delete_conflicts_and_keeps_the_flag),
    case!(history::segments_have_the_same_lifecycle),
    case!(history::one_change_set_gives_every_change_one_revision),
    case!(atomicity::failed_second_change_leaves_nothing_changed),
    case!(atomicity::conflict_midway_rolls_back_every_kind_of_change),
    case!(atomicity::changes_apply_in_order_within_a_change_set),
    case!(concurrency::revision_is_monotonic_and_gap_free_over_50_commits),
    case!(concurrency::concurrent_commits_from_8_tasks_serialize),
    case!(concurrency::concurrent_if_match_updates_let_exactly_one_win),
    case!(concurrency::concurrent_creates_let_exactly_one_win),
    case!(rollouts::create_rollout_assigns_ids_from_one_and_stores_what_was_given),
    case!(rollouts::second_active_rollout_on_a_flag_fails_and_leaves_nothing),
    case!(rollouts::finished_rollouts_do_not_block_a_new_active_one),
    case!(rollouts::update_with_current_version_bumps_it_and_continues_event_seq),
    case!(rollouts::stale_rollout_version_fails_with_conflict),
    case!(rollouts::update_of_missing_rollout_fails_with_not_found),
    case!(rollouts::failed_rollout_update_rolls_back_the_flag_change),
    case!(rollouts::listing_filters_by_flag_and_active_newest_first),
    case!(rollouts::rollout_pages_walk_the_listing_newest_first),
    case!(rollout_races::rollout_events_carry_the_commits_actor_time_and_revision),
    case!(rollout_races::concurrent_updates_at_one_version_let_exactly_one_win),
    case!(rollout_races::concurrent_read_modify_write_updates_lose_nothing),
    case!(health::health_windows_round_trip_without_a_revision),
];

/// Runs every case in [`CASES`], each against a fresh store from `make`, then panics naming
/// every case that failed (each failure's own message is printed as it happens).
pub async fn run_all<S, F, Fut>(mut make: F)
where
    S: Store,
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
{
    let mut failures = Vec::new();
    for (name, case) in CASES {
        let store: Arc<dyn Store> = Arc::new(make().await);
        store.set_ledger_signer(test_signer());
        // A spawned task turns a panic into an error, so one failing case doesn't hide others.
        match tokio::spawn(case(store)).await {
            Ok(()) => eprintln!("conformance case {name} ... ok"),
            Err(error) => {
                let message = error
                    .try_into_panic()
                    .map_or_else(|e| e.to_string(), panic_message);
                eprintln!("conformance case {name} ... FAILED: {message}");
                failures.push(format!("{name}: {message}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or("(no message)", |m| m)
            .to_owned(),
    }
}
