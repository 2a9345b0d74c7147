//! Shared state: the published snapshot, swapped atomically, and the serialized write path.
//!
//! Readers (`published()`) never lock: they load an `Arc` from an `ArcSwap`. Writers take
//! `write_lock`, validate against the current catalog, commit to the store, then compile and
//! swap in the validated catalog with the revision, time and ids the commit reported. The
//! store is read only at start-up; a write never depends on reading it back, so a committed
//! change is always served (`issue_9_*` tests in `tests/server/consistency.rs` check that a
//! restart on the same data serves exactly what the live server did).

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::extract::FromRef;
use rampart_eval::Snapshot;
use rampart_model::api::{ObjectMeta, rfc3339};
use rampart_model::{Catalog, Revision, ValidationError};
use rampart_store::{Change, ChangeSet, Committed, RolloutId, Store, Stored};

use crate::clock::Clock;
use crate::counters::Counters;

use crate::ServerError;
use crate::error::ApiError;

/// One compiled revision plus the metadata the admin API shows.
#[derive(Debug)]
pub struct Published {
    pub snapshot: Snapshot,
    pub flag_meta: HashMap<String, ObjectMeta>,
    pub segment_meta: HashMap<String, ObjectMeta>,
    /// Flags with an active rollout, and its id. Such flags are owned by the rollout:
    /// admin edits other than enable/disable are refused.
    pub active_rollouts: HashMap<String, RolloutId>,
    /// Problems of the stored configuration that checks added since it was written (e.g. a
    /// prerequisite chain deeper than a newer release allows). It is served anyway, as
    /// `rampart_eval` documents for such flags; `/readyz` lists them.
    pub diagnostics: Vec<ValidationError>,
}

/// What a committed change produced.
#[derive(Debug)]
pub struct Mutation<T> {
    pub published: Arc<Published>,
    pub output: T,
    pub created_rollouts: Vec<RolloutId>,
}

impl Published {
    pub fn catalog(&self) -> &Catalog {
        self.snapshot.catalog()
    }

    pub fn revision(&self) -> Revision {
        self.snapshot.revision()
    }
}

/// The lock-free read side, all that evaluation handlers need.
#[derive(Debug, Clone)]
pub struct Live {
    published: Arc<ArcSwap<Published>>,
    pub counters: Arc<Counters>,
}

impl Live {
    pub fn load(&self) -> arc_swap::Guard<Arc<Published>> {
        self.published.load()
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    live: Live,
    store: Arc<dyn Store>,
    write_lock: Arc<tokio::sync::Mutex<()>>,
    counters: Arc<Counters>,
    ledger_keys: Arc<crate::ledger::LedgerKeys>,
    /// Stamps every commit (the store reads no clock).
    clock: Arc<dyn Clock>,
}

impl FromRef<AppState> for Live {
    fn from_ref(state: &AppState) -> Live {
        state.live.clone()
    }
}

impl AppState {
    pub async fn load(
        store: Arc<dyn Store>,
        counters: Arc<Counters>,
        ledger_keys: Arc<crate::ledger::LedgerKeys>,
        clock: Arc<dyn Clock>,
    ) -> Result<AppState, ServerError> {
        let published = load_published(store.as_ref()).await.map_err(|e| match e {
            ApiError::Store(e) => ServerError::Store(e),
            other => ServerError::Inconsistent(other.to_string()),
        })?;
        counters.sync(&published.snapshot);
        Ok(AppState {
            live: Live {
                published: Arc::new(ArcSwap::from_pointee(published)),
                counters: counters.clone(),
            },
            store,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
            counters,
            ledger_keys,
            clock,
        })
    }

    pub fn published(&self) -> Arc<Published> {
        self.live.published.load_full()
    }

