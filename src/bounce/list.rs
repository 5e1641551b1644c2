//! Reading recorded bounces back: `bounces list` with its filters,
//! `bounces show` (with the raw message kept for review) and a contact's
//! bounces for `contacts show`.

use serde::Serialize;

use super::{Kind, Reason};
use crate::contacts::ser_time;
use crate::db::{Db, Params};

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

const COLUMNS: &str = "b.id, b.received_at, b.email, b.kind, b.reason, b.status_code, b.reply_code, \
     b.diagnostic, d.send_id, b.delivery_id, b.matched_by, b.effect, b.source, b.origin, b.subject, \
     b.message_id, b.verp_token, b.action, b.feedback_type, b.reporting_mta, b.remote_host, b.evidence, \
     CAST(length(b.raw) AS BIGINT) AS raw_size, b.created_at";

/// The bounces matching `filter`, newest first.
pub async fn list(db: &Db, filter: &Filter) -> Result<Vec<Bounce>, sqlx::Error> {
    let mut p = Params::new();
    let mut wheres = vec!["1 = 1".to_string()];
    if let Some(send) = filter.send_id {
        wheres.push(format!("d.send_id = {}", p.push(send)));
    }
    if !filter.kinds.is_empty() {
        let list: Vec<String> = filter.kinds.iter().map(|k| p.push(k.as_str())).collect();
        wheres.push(format!("b.kind IN ({})", list.join(", ")));
    }
    if !filter.reasons.is_empty() {
        let list: Vec<String> = filter.reasons.iter().map(|r| p.push(r.as_str())).collect();
        wheres.push(format!("b.reason IN ({})", list.join(", ")));
    }
    if let Some(since) = filter.since {
        wheres.push(format!("b.received_at >= {}", p.push(since)));
    }
    if filter.unmatched {
        wheres.push("b.delivery_id IS NULL".to_string());
    }
    if let Some(contact) = filter.contact_id {
        wheres.push(format!("b.contact_id = {}", p.push(contact)));
    }
    // The filtered bounces with the send of their delivery, newest first.
    let sql = format!(
        "SELECT {COLUMNS} FROM bounces b LEFT JOIN deliveries d ON d.id = b.delivery_id \
         WHERE {} ORDER BY b.received_at DESC, b.id DESC",
        wheres.join(" AND ")
    );
    p.query_as(&sql).fetch_all(&db.pool).await
}

/// One bounce and its raw message, if kept.
pub async fn show(db: &Db, id: i64) -> Result<Option<(Bounce, Option<Vec<u8>>)>, sqlx::Error> {
    // One bounce by id, for `bounces show`.
    let sql = format!(
        "SELECT {COLUMNS} FROM bounces b LEFT JOIN deliveries d ON d.id = b.delivery_id WHERE b.id = $1"
    );
    let Some(bounce) = sqlx::query_as::<_, Bounce>(&sql)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
    else {
        return Ok(None);
    };
    // Its raw message, apart: only `show` needs the bytes.
    let (raw,): (Option<Vec<u8>>,) = sqlx::query_as("SELECT raw FROM bounces WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
    Ok(Some((bounce, raw)))
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
