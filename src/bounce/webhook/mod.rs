//! Bounce webhooks: bounces and complaints that e-mail providers report
//! over HTTP instead of by mail. Each provider module checks the request's
//! authentication (the provider's signature or a shared secret) and reads
//! its body into provider-neutral [`Event`]s; [`record`] then classifies,
//! matches and records them with the same classifier
//! ([`classify`](super::classify)), the same matching
//! ([`store`](super::store)) and the same [`policy`](super::policy) as a
//! bounce that came back by mail.
//!
//! This module does not know about HTTP: the server (`web/`) hands it the
//! request's headers and body and turns its [`Error`] into a status code.
//!
//! Replays: where a provider signs a timestamp, a request older than the
//! replay window is refused; every event is recorded under the provider's
//! event id, so the same event delivered twice is recorded once.

pub mod generic;
pub mod mailgun;
pub mod postmark;
pub mod sendgrid;
pub mod ses;

use serde::Serialize;

use super::classify::{self, Evidence};
use super::policy::{NewBounce, Policy};
use super::store::{find_delivery_by, record_counted, recorded_before, Counts};
use super::{Kind, Reason};
use crate::db::{now_ms, Db};
use crate::send::tokens::Signer;

/// How old a signed timestamp may be (and how far ahead of our clock).
pub const REPLAY_WINDOW_SECS: i64 = 5 * 60;

/// Why a webhook request was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Credentials or signature missing or wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// A signed timestamp outside the replay window.
    #[error("{0}")]
    Stale(String),
    /// The body is not what the provider sends.
    #[error("{0}")]
    Malformed(String),
    /// Something the check needs could not be fetched (an SNS certificate).
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A request's header by (case-insensitive) name.
pub type Headers<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What a provider reported about one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// The message was not delivered. `permanent`: the provider's own
    /// verdict (hard / soft), when it gives one.
    Bounce { permanent: Option<bool> },
    /// The recipient marked the message as spam.
    Complaint,
}

/// One reported event, whatever the provider.
#[derive(Debug, Clone)]
pub struct Event {
    /// "generic", "ses", "sendgrid", "postmark" or "mailgun".
    pub provider: &'static str,
    /// The provider's id of the event: the same event sent twice is one.
    pub id: String,
    pub recipient: String,
    pub what: What,
    /// Enhanced status code (RFC 3463), e.g. "5.1.1".
    pub status: Option<String>,
    pub reply_code: Option<u16>,
    /// The remote server's reply or the provider's description.
    pub diagnostic: Option<String>,
    /// The provider's reason, used when the words say nothing.
    pub hint: Option<Reason>,
    /// The Message-ID of the message it is about (ours, when the provider
    /// passes it on).
    pub message_id: Option<String>,
    /// A VERP token (`d<id>-<sig>`) the provider passed back.
    pub verp_token: Option<String>,
    /// When it happened, epoch ms.
    pub at: Option<i64>,
    /// The event as the provider sent it, kept for review.
    pub raw: Vec<u8>,
}

/// What one webhook request did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    /// Recorded, matched, unmatched, suppressed and duplicates.
    #[serde(flatten)]
    pub counts: Counts,
    /// Events of kinds presswire does not record (deliveries, opens…).
    pub ignored: usize,
}

/// The kind and reason of an event, by the classifier that reads bounce
/// messages and SMTP replies: the same words give the same reason.
pub fn classify(e: &Event) -> (Kind, Reason) {
    let permanent = match e.what {
        What::Complaint => return (Kind::Complaint, Reason::Feedback),
        What::Bounce { permanent } => permanent,
    };
    let diagnostic = e.diagnostic.as_deref().unwrap_or("");
    let status = e
        .status
        .clone()
        .or_else(|| classify::find_status(diagnostic));
    let reply_code = e
        .reply_code
        .or_else(|| classify::find_reply_code(diagnostic));
    let mut reason = classify::reason(&Evidence {
        diagnostic,
        status: status.as_deref(),
        reply_code,
        command: classify::find_command(diagnostic),
        ..Default::default()
    });
    if matches!(reason, Reason::Undefined | Reason::OnHold) {
        reason = e.hint.unwrap_or(reason);
    }
    let temporary = match permanent {
        Some(p) => !p,
        None => classify::is_temporary(status.as_deref(), reply_code),
    };
    let kind = if reason.is_hard(temporary) {
        Kind::Hard
    } else {
        Kind::Soft
    };
    (kind, reason)
}

/// `<id@host>` → `id@host`.
pub fn clean_message_id(id: &str) -> Option<String> {
    let id = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!id.is_empty()).then(|| id.to_string())
}

