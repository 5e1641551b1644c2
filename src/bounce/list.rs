//! Reading recorded bounces back: `bounces list` with its filters,
//! `bounces show` (with the raw message kept for review) and a contact's
//! bounces for `contacts show`.

use serde::Serialize;

use super::store::records;
use super::{Kind, Reason};
use crate::contacts::ser_time;
use crate::db::Db;

/// One recorded bounce.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Bounce {
    pub id: i64,
    /// When the bounce was written (its Date), else when it was read.
    #[serde(serialize_with = "ser_time")]
    pub received_at: i64,
    /// The address it is about.
    pub email: Option<String>,
    pub kind: String,
    pub reason: String,
    pub status_code: Option<String>,
    pub reply_code: Option<i64>,
    pub diagnostic: Option<String>,
    /// The send and delivery it was matched to; none when unmatched.
    pub send_id: Option<i64>,
    pub delivery_id: Option<i64>,
    /// verp, message-id, recipient or smtp.
    pub matched_by: Option<String>,
    /// What the policy did.
    pub effect: Option<String>,
    /// smtp, file or imap; then the file or IMAP message.
    pub source: String,
    pub origin: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub verp_token: Option<String>,
    pub action: Option<String>,
    pub feedback_type: Option<String>,
    pub reporting_mta: Option<String>,
    pub remote_host: Option<String>,
    /// What decided its reason and kind (the status code, reply code,
    /// phrase or rule); none for bounces recorded before it was kept.
    pub evidence: Option<String>,
    /// Size of the raw message kept, in bytes.
    pub raw_size: Option<i64>,
    #[serde(serialize_with = "ser_time")]
    pub created_at: i64,
}

/// Which bounces `bounces list` shows. Empty lists mean any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub send_id: Option<i64>,
    pub kinds: Vec<Kind>,
    pub reasons: Vec<Reason>,
    /// Epoch ms: received at or after.
    pub since: Option<i64>,
    pub unmatched: bool,
    pub contact_id: Option<i64>,
}

/// The bounces matching `filter`, newest first.
pub async fn list(db: &Db, filter: &Filter) -> Result<Vec<Bounce>, sqlx::Error> {
    records::select_bounces(db, filter).await
}

/// One bounce and its raw message, if kept.
pub async fn show(db: &Db, id: i64) -> Result<Option<(Bounce, Option<Vec<u8>>)>, sqlx::Error> {
    let Some(bounce) = records::select_bounce(db, id).await? else {
        return Ok(None);
    };
    Ok(Some((bounce, records::raw_message(db, id).await?)))
}
/// A contact's bounces, newest first.
pub async fn of_contact(db: &Db, contact_id: i64) -> Result<Vec<Bounce>, sqlx::Error> {
    list(
        db,
        &Filter {
            contact_id: Some(contact_id),
            ..Default::default()
        },
    )
    .await
}
