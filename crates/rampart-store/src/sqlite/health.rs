//! Sealed health windows of rollouts (`rollout_health`): written in batches, read back whole.

use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, SqlitePool};

use crate::error::StoreError;
use crate::rollout::{HealthWindow, RolloutId};

fn id(rollout: RolloutId) -> Result<i64, StoreError> {
    i64::try_from(rollout).map_err(|_| StoreError::NotFound {
        kind: "rollout",
        key: rollout.to_string(),
    })
}

/// Writes `windows` in one transaction on the writer connection; a window written before is
/// replaced (the same data again, after a restart).
pub(super) async fn save(
    writer: &mut SqliteConnection,
    rollout: RolloutId,
    windows: &[HealthWindow],
) -> Result<(), StoreError> {
    if windows.is_empty() {
        return Ok(());
    }
    let rollout_id = id(rollout)?;
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    for window in windows {
        let index = i64::try_from(window.window).map_err(|_| StoreError::Corrupt {
            what: format!("health window of rollout {rollout}"),
            reason: format!("window index {} is out of range", window.window),
        })?;
        sqlx::query(
            "INSERT OR REPLACE INTO rollout_health (rollout_id, arm, window, aggregate) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(rollout_id)
        .bind(window.arm.as_str())
        .bind(index)
        .bind(window.aggregate.to_string())
        .execute(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound {
                kind: "rollout",
                key: rollout.to_string(),
            },
            other => StoreError::from(other),
        })?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every saved window of `rollout`, by arm then window. Empty for an unknown rollout.
pub(super) async fn load(
    reader: &SqlitePool,
    rollout: RolloutId,
) -> Result<Vec<HealthWindow>, StoreError> {
    let rows: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT arm, window, aggregate FROM rollout_health WHERE rollout_id = ? \
         ORDER BY arm, window",
    )
    .bind(id(rollout)?)
    .fetch_all(reader)
    .await?;
    rows.into_iter()
        .map(|(arm, window, aggregate)| {
            let corrupt = |reason: String| StoreError::Corrupt {
                what: format!("health window {window} of rollout {rollout}"),
                reason,
            };
            Ok(HealthWindow {
                arm: crate::rollout::Arm::parse(&arm)
                    .ok_or_else(|| corrupt(format!("unknown arm {arm:?}")))?,
                window: u64::try_from(window).map_err(|e| corrupt(e.to_string()))?,
                aggregate: serde_json::from_str(&aggregate).map_err(|e| corrupt(e.to_string()))?,
            })
        })
        .collect()
}
