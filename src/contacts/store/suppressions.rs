//! Suppressions as stored: one row per `(kind, value)`, the kind as its
//! word (`address`, `domain`, `forgotten`).

use crate::db::{now_ms, Db};
use crate::team::audit::{self, Action};

/// A suppression as read, its kind still the stored word.
pub(crate) struct SuppressionRow {
    pub(crate) kind: String,
    pub(crate) value: String,
    pub(crate) reason: String,
    pub(crate) source: Option<String>,
    pub(crate) created_at: i64,
}

/// Adds the suppression `(kind, value)`, or gives an existing one this
/// reason and source. Returns whether it is new.
pub(crate) async fn upsert(
    db: &Db,
    actor: &str,
    kind: &str,
    value: &str,
    reason: &str,
    source: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    // Whether the suppression exists already, to say so.
    let existed: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM suppressions WHERE kind = $1 AND value = $2")
            .bind(kind)
            .bind(value)
            .fetch_optional(&mut *tx)
            .await?;
    // One row per address or domain; adding again refreshes the reason.
    sqlx::query(
        "INSERT INTO suppressions (kind, value, reason, source, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (kind, value) DO UPDATE SET reason = excluded.reason, source = excluded.source",
    )
    .bind(kind)
    .bind(value)
    .bind(reason)
    .bind(source)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let summary = format!("suppressed {kind} {value} ({reason})");
    audit::record(
        &mut tx,
        actor,
        Action::SuppressionAdd,
        Some(value),
        &summary,
    )
    .await?;
    tx.commit().await?;
    Ok(existed.is_none())
}

/// Deletes the suppression `(kind, value)`. Returns whether there was one.
pub(crate) async fn delete(
    db: &Db,
    actor: &str,
    kind: &str,
    value: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let n = sqlx::query("DELETE FROM suppressions WHERE kind = $1 AND value = $2")
        .bind(kind)
        .bind(value)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n > 0 {
        // A forgotten address is named by its hash only, here too.
        let summary = format!("lifted the suppression of {kind} {value}");
        audit::record(
            &mut tx,
            actor,
            Action::SuppressionRemove,
            Some(value),
            &summary,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n > 0)
}

/// Every suppression, newest first.
pub(crate) async fn all(db: &Db) -> Result<Vec<SuppressionRow>, sqlx::Error> {
    let rows: Vec<(String, String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT kind, value, reason, source, created_at FROM suppressions ORDER BY created_at DESC, id DESC",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, value, reason, source, created_at)| SuppressionRow {
            kind,
            value,
            reason,
            source,
            created_at,
        })
        .collect())
}
