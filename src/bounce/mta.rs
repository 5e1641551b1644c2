//! What particular MTAs and mail providers mean by their words: how to
//! recognise a bounce one of them wrote (or a refusal one of them sent),
//! from the message's own content, and where their conventions differ
//! from the generic reading of `reason.rs` and `classify.rs`.
//!
//! Everything here is in [`CONVENTIONS`], one entry per MTA or provider.
//! An entry is recognised by signs a bounce carries whoever receives it:
//! the reporting MTA's From address or name, its header fields, the
//! boilerplate of its report, or the host name of the server that refused
//! the recipient. Never by who we are or which file a message came from.
//!
//! This module does not classify: `classify::reason` consults the
//! [`Conventions`] that apply to a failure.

use super::reason::{self, Reason};

/// Something a bounce carries that identifies who wrote it or refused it.
/// Texts are lowercase; they are compared with lowercased values.
#[derive(Debug, Clone, Copy)]
pub enum Sign {
    /// The bounce's From field (display name or address) contains this.
    From(&'static str),
    /// The bounce has a header field of this name whose value contains the
    /// text.
    Header(&'static str, &'static str),
    /// The report (its text and its delivery-status fields) contains this.
    Text(&'static str),
    /// The server that refused the recipient (Remote-MTA, "host … said")
    /// is in this domain.
    RemoteHost(&'static str),
}

/// How a report lays out its failed recipients, where it differs from the
/// usual "address, then what happened to it".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Usual,
    /// The reason comes on the lines above the address it is about
    /// (Lotus Notes: "Failure Reasons", the reason, then the address).
    ReasonAbove,
    /// A mailing list's notice: the failed "recipient" is the list, named
    /// in angle brackets in the notice ("You are not a member of this
    /// mailing list <list@example.org>").
    ListNotice,
}

/// One MTA's or provider's conventions.
#[derive(Debug)]
pub struct Convention {
    pub name: &'static str,
    /// The MTA or provider of the development corpus (its `module`) this
    /// entry was learnt from (see `reason::COMMON`).
    pub origin: &'static str,
    /// Any one of these identifies the MTA or provider.
    pub signs: &'static [Sign],
    /// Its own phrases, consulted before the generic ones
    /// ([`reason::PHRASES`], same pattern syntax). A match is final.
    pub phrases: &'static [(Reason, &'static [&'static str])],
    /// What its "user unknown" means when neither the status code nor the
    /// SMTP command confirms it (see `classify::reason`).
    pub user_unknown: Option<Reason>,
    pub layout: Layout,
}

/// The conventions, most specific first.
pub const CONVENTIONS: &[Convention] = &[
    // KDDI (au, ezweb.ne.jp): its filter of unwanted senders answers
    // "550 : User unknown" with an empty address; a mailbox that does not
    // exist gets "550 <address>: User unknown".
    Convention {
        name: "KDDI",
        origin: "Rhost-KDDI",
        signs: &[
            Sign::RemoteHost("ezweb.ne.jp"),
            Sign::RemoteHost("au.com"),
            Sign::RemoteHost("kddi.com"),
        ],
        phrases: &[(Reason::Filtered, &["550 : user unknown"])],
        user_unknown: Some(Reason::UserUnknown),
        layout: Layout::Usual,
    },
    // NTT docomo: its sender filter answers "550 Unknown user <address>"
    // after DATA; the address exists and refuses mail from our domain.
    Convention {
        name: "NTT docomo",
        origin: "Rhost-NTTDOCOMO",
        signs: &[Sign::RemoteHost("docomo.ne.jp")],
        phrases: &[],
        user_unknown: Some(Reason::Rejected),
        layout: Layout::Usual,
    },
    // Cox: "sender rejected … AUP#CODE"; the code says why, and the
    // blocklist codes refuse the sending IP address, not the sender.
    Convention {
        name: "Cox",
        origin: "Rhost-Cox",
        signs: &[
            Sign::RemoteHost("cox.net"),
            Sign::Text("cox.com/residential/support/email-error-codes"),
        ],
        phrases: &[
            (Reason::Blocked, &["aup#cxbl", "aup#cdrbl", "aup#ipbl"]),
            (Reason::SpamDetected, &["aup#urlbl"]),
        ],
        user_unknown: None,
        layout: Layout::Usual,
    },
    // Symantec Email Security.cloud (formerly MessageLabs): "542 <address>
    // Rejected" and "No such user" are its answers for a missing mailbox.
    Convention {
        name: "MessageLabs",
        origin: "Rhost-MessageLabs",
        signs: &[
            Sign::From("messagelabs.com"),
            Sign::Header("x-msg-ref", "messagelabs.com"),
            Sign::Text("symantec email security.cloud"),
            Sign::RemoteHost("messagelabs.com"),
        ],
        phrases: &[
            (Reason::SecurityError, &["turn on smtp authentication"]),
            (Reason::UserUnknown, &["542 * rejected"]),
        ],
        user_unknown: Some(Reason::UserUnknown),
        layout: Layout::Usual,
    },
    // PowerMTA files each failure in a bounce category of its own; with
    // "bad-mailbox" it vouches for "user unknown" words. (Read from the
    // whole report: a DSN with several categories counts as one with each.)
    Convention {
        name: "PowerMTA bad-mailbox",
        origin: "PowerMTA",
        signs: &[Sign::Text("x-powermta-bouncecategory: bad-mailbox")],
        phrases: &[],
        user_unknown: Some(Reason::UserUnknown),
        layout: Layout::Usual,
    },
    // Trend Micro InterScan Messaging Security Suite: "Unable to deliver
    // message to <address> (and other recipients in the same domain)" is
    // how it reports a recipient its directory does not know.
    Convention {
        name: "InterScan MSS",
        origin: "InterScanMSS",
        signs: &[
            Sign::From("interscan"),
            Sign::Text("message from interscan messaging security suite"),
        ],
        phrases: &[(Reason::UserUnknown, &["unable to deliver message to"])],
        user_unknown: None,
        layout: Layout::Usual,
    },
    // A qmail-based webmail system ("Message from example.com. Unable to
    // deliver message to the following address(es)."): it writes "This
    // user doesn't have a … account" for mail its filters refuse, and
    // gives up on mail "in the queue too long" whatever the last error.
    Convention {
        name: "X2",
        origin: "X2",
        signs: &[Sign::Text(
            "unable to deliver message to the following address(es)",
        )],
        phrases: &[(Reason::Expired, &["in the queue too long"])],
        user_unknown: Some(Reason::Filtered),
        layout: Layout::Usual,
    },
    // An OpenMail-based system ("Mail Deliver System",
    // "---The following addresses had delivery errors---"): its
    // "[User unknown]" covers refusals by filters too.
    Convention {
        name: "X1",
        origin: "X1",
        signs: &[
            Sign::From("mail deliver system"),
            Sign::Text("---the following addresses had delivery errors---"),
        ],
        phrases: &[],
        user_unknown: Some(Reason::Filtered),
        layout: Layout::Usual,
    },
    // Zoho Mail: "Host not reachable" is its final word on a host it gave
    // up trying.
    Convention {
        name: "Zoho",
        origin: "Zoho",
        signs: &[
            Sign::Header("x-mailer", "zoho mail"),
            Sign::From("mail.zoho.com"),
        ],
        phrases: &[(Reason::Expired, &["host not reachable"])],
        user_unknown: None,
        layout: Layout::Usual,
    },
    // Gmail and Google Workspace: a "Send mail as" alias whose SMTP
    // settings fail refuses our sender, not a recipient.
    Convention {
        name: "Google",
        origin: "GoogleWorkspace",
        signs: &[Sign::From("googlemail.com"), Sign::From("google.com")],
        phrases: &[(Reason::Rejected, &["'send mail as'"])],
        user_unknown: None,
        layout: Layout::Usual,
    },
    // Lotus Notes (Domino): "------- Failure Reasons --------", then the
    // reason, then the address it is about.
    Convention {
        name: "Lotus Notes",
        origin: "Notes",
        signs: &[Sign::Text("------- failure reasons")],
        phrases: &[],
        user_unknown: None,
        layout: Layout::ReasonAbove,
    },
    // fml, a mailing list manager: it refuses posts from non-members and
    // messages it has seen before, in notices of its own.
    Convention {
        name: "fml",
        origin: "FML",
        signs: &[Sign::Header("x-mlserver", "fml")],
        phrases: &[
            (Reason::Rejected, &["not a member", "are not member"]),
            (
                Reason::SystemError,
                &["loop alert", "duplicated message-id"],
            ),
        ],
        user_unknown: None,
        layout: Layout::ListNotice,
    },
];

/// A returned message as the signs of [`CONVENTIONS`] look at it.
#[derive(Debug, Default)]
pub struct Marks {
    /// The bounce's From field, raw and lowercased.
    pub from: String,
    /// The bounce's header fields, names and values lowercased.
    pub headers: Vec<(String, String)>,
    /// The report's text and delivery-status fields, lowercased.
    pub text: String,
}

impl Convention {
    fn recognised(&self, marks: &Marks, remote_host: Option<&str>) -> bool {
        self.signs.iter().any(|sign| match *sign {
            Sign::From(s) => marks.from.contains(s),
            Sign::Header(name, s) => marks
                .headers
                .iter()
                .any(|(n, v)| n == name && v.contains(s)),
            Sign::Text(s) => marks.text.contains(s),
            Sign::RemoteHost(domain) => remote_host.is_some_and(|h| in_domain(h, domain)),
        })
    }
}

/// Whether host name `host` is `domain` or a name under it.
fn in_domain(host: &str, domain: &str) -> bool {
    let host = host
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// The conventions that apply to one failure, in [`CONVENTIONS`] order.
#[derive(Debug, Clone, Default)]
pub struct Conventions {
    found: Vec<&'static Convention>,
}

impl Conventions {
    /// The conventions recognised in `marks`, and those of the server that
    /// refused this recipient (`remote_host`).
    pub fn of(marks: &Marks, remote_host: Option<&str>) -> Conventions {
        Conventions {
            found: CONVENTIONS
                .iter()
                .filter(|c| !reason::is_off(c.origin) && c.recognised(marks, remote_host))
                .collect(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &'static Convention> + '_ {
        self.found.iter().copied()
    }

    /// The reason one of their phrases names in `text`, with the pattern
    /// and the convention it belongs to.
    pub fn phrase(&self, text: &str) -> Option<(Reason, &'static str, &'static Convention)> {
        self.iter()
            .find_map(|c| reason::by_table(c.phrases, text).map(|(r, p)| (r, p, c)))
    }

    /// What unconfirmed "user unknown" words mean to them, and whose
    /// convention says so.
    pub fn user_unknown(&self) -> Option<(Reason, &'static Convention)> {
        self.iter().find_map(|c| c.user_unknown.map(|r| (r, c)))
    }

    /// How the report lays out its recipients.
    pub fn layout(&self) -> Layout {
        self.iter()
            .map(|c| c.layout)
            .find(|l| *l != Layout::Usual)
            .unwrap_or(Layout::Usual)
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.iter().map(|c| c.name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_host_domains() {
        assert!(in_domain(
            "lsean.ezweb.ne.jp. (27.85.176.228)",
            "ezweb.ne.jp"
        ));
        assert!(in_domain("au.com", "au.com"));
        assert!(!in_domain("mx.notau.com", "au.com"));
        assert!(!in_domain("", "au.com"));
    }

    #[test]
    fn recognised_by_remote_host_or_text() {
        let marks = Marks::default();
        let kddi = Conventions::of(&marks, Some("mx.ezweb.ne.jp"));
        assert_eq!(kddi.names(), ["KDDI"]);
        assert_eq!(
            kddi.phrase("550 : User unknown").map(|p| p.0),
            Some(Reason::Filtered)
        );
        assert!(kddi.phrase("550 <a@ezweb.ne.jp>: User unknown").is_none());
        assert_eq!(kddi.user_unknown().map(|u| u.0), Some(Reason::UserUnknown));
        let marks = Marks {
            text: "message from interscan messaging security suite".into(),
            ..Default::default()
        };
        assert_eq!(Conventions::of(&marks, None).names(), ["InterScan MSS"]);
        assert!(Conventions::of(&Marks::default(), None).names().is_empty());
    }

    /// The same "user unknown" after DATA from three servers.
    #[test]
    fn what_user_unknown_means_depends_on_who_says_it() {
        use crate::bounce::classify::{reason, Evidence, SmtpCommand};
        let of = |host: &str, diagnostic: &str| {
            reason(&Evidence {
                diagnostic,
                status: Some("5.0.0"),
                reply_code: Some(550),
                command: Some(SmtpCommand::Data),
                conventions: Conventions::of(&Marks::default(), Some(host)),
                ..Default::default()
            })
        };
        let user_unknown = "550 <a@example.jp>: User unknown";
        assert_eq!(of("mx.example.org", user_unknown), Reason::Filtered);
        assert_eq!(of("mx.ezweb.ne.jp", user_unknown), Reason::UserUnknown);
        assert_eq!(of("mx.ezweb.ne.jp", "550 : User unknown"), Reason::Filtered);
        assert_eq!(of("mfsmax.docomo.ne.jp", user_unknown), Reason::Rejected);
    }
}
