//! The bounce policy: what one recorded bounce does to its delivery, its
//! contact and the suppression list. Every bounce goes through
//! [`record`], whether it was refused while sending (SMTP), read from a
//! file or fetched over IMAP, so the same failure has the same effect
//! whatever its way in.
//!
//! | kind / reason          | effect                                                    |
//! |------------------------|-----------------------------------------------------------|
//! | hard                   | contact `bounced`, address suppressed                     |
//! | soft                   | counted; suppressed (contact `bounced`) at `soft_limit`   |
//! |                        | soft bounces within `soft_window_days`, none delivered between |
//! | complaint              | contact `complained`, address suppressed                  |
//! | hasmoved (any kind)    | contact `needs-update`, not suppressed                    |
//! | auto-reply             | recorded only: the message was delivered                  |
//! | not-a-failure          | recorded only (delay notices, delivery reports)           |
//!
//! A bounce that matched no delivery is recorded and changes nothing: only
//! a delivery names whom to suppress. Matching is `store`'s business.

use sqlx::AnyConnection;

use super::store::{effects, records};
use super::{Kind, Reason};
use crate::config::BouncesConfig;

/// `[bounces]` settings, with their defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Soft bounces (of distinct messages) that suppress an address.
    pub soft_limit: u32,
    /// How far back soft bounces count, in days.
    pub soft_window_days: u32,
    /// How far back a bounce naming only its recipient looks for the
    /// delivery it belongs to, in days.
    pub match_window_days: u32,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            soft_limit: 3,
            soft_window_days: 30,
            match_window_days: 30,
        }
    }
}

impl Policy {
    /// The policy of presswire.toml's `[bounces]`, defaults for what it omits.
    pub fn from_config(c: &BouncesConfig) -> Policy {
        let d = Policy::default();
        Policy {
            soft_limit: c.soft_limit.unwrap_or(d.soft_limit).max(1),
            soft_window_days: c.soft_window_days.unwrap_or(d.soft_window_days),
            match_window_days: c.match_window_days.unwrap_or(d.match_window_days),
        }
    }
}

/// Which rule of the policy a bounce falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Suppress now: a hard bounce.
    Suppress,
    /// Count; suppress at the limit.
    CountSoft,
    /// Suppress and mark the contact as having complained.
    Complaint,
    /// The recipient moved: someone should update the contact.
    NeedsUpdate,
    /// Keep for the record; change nothing.
    RecordOnly,
}

/// The rule for a bounce of this kind and reason.
pub fn rule(kind: Kind, reason: Reason) -> Rule {
    // "Has moved" is a hard bounce to the classifier (the old address is
    // gone), but the journalist is still there: update, don't drop.
    if reason == Reason::HasMoved && matches!(kind, Kind::Hard | Kind::Soft) {
        return Rule::NeedsUpdate;
    }
    match kind {
        Kind::Hard => Rule::Suppress,
        Kind::Soft => Rule::CountSoft,
        Kind::Complaint => Rule::Complaint,
        Kind::AutoReply | Kind::NotAFailure => Rule::RecordOnly,
    }
}

/// How a bounce was tied to its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchedBy {
    /// The signed VERP token of the address it came back to.
    Verp,
    /// The Message-ID of the returned message.
    MessageId,
    /// The recipient's address and the latest delivery to it.
    Recipient,
    /// Refused by the relay while sending.
    Smtp,
}

impl MatchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::Verp => "verp",
            MatchedBy::MessageId => "message-id",
            MatchedBy::Recipient => "recipient",
            MatchedBy::Smtp => "smtp",
        }
    }
}

