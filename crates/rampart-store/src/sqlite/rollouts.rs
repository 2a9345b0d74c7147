//! Rollout rows: writing them inside a commit's transaction, and reading them back.
//!
//! JSON columns are TEXT written by `serde_json`; reading one that does not parse fails with
//! [`StoreError::Corrupt`] naming the rollout. The one-active-rollout-per-flag rule is the
//! partial unique index `rollouts_one_active_per_flag`; its violation becomes
//! [`StoreError::AlreadyExists`].

use sqlx::error::ErrorKind;
use sqlx::{SqliteConnection, SqlitePool};

use crate::error::StoreError;
use crate::rollout::{NewRolloutEvent, RolloutEvent, RolloutId, RolloutRecord};

use super::table::revision_from_db;
use super::write::Stamp;

const KIND: &str = "rollout";

/// The columns a [`RolloutRow`] is read from; a macro so statements stay `concat!`ed
/// `&'static str`s.
macro_rules! rollout_columns {
    () => {
        "id, flag, plan, base, state, phase, active, version, created_at, created_by, \
         updated_at, revision"
    };
}

/// The columns of [`rollout_columns!`], in order.
type RolloutRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    String,
    i64,
    i64,
);

/// `(seq, at, actor, event, from_phase, to_phase, detail, revision)`.
type EventRow = (i64, i64, String, String, String, String, String, i64);

/// The fields of [`crate::Change::CreateRollout`].
pub(super) struct NewRollout<'a> {
    pub flag: &'a str,
    pub plan: &'a serde_json::Value,
    pub base: &'a serde_json::Value,
    pub state: &'a serde_json::Value,
    pub phase: &'a str,
    pub active: bool,
    pub events: &'a [NewRolloutEvent],
}

/// The fields of [`crate::Change::UpdateRollout`].
pub(super) struct RolloutUpdate<'a> {
    pub id: RolloutId,
    pub expected_version: u64,
    pub state: &'a serde_json::Value,
    pub phase: &'a str,
    pub active: bool,
    pub events: &'a [NewRolloutEvent],
}

pub(super) async fn create(
    conn: &mut SqliteConnection,
    new: &NewRollout<'_>,
    stamp: &Stamp<'_>,
) -> Result<RolloutId, StoreError> {
    let what = || format!("new rollout of flag `{}`", new.flag);
    let inserted = sqlx::query(
        "INSERT INTO rollouts (flag, plan, base, state, phase, active, version, created_at, \
         created_by, updated_at, revision) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $7, $9)",
    )
    .bind(new.flag)
    .bind(encode(what, "plan", new.plan)?)
    .bind(encode(what, "base", new.base)?)
    .bind(encode(what, "state", new.state)?)
    .bind(new.phase)
    .bind(new.active)
    .bind(stamp.at)
    .bind(stamp.actor)
    .bind(stamp.revision)
    .execute(&mut *conn)
    .await
    .map_err(|error| active_conflict(error, new.flag))?;
    let id = id_from_db(inserted.last_insert_rowid())?;
    append_events(conn, id, 1, new.events, stamp).await?;
    Ok(id)
}

pub(super) async fn update(
    conn: &mut SqliteConnection,
    update: &RolloutUpdate<'_>,
    stamp: &Stamp<'_>,
) -> Result<(), StoreError> {
    let key = update.id.to_string();
    let not_found = || StoreError::NotFound {
        kind: KIND,
        key: key.clone(),
    };
    // An id beyond i64 cannot be in the table.
    let db_id = i64::try_from(update.id).map_err(|_| not_found())?;
    let (flag, version): (String, i64) =
        sqlx::query_as("SELECT flag, version FROM rollouts WHERE id = $1")
            .bind(db_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(not_found)?;
    let what = || describe(update.id);
    let version = u64_from_db(what, "version", version)?;
    if version != update.expected_version {
        return Err(StoreError::Conflict {
            kind: KIND,
            key,
            expected: update.expected_version,
            actual: version,
        });
    }
    let next_version = version.checked_add(1).ok_or_else(|| StoreError::Corrupt {
        what: what(),
        reason: "the version cannot grow any further".to_owned(),
    })?;
    sqlx::query(
        "UPDATE rollouts SET state = $2, phase = $3, active = $4, version = $5, \
         updated_at = $6, revision = $7 WHERE id = $1",
    )
    .bind(db_id)
    .bind(encode(what, "state", update.state)?)
    .bind(update.phase)
    .bind(update.active)
    .bind(u64_to_db(what, "version", next_version)?)
    .bind(stamp.at)
    .bind(stamp.revision)
    .execute(&mut *conn)
    .await
    .map_err(|error| active_conflict(error, &flag))?;
    let last_seq: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(seq), 0) FROM rollout_events WHERE rollout_id = $1",
    )
    .bind(db_id)
    .fetch_one(&mut *conn)
    .await?;
    let next_seq = u64_from_db(what, "event seq", last_seq)? + 1;
    append_events(conn, update.id, next_seq, update.events, stamp).await
}

