//! Forgetting a contact: erasing their personal data everywhere while
//! keeping a one-way hash of the address, so that a later import or send
//! cannot bring them back.

use serde::Serialize;

use super::email::{forgotten_hash, Address};
use super::{store, Error};
use crate::db::Db;

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
    let erased = store::forget::erase(db, actor, &key, &forgotten_hash(&key)).await?;
    Ok(Forgotten {
        email: address.to_string(),
        contact: erased.contact,
        deliveries: erased.deliveries,
        bounces: erased.bounces,
        suppressions: erased.suppressions,
    })
}