/// One bounce to record.
#[derive(Debug, Clone)]
pub struct NewBounce<'a> {
    /// The delivery it belongs to; `None` when unmatched.
    pub delivery_id: Option<i64>,
    pub matched_by: Option<MatchedBy>,
    pub contact_id: Option<i64>,
    /// The address the bounce is about (as reported, else the delivery's).
    pub email: Option<&'a str>,
    pub kind: Kind,
    pub reason: Reason,
    pub status_code: Option<&'a str>,
    pub reply_code: Option<i64>,
    pub diagnostic: Option<&'a str>,
    pub reporting_mta: Option<&'a str>,
    pub remote_host: Option<&'a str>,
    /// "smtp", "file" or "imap".
    pub source: &'a str,
    /// The file or IMAP message it came from.
    pub origin: Option<&'a str>,
    pub raw: Option<&'a [u8]>,
    pub subject: Option<&'a str>,
    pub message_id: Option<&'a str>,
    pub verp_token: Option<&'a str>,
    pub action: Option<&'a str>,
    pub feedback_type: Option<&'a str>,
    /// Epoch ms: when the bounce was written (its Date), else now.
    pub received_at: i64,
    /// See the migration: `None` for SMTP-time rejections.
    pub dedupe_key: Option<String>,
    /// Why it is unmatched, when it is (stored as its effect).
    pub unmatched_why: Option<String>,
    /// What decided its reason and kind (`classify::Decision::evidence`).
    pub evidence: Option<&'a str>,
}

/// What recording one bounce did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub id: i64,
    /// Whether the policy newly suppressed an address.
    pub suppressed: bool,
    /// The effect, in words (also stored with the bounce).
    pub effect: String,
}

const DAY_MS: i64 = 86_400_000;

/// Stores a bounce and applies the policy to its delivery and contact, in
/// the caller's transaction. `None` when the same bounce was recorded
/// before (its dedupe key exists): nothing is counted twice.
pub async fn record(
    conn: &mut AnyConnection,
    policy: &Policy,
    b: &NewBounce<'_>,
    now: i64,
) -> Result<Option<Recorded>, sqlx::Error> {
    // The bounce itself: nothing when the same bounce was recorded before.
    let Some(id) = records::insert_bounce(conn, b, now).await? else {
        return Ok(None);
    };
    let (suppressed, effect) = match b.delivery_id {
        Some(delivery) => apply(conn, policy, id, delivery, b, now).await?,
        None => (
            false,
            format!(
                "unmatched: {}; recorded, nobody changed",
                b.unmatched_why.as_deref().unwrap_or("no delivery found")
            ),
        ),
    };
    records::set_effect(conn, id, &effect).await?;
    Ok(Some(Recorded {
        id,
        suppressed,
        effect,
    }))
}

