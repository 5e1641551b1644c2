//! A contact's history, for `contacts show`: the deliveries of every send
//! to them, and the bounces, complaints and auto-replies that came back.
//! It reads what sending and bounce processing wrote; it changes nothing.

use serde::Serialize;

use super::{format_time, store, Contact, Error};
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

/// The contact's deliveries, newest send first.
pub async fn deliveries(db: &Db, contact: &Contact) -> Result<Vec<DeliveryEntry>, Error> {
    let rows = store::history::deliveries(db, contact.id).await?;
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

/// The bounces, complaints and auto-replies about the contact (tied to
/// them, to one of their deliveries, or naming their address), newest first.
pub async fn bounces(db: &Db, contact: &Contact) -> Result<Vec<BounceEntry>, Error> {
    let rows = store::history::bounces(db, contact.id, &contact.email).await?;
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
