//! Classifying one failed recipient: from its diagnostic text, enhanced
//! status code (RFC 3463), SMTP reply code (RFC 5321 §4.2) and the SMTP
//! command it answered, to a [`Reason`] and hard or soft.
//!
//! The same function serves an SMTP-time rejection (`classify_smtp` in the
//! parent module) and a failure read from a bounce message, so the two give
//! the same reason for the same text.

use super::reason::{self, Reason};

/// The SMTP command a failure answered, where the text says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpCommand {
    Connect,
    Helo,
    MailFrom,
    RcptTo,
    Data,
}

impl SmtpCommand {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpCommand::Connect => "CONN",
            SmtpCommand::Helo => "HELO",
            SmtpCommand::MailFrom => "MAIL",
            SmtpCommand::RcptTo => "RCPT",
            SmtpCommand::Data => "DATA",
        }
    }
}

/// What is known about one failure.
#[derive(Debug, Clone, Default)]
pub struct Evidence<'a> {
    /// The diagnostic text (a reply, a DSN Diagnostic-Code, a bounce's prose).
    pub diagnostic: &'a str,
    /// Further text that may say why when the diagnostic does not (the
    /// human-readable part of a DSN, the introduction of a bounce).
    pub context: &'a str,
    /// The enhanced status code, e.g. "5.1.1".
    pub status: Option<&'a str>,
    /// The SMTP reply code, e.g. 550.
    pub reply_code: Option<u16>,
    /// The SMTP command the failure answered.
    pub command: Option<SmtpCommand>,
    /// The DSN's action was "delayed": still being retried.
    pub delayed: bool,
    /// The failure came from a local mailer program (Diagnostic-Code type
    /// `x-unix`), not from a remote server.
    pub mailer: bool,
}

/// The reason for one failure. Words win over codes: a "5.1.1 mailbox
/// full" is a full mailbox, and many servers answer every refusal with
/// 5.0.0 or 5.7.1. Only the status codes that name one cause beyond doubt
/// (see [`decisive_status`]) come before the words; the others decide only
/// where the words say nothing.
pub fn reason(e: &Evidence<'_>) -> Reason {
    let temporary = is_temporary(e.status, e.reply_code);
    let found = e
        .status
        .and_then(decisive_status)
        .or_else(|| reason::by_phrase(e.diagnostic))
        .or_else(|| e.status.and_then(by_status))
        .or_else(|| reason::by_phrase(e.context))
        .or_else(|| e.status.and_then(by_status_class));
    match (found, e.command) {
        // A local mailer (procmail, a pipe) failed: its words are its own.
        (Some(r), _) if e.mailer && r != Reason::MailboxFull => Reason::MailerError,
        (None, _) if e.mailer => Reason::MailerError,
        // "No such user" answered to the message itself (after DATA) rather
        // than to the recipient: a filter speaking, not a missing mailbox.
        (Some(Reason::UserUnknown), Some(SmtpCommand::Data)) => Reason::Filtered,
        // Refused at MAIL FROM: the address refused is our sender's.
        (Some(Reason::UserUnknown | Reason::HostUnknown) | None, Some(SmtpCommand::MailFrom)) => {
            Reason::Rejected
        }
        // Refused before any address was given: the sending host is.
        (Some(Reason::Rejected) | None, Some(SmtpCommand::Connect | SmtpCommand::Helo)) => {
            Reason::Blocked
        }
        // A name server that fails for now is a network problem, not a
        // missing domain.
        (Some(Reason::HostUnknown), _) if temporary => Reason::NetworkError,
        (Some(r), _) => r,
        (None, _) if e.delayed => Reason::Expired,
        // A failure with a code but no word of why: decided later.
        (None, _) if e.status.is_some() || e.reply_code.is_some() => Reason::OnHold,
        (None, _) => Reason::Undefined,
    }
}

