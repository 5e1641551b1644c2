//! The SQL of matching a bounce to the delivery it reports, one query per
//! way of matching; the order in which they are tried, and why, is
//! [`store`](super)'s.

use sqlx::AnyConnection;

/// A delivery as matching reads it: id, contact, the address mailed.
pub(crate) type DeliveryRow = (i64, Option<i64>, String);

/// The delivery a signed VERP token names.
pub(crate) async fn delivery_by_id(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<DeliveryRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, contact_id, email FROM deliveries WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

/// The delivery whose message had this Message-ID (the same on retries).
pub(crate) async fn delivery_by_message_id(
    conn: &mut AnyConnection,
    message_id: &str,
) -> Result<Option<DeliveryRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, contact_id, email FROM deliveries WHERE message_id = $1 ORDER BY id LIMIT 1",
    )
    .bind(message_id)
    .fetch_optional(&mut *conn)
    .await
}

/// The latest message that left for `recipient` (any case) with a send
/// time in `from..=to`. Deliveries a bounce already came back for count
/// too (a second report of the same failure).
pub(crate) async fn latest_delivery_to(
    conn: &mut AnyConnection,
    recipient: &str,
    from: i64,
    to: i64,
) -> Result<Option<DeliveryRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, contact_id, email FROM deliveries \
         WHERE lower(email) = lower($1) AND state IN ('sent', 'bounced') \
           AND sent_at >= $2 AND sent_at <= $3 \
         ORDER BY sent_at DESC, id DESC LIMIT 1",
    )
    .bind(recipient)
    .bind(from)
    .bind(to)
    .fetch_optional(&mut *conn)
    .await
}
