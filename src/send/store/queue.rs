//! The durable queue: deliveries are claimed with a lease (state `sending`,
//! owner, lease expiry), each result is written as it happens, and a
//! delivery left `sending` by a worker that died becomes `uncertain`: its
//! outcome is unknown, so it is never resent without `--resend-uncertain`.
//!
//! On PostgreSQL, claims use `FOR UPDATE SKIP LOCKED`, so several worker
//! processes on several machines split one queue without duplicates; on
//! SQLite, one writer at a time gives the same guarantee.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::db::{now_ms, Db, Params};
use crate::send::owner::owner_is_dead;
use crate::send::{DeliveryState, Error, SendState, Settings};

/// A claimed delivery.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub send_id: i64,
    pub contact_id: Option<i64>,
    pub email: String,
    pub attempts: i64,
}

/// Claims up to `n` due deliveries of running sends (of `send_id` only, if given).
pub async fn claim(
    db: &Db,
    owner: &str,
    send_id: Option<i64>,
    n: i64,
    lease_ms: i64,
) -> Result<Vec<Claimed>, Error> {
    let mut conn = db.pool.acquire().await?;
    claim_on(db, &mut conn, owner, send_id, n, lease_ms).await
}

/// [`claim`] on a given connection (or transaction).
async fn claim_on(
    db: &Db,
    conn: &mut sqlx::AnyConnection,
    owner: &str,
    send_id: Option<i64>,
    n: i64,
    lease_ms: i64,
) -> Result<Vec<Claimed>, Error> {
    let sends: Vec<i64> = match send_id {
        Some(id) => vec![id],
        None => {
            // The running sends, oldest first: each is claimed from in turn.
            sqlx::query_as::<_, (i64,)>("SELECT id FROM sends WHERE state = 'running' ORDER BY id")
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(|(id,)| id)
                .collect()
        }
    };
    let mut rows: Vec<Claimed> = Vec::new();
    for send in sends {
        let left = n - rows.len() as i64;
        if left <= 0 {
            break;
        }
        rows.extend(claim_from_send(db, conn, owner, send, left, lease_ms).await?);
    }
    Ok(rows)
}

/// Claims up to `n` due deliveries of one send, if it is running: its
/// deferred deliveries whose retry is due first (the oldest work, and
/// usually none), then its queued ones in id order.
async fn claim_from_send(
    db: &Db,
    conn: &mut sqlx::AnyConnection,
    owner: &str,
    send_id: i64,
    n: i64,
    lease_ms: i64,
) -> Result<Vec<Claimed>, Error> {
    let lease = Lease {
        owner,
        send_id,
        now: now_ms(),
        lease_ms,
    };
    let mut rows = claim_rows(db, conn, &lease, n, Due::Retries).await?;
    let left = n - rows.len() as i64;
    if left > 0 {
        rows.extend(claim_rows(db, conn, &lease, left, Due::Queued).await?);
    }
    rows.sort_by_key(|c| c.id);
    Ok(rows)
}

/// Which of a send's due deliveries a claim takes.
#[derive(Clone, Copy)]
enum Due {
    /// Deferred deliveries whose retry is due, along the partial index
    /// deliveries_deferred (send, next attempt): it holds only deferred rows.
    Retries,
    /// Queued deliveries (a queued delivery has no next attempt: `unclaim`
    /// and `requeue_uncertain` keep it so), along deliveries_send (send,
    /// state) in id order.
    Queued,
}

/// Who takes one send's deliveries, from when and for how long: what a
/// [`claim`] writes on every delivery it leases.
struct Lease<'a> {
    owner: &'a str,
    send_id: i64,
    now: i64,
    lease_ms: i64,
}

