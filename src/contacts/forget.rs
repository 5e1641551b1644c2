//! Forgetting a contact: erasing their personal data everywhere while
//! keeping a one-way hash of the address, so that a later import or send
//! cannot bring them back.

use serde::Serialize;

use super::email::{forgotten_hash, Address};
use super::Error;
use crate::db::{now_ms, Db};

/// What `forget` erased.
#[derive(Debug, Clone, Serialize)]
pub struct Forgotten {
    pub email: String,
    /// Whether a contact held the address.
    pub contact: bool,
    pub deliveries: u64,
    pub bounces: u64,
    pub suppressions: u64,
}

/// Erases the contact with `email`, their tags, the address in deliveries
/// and bounces (with the raw bounce messages), and any suppression naming
/// it; keeps the SHA-256 of the address as a `forgotten` suppression.
/// The audit log keeps that it happened (by `actor`), not the address, and
/// the address is taken out of its earlier entries.
pub async fn forget(db: &Db, actor: &str, email: &str) -> Result<Forgotten, Error> {
    let address = Address::parse(email).map_err(|e| Error::BadInput(e.to_string()))?;
    let key = address.key();
    let mut tx = db.begin_write().await?;
    // The contact's id, if the address is a contact.
    let id: Option<(i64,)> = sqlx::query_as("SELECT id FROM contacts WHERE email_key = $1")
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await?;
    let id = id.map(|(id,)| id);
    // Bounces hold the address and the raw message: delete them outright.
    let bounces = sqlx::query(
        "DELETE FROM bounces WHERE lower(email) = $1 OR contact_id = $2 \
         OR delivery_id IN (SELECT id FROM deliveries WHERE contact_id = $2 OR lower(email) = $1)",
    )
    .bind(&key)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // Deliveries stay for the send's counts, without the address.
    let deliveries = sqlx::query(
        "UPDATE deliveries SET email = 'forgotten', contact_id = NULL, last_reply = NULL \
         WHERE contact_id = $2 OR lower(email) = $1",
    )
    .bind(&key)
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
        .bind(&key)
        .execute(&mut *tx)
        .await?;
    let suppressions =
        sqlx::query("DELETE FROM suppressions WHERE kind = 'address' AND value = $1")
            .bind(&key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    // Only the hash remains, so imports and sends can refuse the address.
    sqlx::query(
        "INSERT INTO suppressions (kind, value, reason, source, created_at) \
         VALUES ('forgotten', $1, 'forgotten', 'contacts forget', $2) \
         ON CONFLICT (kind, value) DO NOTHING",
    )
    .bind(forgotten_hash(&key))
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let hash = forgotten_hash(&key);
    crate::team::audit::forget_address(&mut tx, &key).await?;
    let summary = format!(
        "forgot a contact: {deliveries} deliveries, {bounces} bounces and {suppressions} suppressions erased"
    );
    crate::team::audit::record(
        &mut tx,
        actor,
        crate::team::Action::ContactForget,
        Some(&hash),
        &summary,
    )
    .await?;
    tx.commit().await?;
    Ok(Forgotten {
        email: address.to_string(),
        contact: id.is_some(),
        deliveries,
        bounces,
        suppressions,
    })
}
