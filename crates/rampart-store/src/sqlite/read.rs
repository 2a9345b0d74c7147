//! Reading: the current configuration (one snapshot) and one object's history.

use rampart_model::{Flag, Revision, Segment};
use sqlx::{SqliteConnection, SqlitePool};

use crate::At;
use crate::error::StoreError;
use crate::store::{HistoryEntry, HistoryOp, Stored, StoredConfig};

use super::table::{Table, Versioned, decode, decode_spec, describe, revision_from_db};

/// The config row: the current revision and the time of the last commit.
#[derive(Debug, Clone, Copy)]
pub(super) struct ConfigRow {
    pub revision: Revision,
    pub updated_at: At,
}

pub(super) async fn config_row(conn: &mut SqliteConnection) -> Result<ConfigRow, StoreError> {
    let (revision, updated_at): (i64, i64) =
        sqlx::query_as("SELECT revision, updated_at FROM config WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                what: "config revision".to_owned(),
                reason: "the `config` row is missing".to_owned(),
            })?;
    let revision = revision_from_db(|| "config revision".to_owned(), revision)?;
    Ok(ConfigRow {
        revision,
        updated_at,
    })
}

/// Reads everything inside one read transaction, so the revision matches the rows.
pub(super) async fn load(pool: &SqlitePool) -> Result<StoredConfig, StoreError> {
    let mut tx = pool.begin().await?;
    let revision = config_row(&mut tx).await?.revision;
    let flags = current::<Flag>(&mut tx).await?;
    let segments = current::<Segment>(&mut tx).await?;
    tx.commit().await?;
    Ok(StoredConfig {
        revision,
        flags,
        segments,
    })
}

type CurrentRow = (String, i64, i64, i64, String, String);

async fn current<T: Versioned>(conn: &mut SqliteConnection) -> Result<Vec<Stored<T>>, StoreError> {
    let rows: Vec<CurrentRow> = sqlx::query_as(T::TABLE.select_all)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(
            |(key, revision, created_at, updated_at, updated_by, body)| {
                Ok(Stored {
                    value: decode::<T>(&key, &body)?,
                    revision: revision_from_db(|| describe(T::TABLE, &key), revision)?,
                    created_at,
                    updated_at,
                    updated_by,
                })
            },
        )
        .collect()
}

type HistoryRow = (i64, i64, String, String, Option<String>);

/// One object's versions, oldest first. Bodies are parsed but not validated.
pub(super) async fn history<T: Versioned>(
    pool: &SqlitePool,
    key: &str,
) -> Result<Vec<HistoryEntry<T::Spec>>, StoreError> {
    let table: &Table = T::TABLE;
    let rows: Vec<HistoryRow> = sqlx::query_as(table.select_history)
        .bind(key)
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|(revision, at, actor, op, body)| {
            let what = || format!("{} history at revision {revision}", describe(table, key));
            let op = HistoryOp::parse(&op).ok_or_else(|| StoreError::Corrupt {
                what: what(),
                reason: format!("unknown op `{op}`"),
            })?;
            let value = match (op, body) {
                (HistoryOp::Deleted, None) => None,
                (HistoryOp::Created | HistoryOp::Updated, Some(body)) => {
                    Some(decode_spec::<T>(key, &what(), &body)?)
                }
                (op, _) => {
                    return Err(StoreError::Corrupt {
                        what: what(),
                        reason: format!("a `{}` entry with the wrong body presence", op.as_str()),
                    });
                }
            };
            Ok(HistoryEntry {
                revision: revision_from_db(what, revision)?,
                at,
                actor,
                op,
                value,
            })
        })
        .collect()
}
