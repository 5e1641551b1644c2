//! Unsubscribing a contact from the link in a release (List-Unsubscribe,
//! RFC 2369 / RFC 8058): the contact's address is suppressed with reason
//! `unsubscribed` and the send the link came from, and the contact's status
//! becomes `unsubscribed`. Checking the link's signature is the caller's
//! business (`send::tokens`); this module only records the wish.

use super::Error;
use crate::db::{now_ms, Db};

/// What an unsubscribe request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsubscribed {
    /// The address is suppressed now.
    Done { email: String },
    /// It was suppressed before (by an earlier click, by hand or by a bounce).
    Already { email: String },
    /// The contact is no longer in the database (forgotten or deleted).
    NoSuchContact,
}

/// How the request came: the link (one-click or the page's button), or a
/// message to the `mailto:` address of List-Unsubscribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Link,
    Mail,
}

/// Unsubscribes contact `contact_id`, who got the link with send `send_id`.
/// Idempotent: a second request changes nothing and says so.
pub async fn unsubscribe(db: &Db, contact_id: i64, send_id: i64) -> Result<Unsubscribed, Error> {
    let mut tx = db.begin_write().await?;
    let done = unsubscribe_in(&mut tx, contact_id, send_id, Via::Link, now_ms()).await?;
    tx.commit().await?;
    Ok(done)
}

/// [`unsubscribe`] inside a write transaction the caller holds (a bounce
/// import, which records a whole mailbox in one).
pub async fn unsubscribe_in(
    tx: &mut sqlx::AnyConnection,
    contact_id: i64,
    send_id: i64,
    via: Via,
    now: i64,
) -> Result<Unsubscribed, sqlx::Error> {
    let source = match via {
        Via::Link => format!("unsubscribe link of send {send_id}"),
        Via::Mail => format!("unsubscribe mail of send {send_id}"),
    };
    // The contact's normalised address, the key of its suppression.
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT email, email_key FROM contacts WHERE id = $1")
            .bind(contact_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((email, key)) = row else {
        return Ok(Unsubscribed::NoSuchContact);
    };
    // A suppression that exists (by hand, a bounce, an earlier click) stays
    // as it was: the first reason is the one worth keeping.
    let added = sqlx::query(
        "INSERT INTO suppressions (kind, value, reason, source, send_id, created_at) \
         VALUES ('address', $1, 'unsubscribed', $2, $3, $4) ON CONFLICT (kind, value) DO NOTHING",
    )
    .bind(&key)
    .bind(source)
    .bind(send_id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        > 0;
    // The journalist's own word outranks a bounce; a complaint (marked as
    // spam) stays what it was.
    let changed = sqlx::query(
        "UPDATE contacts SET status = 'unsubscribed', updated_at = $2 \
         WHERE id = $1 AND status IN ('active', 'bounced', 'needs-update')",
    )
    .bind(contact_id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        > 0;
    Ok(if added || changed {
        Unsubscribed::Done { email }
    } else {
        Unsubscribed::Already { email }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db_with_contact(dir: &tempfile::TempDir, status: &str) -> (Db, i64) {
        let db = Db::open(&format!("sqlite://{}", dir.path().join("p.db").display()))
            .await
            .unwrap();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO contacts (email, email_key, domain, status, created_at, updated_at) \
             VALUES ('Jane@X.example', 'jane@x.example', 'x.example', $1, 0, 0) RETURNING id",
        )
        .bind(status)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        (db, id)
    }

    #[tokio::test]
    async fn unsubscribing_suppresses_once_with_the_send() {
        let dir = tempfile::tempdir().unwrap();
        let (db, id) = db_with_contact(&dir, "active").await;
        let email = "Jane@X.example".to_string();
        assert_eq!(
            unsubscribe(&db, id, 7).await.unwrap(),
            Unsubscribed::Done {
                email: email.clone()
            }
        );
        assert_eq!(
            unsubscribe(&db, id, 8).await.unwrap(),
            Unsubscribed::Already { email }
        );
        let rows: Vec<(String, String, Option<i64>)> =
            sqlx::query_as("SELECT value, reason, send_id FROM suppressions")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        assert_eq!(
            rows,
            [("jane@x.example".into(), "unsubscribed".into(), Some(7))]
        );
        let (status,): (String,) = sqlx::query_as("SELECT status FROM contacts")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(status, "unsubscribed");
        assert_eq!(
            unsubscribe(&db, id + 1, 7).await.unwrap(),
            Unsubscribed::NoSuchContact
        );
    }

    #[tokio::test]
    async fn a_complaint_stays_a_complaint() {
        let dir = tempfile::tempdir().unwrap();
        let (db, id) = db_with_contact(&dir, "complained").await;
        assert!(matches!(
            unsubscribe(&db, id, 1).await.unwrap(),
            Unsubscribed::Done { .. }
        ));
        let (status,): (String,) = sqlx::query_as("SELECT status FROM contacts")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(status, "complained");
    }

    #[tokio::test]
    async fn search_takes_wildcards_literally() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = db_with_contact(&dir, "active").await;
        assert_eq!(
            crate::contacts::search(&db, "JANE", 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            crate::contacts::search(&db, "%", 10).await.unwrap().len(),
            0
        );
        assert_eq!(
            crate::contacts::search(&db, "j_ne", 10)
                .await
                .unwrap()
                .len(),
            0
        );
        assert_eq!(crate::contacts::search(&db, "", 10).await.unwrap().len(), 1);
    }
}
