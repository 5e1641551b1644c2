//! Everything sending keeps in the database, and every SQL text of `send/`:
//! the durable queue of deliveries ([`queue`]), the shared rate limits
//! ([`rate`]), and here the send being created, the stored send a worker
//! reads, and the signing key. The rest of `send/` asks these functions;
//! the few places where SQLite and PostgreSQL differ are named functions of
//! `db/`.

pub mod queue;
pub mod rate;

use super::plan::Plan;
use super::{Error, SendState};
use crate::contacts;
use crate::db::{now_ms, Db, Params};

/// A stored send as a worker reads it: bundle, slug, settings,
/// started_at, created_at.
pub type SendRow = (Option<String>, String, String, Option<i64>, i64);

/// The stored release and settings of send `id`; `Error::NoSuchSend` when
/// there is none.
pub async fn stored_send(db: &Db, id: i64) -> Result<SendRow, Error> {
    let row: Option<SendRow> = sqlx::query_as(
        "SELECT r.bundle, r.slug, s.settings, s.started_at, s.created_at \
         FROM sends s JOIN releases r ON r.id = s.release_id WHERE s.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.ok_or(Error::NoSuchSend(id))
}

/// The team's signing key: the stored one, or `fresh` when there is none
/// yet.
pub async fn signing_key(db: &Db, fresh: &str) -> Result<String, sqlx::Error> {
    // Several workers may start at once: the first insert wins.
    sqlx::query(
        "INSERT INTO secrets (name, value, created_at) VALUES ('signing', $1, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(fresh)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    let (value,): (String,) = sqlx::query_as("SELECT value FROM secrets WHERE name = 'signing'")
        .fetch_one(&db.pool)
        .await?;
    Ok(value)
}

/// Creates the send and its deliveries in one transaction; returns the send's id.
pub async fn create_send(db: &Db, plan: &Plan) -> Result<i64, Error> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let main = &plan.release.main.front;
    let bundle = serde_json::to_string(&plan.bundle).map_err(|e| Error::Input(e.to_string()))?;
    // The release as sent; the same file sent twice shares one row (and
    // one stored before the time zone and embargo were kept gets them).
    let (release_id,): (i64,) = sqlx::query_as(
        "INSERT INTO releases (slug, title, subject, source_path, source_hash, bundle, created_at, \
             timezone, embargo_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (slug, source_hash) DO UPDATE SET bundle = excluded.bundle, \
             timezone = excluded.timezone, embargo_at = excluded.embargo_at \
         RETURNING id",
    )
    .bind(&plan.release.slug)
    .bind(&main.title)
    .bind(&main.subject)
    .bind(plan.release.main.name())
    .bind(&plan.release.source_hash)
    .bind(bundle)
    .bind(now)
    .bind(&main.timezone)
    .bind(plan.embargo().map(|e| e.timestamp_millis()))
    .fetch_one(&mut *tx)
    .await?;
    let state = if plan.scheduled_at.is_some() {
        SendState::Scheduled
    } else {
        SendState::Running
    };
    // The send, with its audience and settings for every worker to read.
    let (send_id,): (i64,) = sqlx::query_as(
        "INSERT INTO sends (release_id, audience, settings, state, scheduled_at, created_at, started_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(release_id)
    .bind(serde_json::to_string(&plan.audience).unwrap_or_else(|_| "{}".into()))
    .bind(serde_json::to_string(&plan.settings).unwrap_or_else(|_| "{}".into()))
    .bind(state.as_str())
    .bind(plan.scheduled_at)
    .bind(now)
    .bind(plan.scheduled_at.is_none().then_some(now))
    .fetch_one(&mut *tx)
    .await?;
    // One delivery per contact, in address order (which spreads domains
    // evenly); the skipped ones too, with why (as `skip_reason` words it),
    // so the report can say who was left out. One statement: the rows
    // never leave the database.
    let mut params = Params::new();
    let send_p = params.push(send_id);
    let now_p = params.push(now);
    let audience = contacts::audience_sql(&plan.audience, &mut params);
    let why = "CASE WHEN a.suppressed IS NOT NULL THEN 'suppressed (' || a.suppressed || ')' \
               WHEN a.status <> 'active' THEN 'status ' || a.status END";
    let sql = format!(
        "INSERT INTO deliveries (send_id, contact_id, email, state, skip_reason, created_at, updated_at) \
         SELECT {send_p}, a.id, a.email, CASE WHEN ({why}) IS NULL THEN 'queued' ELSE 'skipped' END, \
                {why}, {now_p}, {now_p} \
         FROM ({audience}) a ORDER BY a.email_key"
    );
    params.query(&sql).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(send_id)
}
