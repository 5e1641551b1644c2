//! Bounces: reading returned messages (DSNs, complaints, auto-replies and
//! prose bounces), classifying each failure into a reason and hard / soft,
//! storing it, and applying the policy to the contact list.
//!
//! - [`parse`] reads one message into one result per affected recipient;
//! - [`classify`] and [`reason`] decide why (the reason table lives in
//!   `reason.rs`, in one place); [`mta`] holds what particular MTAs and
//!   providers mean where they differ from the generic reading;
//! - [`source`] walks files, directories, mboxes and Maildirs; [`imap`]
//!   reads a mailbox;
//! - [`store`] matches each result to its delivery (VERP, Message-ID,
//!   recipient) and records it; [`policy`] decides what it does to the
//!   contact; [`list`] reads recorded bounces back;
//! - this module records SMTP-time rejections (a 5xx to RCPT or DATA)
//!   with the same classifier and the same policy, so both paths give the
//!   same reason and the same effect for the same text;
//! - [`webhook`] reads the bounces providers report over HTTP into the
//!   same classification, matching and policy.

pub mod autoreply;
pub mod classify;
pub mod dsn;
pub mod evaluate;
pub mod imap;
pub mod list;
pub mod mta;
pub mod parse;
pub mod policy;
pub mod pool;
pub mod prose;
pub mod reason;
pub mod source;
pub mod store;
pub mod webhook;

pub use parse::{parse, BounceResult, Parsed};
pub use policy::Policy;
pub use reason::Reason;
pub use source::{inspect_paths, Item};

use crate::db::{now_ms, Db};

/// An error of importing or polling bounces.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A setting or path to fix; the message says what to do (exit 2).
    #[error("{0}")]
    Input(String),
    /// The IMAP server could not be used (unreachable, TLS, protocol).
    #[error("{0}")]
    Imap(String),
}

impl Error {
    /// Whether the error is the user's input (exit 2) rather than a failure (exit 1).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Error::Input(_))
    }
}

/// What kind of returned message (or failure) a result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The address is wrong for good: stop mailing it.
    Hard,
    /// The failure may pass (full mailbox, blocked, expired, …).
    Soft,
    /// The recipient reported the message as spam (ARF, RFC 5965).
    Complaint,
    /// An out-of-office or vacation answer (RFC 3834): delivered.
    AutoReply,
    /// A delay warning, a delivery report, or no bounce at all.
    NotAFailure,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Hard,
        Kind::Soft,
        Kind::Complaint,
        Kind::AutoReply,
        Kind::NotAFailure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Hard => "hard",
            Kind::Soft => "soft",
            Kind::Complaint => "complaint",
            Kind::AutoReply => "auto-reply",
            Kind::NotAFailure => "not-a-failure",
        }
    }

    /// The kind named `name` (as [`Kind::as_str`] writes it).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl serde::Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Classifies an SMTP rejection from its reply text ("550 5.1.1 <x>: user
/// unknown") into a kind and a reason in Sisimai's vocabulary, with the
/// enhanced status code and reply code it carries. `command` is the SMTP
/// command the reply answered, when known (else the text may name it): a
/// bare "550 No such user" is an unknown user at RCPT TO, and a refusal of
/// MAIL FROM is about the sender. Uses the same classifier as a bounce
/// message with the same text.
pub fn classify_smtp(reply: &str, command: Option<classify::SmtpCommand>) -> SmtpVerdict {
    let status = classify::find_status(reply);
    let reply_code = classify::find_reply_code(reply);
    let d = classify::decide(&classify::Evidence {
        diagnostic: reply,
        status: status.as_deref(),
        reply_code,
        command: command.or_else(|| classify::find_command(reply)),
        ..Default::default()
    });
    let kind = if d.hard { Kind::Hard } else { Kind::Soft };
    SmtpVerdict {
        kind,
        reason: d.reason.as_str(),
        status,
        reply_code: reply_code.map(i64::from),
        evidence: d.evidence,
    }
}

/// What [`classify_smtp`] made of a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpVerdict {
    pub kind: Kind,
    pub reason: &'static str,
    pub status: Option<String>,
    pub reply_code: Option<i64>,
    /// What decided (see `classify::Decision::evidence`).
    pub evidence: String,
}

/// Records an SMTP-time rejection of a delivery as a bounce and applies the
/// [policy](policy::record) to it, as for a bounce that came back by mail:
/// a hard bounce marks the contact bounced and suppresses the address, a
/// soft one counts toward the soft limit.
pub async fn record_smtp_rejection(
    db: &Db,
    policy: &Policy,
    delivery_id: i64,
    contact_id: Option<i64>,
    email: &str,
    reply: &str,
    command: Option<classify::SmtpCommand>,
) -> Result<Kind, sqlx::Error> {
    let SmtpVerdict {
        kind,
        reason,
        status,
        reply_code: code,
        evidence,
    } = classify_smtp(reply, command);
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    policy::record(
        &mut tx,
        policy,
        &policy::NewBounce {
            delivery_id: Some(delivery_id),
            matched_by: Some(policy::MatchedBy::Smtp),
            contact_id,
            email: Some(email),
            kind,
            reason: Reason::from_name(reason).unwrap_or(Reason::Undefined),
            status_code: status.as_deref(),
            reply_code: code,
            diagnostic: Some(reply),
            reporting_mta: None,
            remote_host: None,
            source: "smtp",
            origin: None,
            raw: None,
            subject: None,
            message_id: None,
            verp_token: None,
            action: Some("failed"),
            feedback_type: None,
            received_at: now,
            dedupe_key: None,
            unmatched_why: None,
            evidence: Some(&evidence),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_rejections() {
        let v = classify_smtp(
            "permanent error (550): 5.1.1 <x@y.example>: Recipient address rejected: User unknown",
            None,
        );
        assert_eq!(
            (v.kind, v.reason, v.status.as_deref(), v.reply_code),
            (Kind::Hard, "userunknown", Some("5.1.1"), Some(550))
        );
        assert_eq!(
            classify_smtp("552 5.2.2 Mailbox full", None).kind,
            Kind::Soft
        );
        assert_eq!(
            classify_smtp("554 5.7.1 Service unavailable; blocked", None).reason,
            "blocked"
        );
        assert_eq!(
            classify_smtp("500 Error: command not recognized", None).kind,
            Kind::Soft
        );
    }

    /// A refusal without an enhanced status code says only in its words
    /// which command it answered, or not at all: the command, passed in,
    /// decides as Sisimai's would.
    #[test]
    fn smtp_rejections_by_the_command_they_answered() {
        use classify::SmtpCommand::{Data, MailFrom, RcptTo};
        let reply = "permanent error (550): No such user";
        let at = |command| {
            let v = classify_smtp(reply, command);
            (v.kind, v.reason)
        };
        assert_eq!(at(Some(RcptTo)), (Kind::Hard, "userunknown"));
        // Words said after the message itself went are a filter's.
        assert_eq!(at(Some(Data)), (Kind::Soft, "filtered"));
        // Refused at MAIL FROM: the address refused is our sender's, and
        // the contact is not to blame.
        assert_eq!(at(Some(MailFrom)), (Kind::Soft, "rejected"));
        assert_eq!(
            classify_smtp("permanent error (550): Access denied", Some(MailFrom)).reason,
            "rejected"
        );
        // With no command known, the text still names one when it can.
        assert_eq!(
            classify_smtp("550 No such user (in reply to RCPT TO command)", None).reason,
            "userunknown"
        );
    }
}