/// Leases up to `n` of one send's due deliveries of one kind, as `lease`
/// says. One statement, with no sort and no temporary B-tree but the list
/// of the rows it takes (each walk stops after `n` rows); concurrent
/// workers on PostgreSQL skip each other's rows.
async fn claim_rows(
    db: &Db,
    conn: &mut sqlx::AnyConnection,
    lease: &Lease<'_>,
    n: i64,
    due: Due,
) -> Result<Vec<Claimed>, Error> {
    let Lease {
        owner,
        send_id,
        now,
        lease_ms,
    } = *lease;
    let mut p = Params::new();
    let owner_p = p.push(owner);
    let lease_p = p.push(now + lease_ms);
    let now_p = p.push(now);
    let send_p = p.push(send_id);
    let limit_p = p.push(n);
    let lock = db.skip_locked_sql();
    let (which, order) = match due {
        Due::Retries => (
            format!("d.state = 'deferred' AND d.next_attempt_at <= {now_p}"),
            "d.next_attempt_at, d.id",
        ),
        Due::Queued => (
            "d.state = 'queued' AND d.next_attempt_at IS NULL".to_string(),
            "d.id",
        ),
    };
    // The send's due deliveries of this kind, while the send runs (the
    // send is read once, not per row), leased to this worker.
    let sql = format!(
        "UPDATE deliveries SET state = 'sending', lease_owner = {owner_p}, lease_expires_at = {lease_p}, \
             attempts = attempts + 1, updated_at = {now_p} \
         WHERE id IN (\
             SELECT d.id FROM deliveries d \
             WHERE d.send_id = {send_p} AND {which} \
               AND EXISTS (SELECT 1 FROM sends s WHERE s.id = {send_p} AND s.state = 'running') \
             ORDER BY {order} LIMIT {limit_p}{lock}) \
         RETURNING id, send_id, contact_id, email, attempts"
    );
    Ok(p.query_as(&sql).fetch_all(&mut *conn).await?)
}

