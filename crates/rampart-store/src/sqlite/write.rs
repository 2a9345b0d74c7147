//! Writing: one commit = one transaction that applies every change and bumps the revision.
//!
//! [`commit_in`] works on a caller's transaction, so other rows (rollouts here, ledger entries
//! later) are written in the same transaction as the config change they go with.

use rampart_model::Revision;
use sqlx::{Sqlite, SqliteConnection, Transaction};

use crate::At;
use crate::change::{Change, ChangeSet, Precondition};
use crate::error::StoreError;
use crate::rollout::RolloutId;
use crate::store::{Committed, HistoryOp};

use super::read::config_row;
use super::rollouts::{self, NewRollout, RolloutUpdate};
use super::table::{FLAGS, SEGMENTS, Table, describe, encode, revision_from_db, revision_to_db};

/// What a commit writes on every row it touches.
pub(super) struct Stamp<'a> {
    pub revision: i64,
    pub at: At,
    pub actor: &'a str,
}

/// Applies `changes` inside `tx`, bumps the config revision by one and returns it with the
/// ids of the rollouts created, in change order, and writes one signed ledger entry per change.
/// The caller commits `tx`; any error leaves it to be rolled back. Commit times never go
/// backwards, so a change set stamped before the previous commit gets that commit's time.
pub(super) async fn commit_in(
    tx: &mut Transaction<'_, Sqlite>,
    changes: &ChangeSet,
    signer: &rampart_ledger::Signer,
) -> Result<Committed, StoreError> {
    let config = config_row(tx).await?;
    let revision = config
        .revision
        .checked_add(1)
        .ok_or_else(|| StoreError::Corrupt {
            what: "config revision".to_owned(),
            reason: "the revision cannot grow any further".to_owned(),
        })?;
    let stamp = Stamp {
        revision: revision_to_db(revision)?,
        at: changes.at.max(config.updated_at),
        actor: &changes.actor,
    };
    let mut created_rollouts = Vec::new();
    let mut drafts = Vec::new();
    for change in &changes.changes {
        let created = apply(tx, change, &stamp).await?;
        drafts.push(super::ledger::draft(
            change,
            &changes.actor,
            revision,
            created,
        ));
        created_rollouts.extend(created);
    }
    // Every change's ledger entry lands in this same transaction, or nothing does.
    super::ledger::append(tx, drafts, stamp.at, signer).await?;
    sqlx::query("UPDATE config SET revision = $1, updated_at = $2 WHERE id = 1")
        .bind(stamp.revision)
        .bind(stamp.at)
        .execute(&mut **tx)
        .await?;
    Ok(Committed {
        revision,
        at: stamp.at,
        created_rollouts,
    })
}

/// Applies one change; returns the new rollout's id for a [`Change::CreateRollout`].
async fn apply(
    conn: &mut SqliteConnection,
    change: &Change,
    stamp: &Stamp<'_>,
) -> Result<Option<RolloutId>, StoreError> {
    match change {
        Change::PutFlag { flag, expected } => {
            let body = encode(&FLAGS, flag.key(), flag.spec())?;
            put(conn, &FLAGS, flag.key(), &body, *expected, stamp).await?;
        }
        Change::DeleteFlag { key, expected } => {
            delete(conn, &FLAGS, key, *expected, stamp).await?;
        }
        Change::PutSegment { segment, expected } => {
            let body = encode(&SEGMENTS, segment.name(), segment.spec())?;
            put(conn, &SEGMENTS, segment.name(), &body, *expected, stamp).await?;
        }
        Change::DeleteSegment { name, expected } => {
            delete(conn, &SEGMENTS, name, *expected, stamp).await?;
        }
        Change::CreateRollout {
            flag,
            plan,
            base,
            state,
            phase,
            active,
            events,
        } => {
            let new = NewRollout {
                flag,
                plan,
                base,
                state,
                phase,
                active: *active,
                events,
            };
            return Ok(Some(rollouts::create(conn, &new, stamp).await?));
        }
        Change::UpdateRollout {
            id,
            expected_version,
            state,
            phase,
            active,
            events,
        } => {
            let update = RolloutUpdate {
                id: *id,
                expected_version: *expected_version,
                state,
                phase,
                active: *active,
                events,
            };
            rollouts::update(conn, &update, stamp).await?;
        }
        // The ledger entry is the whole effect; `commit_in` writes it.
        Change::RotateLedgerKey { .. } => {}
    }
    Ok(None)
}

/// The object's current revision, if it exists.
async fn existing(
    conn: &mut SqliteConnection,
    table: &Table,
    key: &str,
) -> Result<Option<Revision>, StoreError> {
    let revision: Option<i64> = sqlx::query_scalar(table.select_one)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    revision
        .map(|revision| revision_from_db(|| describe(table, key), revision))
        .transpose()
}

async fn put(
    conn: &mut SqliteConnection,
    table: &Table,
    key: &str,
    body: &str,
    expected: Precondition,
    stamp: &Stamp<'_>,
) -> Result<(), StoreError> {
    let current = existing(conn, table, key).await?;
    expected.check(table.kind, key, current)?;
    let op = if current.is_some() {
        sqlx::query(table.update)
            .bind(key)
            .bind(stamp.revision)
            .bind(stamp.at)
            .bind(stamp.actor)
            .bind(body)
            .execute(&mut *conn)
            .await?;
        HistoryOp::Updated
    } else {
        sqlx::query(table.insert)
            .bind(key)
            .bind(stamp.revision)
            .bind(stamp.at)
            .bind(stamp.at)
            .bind(stamp.actor)
            .bind(body)
            .execute(&mut *conn)
            .await?;
        HistoryOp::Created
    };
    record(conn, table, key, op, Some(body), stamp).await
}

async fn delete(
    conn: &mut SqliteConnection,
    table: &Table,
    key: &str,
    expected: Precondition,
    stamp: &Stamp<'_>,
) -> Result<(), StoreError> {
    let current = existing(conn, table, key).await?;
    expected.check(table.kind, key, current)?;
    if current.is_none() {
        // Precondition::None on an absent object: nothing to delete, nothing to record.
        return Ok(());
    }
    sqlx::query(table.delete)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    record(conn, table, key, HistoryOp::Deleted, None, stamp).await
}

async fn record(
    conn: &mut SqliteConnection,
    table: &Table,
    key: &str,
    op: HistoryOp,
    body: Option<&str>,
    stamp: &Stamp<'_>,
) -> Result<(), StoreError> {
    sqlx::query(table.insert_history)
        .bind(key)
        .bind(stamp.revision)
        .bind(stamp.at)
        .bind(stamp.actor)
        .bind(op.as_str())
        .bind(body)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
