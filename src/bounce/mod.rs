//! Bounces: classifying a failure into hard / soft with a reason, storing
//! it, and applying the policy to the contact list.
//!
//! For now this covers rejections the relay gives at SMTP time (a 5xx to
//! RCPT or DATA); parsing DSN messages from files and IMAP comes with the
//! bounce issue and feeds the same `record` and policy.

use crate::db::{now_ms, Db};

/// What kind of failure a bounce is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Hard,
    Soft,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Hard => "hard",
            Kind::Soft => "soft",
        }
    }
}

/// Classifies an SMTP rejection from its reply text ("550 5.1.1 <x>: user
/// unknown") into a kind and a reason in Sisimai's vocabulary. Hard are
/// only the failures that say the address itself is wrong (RFC 3463
/// X.1.x address status, or the words of "no such user"); a policy or
/// content refusal may pass another day.
pub fn classify_smtp(reply: &str) -> (Kind, &'static str, Option<String>, Option<i64>) {
    let lower = reply.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ':')
        .filter(|w| !w.is_empty())
        .collect();
    let reply_code = words
        .iter()
        .find(|w| w.len() == 3 && w.chars().all(|c| c.is_ascii_digit()))
        .and_then(|w| w.parse::<i64>().ok());
    let status = words
        .iter()
        .find(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            parts.len() == 3
                && matches!(parts[0], "2" | "4" | "5")
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        })
        .map(|s| s.to_string());
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    let (kind, reason) = match status.as_deref() {
        Some("5.1.1") | Some("5.1.0") | Some("5.1.10") => (Kind::Hard, "userunknown"),
        Some("5.1.2") => (Kind::Hard, "hostunknown"),
        Some("5.1.6") => (Kind::Hard, "hasmoved"),
        Some("5.2.2") | Some("4.2.2") => (Kind::Soft, "mailboxfull"),
        Some("5.2.3") | Some("5.3.4") => (Kind::Soft, "mesgtoobig"),
        Some("5.2.1") => (Kind::Soft, "suspend"),
        Some(s) if s.starts_with("5.7") => (Kind::Soft, "blocked"),
        _ if has(&[
            "user unknown",
            "no such user",
            "unknown user",
            "does not exist",
            "recipient unknown",
            "mailbox unavailable",
            "invalid recipient",
            "unknown recipient",
        ]) =>
        {
            (Kind::Hard, "userunknown")
        }
        _ if has(&["mailbox full", "quota", "over limit"]) => (Kind::Soft, "mailboxfull"),
        _ if has(&["spam", "blocked", "blacklist", "denied", "policy"]) => (Kind::Soft, "blocked"),
        _ => (Kind::Soft, "undefined"),
    };
    (kind, reason, status, reply_code)
}

/// Records an SMTP-time rejection of a delivery as a bounce and applies the
/// policy: a hard bounce marks the contact bounced and suppresses the address.
pub async fn record_smtp_rejection(
    db: &Db,
    delivery_id: i64,
    contact_id: Option<i64>,
    email: &str,
    reply: &str,
) -> Result<Kind, sqlx::Error> {
    let (kind, reason, status, code) = classify_smtp(reply);
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    // The rejection, as a bounce of this delivery.
    sqlx::query(
        "INSERT INTO bounces (delivery_id, contact_id, email, kind, reason, status_code, reply_code, \
             diagnostic, source, received_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'smtp', $9, $9)",
    )
    .bind(delivery_id)
    .bind(contact_id)
    .bind(email)
    .bind(kind.as_str())
    .bind(reason)
    .bind(status)
    .bind(code)
    .bind(reply)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if kind == Kind::Hard {
        // Policy: a hard bounce ends mailing to the address.
        sqlx::query("UPDATE contacts SET status = 'bounced', updated_at = $2 WHERE id = $1 AND status = 'active'")
            .bind(contact_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO suppressions (kind, value, reason, source, created_at) \
             VALUES ('address', $1, 'bounced', $2, $3) ON CONFLICT (kind, value) DO NOTHING",
        )
        .bind(email.to_lowercase())
        .bind(format!("smtp rejection: {reason}"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_rejections() {
        let (k, r, s, c) = classify_smtp(
            "permanent error (550): 5.1.1 <x@y.example>: Recipient address rejected: User unknown",
        );
        assert_eq!(
            (k, r, s.as_deref(), c),
            (Kind::Hard, "userunknown", Some("5.1.1"), Some(550))
        );
        assert_eq!(classify_smtp("552 5.2.2 Mailbox full").0, Kind::Soft);
        assert_eq!(
            classify_smtp("554 5.7.1 Service unavailable; blocked").1,
            "blocked"
        );
        assert_eq!(
            classify_smtp("500 Error: command not recognized").0,
            Kind::Soft
        );
    }
}
