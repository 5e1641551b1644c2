//! The web's storage, every SQL text of `web/`: dashboard logins, kept in
//! the database as sessions (`dashboard_sessions`)
//! and failed login attempts (`login_failures`). In the database, logging
//! out ends a session for every `presswire serve` process sharing it, and
//! a restart clears neither the sessions nor the lockout.
//!
//! This module owns the rows; the HTTP side (cookies, CSRF, checking the
//! password with Argon2, the pages, how many failures are allowed) is
//! [`super::auth`]'s. The web's other writes (unsubscribes, bounces from
//! webhooks) belong to `contacts` and `bounce`, and are stored there.
//!
//! A session is a random token of 256 bits in the browser's cookie; the
//! database keeps only its SHA-256, so a copy of the database opens no
//! session. Each session remembers its account (`user_id`) and a
//! fingerprint of the password hash it was opened with: `web::auth`
//! compares it with the current one, so a new password ends every session.
//!
//! Every login attempt is counted as a failure before its password is
//! checked ([`attempt`]) and the count taken back when it was right
//! ([`open`]): concurrent guesses from one address cannot slip past the
//! limit while Argon2 works.

use sha2::{Digest, Sha256};

use super::auth::{random_hex, MAX_FAILURES, MAX_FAILURES_OVERALL, WINDOW_MS};
use crate::db::{now_ms, Db};

/// What the database keeps of a session token.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A login attempt from `ip`, counted as a failure until [`open`] takes it
/// back; `Err(seconds)` when `ip` (or everyone together) failed too often
/// within the window, with how long until the next attempt may be made
/// (nothing is counted then).
pub async fn attempt(db: &Db, ip: &str, now: i64) -> Result<Result<i64, i64>, sqlx::Error> {
    let since = now - WINDOW_MS;
    let mut tx = db.begin_write().await?;
    // Two attempts at once must not both find room for one more.
    db.one_at_a_time(&mut tx, "login_failures").await?;
    // What has left the window no longer counts.
    sqlx::query("DELETE FROM login_failures WHERE at <= $1")
        .bind(since)
        .execute(&mut *tx)
        .await?;
    // This address's failures in the window, oldest first.
    let mine: Vec<(i64,)> =
        sqlx::query_as("SELECT at FROM login_failures WHERE ip = $1 ORDER BY at")
            .bind(ip)
            .fetch_all(&mut *tx)
            .await?;
    // Everyone's, oldest first.
    let all: Vec<(i64,)> = sqlx::query_as("SELECT at FROM login_failures ORDER BY at")
        .fetch_all(&mut *tx)
        .await?;
    for (times, max) in [(&mine, MAX_FAILURES), (&all, MAX_FAILURES_OVERALL)] {
        if times.len() >= max {
            // When enough have left the window for one more.
            let (opens,) = times[times.len() - max];
            return Ok(Err((opens + WINDOW_MS - now) / 1000 + 1));
        }
    }
    let (id,): (i64,) =
        sqlx::query_as("INSERT INTO login_failures (ip, at) VALUES ($1, $2) RETURNING id")
            .bind(ip)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// A new session after a right password from `ip`: takes back the
/// address's failures (the attempt's among them) and returns the token for
/// the cookie. `password` is the fingerprint of the password hash; `user`
/// the account logged in (none: the single `[serve] password_hash`).
pub async fn open(
    db: &Db,
    ip: &str,
    password: &str,
    user: Option<i64>,
    expires_at: i64,
) -> Result<String, sqlx::Error> {
    let token = random_hex(32);
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM login_failures WHERE ip = $1")
        .bind(ip)
        .execute(&mut *tx)
        .await?;
    // Sessions that ended on their own are of no use to anyone.
    sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO dashboard_sessions (token_hash, password, user_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(&token))
    .bind(password)
    .bind(user)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// An open session as found by [`find`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The session's key (for [`close`] and for tying forms to it).
    pub key: String,
    /// The fingerprint of the password hash it was opened with.
    pub password: String,
    /// Its account; none for the single `[serve] password_hash`.
    pub user: Option<i64>,
}

/// The session of a cookie's `token`, if it exists and has not expired.
/// Whether its password is still the account's is the caller's to check.
pub async fn find(db: &Db, token: &str) -> Result<Option<Found>, sqlx::Error> {
    // A token is 64 hex digits; anything else is no session (and is not
    // worth a query).
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let key = token_hash(token);
    let found: Option<(i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT expires_at, password, user_id FROM dashboard_sessions WHERE token_hash = $1",
    )
    .bind(&key)
    .fetch_optional(&db.pool)
    .await?;
    Ok(found
        .filter(|(expires, _, _)| *expires > now_ms())
        .map(|(_, password, user)| Found {
            key,
            password,
            user,
        }))
}

/// Ends the session of key `key` (from [`find`]): its cookie opens nothing
/// any more, in any process.
pub async fn close(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM dashboard_sessions WHERE token_hash = $1")
        .bind(key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db(dir: &tempfile::TempDir) -> Db {
        Db::open(&format!("sqlite://{}", dir.path().join("p.db").display()))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn failures_are_limited_per_address_and_overall() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(&dir).await;
        let (a, b) = ("192.0.2.1", "192.0.2.2");
        let t0 = now_ms();
        for i in 0..MAX_FAILURES as i64 {
            assert!(attempt(&db, a, t0 + i).await.unwrap().is_ok());
        }
        let wait = attempt(&db, a, t0 + 10).await.unwrap().unwrap_err();
        assert_eq!(wait, (WINDOW_MS - 10) / 1000 + 1);
        assert!(attempt(&db, b, t0 + 10).await.unwrap().is_ok());
        // Once the first failure has left the window, one more attempt.
        assert!(attempt(&db, a, t0 + WINDOW_MS + 1).await.unwrap().is_ok());
        // A right password takes the address's failures back.
        open(&db, a, "fp", None, t0 + WINDOW_MS * 2).await.unwrap();
        assert!(attempt(&db, a, t0 + WINDOW_MS + 2).await.unwrap().is_ok());
        // Overall: failures from many addresses add up.
        let later = t0 + 3 * WINDOW_MS;
        for i in 0..MAX_FAILURES_OVERALL {
            let ip = format!("198.51.100.{}", i % 250);
            assert!(attempt(&db, &ip, later).await.unwrap().is_ok());
        }
        assert!(attempt(&db, b, later + 1).await.unwrap().is_err());
    }

    #[tokio::test]
    async fn a_session_opens_until_it_is_closed_or_expires() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(&dir).await;
        let token = open(&db, "192.0.2.1", "fp", None, now_ms() + 60_000)
            .await
            .unwrap();
        let found = find(&db, &token).await.unwrap().unwrap();
        assert_eq!((found.password.as_str(), found.user), ("fp", None));
        assert_eq!(find(&db, &"0".repeat(64)).await.unwrap(), None);
        assert_eq!(find(&db, "short").await.unwrap(), None);
        let (stored,): (String,) = sqlx::query_as("SELECT token_hash FROM dashboard_sessions")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_ne!(stored, token, "the token itself is not stored");
        close(&db, &found.key).await.unwrap();
        assert_eq!(find(&db, &token).await.unwrap(), None);
        // An expired session is no session.
        let old = open(&db, "192.0.2.1", "fp", None, now_ms() - 1)
            .await
            .unwrap();
        assert_eq!(find(&db, &old).await.unwrap(), None);
    }
}
