//! The SQL of the bounce policy's effects, run in the transaction that
//! records the bounce: the delivery a bounce is about, its move to
//! `bounced`, the soft-bounce count, the contact's status and the
//! suppression. Which effect a bounce has is
//! [`policy`](crate::bounce::policy)'s decision, not this file's.

use sqlx::AnyConnection;

/// The address delivery `id` mailed and the contact it belongs to now;
/// `None` when the delivery no longer exists.
pub(crate) async fn mailed_delivery(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<(String, Option<i64>)>, sqlx::Error> {
    sqlx::query_as("SELECT email, contact_id FROM deliveries WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

/// Marks a `sent` delivery `bounced`; a delivery in any other state (a
/// refusal while sending left it `failed`) stays as it is.
pub(crate) async fn mark_sent_delivery_bounced(
    conn: &mut AnyConnection,
    id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE deliveries SET state = 'bounced', updated_at = $2 WHERE id = $1 AND state = 'sent'",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Soft bounces of `address` (lower-case) received since `since` that
/// count toward the limit: distinct messages, sent after the last message
/// to the address that was delivered (a `sent` delivery no failure came
/// back for). Counting by the bounced message's sending time, not the
/// bounce's arrival, keeps a late bounce of an old message from
/// outweighing a delivery that came after it.
pub(crate) async fn soft_bounces_counting(
    conn: &mut AnyConnection,
    address: &str,
    since: i64,
) -> Result<i64, sqlx::Error> {
    // Refusals while sending leave no sent_at: their attempt time stands in.
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(DISTINCT b.delivery_id) FROM bounces b JOIN deliveries d ON d.id = b.delivery_id \
         WHERE lower(d.email) = $1 AND b.kind = 'soft' AND b.reason <> 'hasmoved' \
           AND b.received_at >= $2 \
           AND COALESCE(d.sent_at, d.updated_at) > COALESCE( \
               (SELECT max(o.sent_at) FROM deliveries o \
                WHERE lower(o.email) = $1 AND o.state = 'sent' AND o.sent_at IS NOT NULL), -1)",
    )
    .bind(address)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n)
}

/// Sets contact `id`'s status to `to` when it is one of `from`. `from`
/// is written into the SQL text: only the policy's constants, never input.
pub(crate) async fn set_contact_status(
    conn: &mut AnyConnection,
    id: i64,
    to: &str,
    from: &[&'static str],
    now: i64,
) -> Result<(), sqlx::Error> {
    let from = from
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(&format!(
        "UPDATE contacts SET status = $2, updated_at = $3 WHERE id = $1 AND status IN ({from})"
    ))
    .bind(id)
    .bind(to)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Suppresses an address; whether it was not suppressed before.
pub(crate) async fn suppress_address(
    conn: &mut AnyConnection,
    address: &str,
    reason: &str,
    source: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    // A suppression added by hand or by an earlier bounce stays as it was.
    let n = sqlx::query(
        "INSERT INTO suppressions (kind, value, reason, source, created_at) \
         VALUES ('address', $1, $2, $3, $4) ON CONFLICT (kind, value) DO NOTHING",
    )
    .bind(address)
    .bind(reason)
    .bind(source)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}