/// Inserts `events` as seq `first_seq`, `first_seq + 1`, ...
async fn append_events(
    conn: &mut SqliteConnection,
    id: RolloutId,
    first_seq: u64,
    events: &[NewRolloutEvent],
    stamp: &Stamp<'_>,
) -> Result<(), StoreError> {
    let what = || describe(id);
    let db_id = u64_to_db(what, "id", id)?;
    for (seq, event) in (first_seq..).zip(events) {
        sqlx::query(
            "INSERT INTO rollout_events (rollout_id, seq, at, actor, event, from_phase, \
             to_phase, detail, revision) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(db_id)
        .bind(u64_to_db(what, "event seq", seq)?)
        .bind(stamp.at)
        .bind(stamp.actor)
        .bind(&event.event)
        .bind(&event.from_phase)
        .bind(&event.to_phase)
        .bind(encode(what, "event detail", &event.detail)?)
        .bind(stamp.revision)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Turns a violation of `rollouts_one_active_per_flag` into [`StoreError::AlreadyExists`].
fn active_conflict(error: sqlx::Error, flag: &str) -> StoreError {
    let is_active_conflict = error.as_database_error().is_some_and(|db| {
        db.kind() == ErrorKind::UniqueViolation && db.message().contains("rollouts.flag")
    });
    if is_active_conflict {
        StoreError::AlreadyExists {
            kind: KIND,
            key: flag.to_owned(),
        }
    } else {
        StoreError::from(error)
    }
}

/// Rollouts newest first, filtered by flag and activity, with ids below `before`, at most
/// `limit` (`None`: all).
pub(super) async fn list(
    pool: &SqlitePool,
    flag: Option<&str>,
    active_only: bool,
    before: Option<RolloutId>,
    limit: Option<u32>,
) -> Result<Vec<RolloutRecord>, StoreError> {
    let before = before.map_or(i64::MAX, |id| i64::try_from(id).unwrap_or(i64::MAX));
    let limit = limit.map_or(-1, i64::from);
    let rows: Vec<RolloutRow> = sqlx::query_as(concat!(
        "SELECT ",
        rollout_columns!(),
        " FROM rollouts WHERE ($1 IS NULL OR flag = $1) AND ($2 = 0 OR active = 1) \
         AND id < $3 ORDER BY id DESC LIMIT $4"
    ))
    .bind(flag)
    .bind(active_only)
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(record).collect()
}

pub(super) async fn one(
    pool: &SqlitePool,
    id: RolloutId,
) -> Result<Option<RolloutRecord>, StoreError> {
    let Ok(db_id) = i64::try_from(id) else {
        return Ok(None);
    };
    let row: Option<RolloutRow> = sqlx::query_as(concat!(
        "SELECT ",
        rollout_columns!(),
        " FROM rollouts WHERE id = $1"
    ))
    .bind(db_id)
    .fetch_optional(pool)
    .await?;
    row.map(record).transpose()
}

pub(super) async fn events(
    pool: &SqlitePool,
    id: RolloutId,
) -> Result<Vec<RolloutEvent>, StoreError> {
    let Ok(db_id) = i64::try_from(id) else {
        return Ok(Vec::new());
    };
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT seq, at, actor, event, from_phase, to_phase, detail, revision \
         FROM rollout_events WHERE rollout_id = $1 ORDER BY seq",
    )
    .bind(db_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(
            |(seq, at, actor, event, from_phase, to_phase, detail, revision)| {
                let what = || format!("{} event {seq}", describe(id));
                Ok(RolloutEvent {
                    rollout_id: id,
                    seq: u64_from_db(what, "seq", seq)?,
                    at,
                    actor,
                    event,
                    from_phase,
                    to_phase,
                    detail: decode(what, "detail", &detail)?,
                    revision: revision_from_db(what, revision)?,
                })
            },
        )
        .collect()
}

fn record(row: RolloutRow) -> Result<RolloutRecord, StoreError> {
    let (
        id,
        flag,
        plan,
        base,
        state,
        phase,
        active,
        version,
        created_at,
        created_by,
        updated_at,
        revision,
    ) = row;
    let id = id_from_db(id)?;
    let what = || describe(id);
    Ok(RolloutRecord {
        id,
        flag,
        plan: decode(what, "plan", &plan)?,
        base: decode(what, "base", &base)?,
        state: decode(what, "state", &state)?,
        phase,
        active: match active {
            0 => false,
            1 => true,
            other => {
                return Err(StoreError::Corrupt {
                    what: what(),
                    reason: format!("`active` is {other}, not 0 or 1"),
                });
            }
        },
        version: u64_from_db(what, "version", version)?,
        created_at,
        created_by,
        updated_at,
        revision: revision_from_db(what, revision)?,
    })
}

/// Names a rollout in a [`StoreError::Corrupt`].
fn describe(id: RolloutId) -> String {
    format!("rollout `{id}`")
}

fn encode(
    what: impl FnOnce() -> String,
    field: &str,
    value: &serde_json::Value,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::Corrupt {
        what: what(),
        reason: format!("cannot encode its {field} as JSON: {error}"),
    })
}

fn decode(
    what: impl FnOnce() -> String,
    field: &str,
    text: &str,
) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt {
        what: what(),
        reason: format!("its {field} is not valid JSON: {error}"),
    })
}

fn id_from_db(id: i64) -> Result<RolloutId, StoreError> {
    RolloutId::try_from(id).map_err(|_| StoreError::Corrupt {
        what: format!("rollout `{id}`"),
        reason: "a negative id".to_owned(),
    })
}

fn u64_from_db(what: impl FnOnce() -> String, field: &str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        what: what(),
        reason: format!("negative {field} {value}"),
    })
}

fn u64_to_db(what: impl FnOnce() -> String, field: &str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt {
        what: what(),
        reason: format!("{field} {value} does not fit in a 64-bit signed integer"),
    })
}
