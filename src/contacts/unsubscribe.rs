//! Unsubscribing a contact from the link in a release (List-Unsubscribe,
//! RFC 2369 / RFC 8058): the contact's address is suppressed with reason
//! `unsubscribed` and the send the link came from, and the contact's status
//! becomes `unsubscribed`. Checking the link's signature is the caller's
//! business (`send::tokens`); this module only records the wish.

use super::{store, Error};
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
    let Some((email, key)) = store::unsubscribe::address_of(tx, contact_id).await? else {
        return Ok(Unsubscribed::NoSuchContact);
    };
    let added = store::unsubscribe::suppress_address(tx, &key, &source, send_id, now).await?;
    let changed = store::unsubscribe::mark_unsubscribed(tx, contact_id, now).await?;
    Ok(if added || changed {
        Unsubscribed::Done { email }
    } else {
        Unsubscribed::Already { email }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::contacts::store::inspect;

    async fn db_with_contact(dir: &tempfile::TempDir, status: &str) -> (Db, i64) {
        let db = Db::open(&format!("sqlite://{}", dir.path().join("p.db").display()))
            .await
            .unwrap();
        let id = inspect::insert_contact(&db, "Jane@X.example", status).await;
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
        let rows = inspect::suppressions(&db).await;
        assert_eq!(
            rows,
            [("jane@x.example".into(), "unsubscribed".into(), Some(7))]
        );
        let status = inspect::only_status(&db).await;
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
        let status = inspect::only_status(&db).await;
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
