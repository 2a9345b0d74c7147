//! The ledger table: one sealed entry per change, appended inside the change's transaction,
//! and read back for the API, exports and offline verification.

use rampart_ledger::{Draft, Entry, GENESIS_HASH, Head, Signer};
use serde_json::json;
use sqlx::{Row, SqliteConnection};

use crate::change::Change;
use crate::error::StoreError;
use crate::rollout::RolloutId;

/// What each change records: `action`, `subject` and a detail that makes the entry
/// self-explaining (the whole new flag, the rollout's transition and its evidence).
pub(super) fn draft(
    change: &Change,
    actor: &str,
    revision: u64,
    created: Option<RolloutId>,
) -> Draft {
    let (action, subject, detail) = match change {
        Change::PutFlag { flag, .. } => (
            "flag.put",
            format!("flag:{}", flag.key()),
            json!({"revision": revision, "flag": flag.spec()}),
        ),
        Change::DeleteFlag { key, .. } => (
            "flag.delete",
            format!("flag:{key}"),
            json!({"revision": revision}),
        ),
        Change::PutSegment { segment, .. } => (
            "segment.put",
            format!("segment:{}", segment.name()),
            json!({"revision": revision, "segment": segment.spec()}),
        ),
        Change::DeleteSegment { name, .. } => (
            "segment.delete",
            format!("segment:{name}"),
            json!({"revision": revision}),
        ),
        Change::CreateRollout {
            flag,
            plan,
            phase,
            events,
            ..
        } => (
            "rollout.create",
            format!("rollout:{}", created.unwrap_or_default()),
            json!({"revision": revision, "flag": flag, "plan": plan, "phase": phase, "events": events_json(events)}),
        ),
        Change::UpdateRollout {
            id,
            phase,
            active,
            events,
            ..
        } => (
            "rollout.transition",
            format!("rollout:{id}"),
            json!({"revision": revision, "phase": phase, "active": active, "events": events_json(events)}),
        ),
        Change::RotateLedgerKey { new_key } => {
            return rampart_ledger::rotation_draft(actor, new_key);
        }
    };
    Draft {
        actor: actor.to_owned(),
        action: action.to_owned(),
        subject,
        detail,
    }
}

fn events_json(events: &[crate::rollout::NewRolloutEvent]) -> serde_json::Value {
    events
        .iter()
        .map(|e| json!({"event": e.event, "from": e.from_phase, "to": e.to_phase, "detail": e.detail}))
        .collect()
}

/// The current head: (seq, hash), or (0, genesis) for an empty ledger.
pub(super) async fn head(conn: &mut SqliteConnection) -> Result<(u64, String), StoreError> {
    let row = sqlx::query("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        None => Ok((0, GENESIS_HASH.to_owned())),
        Some(row) => Ok((
            u64::try_from(row.try_get::<i64, _>("seq")?).unwrap_or(0),
            row.try_get("hash")?,
        )),
    }
}

/// Seals `drafts` after the current head and inserts them; returns the new head.
pub(super) async fn append(
    conn: &mut SqliteConnection,
    drafts: Vec<Draft>,
    at: i64,
    signer: &Signer,
) -> Result<(), StoreError> {
    let (mut seq, mut prev_hash) = head(conn).await?;
    for draft in drafts {
        seq += 1;
        let entry = rampart_ledger::seal(draft, seq, at, &prev_hash, signer);
        insert(conn, &entry).await?;
        prev_hash = entry.hash;
    }
    Ok(())
}

async fn insert(conn: &mut SqliteConnection, entry: &Entry) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ledger (seq, at, actor, action, subject, detail, prev_hash, hash, signature, key_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(i64::try_from(entry.seq).unwrap_or(i64::MAX))
    .bind(entry.at)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.subject)
    .bind(rampart_ledger::canonical_json(&entry.detail))
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .bind(&entry.signature)
    .bind(&entry.key_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Entries with `seq > after`, oldest first, at most `limit`.
pub(super) async fn read(
    conn: &mut SqliteConnection,
    after: u64,
    limit: u32,
) -> Result<Vec<Entry>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash, signature, key_id
         FROM ledger WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(i64::try_from(after).unwrap_or(i64::MAX))
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            let seq: i64 = row.try_get("seq")?;
            let detail: String = row.try_get("detail")?;
            // A detail that is not JSON any more was tampered with: keep its text, so the
            // verifier reports `wrong_hash` at this seq instead of the read failing.
            let detail = serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail));
            Ok(Entry {
                seq: u64::try_from(seq).unwrap_or(0),
                at: row.try_get("at")?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                subject: row.try_get("subject")?,
                detail,
                prev_hash: row.try_get("prev_hash")?,
                hash: row.try_get("hash")?,
                signature: row.try_get("signature")?,
                key_id: row.try_get("key_id")?,
            })
        })
        .collect()
}

pub(super) async fn read_head(conn: &mut SqliteConnection) -> Result<Option<Head>, StoreError> {
    let (seq, hash) = head(conn).await?;
    Ok((seq > 0).then_some(Head { seq, hash }))
}
