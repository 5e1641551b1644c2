//! A contact's history, for `contacts show`: the deliveries of every send
//! to them, and the bounces, complaints and auto-replies that came back.
//! It reads what sending and bounce processing wrote; it changes nothing.

use serde::Serialize;

use super::{format_time, Contact, Error};
use crate::db::Db;

/// One send's delivery to the contact.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryEntry {
    pub send_id: i64,
    pub release: String,
    pub title: Option<String>,
    /// The delivery's state (`sent`, `bounced`, `skipped`…).
    pub state: String,
    pub skip_reason: Option<String>,
    pub attempts: i64,
    /// When it was accepted, or else when its state last changed.
    pub at: String,
    /// The relay's last reply to it.
    pub last_reply: Option<String>,
}

/// A bounce, complaint or auto-reply about the contact.
#[derive(Debug, Clone, Serialize)]
pub struct BounceEntry {
    pub id: i64,
    /// The send of the delivery it names, when it names one.
    pub send_id: Option<i64>,
    pub kind: String,
    pub reason: String,
    pub status_code: Option<String>,
    pub diagnostic: Option<String>,
    pub source: String,
    pub received_at: String,
}

type DeliveryRow = (
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
    i64,
    Option<i64>,
    i64,
    Option<String>,
);

/// The contact's deliveries, newest send first.
pub async fn deliveries(db: &Db, contact: &Contact) -> Result<Vec<DeliveryEntry>, Error> {
    // Every delivery to the contact, along deliveries_contact.
    let rows: Vec<DeliveryRow> = sqlx::query_as(
        "SELECT d.send_id, r.slug, r.title, d.state, d.skip_reason, d.attempts, d.sent_at, \
             d.updated_at, d.last_reply \
         FROM deliveries d JOIN sends s ON s.id = d.send_id JOIN releases r ON r.id = s.release_id \
         WHERE d.contact_id = $1 ORDER BY d.send_id DESC",
    )
    .bind(contact.id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(send_id, release, title, state, skip_reason, attempts, sent, updated, last_reply)| {
                DeliveryEntry {
                    send_id,
                    release,
                    title,
                    state,
                    skip_reason,
                    attempts,
                    at: format_time(sent.unwrap_or(updated)),
                    last_reply,
                }
            },
        )
        .collect())
}

type BounceRow = (
    i64,
    Option<i64>,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
);

/// The bounces, complaints and auto-replies about the contact (tied to
/// them, to one of their deliveries, or naming their address), newest first.
pub async fn bounces(db: &Db, contact: &Contact) -> Result<Vec<BounceEntry>, Error> {
    // By contact, by delivery, or by address (an unmatched bounce that
    // names only the recipient).
    let rows: Vec<BounceRow> = sqlx::query_as(
        "SELECT b.id, d.send_id, b.kind, b.reason, b.status_code, b.diagnostic, b.source, b.received_at \
         FROM bounces b LEFT JOIN deliveries d ON d.id = b.delivery_id \
         WHERE b.contact_id = $1 OR d.contact_id = $1 OR lower(b.email) = lower($2) \
         ORDER BY b.received_at DESC, b.id DESC",
    )
    .bind(contact.id)
    .bind(&contact.email)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, send_id, kind, reason, status_code, diagnostic, source, received)| BounceEntry {
                id,
                send_id,
                kind,
                reason,
                status_code,
                diagnostic,
                source,
                received_at: format_time(received),
            },
        )
        .collect())
}
