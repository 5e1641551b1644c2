//! Rate limits that hold across every worker sharing the database: a GCRA
//! whose "theoretical arrival time" lives in the `rate_limits` table. Each
//! message reserves the next slot of each limit with one atomic UPDATE and
//! waits for it, so N workers together keep the pace one worker would.
//!
//! A slot may be taken up to [`TOLERANCE`] before the theoretical arrival
//! time (GCRA's burst tolerance). Without it, a worker that reaches its slot
//! late (a busy machine, a slow database) loses that time for good: measured
//! at the relay, 20/s became 18.75/s on a loaded 2-core machine. With it, a
//! late worker catches up, so the pace holds over time; in return, after a
//! pause up to 250 ms worth of messages (at least one) may go at once.

use std::time::Duration;

use crate::db::{now_ms, Db};

/// How long before its theoretical arrival time a message may go.
pub const TOLERANCE: Duration = Duration::from_millis(250);

/// Reserves the next slot of limit `key` spaced `interval` apart; returns
/// the moment (epoch ms) at which the caller may send.
pub async fn reserve(db: &Db, key: &str, interval: Duration) -> Result<i64, sqlx::Error> {
    let step = interval.as_micros() as i64;
    let now = now_ms() * 1000;
    // One row per limit, created on first use.
    sqlx::query("INSERT INTO rate_limits (key, tat) VALUES ($1, 0) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .execute(&db.pool)
        .await?;
    // Move the limit's arrival time on by one interval from now or from its
    // last reservation, whichever is later. `tat` is kept in microseconds
    // for sub-millisecond spacing.
    let sql = format!(
        "UPDATE rate_limits SET tat = {} + $2 WHERE key = $1 RETURNING tat",
        db.greatest_sql("tat", "$3")
    );
    let (tat,): (i64,) = sqlx::query_as(&sql)
        .bind(key)
        .bind(step)
        .bind(now)
        .fetch_one(&db.pool)
        .await?;
    // The slot's theoretical time was `tat - step`; it may go `TOLERANCE`
    // earlier, but never before now.
    let slot = (tat - step - TOLERANCE.as_micros() as i64).max(now);
    Ok(slot / 1000)
}

/// The moment (epoch ms) from which limit `key` has a free slot, without
/// reserving it: in the past when the limit is free now.
pub async fn next_free(db: &Db, key: &str) -> Result<i64, sqlx::Error> {
    // The limit's arrival time, in microseconds; no row yet means free.
    let tat: Option<(i64,)> = sqlx::query_as("SELECT tat FROM rate_limits WHERE key = $1")
        .bind(key)
        .fetch_optional(&db.pool)
        .await?;
    Ok(tat.map_or(0, |(t,)| (t - TOLERANCE.as_micros() as i64 + 999) / 1000))
}

/// Takes one message from today's (UTC) cap of `cap` messages; `false`
/// when none is left. The count is a row of `rate_limits` per day, shared
/// by every worker and send, taken with one atomic UPDATE before a message
/// is handed to the relay: counting messages recorded as sent instead let
/// concurrent connections (and results not yet written) go past the cap.
/// The row starts from the messages already sent today.
pub async fn take_daily(db: &Db, cap: u32) -> Result<bool, sqlx::Error> {
    let now = chrono::Utc::now();
    let key = format!("daily:{}", now.format("%Y-%m-%d"));
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0);
    // Today's row, created on first use with what was sent so far today.
    sqlx::query(
        "INSERT INTO rate_limits (key, tat) SELECT $1, count(*) FROM deliveries WHERE sent_at >= $2 \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(&key)
    .bind(midnight)
    .execute(&db.pool)
    .await?;
    // One more message, if the cap allows it.
    let taken: Option<(i64,)> = sqlx::query_as(
        "UPDATE rate_limits SET tat = tat + 1 WHERE key = $1 AND tat < $2 RETURNING tat",
    )
    .bind(&key)
    .bind(i64::from(cap))
    .fetch_optional(&db.pool)
    .await?;
    Ok(taken.is_some())
}

/// Waits until `at` (epoch ms).
pub async fn wait_until(at: i64) {
    let now = now_ms();
    if at > now {
        tokio::time::sleep(Duration::from_millis((at - now) as u64)).await;
    }
}