/// The status codes that name their cause beyond doubt, whatever words
/// come with them (RFC 3463 §3.2, §3.3, §3.5; RFC 7372 §3; RFC 7505 §4.2).
fn decisive_status(status: &str) -> Option<Reason> {
    let mut parts = status.splitn(3, '.');
    let (_, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    Some(match (subject, detail) {
        ("1", "2") => Reason::HostUnknown,
        ("1", "6") => Reason::HasMoved,
        ("1", "7") | ("1", "8") => Reason::Rejected,
        ("1", "10") => Reason::NotAccept,
        ("2", "3") => Reason::ExceedLimit,
        ("4", "7") => Reason::Expired,
        ("7", "20" | "21" | "22" | "23" | "24" | "25" | "26") => Reason::AuthFailure,
        _ => return None,
    })
}

/// Whether the failure was temporary: a 4xx reply or a 4.x.x status.
pub fn is_temporary(status: Option<&str>, reply_code: Option<u16>) -> bool {
    match (status, reply_code) {
        (Some(s), _) if s.starts_with('4') => true,
        (Some(s), _) if s.starts_with('5') => false,
        (_, Some(c)) => (400..500).contains(&c),
        _ => false,
    }
}

/// The reason an enhanced status code names by itself (RFC 3463 §3 and the
/// RFC 7372 authentication codes); `None` for the codes that say nothing
/// specific (X.0.0, X.7.1 "not authorized", …).
pub fn by_status(status: &str) -> Option<Reason> {
    let mut parts = status.splitn(3, '.');
    let (_class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    let r = match (subject, detail) {
        ("1", "1") | ("1", "3") => Reason::UserUnknown,
        ("1", "2") => Reason::HostUnknown,
        ("1", "6") => Reason::HasMoved,
        ("1", "7") | ("1", "8") => Reason::Rejected,
        ("1", "10") => Reason::NotAccept,
        ("2", "1") => Reason::Suspend,
        ("2", "2") => Reason::MailboxFull,
        ("2", "3") => Reason::ExceedLimit,
        ("3", "1") => Reason::SystemFull,
        ("3", "4") => Reason::MesgTooBig,
        ("3", "5") => Reason::SystemError,
        ("4", "3") => Reason::SystemError,
        ("4", "1") | ("4", "2") | ("4", "6") => Reason::NetworkError,
        ("4", "4") => Reason::HostUnknown,
        ("4", "5") => Reason::TooManyConn,
        ("4", "7") => Reason::Expired,
        ("5", "3") => Reason::TooManyConn,
        ("6", _) => Reason::ContentError,
        ("7", "7") => Reason::SecurityError,
        ("7", "13") => Reason::Suspend,
        ("7", "23") | ("7", "24") | ("7", "25") | ("7", "26") => Reason::AuthFailure,
        ("7", "20") | ("7", "21") | ("7", "22") => Reason::AuthFailure,
        ("7", "27") => Reason::NotAccept,
        _ => return None,
    };
    Some(r)
}

/// The broad reason of a status code's subject when nothing more specific
/// is known (RFC 3463 §3: X.1 address, X.2 mailbox, X.3 system, X.4 network,
/// X.5 protocol, X.6 content, X.7 security).
fn by_status_class(status: &str) -> Option<Reason> {
    let mut parts = status.splitn(3, '.');
    let (_, subject) = (parts.next()?, parts.next()?);
    Some(match subject {
        "3" => Reason::SystemError,
        "4" => Reason::NetworkError,
        "5" => Reason::SyntaxError,
        "6" => Reason::ContentError,
        "7" => Reason::SecurityError,
        _ => return None,
    })
}

/// The first enhanced status code (RFC 3463: class.subject.detail with
/// class 2, 4 or 5) in `text`, skipping IP addresses and version numbers.
pub fn find_status(text: &str) -> Option<String> {
    // A transcript may show "250 2.1.5 Ok" before the failure: a failure
    // code wins over a success code.
    let codes: Vec<String> = tokens(text)
        .filter_map(|t| {
            let t = t.trim_end_matches('.');
            let parts: Vec<&str> = t.split('.').collect();
            let ok = parts.len() == 3
                && matches!(parts[0], "2" | "4" | "5")
                && parts[1..]
                    .iter()
                    .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
            ok.then(|| t.to_string())
        })
        .collect();
    codes
        .iter()
        .find(|c| !c.starts_with('2'))
        .or(codes.first())
        .cloned()
}

/// The first SMTP reply code (a lone 4xx or 5xx number) in `text`.
pub fn find_reply_code(text: &str) -> Option<u16> {
    tokens(text).find_map(|t| {
        let b = t.as_bytes();
        (b.len() == 3 && matches!(b[0], b'4' | b'5') && b.iter().all(|c| c.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    })
}

/// Words of digits and dots (and letters, so that "a550" is no code).
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .filter(|t| !t.is_empty())
}

/// The SMTP command a diagnostic says it answered (the last one named).
pub fn find_command(text: &str) -> Option<SmtpCommand> {
    let lower = super::prose::squash(text).to_lowercase();
    const NAMES: &[(&str, SmtpCommand)] = &[
        ("rcpt to", SmtpCommand::RcptTo),
        ("rcpt", SmtpCommand::RcptTo),
        ("end of data", SmtpCommand::Data),
        ("after data", SmtpCommand::Data),
        ("data command", SmtpCommand::Data),
        (">>> data", SmtpCommand::Data),
        ("(data)", SmtpCommand::Data),
        ("smtp command data", SmtpCommand::Data),
        ("mail from", SmtpCommand::MailFrom),
        ("ehlo", SmtpCommand::Helo),
        ("helo", SmtpCommand::Helo),
        ("greeting", SmtpCommand::Connect),
        ("initial connection", SmtpCommand::Connect),
    ];
    // A name counts as a word of its own: "hello" is no HELO.
    let word_at = |name: &str| {
        lower.rmatch_indices(name).map(|(at, _)| at).find(|&at| {
            let before = lower[..at].chars().next_back();
            let after = lower[at + name.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    };
    NAMES
        .iter()
        .filter_map(|(n, c)| word_at(n).map(|at| (at, *c)))
        .max_by_key(|(at, _)| *at)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_in_text() {
        assert_eq!(
            find_status("host [192.0.2.1]: 550 5.1.1 <a@b>: nope").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(
            find_status("Unknown user (#5.1.1.)").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(find_status("version 4.8.5.36 ok"), None);
        assert_eq!(find_reply_code("host [192.0.2.1]: 550 5.1.1"), Some(550));
        assert_eq!(find_reply_code("Size (in bytes): 222"), None);
        assert_eq!(find_reply_code("permanent error (550): x"), Some(550));
    }

    #[test]
    fn commands() {
        assert_eq!(
            find_command("said: 550 unknown (in reply to RCPT TO command)"),
            Some(SmtpCommand::RcptTo)
        );
        assert_eq!(
            find_command("after RCPT TO:<a@b>: … after end of data"),
            Some(SmtpCommand::Data)
        );
    }

    #[test]
    fn words_beat_codes() {
        let e = Evidence {
            diagnostic: "552 5.1.1 mailbox is over quota",
            status: Some("5.1.1"),
            ..Default::default()
        };
        assert_eq!(reason(&e), Reason::MailboxFull);
        let e = Evidence {
            diagnostic: "550 5.1.1 go away",
            status: Some("5.1.1"),
            ..Default::default()
        };
        assert_eq!(reason(&e), Reason::UserUnknown);
    }
}
