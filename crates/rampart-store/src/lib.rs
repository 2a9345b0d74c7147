//! Rampart's storage: the [`Store`] trait, its SQLite backend and a conformance suite.
//!
//! Layout:
//! - [`store`]: the [`Store`] trait and what it returns ([`StoredConfig`], [`Stored`],
//!   [`HistoryEntry`], [`Committed`]).
//! - [`rollout`]: rollouts as stored ([`RolloutRecord`], [`RolloutEvent`]); their plan and
//!   state are opaque JSON, written by [`Change::CreateRollout`] / [`Change::UpdateRollout`]
//!   in the same transaction as the flag changes they go with.
//! - [`change`]: what a commit applies ([`ChangeSet`], [`Change`], [`Precondition`]).
//! - [`error`]: [`StoreError`], the one error type of this crate.
//! - [`sqlite`]: [`SqliteStore`], the embedded default (WAL, one writer, migrations).
//! - [`conformance`]: behavioural cases every backend must pass; backends' tests run them.
//!
//! Every commit is one database transaction that bumps the config revision by exactly one.
//! The store only checks existence and revision preconditions, rollout versions and the
//! one-active-rollout-per-flag rule; cross-references (segments, prerequisites, a rollout's
//! flag) are the server's job through `rampart_model::Catalog`.

pub mod change;
pub mod conformance;
pub mod error;
pub mod rollout;
pub mod sqlite;
pub mod store;

pub use change::{Change, ChangeSet, Precondition};
pub use error::StoreError;
pub use rampart_model::Revision;
pub use rollout::{Arm, HealthWindow, NewRolloutEvent, RolloutEvent, RolloutId, RolloutRecord};
pub use sqlite::SqliteStore;
pub use store::{Committed, HistoryEntry, HistoryOp, Store, Stored, StoredConfig};

/// A point in time: Unix milliseconds (UTC).
pub type At = i64;
