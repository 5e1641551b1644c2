//! Recording an unsubscribe: the contact's address key, its suppression,
//! its status; each statement inside the caller's write transaction.

use sqlx::AnyConnection;

/// The address and address key of contact `id`, if it still exists.
pub(crate) async fn address_of(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT email, email_key FROM contacts WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

/// Suppresses the address `key` as unsubscribed from send `send_id`,
/// unless a suppression of it exists (by hand, a bounce, an earlier
/// click): the first reason is the one worth keeping. Returns whether it
/// added one.
pub(crate) async fn suppress_address(
    conn: &mut AnyConnection,
    key: &str,
    source: &str,
    send_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let added = sqlx::query(
        "INSERT INTO suppressions (kind, value, reason, source, send_id, created_at) \
         VALUES ('address', $1, 'unsubscribed', $2, $3, $4) ON CONFLICT (kind, value) DO NOTHING",
    )
    .bind(key)
    .bind(source)
    .bind(send_id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(added > 0)
}

/// Marks contact `id` unsubscribed, unless it is already or it complained
/// (the journalist's own word outranks a bounce; a complaint, marked as
/// spam, stays what it was). Returns whether it changed.
pub(crate) async fn mark_unsubscribed(
    conn: &mut AnyConnection,
    id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE contacts SET status = 'unsubscribed', updated_at = $2 \
         WHERE id = $1 AND status IN ('active', 'bounced', 'needs-update')",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(changed > 0)
}
