//! A contact's history as stored: their deliveries (with the send's
//! release) and the bounces that name them.

use crate::db::Db;

/// One delivery to the contact: send, release slug, release title, state,
/// skip reason, attempts, sent at, updated at, last reply.
pub(crate) type DeliveryRow = (
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

/// One bounce about the contact: id, send, kind, reason, status code,
/// diagnostic, source, received at.
pub(crate) type BounceRow = (
    i64,
    Option<i64>,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
);

/// The deliveries to contact `contact_id`, newest send first.
pub(crate) async fn deliveries(db: &Db, contact_id: i64) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    // Every delivery to the contact, along deliveries_contact.
    sqlx::query_as(
        "SELECT d.send_id, r.slug, r.title, d.state, d.skip_reason, d.attempts, d.sent_at, \
             d.updated_at, d.last_reply \
         FROM deliveries d JOIN sends s ON s.id = d.send_id JOIN releases r ON r.id = s.release_id \
         WHERE d.contact_id = $1 ORDER BY d.send_id DESC",
    )
    .bind(contact_id)
    .fetch_all(&db.pool)
    .await
}

/// The bounces about contact `contact_id` with address `email`, newest first.
pub(crate) async fn bounces(
    db: &Db,
    contact_id: i64,
    email: &str,
) -> Result<Vec<BounceRow>, sqlx::Error> {
    // By contact, by delivery, or by address (an unmatched bounce that
    // names only the recipient).
    sqlx::query_as(
        "SELECT b.id, d.send_id, b.kind, b.reason, b.status_code, b.diagnostic, b.source, b.received_at \
         FROM bounces b LEFT JOIN deliveries d ON d.id = b.delivery_id \
         WHERE b.contact_id = $1 OR d.contact_id = $1 OR lower(b.email) = lower($2) \
         ORDER BY b.received_at DESC, b.id DESC",
    )
    .bind(contact_id)
    .bind(email)
    .fetch_all(&db.pool)
    .await
}
