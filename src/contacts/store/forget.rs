//! Erasing a contact's personal data from every table in one write
//! transaction, keeping only the hash of the address as a suppression.

use crate::db::{now_ms, Db};

/// What [`erase`] removed.
pub(crate) struct Erased {
    /// Whether a contact held the address.
    pub(crate) contact: bool,
    pub(crate) deliveries: u64,
    pub(crate) bounces: u64,
    pub(crate) suppressions: u64,
}

/// Erases the contact with address key `key` (its tags, what imports kept
/// of it, the address in deliveries and bounces, the raw bounce messages,
/// its address suppression) and adds `hash` as a `forgotten` suppression.
/// In the same transaction, the audit log records that `actor` forgot a
/// contact (by `hash`, never the address) and the address leaves the
/// log's earlier entries.
pub(crate) async fn erase(
    db: &Db,
    actor: &str,
    key: &str,
    hash: &str,
) -> Result<Erased, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    // The contact's id, if the address is a contact.
    let id: Option<(i64,)> = sqlx::query_as("SELECT id FROM contacts WHERE email_key = $1")
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
    let id = id.map(|(id,)| id);
    // Bounces hold the address and the raw message: delete them outright.
    let bounces = sqlx::query(
        "DELETE FROM bounces WHERE lower(email) = $1 OR contact_id = $2 \
         OR delivery_id IN (SELECT id FROM deliveries WHERE contact_id = $2 OR lower(email) = $1)",
    )
    .bind(key)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // Deliveries stay for the send's counts, without the address.
    let deliveries = sqlx::query(
        "UPDATE deliveries SET email = 'forgotten', contact_id = NULL, last_reply = NULL \
         WHERE contact_id = $2 OR lower(email) = $1",
    )
    .bind(key)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // What imports kept of the contact's values from before they changed
    // them (for `contacts import --undo`) is personal data too.
    sqlx::query("DELETE FROM import_changes WHERE contact_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    // Tags go with the contact (ON DELETE CASCADE).
    sqlx::query("DELETE FROM contacts WHERE email_key = $1")
        .bind(key)
        .execute(&mut *tx)
        .await?;
    // A suppression naming the address names the person.
    let suppressions =
        sqlx::query("DELETE FROM suppressions WHERE kind = 'address' AND value = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    // Only the hash remains, so imports and sends can refuse the address.
    sqlx::query(
        "INSERT INTO suppressions (kind, value, reason, source, created_at) \
         VALUES ('forgotten', $1, 'forgotten', 'contacts forget', $2) \
         ON CONFLICT (kind, value) DO NOTHING",
    )
    .bind(hash)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    crate::team::audit::forget_address(&mut tx, key).await?;
    let summary = format!(
        "forgot a contact: {deliveries} deliveries, {bounces} bounces and {suppressions} suppressions erased"
    );
    crate::team::audit::record(
        &mut tx,
        actor,
        crate::team::Action::ContactForget,
        Some(hash),
        &summary,
    )
    .await?;
    tx.commit().await?;
    Ok(Erased {
        contact: id.is_some(),
        deliveries,
        bounces,
        suppressions,
    })
}