    pub fn ledger_keys(&self) -> &Arc<crate::ledger::LedgerKeys> {
        &self.ledger_keys
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Runs one atomic change. `plan` sees a private copy of the current catalog, validates
    /// by mutating it, and returns the store changes; nothing is written if it fails. After
    /// the commit the new snapshot is compiled and swapped in before this returns, so a
    /// client that gets a response also sees the change in its next evaluation.
    pub async fn mutate<T>(
        &self,
        actor: &str,
        plan: impl FnOnce(&mut Catalog, &Published) -> Result<(Vec<Change>, T), ApiError>,
    ) -> Result<Mutation<T>, ApiError> {
        self.mutate_then(actor, plan, || Ok(())).await
    }

    /// As `mutate`, and runs `after_commit` while the write lock is still held, before any
    /// other change can commit (a ledger key rotation swaps the signer there).
    pub async fn mutate_then<T>(
        &self,
        actor: &str,
        plan: impl FnOnce(&mut Catalog, &Published) -> Result<(Vec<Change>, T), ApiError>,
        after_commit: impl FnOnce() -> Result<(), ApiError>,
    ) -> Result<Mutation<T>, ApiError> {
        let _writer = self.write_lock.lock().await;
        let current = self.published();
        let mut catalog = current.catalog().clone();
        let (changes, output) = plan(&mut catalog, &current)?;
        if changes.is_empty() {
            return Ok(Mutation {
                published: current,
                output,
                created_rollouts: Vec::new(),
            });
        }
        let effects = Effects::of(&changes);
        let committed = self
            .store
            .commit(ChangeSet::new(actor, self.clock.now(), changes))
            .await?;
        // The change is durable. Publish it from what was validated and what the commit
        // reported, without reading the store back: a read that failed here would leave a
        // committed change unserved and later writes validating against a stale catalog.
        let after = after_commit();
        let published = Arc::new(current.after_commit(catalog, &effects, &committed, actor));
        self.counters.sync(&published.snapshot);
        self.live.published.store(published.clone());
        if let Err(e) = after {
            tracing::error!(error = %e, "a step after a committed change failed");
        }
        tracing::debug!(revision = published.revision(), actor, "config committed");
        Ok(Mutation {
            published,
            output,
            created_rollouts: committed.created_rollouts,
        })
    }
}

/// What a change set does to the objects the API lists, noted before the store takes it.
#[derive(Debug, Default)]
struct Effects {
    /// Flags put (`true`) or deleted (`false`), in order.
    flags: Vec<(String, bool)>,
    segments: Vec<(String, bool)>,
    /// Created rollouts' flags and whether each is active, in order.
    created_rollouts: Vec<(String, bool)>,
    /// Rollouts that are no longer active.
    finished_rollouts: Vec<RolloutId>,
}

impl Effects {
    fn of(changes: &[Change]) -> Effects {
        let mut effects = Effects::default();
        for change in changes {
            match change {
                Change::PutFlag { flag, .. } => effects.flags.push((flag.key().to_owned(), true)),
                Change::DeleteFlag { key, .. } => effects.flags.push((key.clone(), false)),
                Change::PutSegment { segment, .. } => {
                    effects.segments.push((segment.name().to_owned(), true));
                }
                Change::DeleteSegment { name, .. } => effects.segments.push((name.clone(), false)),
                Change::CreateRollout { flag, active, .. } => {
                    effects.created_rollouts.push((flag.clone(), *active));
                }
                Change::UpdateRollout { id, active, .. } => {
                    if !active {
                        effects.finished_rollouts.push(*id);
                    }
                }
                Change::RotateLedgerKey { .. } => {}
            }
        }
        effects
    }
}

impl Published {
    /// The state after a commit: `catalog` is the validated result of the change, and the
    /// metadata follows the store's rules (a put keeps `created_at` of an existing object;
    /// every touched object gets the commit's revision, time and actor).
    fn after_commit(
        &self,
        mut catalog: Catalog,
        effects: &Effects,
        committed: &Committed,
        actor: &str,
    ) -> Published {
        catalog.set_revision(committed.revision);
        let touch = |metas: &mut HashMap<String, ObjectMeta>, key: &str| {
            let created_at = metas
                .get(key)
                .map_or_else(|| rfc3339(committed.at), |m| m.created_at.clone());
            metas.insert(
                key.to_owned(),
                ObjectMeta {
                    revision: committed.revision,
                    created_at,
                    updated_at: rfc3339(committed.at),
                    updated_by: actor.to_owned(),
                },
            );
        };
        let mut flag_meta = self.flag_meta.clone();
        for (key, put) in &effects.flags {
            if *put {
                touch(&mut flag_meta, key);
            } else {
                flag_meta.remove(key);
            }
        }
        let mut segment_meta = self.segment_meta.clone();
        for (name, put) in &effects.segments {
            if *put {
                touch(&mut segment_meta, name);
            } else {
                segment_meta.remove(name);
            }
        }
        let mut active_rollouts = self.active_rollouts.clone();
        active_rollouts.retain(|_, id| !effects.finished_rollouts.contains(id));
        for ((flag, active), id) in effects
            .created_rollouts
            .iter()
            .zip(&committed.created_rollouts)
        {
            if *active {
                active_rollouts.insert(flag.clone(), *id);
            }
        }
        // Writes refuse new problems, so a clean catalog stays clean; one with problems is
        // checked again, since the change may have fixed some.
        let diagnostics = if self.diagnostics.is_empty() {
            Vec::new()
        } else {
            catalog.diagnostics()
        };
        Published {
            snapshot: Snapshot::compile(&catalog),
            flag_meta,
            segment_meta,
            active_rollouts,
            diagnostics,
        }
    }
}

async fn load_published(store: &dyn Store) -> Result<Published, ApiError> {
    let stored = store.load().await?;
    let flag_meta = stored
        .flags
        .iter()
        .map(|f| (f.value.key().to_owned(), meta_of(f)))
        .collect();
    let segment_meta = stored
        .segments
        .iter()
        .map(|s| (s.value.name().to_owned(), meta_of(s)))
        .collect();
    // What is stored is served, even if it fails a check a newer release added: refusing to
    // start would take every flag down for one bad reference.
    let (catalog, diagnostics) = Catalog::recover(
        stored.revision,
        stored.flags.into_iter().map(|f| f.value),
        stored.segments.into_iter().map(|s| s.value),
    );
    for diagnostic in &diagnostics {
        tracing::warn!(
            field = diagnostic.field(),
            code = %diagnostic.code(),
            "the stored configuration has a problem; it is served as documented, fix it with \
             an ordinary change: {}",
            diagnostic.message()
        );
    }
    let active_rollouts = store
        .rollouts(None, true)
        .await?
        .into_iter()
        .map(|r| (r.flag, r.id))
        .collect();
    Ok(Published {
        snapshot: Snapshot::compile(&catalog),
        flag_meta,
        segment_meta,
        active_rollouts,
        diagnostics,
    })
}

fn meta_of<T>(stored: &Stored<T>) -> ObjectMeta {
    ObjectMeta {
        revision: stored.revision,
        created_at: rfc3339(stored.created_at),
        updated_at: rfc3339(stored.updated_at),
        updated_by: stored.updated_by.clone(),
    }
}
