//! The SQL of the `bounces` table: writing a recorded bounce and its
//! effect, the dedupe check, and reading bounces back for `bounces list`,
//! `bounces show` and `contacts show`. What the rows mean is
//! [`policy`](crate::bounce::policy)'s and [`list`](crate::bounce::list)'s.

use sqlx::AnyConnection;

use crate::bounce::list::{Bounce, Filter};
use crate::bounce::policy::{MatchedBy, NewBounce};
use crate::db::{Db, Params};

/// Whether a bounce under this dedupe key was recorded before: checked
/// before matching, which it makes unnecessary.
pub(crate) async fn recorded_before(
    tx: &mut AnyConnection,
    key: &str,
) -> Result<bool, sqlx::Error> {
    let seen: Option<(i64,)> = sqlx::query_as("SELECT id FROM bounces WHERE dedupe_key = $1")
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(seen.is_some())
}

/// Inserts a bounce (its effect written later by [`set_effect`]); its id,
/// or `None` when a bounce with the same dedupe key exists.
pub(crate) async fn insert_bounce(
    conn: &mut AnyConnection,
    b: &NewBounce<'_>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    // A second import of the same message hits the unique dedupe key and
    // inserts nothing.
    let id: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO bounces (delivery_id, contact_id, email, kind, reason, status_code, reply_code, \
             diagnostic, reporting_mta, remote_host, source, raw, received_at, created_at, dedupe_key, \
             matched_by, origin, subject, message_id, verp_token, action, feedback_type, evidence) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             $19, $20, $21, $22, $23) \
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(b.delivery_id)
    .bind(b.contact_id)
    .bind(b.email)
    .bind(b.kind.as_str())
    .bind(b.reason.as_str())
    .bind(b.status_code)
    .bind(b.reply_code)
    .bind(b.diagnostic)
    .bind(b.reporting_mta)
    .bind(b.remote_host)
    .bind(b.source)
    .bind(b.raw)
    .bind(b.received_at)
    .bind(now)
    .bind(b.dedupe_key.as_deref())
    .bind(b.matched_by.map(MatchedBy::as_str))
    .bind(b.origin)
    .bind(b.subject)
    .bind(b.message_id)
    .bind(b.verp_token)
    .bind(b.action)
    .bind(b.feedback_type)
    .bind(b.evidence)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(id.map(|(id,)| id))
}

/// Stores what the policy did with bounce `id`, in words.
pub(crate) async fn set_effect(
    conn: &mut AnyConnection,
    id: i64,
    effect: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE bounces SET effect = $2 WHERE id = $1")
        .bind(id)
        .bind(effect)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The columns of a [`Bounce`], from `bounces b` joined to the delivery
/// `d` it matched (for its send).
const COLUMNS: &str = "b.id, b.received_at, b.email, b.kind, b.reason, b.status_code, b.reply_code, \
     b.diagnostic, d.send_id, b.delivery_id, b.matched_by, b.effect, b.source, b.origin, b.subject, \
     b.message_id, b.verp_token, b.action, b.feedback_type, b.reporting_mta, b.remote_host, b.evidence, \
     CAST(length(b.raw) AS BIGINT) AS raw_size, b.created_at";

/// The bounces matching `filter`, newest first.
pub(crate) async fn select_bounces(db: &Db, filter: &Filter) -> Result<Vec<Bounce>, sqlx::Error> {
    let mut p = Params::new();
    let mut wheres = vec!["1 = 1".to_string()];
    if let Some(send) = filter.send_id {
        wheres.push(format!("d.send_id = {}", p.push(send)));
    }
    if !filter.kinds.is_empty() {
        let list: Vec<String> = filter.kinds.iter().map(|k| p.push(k.as_str())).collect();
        wheres.push(format!("b.kind IN ({})", list.join(", ")));
    }
    if !filter.reasons.is_empty() {
        let list: Vec<String> = filter.reasons.iter().map(|r| p.push(r.as_str())).collect();
        wheres.push(format!("b.reason IN ({})", list.join(", ")));
    }
    if let Some(since) = filter.since {
        wheres.push(format!("b.received_at >= {}", p.push(since)));
    }
    if filter.unmatched {
        wheres.push("b.delivery_id IS NULL".to_string());
    }
    if let Some(contact) = filter.contact_id {
        wheres.push(format!("b.contact_id = {}", p.push(contact)));
    }
    // The filtered bounces with the send of their delivery, newest first.
    let sql = format!(
        "SELECT {COLUMNS} FROM bounces b LEFT JOIN deliveries d ON d.id = b.delivery_id \
         WHERE {} ORDER BY b.received_at DESC, b.id DESC",
        wheres.join(" AND ")
    );
    p.query_as(&sql).fetch_all(&db.pool).await
}

/// One bounce by id, for `bounces show`; without its raw message.
pub(crate) async fn select_bounce(db: &Db, id: i64) -> Result<Option<Bounce>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM bounces b LEFT JOIN deliveries d ON d.id = b.delivery_id WHERE b.id = $1"
    );
    sqlx::query_as::<_, Bounce>(&sql)
        .bind(id)
        .fetch_optional(&db.pool)
        .await
}

/// The raw message kept with bounce `id`, if any: apart from
/// [`select_bounce`], since only `show` needs the bytes.
pub(crate) async fn raw_message(db: &Db, id: i64) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let (raw,): (Option<Vec<u8>>,) = sqlx::query_as("SELECT raw FROM bounces WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
    Ok(raw)
}