/// Extends the leases this worker holds.
pub async fn renew(db: &Db, owner: &str, lease_ms: i64) -> Result<(), Error> {
    sqlx::query(
        "UPDATE deliveries SET lease_expires_at = $1 WHERE lease_owner = $2 AND state = 'sending'",
    )
    .bind(now_ms() + lease_ms)
    .bind(owner)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Marks deliveries whose worker died while sending them as `uncertain`:
/// leases that expired, and leases of dead processes on this host. Returns
/// how many.
pub async fn recover(db: &Db, send_id: Option<i64>) -> Result<u64, Error> {
    let now = now_ms();
    // Owners of deliveries still being sent.
    let owners: Vec<(Option<String>,)> =
        sqlx::query_as("SELECT DISTINCT lease_owner FROM deliveries WHERE state = 'sending'")
            .fetch_all(&db.pool)
            .await?;
    let mut n = 0;
    for (owner,) in owners {
        let owner = owner.unwrap_or_default();
        let dead = owner_is_dead(&owner);
        let mut p = Params::new();
        let cond = if dead {
            format!("lease_owner = {}", p.push(owner.as_str()))
        } else {
            format!(
                "lease_owner = {} AND lease_expires_at < {}",
                p.push(owner.as_str()),
                p.push(now)
            )
        };
        let filter = match send_id {
            Some(id) => format!(" AND send_id = {}", p.push(id)),
            None => String::new(),
        };
        let now_p = p.push(now);
        // Their outcome is unknown: they may have reached the relay.
        let sql = format!(
            "UPDATE deliveries SET state = 'uncertain', updated_at = {now_p}, \
                 last_reply = 'the worker stopped while sending; outcome unknown' \
             WHERE state = 'sending' AND {cond}{filter}"
        );
        n += p.query(&sql).execute(&db.pool).await?.rows_affected();
    }
    Ok(n)
}

/// Makes a send's deferred deliveries due now: `sends resume` after the
/// relay is fixed retries at once instead of waiting out the backoff (up
/// to hours) of each delivery.
pub async fn retry_now(db: &Db, send_id: i64) -> Result<u64, Error> {
    let now = now_ms();
    let n = sqlx::query(
        "UPDATE deliveries SET next_attempt_at = $2, updated_at = $2 \
         WHERE send_id = $1 AND state = 'deferred' AND next_attempt_at > $2",
    )
    .bind(send_id)
    .bind(now)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(n)
}

/// Puts uncertain deliveries of a send back in the queue (`--resend-uncertain`).
pub async fn requeue_uncertain(db: &Db, send_id: i64) -> Result<u64, Error> {
    let n = sqlx::query(
        "UPDATE deliveries SET state = 'queued', next_attempt_at = NULL, updated_at = $2 \
         WHERE send_id = $1 AND state = 'uncertain'",
    )
    .bind(send_id)
    .bind(now_ms())
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(n)
}

/// The outcome of one attempt, to be recorded.
#[derive(Debug, Clone)]
pub enum Outcome {
    Sent {
        reply: String,
        message_id: String,
    },
    /// Refused for now, or not attempted for a failed connection.
    Deferred {
        reply: String,
        next_attempt_at: i64,
        /// Why the connection failed, when that is why: what the worker's
        /// circuit breaker counts.
        connection_failure: Option<String>,
    },
    /// Refused for good; `command`, the SMTP command the relay refused
    /// when it did (for classifying the bounce).
    Failed {
        reply: String,
        command: Option<crate::bounce::classify::SmtpCommand>,
    },
    Skipped {
        reason: String,
    },
}

/// Writes a batch of outcomes in one transaction. Only rows this worker
/// holds are touched; a row recovered as uncertain meanwhile still takes a
/// known outcome (it was this worker's, and now its fate is known).
pub async fn record(db: &Db, owner: &str, outcomes: &[(i64, Outcome)]) -> Result<(), Error> {
    step(db, owner, outcomes, None, 0, 0).await.map(|_| ())
}

/// A worker's one write between two batches, in one transaction: the
/// outcomes of the batch it finished, and the claim of its next batch (up
/// to `n` deliveries; none when `n` is 0). One commit instead of two, and
/// the deliveries a crash can leave `uncertain` are those of one batch.
pub async fn step(
    db: &Db,
    owner: &str,
    outcomes: &[(i64, Outcome)],
    send_id: Option<i64>,
    n: i64,
    lease_ms: i64,
) -> Result<Vec<Claimed>, Error> {
    let mut conn = db.pool.acquire().await?;
    step_on(db, &mut conn, owner, outcomes, send_id, n, lease_ms).await
}

/// [`step`] on a given connection. A worker on SQLite keeps one connection
/// for its steps: SQLite empties a connection's page cache whenever
/// another connection has written since its last transaction, and a pool
/// hands out its connections in turn, so each step would read the queue's
/// pages again.
pub async fn step_on(
    db: &Db,
    conn: &mut sqlx::AnyConnection,
    owner: &str,
    outcomes: &[(i64, Outcome)],
    send_id: Option<i64>,
    n: i64,
    lease_ms: i64,
) -> Result<Vec<Claimed>, Error> {
    if outcomes.is_empty() && n == 0 {
        return Ok(Vec::new());
    }
    let mut tx = db.begin_write_on(conn).await?;
    for chunk in outcomes.chunks(RECORD_ROWS) {
        record_on(db, &mut tx, owner, chunk).await?;
    }
    let claimed = if n > 0 {
        claim_on(db, &mut tx, owner, send_id, n, lease_ms).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok(claimed)
}

/// Outcomes written per statement (7 values each).
const RECORD_ROWS: usize = 500;

async fn record_on(
    db: &Db,
    conn: &mut sqlx::AnyConnection,
    owner: &str,
    outcomes: &[(i64, Outcome)],
) -> Result<(), Error> {
    let now = now_ms();
    let mut p = Params::new();
    // Placeholders in the order they appear in the statement (see
    // `Db::values_list`: `?` on SQLite, `$n` on PostgreSQL).
    let now_p = db.placeholder(&mut p, now);
    for (id, outcome) in outcomes {
        let (state, reply, next, message_id, sent_at, skip_reason) = match outcome {
            Outcome::Sent { reply, message_id } => (
                "sent",
                Some(reply.clone()),
                None,
                Some(message_id.clone()),
                Some(now),
                None,
            ),
            Outcome::Deferred {
                reply,
                next_attempt_at,
                ..
            } => (
                "deferred",
                Some(reply.clone()),
                Some(*next_attempt_at),
                None,
                None,
                None,
            ),
            Outcome::Failed { reply, .. } => {
                ("failed", Some(reply.clone()), None, None, None, None)
            }
            Outcome::Skipped { reason } => {
                ("skipped", None, None, None, None, Some(reason.clone()))
            }
        };
        p.push(*id);
        p.push(state);
        p.push(reply);
        p.push(next);
        p.push(message_id);
        p.push(sent_at);
        p.push(skip_reason);
    }
    let owner_p = db.placeholder(&mut p, owner);
    // The result of each attempt: one statement for the batch, the
    // outcomes as a VALUES list (columns column1… on both backends).
    let sql = format!(
        "UPDATE deliveries SET state = v.column2, last_reply = COALESCE(v.column3, deliveries.last_reply), \
             next_attempt_at = v.column4, message_id = COALESCE(v.column5, deliveries.message_id), \
             sent_at = COALESCE(v.column6, deliveries.sent_at), \
             skip_reason = COALESCE(v.column7, deliveries.skip_reason), \
             lease_owner = NULL, lease_expires_at = NULL, updated_at = {now_p} \
         FROM (VALUES {}) AS v \
         WHERE deliveries.id = v.column1 AND deliveries.lease_owner = {owner_p} \
           AND deliveries.state IN ('sending', 'uncertain')",
        db.values_list_from(outcomes.len(), 7, 2)
    );
    p.query(&sql).execute(&mut *conn).await?;
    Ok(())
}

/// One send as listed.
#[derive(Debug, Clone, Serialize)]
pub struct SendInfo {
    pub id: i64,
    pub release: String,
    pub title: Option<String>,
    pub state: String,
    pub created_at: String,
    pub scheduled_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub counts: BTreeMap<String, i64>,
    pub total: i64,
    /// The release's time zone (IANA name), in which its times are shown.
    pub timezone: Option<String>,
    /// When the release's embargo lifts (RFC 3339), if it has one.
    pub embargo_at: Option<String>,
    #[serde(skip)]
    pub settings: Option<Settings>,
    /// The times above, in epoch ms, to show them in the release's zone.
    #[serde(skip)]
    pub ms: SendTimes,
}

/// A send's times in milliseconds since the epoch.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendTimes {
    pub created: i64,
    pub scheduled: Option<i64>,
    pub started: Option<i64>,
    pub finished: Option<i64>,
    pub embargo: Option<i64>,
}

type SendRow = (
    i64,
    String,
    Option<String>,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

/// Sends, newest first (one, when `id` is given).
pub async fn sends(db: &Db, id: Option<i64>) -> Result<Vec<SendInfo>, Error> {
    let mut p = Params::new();
    let filter = match id {
        Some(id) => format!("WHERE s.id = {}", p.push(id)),
        None => String::new(),
    };
    // Each send with its release, newest first.
    let sql = format!(
        "SELECT s.id, r.slug, r.title, s.state, s.settings, s.created_at, s.scheduled_at, s.started_at, s.finished_at, \
             r.timezone, r.embargo_at \
         FROM sends s JOIN releases r ON r.id = s.release_id {filter} ORDER BY s.id DESC"
    );
    let rows: Vec<SendRow> = p.query_as(&sql).fetch_all(&db.pool).await?;
    if id.is_some() && rows.is_empty() {
        return Err(Error::NoSuchSend(id.unwrap_or(0)));
    }
    let t = crate::contacts::format_time;
    let mut out = Vec::new();
    for row in rows {
        let (id, slug, title, state, settings, created, scheduled, started, finished) = (
            row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8,
        );
        let (timezone, embargo) = (row.9, row.10);
        // Deliveries per state for this send.
        let counts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, count(*) FROM deliveries WHERE send_id = $1 GROUP BY state",
        )
        .bind(id)
        .fetch_all(&db.pool)
        .await?;
        let total = counts.iter().map(|(_, n)| n).sum();
        out.push(SendInfo {
            id,
            release: slug,
            title,
            state,
            created_at: t(created),
            scheduled_at: scheduled.map(t),
            started_at: started.map(t),
            finished_at: finished.map(t),
            counts: counts.into_iter().collect(),
            total,
            timezone,
            embargo_at: embargo.map(t),
            settings: serde_json::from_str(&settings).ok(),
            ms: SendTimes {
                created,
                scheduled,
                started,
                finished,
                embargo,
            },
        });
    }
    Ok(out)
}

/// Sets a send's state, checking the transition makes sense.
pub async fn set_state(db: &Db, id: i64, to: SendState) -> Result<SendState, Error> {
    let info = sends(db, Some(id)).await?;
    let from: SendState = info[0].state.parse().map_err(Error::Input)?;
    let allowed = matches!(
        (from, to),
        (SendState::Running | SendState::Scheduled, SendState::Paused)
            | (
                SendState::Paused | SendState::Scheduled | SendState::Running | SendState::Finished,
                SendState::Running
            )
            | (
                SendState::Running | SendState::Scheduled | SendState::Paused,
                SendState::Cancelled
            )
    );
    if !allowed {
        return Err(Error::Input(format!(
            "send {id} is {from}; it cannot become {to}"
        )));
    }
    let now = now_ms();
    // The new state; a send starts when it first runs (a scheduled send
    // paused has not started), and keeps its first start time.
    sqlx::query(
        "UPDATE sends SET state = $1, \
             started_at = CASE WHEN $1 = 'running' THEN COALESCE(started_at, $2) ELSE started_at END, \
             finished_at = CASE WHEN $1 = 'cancelled' THEN $2 ELSE NULL END WHERE id = $3",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(id)
    .execute(&db.pool)
    .await?;
    if to == SendState::Cancelled {
        // What has not left yet never will.
        sqlx::query(
            "UPDATE deliveries SET state = 'cancelled', updated_at = $2 \
             WHERE send_id = $1 AND state IN ('queued', 'deferred')",
        )
        .bind(id)
        .bind(now)
        .execute(&db.pool)
        .await?;
    }
    Ok(from)
}

/// Puts a paused send that never started back to waiting for its time.
pub async fn reschedule(db: &Db, id: i64) -> Result<(), Error> {
    sqlx::query(
        "UPDATE sends SET state = 'scheduled' WHERE id = $1 AND state IN ('scheduled', 'paused') \
         AND started_at IS NULL",
    )
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Starts scheduled sends whose time has come.
pub async fn start_due(db: &Db) -> Result<u64, Error> {
    let now = now_ms();
    let n = sqlx::query(
        "UPDATE sends SET state = 'running', started_at = $1 WHERE state = 'scheduled' AND scheduled_at <= $1",
    )
    .bind(now)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(n)
}

/// Marks running sends with nothing left to do as finished.
pub async fn finish_done(db: &Db) -> Result<(), Error> {
    sqlx::query(
        "UPDATE sends SET state = 'finished', finished_at = $1 WHERE state = 'running' \
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.send_id = sends.id \
             AND d.state IN ('queued', 'sending', 'deferred'))",
    )
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Counts of a send's deliveries per state.
pub async fn counts(db: &Db, send_id: i64) -> Result<BTreeMap<DeliveryState, i64>, Error> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, count(*) FROM deliveries WHERE send_id = $1 GROUP BY state")
            .bind(send_id)
            .fetch_all(&db.pool)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(s, n)| s.parse().ok().map(|s| (s, n)))
        .collect())
}

/// The earliest moment a deferred delivery of the send is due, if any.
pub async fn next_retry(db: &Db, send_id: i64) -> Result<Option<i64>, Error> {
    let (t,): (Option<i64>,) = sqlx::query_as(
        "SELECT min(next_attempt_at) FROM deliveries WHERE send_id = $1 AND state = 'deferred'",
    )
    .bind(send_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(t)
}

/// Messages sent since the start of today (UTC), across sends: the daily cap.
pub async fn sent_today(db: &Db) -> Result<i64, Error> {
    let now = chrono::Utc::now();
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0);
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM deliveries WHERE sent_at >= $1")
        .bind(midnight)
        .fetch_one(&db.pool)
        .await?;
    Ok(n)
}

/// Messages of a send sent since `since` (epoch ms): the current rate.
pub async fn sent_since(db: &Db, send_id: i64, since: i64) -> Result<i64, Error> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM deliveries WHERE send_id = $1 AND sent_at >= $2")
            .bind(send_id)
            .bind(since)
            .fetch_one(&db.pool)
            .await?;
    Ok(n)
}

/// Addresses of a send's uncertain deliveries.
pub async fn uncertain(db: &Db, send_id: i64) -> Result<Vec<String>, Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT email FROM deliveries WHERE send_id = $1 AND state = 'uncertain' ORDER BY id",
    )
    .bind(send_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().map(|(e,)| e).collect())
}

/// Gives claimed deliveries back to the queue untouched (the attempt did
/// not happen).
pub async fn unclaim(db: &Db, owner: &str, ids: &[i64]) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut p = Params::new();
    let owner_p = p.push(owner);
    let list: Vec<String> = ids.iter().map(|id| p.push(*id)).collect();
    // Back to where they were: queued, or deferred with their retry time.
    let sql = format!(
        "UPDATE deliveries SET state = CASE WHEN next_attempt_at IS NULL THEN 'queued' ELSE 'deferred' END, \
             attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL \
         WHERE lease_owner = {owner_p} AND state = 'sending' AND id IN ({})",
        list.join(", ")
    );
    p.query(&sql).execute(&db.pool).await?;
    Ok(())
}