/// Records the events of one request in one transaction: matched to their
/// deliveries, with the policy applied; events recorded before are skipped.
pub async fn record(
    db: &Db,
    signer: &Signer,
    policy: &Policy,
    events: &[Event],
    ignored: usize,
) -> Result<Report, sqlx::Error> {
    let now = now_ms();
    let mut report = Report {
        ignored,
        ..Default::default()
    };
    let mut tx = db.begin_write().await?;
    for e in events {
        let recipient = e.recipient.trim().to_lowercase();
        let key = format!("webhook:{}:{}:{recipient}", e.provider, e.id);
        // Recorded by an earlier request: skip before matching.
        if recorded_before(&mut tx, &key).await? {
            report.counts.duplicates += 1;
            continue;
        }
        let (kind, reason) = classify(e);
        let evidence = format!(
            "{} webhook: a {} bounce by the provider's word, {reason} by its diagnostic",
            e.provider,
            match e.what {
                What::Bounce {
                    permanent: Some(true),
                } => "permanent",
                What::Bounce {
                    permanent: Some(false),
                } => "temporary",
                _ => "reported",
            }
        );
        let received_at =
            e.at.filter(|t| *t > 946_684_800_000)
                .unwrap_or(now)
                .min(now);
        let message_id = e.message_id.as_deref().and_then(clean_message_id);
        let token = e.verp_token.as_deref().map(str::to_ascii_lowercase);
        let found = find_delivery_by(
            &mut tx,
            signer,
            policy,
            token.as_deref(),
            message_id.as_deref(),
            Some(&recipient),
            received_at,
        )
        .await?;
        let (delivery, why) = found.into_parts();
        let origin = format!("{} webhook, event {}", e.provider, e.id);
        let status = e
            .status
            .clone()
            .or_else(|| classify::find_status(e.diagnostic.as_deref().unwrap_or("")));
        let new = NewBounce {
            delivery_id: delivery.as_ref().map(|d| d.id),
            matched_by: delivery.as_ref().map(|d| d.by),
            contact_id: delivery.as_ref().and_then(|d| d.contact_id),
            email: Some(&recipient),
            kind,
            reason,
            status_code: status.as_deref(),
            reply_code: e.reply_code.map(i64::from),
            diagnostic: e.diagnostic.as_deref(),
            reporting_mta: None,
            remote_host: None,
            source: "webhook",
            origin: Some(&origin),
            raw: Some(&e.raw),
            subject: None,
            message_id: message_id.as_deref(),
            verp_token: token.as_deref(),
            action: Some(match e.what {
                What::Bounce { .. } => "failed",
                What::Complaint => "complaint",
            }),
            feedback_type: matches!(e.what, What::Complaint).then_some("abuse"),
            received_at,
            dedupe_key: Some(key),
            unmatched_why: why,
            evidence: Some(&evidence),
        };
        record_counted(&mut tx, policy, &new, now, &mut report.counts).await?;
    }
    tx.commit().await?;
    Ok(report)
}

/// Whether two secrets are equal, in time that does not depend on where
/// they differ (the `subtle` crate's comparison).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// Checks a signed timestamp (Unix seconds) against the replay window.
pub fn check_fresh(timestamp: i64, window_secs: i64, now_secs: i64) -> Result<(), Error> {
    if (now_secs - timestamp).abs() > window_secs {
        return Err(Error::Stale(format!(
            "the signed timestamp {timestamp} is more than {window_secs} seconds from now: \
             refused as a possible replay"
        )));
    }
    Ok(())
}

/// The current time in Unix seconds.
pub fn now_secs() -> i64 {
    now_ms() / 1000
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[&[u8]]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for d in data {
        mac.update(d);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Parses a JSON body, with a message that says where it went wrong.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::Malformed(format!("the body is not valid: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(what: What, diagnostic: &str) -> Event {
        Event {
            provider: "generic",
            id: "1".into(),
            recipient: "x@y.example".into(),
            what,
            status: None,
            reply_code: None,
            diagnostic: Some(diagnostic.into()),
            hint: None,
            message_id: None,
            verp_token: None,
            at: None,
            raw: vec![],
        }
    }

    #[test]
    fn the_same_words_give_the_same_reason_as_an_smtp_reply() {
        let text = "550 5.1.1 <x@y.example>: Recipient address rejected: User unknown";
        let (k, r) = classify(&event(
            What::Bounce {
                permanent: Some(true),
            },
            text,
        ));
        let v = crate::bounce::classify_smtp(text, None);
        let (sk, sr) = (v.kind, v.reason);
        assert_eq!((k, r.as_str()), (sk, sr));
        assert_eq!((k, r), (Kind::Hard, Reason::UserUnknown));
        let (k, r) = classify(&event(
            What::Bounce {
                permanent: Some(false),
            },
            "552 5.2.2 Mailbox full",
        ));
        assert_eq!((k, r), (Kind::Soft, Reason::MailboxFull));
        assert_eq!(
            classify(&event(What::Complaint, "")),
            (Kind::Complaint, Reason::Feedback)
        );
        let mut e = event(
            What::Bounce {
                permanent: Some(true),
            },
            "",
        );
        e.hint = Some(Reason::UserUnknown);
        assert_eq!(classify(&e), (Kind::Hard, Reason::UserUnknown));
    }

    #[test]
    fn freshness_and_comparison() {
        assert!(check_fresh(1000, 300, 1200).is_ok());
        assert!(matches!(check_fresh(1000, 300, 1400), Err(Error::Stale(_))));
        assert!(check_fresh(1400, 300, 1000).is_err());
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert_eq!(clean_message_id(" <a@b> ").as_deref(), Some("a@b"));
        assert_eq!(clean_message_id("<>"), None);
    }
}