/// Applies the policy to a matched bounce: (newly suppressed, effect).
async fn apply(
    conn: &mut AnyConnection,
    policy: &Policy,
    id: i64,
    delivery: i64,
    b: &NewBounce<'_>,
    now: i64,
) -> Result<(bool, String), sqlx::Error> {
    // The address that was mailed, and whom it belongs to now.
    let Some((mailed, contact)) = effects::mailed_delivery(conn, delivery).await? else {
        return Ok((false, "recorded; its delivery no longer exists".into()));
    };
    // `contacts forget` left this mark instead of the address: there is no
    // one to suppress (the forgotten hash already keeps them out).
    if mailed == "forgotten" {
        return Ok((false, "recorded; the address was forgotten".into()));
    }
    let contact = contact.or(b.contact_id);
    let address = mailed.to_lowercase();
    let rule = rule(b.kind, b.reason);
    if matches!(b.kind, Kind::Hard | Kind::Soft) {
        // ARCHITECTURE.md "Delivery states": a `sent` delivery an asynchronous
        // bounce came back for is `bounced` (a refusal while sending left
        // it `failed`, which stays).
        effects::mark_sent_delivery_bounced(conn, delivery, now).await?;
    }
    let reason = b.reason.as_str();
    let origin = if b.source == "smtp" {
        "smtp rejection".to_string()
    } else {
        format!("bounce {id}")
    };
    Ok(match rule {
        Rule::RecordOnly => (false, "recorded; not a failure, nothing changed".into()),
        Rule::NeedsUpdate => {
            set_status(conn, contact, "needs-update", &["active"], now).await?;
            (
                false,
                "contact marked needs-update (the recipient has moved); not suppressed".into(),
            )
        }
        Rule::Suppress => {
            set_status(conn, contact, "bounced", &["active", "needs-update"], now).await?;
            let new = effects::suppress_address(
                conn,
                &address,
                "bounced",
                &format!("{origin}: {reason}"),
                now,
            )
            .await?;
            (new, effect_of_suppression(new, "hard bounce"))
        }
        Rule::Complaint => {
            set_status(
                conn,
                contact,
                "complained",
                &["active", "needs-update", "bounced"],
                now,
            )
            .await?;
            let new = effects::suppress_address(
                conn,
                &address,
                "complained",
                &format!("{origin}: complaint"),
                now,
            )
            .await?;
            (new, effect_of_suppression(new, "complaint"))
        }
        Rule::CountSoft => {
            let count = soft_count(conn, policy, &address, now).await?;
            if count >= i64::from(policy.soft_limit) {
                set_status(conn, contact, "bounced", &["active", "needs-update"], now).await?;
                let why = format!(
                    "{count} soft bounces within {} days",
                    policy.soft_window_days
                );
                let new = effects::suppress_address(
                    conn,
                    &address,
                    "bounced",
                    &format!("{origin}: {why} ({reason})"),
                    now,
                )
                .await?;
                (new, effect_of_suppression(new, &why))
            } else {
                (
                    false,
                    format!(
                        "soft bounce {count} of {} within {} days; not suppressed yet",
                        policy.soft_limit, policy.soft_window_days
                    ),
                )
            }
        }
    })
}

fn effect_of_suppression(new: bool, why: &str) -> String {
    if new {
        format!("suppressed: {why}")
    } else {
        format!("{why}; the address was already suppressed")
    }
}

/// Soft bounces of `address` that count toward the limit now: those
/// within the policy's window (see [`effects::soft_bounces_counting`]).
async fn soft_count(
    conn: &mut AnyConnection,
    policy: &Policy,
    address: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let since = now - i64::from(policy.soft_window_days) * DAY_MS;
    effects::soft_bounces_counting(conn, address, since).await
}

/// Sets a contact's status when it is one of `from`.
async fn set_status(
    conn: &mut AnyConnection,
    contact: Option<i64>,
    to: &str,
    from: &[&'static str],
    now: i64,
) -> Result<(), sqlx::Error> {
    match contact {
        Some(contact) => effects::set_contact_status(conn, contact, to, from, now).await,
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(rule(Kind::Hard, Reason::UserUnknown), Rule::Suppress);
        assert_eq!(rule(Kind::Hard, Reason::HasMoved), Rule::NeedsUpdate);
        assert_eq!(rule(Kind::Soft, Reason::MailboxFull), Rule::CountSoft);
        assert_eq!(rule(Kind::Complaint, Reason::Feedback), Rule::Complaint);
        assert_eq!(rule(Kind::AutoReply, Reason::Vacation), Rule::RecordOnly);
        assert_eq!(rule(Kind::NotAFailure, Reason::Delivered), Rule::RecordOnly);
        assert_eq!(rule(Kind::NotAFailure, Reason::HasMoved), Rule::RecordOnly);
    }

    #[test]
    fn config_defaults_and_overrides() {
        assert_eq!(
            Policy::from_config(&BouncesConfig::default()),
            Policy::default()
        );
        let p = Policy::from_config(&BouncesConfig {
            soft_limit: Some(5),
            soft_window_days: Some(10),
            match_window_days: None,
        });
        assert_eq!(
            (p.soft_limit, p.soft_window_days, p.match_window_days),
            (5, 10, 30)
        );
    }
}
