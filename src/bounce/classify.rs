//! Classifying one failed recipient: from its diagnostic text, enhanced
//! status code (RFC 3463), SMTP reply code (RFC 5321 §4.2) and the SMTP
//! command it answered, to a [`Reason`] and hard or soft.
//!
//! The same function serves an SMTP-time rejection (`classify_smtp` in the
//! parent module) and a failure read from a bounce message, so the two give
//! the same reason for the same text.

use super::mta::Conventions;
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
    /// Addresses on our side of the delivery (the returned message's
    /// sender): a refusal that names one of them is about the sender.
    pub senders: &'a [String],
    /// What the MTA that wrote the report, or the server that refused the
    /// recipient, means by its words (see `mta`).
    pub conventions: Conventions,
}

/// How one failure was classified, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub reason: Reason,
    /// Whether the address should not be mailed again.
    pub hard: bool,
    /// What decided, in words: the status code, reply code, command,
    /// phrase or rule, and any caution applied ("phrase \"user unknown\",
    /// confirmed by status 5.1.1"). Stored with the bounce (`bounces show`).
    pub evidence: String,
    /// Where the deciding rule comes from (see `reason::COMMON`).
    pub origin: &'static str,
}

/// The reason for one failure (see [`decide`]).
pub fn reason(e: &Evidence<'_>) -> Reason {
    decide(e).reason
}

/// A reason found, with what found it.
struct Found {
    reason: Reason,
    why: String,
    origin: &'static str,
    /// Found by a pattern that also matches text about other things
    /// ("does not exist" may be a domain's, a folder's, a page's).
    loose: bool,
}

fn found(reason: Reason, why: String, origin: &'static str) -> Found {
    Found {
        reason,
        why,
        origin,
        loose: false,
    }
}

fn by_words(pattern_of: Option<(Reason, &'static str)>, what: &str) -> Option<Found> {
    pattern_of.map(|(r, p)| Found {
        reason: r,
        why: format!("{what} \"{p}\""),
        origin: reason::origin_of(p),
        loose: reason::is_loose(p),
    })
}

/// Classifies one failure, standards first: the status codes that name
/// one cause beyond doubt (see [`decisive_status`]), then the words of the
/// diagnostic read against the status code, the reply code and the SMTP
/// command they came with, then the status code alone, then its class.
/// Words refine a code ("5.1.1 mailbox full" from a 552 is a full mailbox)
/// but many servers answer every refusal with 5.0.0 or 5.7.1, so a code
/// that names nothing specific leaves the words to decide.
///
/// Then caution (see [`caution`]): a hard verdict needs strong evidence,
/// and where it is weak the failure is soft, and the evidence says why.
pub fn decide(e: &Evidence<'_>) -> Decision {
    let temporary = is_temporary(e.status, e.reply_code);
    let mut f = pick(e, temporary);
    let hard = caution(e, temporary, &mut f);
    Decision {
        reason: f.reason,
        hard,
        evidence: f.why,
        origin: f.origin,
    }
}

fn pick(e: &Evidence<'_>, temporary: bool) -> Found {
    // An MTA's own phrases are its verdict.
    let own = (!e.mailer)
        .then(|| {
            e.conventions
                .phrase(e.diagnostic)
                .or_else(|| e.conventions.phrase(e.context))
        })
        .flatten();
    if let Some((r, p, c)) = own {
        return found(r, format!("{}'s phrase \"{p}\"", c.name), c.origin);
    }
    let status = e.status.unwrap_or("");
    let first = e
        .status
        .and_then(decisive_status)
        .map(|r| match r {
            // X.1.10 is RFC 7505's null MX, but Exchange Online writes
            // "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found
            // by SMTP address lookup" (Microsoft's NDR documentation) for
            // a mailbox its directory lacks: its words say which.
            Reason::NotAccept => match reason::by_phrase(e.diagnostic) {
                Some((Reason::UserUnknown, p)) if !reason::is_loose(p) => found(
                    Reason::UserUnknown,
                    format!(
                        "phrase \"{p}\" with status {status}: a missing recipient, not a null MX"
                    ),
                    reason::origin_of(p),
                ),
                _ => found(r, format!("status {status} (RFC 3463)"), reason::RFC3463),
            },
            _ => found(r, format!("status {status} (RFC 3463)"), reason::RFC3463),
        })
        .or_else(|| {
            missing_domain(e.diagnostic)
                .map(|r| found(r, "a domain name said not to exist".into(), reason::COMMON))
        })
        .or_else(|| by_words(reason::by_phrase(e.diagnostic), "phrase"))
        .or_else(|| {
            e.status
                .and_then(by_status)
                .map(|r| found(r, format!("status {status} (RFC 3463)"), reason::RFC3463))
        })
        .or_else(|| by_words(reason::gave_up(e.diagnostic), "gave up:"))
        // The report's prose around the failure is farther from it than
        // the subject of its own status code (RFC 3463 §3): "451 4.3.0
        // queue file write error" is a system's failure whatever the
        // report says about authentication elsewhere.
        .or_else(|| {
            let has_class = e.status.and_then(by_status_class).is_some();
            (!has_class)
                .then(|| by_words(reason::by_phrase(e.context), "report's words"))
                .flatten()
        })
        .or_else(|| by_words(reason::gave_up(e.context), "gave up:"));
    // The status code's broad class, after what the command tells.
    let class = e.status.and_then(by_status_class);
    let command = e.command.map(SmtpCommand::as_str).unwrap_or("");
    let rfc5321 = |r: Reason, why: String| found(r, why, reason::RFC5321);
    match (first, e.command) {
        // A local mailer (procmail, a pipe) failed: its words are its own.
        (Some(f), _) if e.mailer && f.reason != Reason::MailboxFull => found(
            Reason::MailerError,
            format!("a local mailer failed (x-unix), {}", f.why),
            reason::RFC3463,
        ),
        (None, _) if e.mailer => found(
            Reason::MailerError,
            "a local mailer failed (x-unix)".into(),
            reason::RFC3463,
        ),
        // Refused at MAIL FROM with a security or policy status (RFC 3463
        // §3.8, X.7.x) and words that name no cause of their own: the
        // sending host is refused, not the sender's address (X.1.7, X.1.8).
        (None, Some(SmtpCommand::MailFrom)) if status.starts_with("5.7.") => rfc5321(
            Reason::Blocked,
            format!("refused at MAIL FROM with status {status} (RFC 3463 §3.8): the sending host"),
        ),
        // Refused at MAIL FROM: the address refused is our sender's.
        (Some(f), Some(SmtpCommand::MailFrom))
            if matches!(f.reason, Reason::UserUnknown | Reason::HostUnknown) =>
        {
            rfc5321(
                Reason::Rejected,
                format!("{}, but refused at MAIL FROM: our sender", f.why),
            )
        }
        (None, Some(SmtpCommand::MailFrom)) => {
            rfc5321(Reason::Rejected, "refused at MAIL FROM: our sender".into())
        }
        // Refused before any address was given: the sending host is (its
        // name in HELO counts as the host).
        (Some(f), Some(SmtpCommand::Connect | SmtpCommand::Helo))
            if matches!(f.reason, Reason::Rejected | Reason::HostUnknown) =>
        {
            rfc5321(
                Reason::Blocked,
                format!("{}, but refused at {command}: the sending host", f.why),
            )
        }
        (None, Some(SmtpCommand::Connect | SmtpCommand::Helo)) => rfc5321(
            Reason::Blocked,
            format!("refused at {command}: the sending host"),
        ),
        (Some(f), _) if f.reason == Reason::UserUnknown => unconfirmed_user_unknown(e, f),
        // A name server that fails for now is a network problem, not a
        // missing domain.
        (Some(f), _) if f.reason == Reason::HostUnknown && temporary => Found {
            reason: Reason::NetworkError,
            why: format!("{}, but temporary: a name server failing for now", f.why),
            ..f
        },
        (Some(f), _) => f,
        // RFC 5321 §4.2.3: 451 "Requested action aborted: local error in
        // processing", when nothing else names the cause.
        (None, _)
            if e.reply_code == Some(451) && matches!(class, None | Some(Reason::SystemError)) =>
        {
            rfc5321(
                Reason::SystemError,
                "reply 451, a local error in processing (RFC 5321 §4.2.3)".into(),
            )
        }
        (None, _) if class.is_some() => found(
            class.unwrap_or(Reason::Undefined),
            format!("status {status}, by its class (RFC 3463 §3)"),
            reason::RFC3463,
        ),
        (None, _) if e.delayed => found(
            Reason::Expired,
            "delayed, nothing says why".into(),
            reason::RFC3463,
        ),
        // Nothing says why, but the refusal quotes our sender's address:
        // "550 5.2.0 <us@example.org> Domain is invalid".
        (None, _) if names_sender(e) => found(
            Reason::Rejected,
            "the refusal names our sender's address".into(),
            reason::COMMON,
        ),
        // A failure with a code, or with words we cannot read: decided later.
        (None, _) if e.status.is_some() || e.reply_code.is_some() || has_words(e.diagnostic) => {
            found(
                Reason::OnHold,
                "a failure whose words name no known cause".into(),
                reason::COMMON,
            )
        }
        (None, _) => found(Reason::Undefined, "nothing says why".into(), reason::COMMON),
    }
}

/// Whether a status code states the address itself is wrong (RFC 3463
/// §3.2: X.1.1 bad mailbox, X.1.2 bad system, X.1.3 bad syntax, X.1.6
/// moved, X.1.10 null MX of RFC 7505).
fn states_bad_address(status: Option<&str>) -> bool {
    let mut parts = status.unwrap_or("").splitn(3, '.');
    let (_, subject, detail) = (parts.next(), parts.next(), parts.next());
    subject == Some("1") && matches!(detail, Some("1" | "2" | "3" | "6" | "10"))
}

/// Asymmetric caution: a soft failure taken as hard loses a journalist
/// for good (the address is suppressed and nobody notices), a hard one
/// taken as soft costs one more try. So a hard verdict needs evidence that
/// the address itself is wrong, and without it the failure is soft:
///
/// - a temporary failure (4.x.x, or a 4xx reply without a status) is never
///   hard unless its status code itself says the address is wrong (4.1.1);
/// - words of a missing mailbox against a status code of another subject
///   that names its cause (5.2.2 mailbox full, X.7.x security or policy,
///   X.3.x system, X.6.x content) lose: the code is the standard's word;
/// - a pattern that matched only loosely ("does not exist", "cannot be
///   found") with no X.1.x status and no refusal of RCPT TO to confirm it
///   gives `undefined`.
///
/// Returns whether the failure is hard; changes the reason where caution
/// overrules it, and says why in the evidence.
fn caution(e: &Evidence<'_>, temporary: bool, f: &mut Found) -> bool {
    if !f.reason.is_hard(temporary) {
        return false;
    }
    let status = e.status.unwrap_or("");
    let stated = states_bad_address(e.status);
    let by_code = f.origin == reason::RFC3463;
    if temporary && !stated {
        let code = e
            .status
            .map(str::to_string)
            .or(e.reply_code.map(|c| c.to_string()))
            .unwrap_or_default();
        f.why = format!(
            "{}; but temporary ({code}) and the code does not say the address is wrong: soft",
            f.why
        );
        f.reason = Reason::Undefined;
        return false;
    }
    let subject = status.split('.').nth(1).unwrap_or("");
    let detail = status.split('.').nth(2).unwrap_or("");
    let conflicting = match (subject, detail) {
        _ if by_code => None,
        ("2", "2") => Some(Reason::MailboxFull),
        // "550 5.7.1 User unknown": a filter's answer in a missing user's words.
        // Unless the server said it of the address it was given, in
        // words that mean nothing else, with X.7.1's bare "not authorized"
        // (RFC 5321 §3.3: a refusal of RCPT TO is the address's).
        ("7", "1")
            if f.reason == Reason::UserUnknown
                && !f.loose
                && e.command == Some(SmtpCommand::RcptTo) =>
        {
            None
        }
        ("7", _) if f.reason == Reason::UserUnknown => Some(Reason::Filtered),
        ("3" | "6" | "7", _) => by_status(status)
            .or_else(|| by_status_class(status))
            .filter(|r| !r.is_hard(false)),
        _ => None,
    };
    if let Some(r) = conflicting {
        f.why = format!(
            "{}; but status {status} names another cause (RFC 3463): {r}, soft",
            f.why
        );
        f.reason = r;
        f.origin = reason::RFC3463;
        return false;
    }
    // A reply code of RFC 5321 §4.2.3 that names a syntax or command
    // error, or words that say to try again, contradict a missing address.
    let lower = e.diagnostic.to_lowercase();
    let contradiction = if matches!(e.reply_code, Some(500..=504)) {
        Some((
            Reason::SyntaxError,
            "the reply code names a syntax or command error (RFC 5321 §4.2.3)",
        ))
    } else if lower.contains("try again") && !lower.contains("and try again") {
        // ("… check the address and try again" tells the sender to fix it.)
        let r = match f.reason {
            Reason::HostUnknown => Reason::NetworkError,
            _ => Reason::Undefined,
        };
        Some((r, "the words say to try again"))
    } else {
        None
    };
    if let Some((r, why)) = contradiction.filter(|_| !stated) {
        f.why = format!("{}; but {why}: soft, {r}", f.why);
        f.reason = r;
        return false;
    }
    // A remote server's "user unknown" with no enhanced status code and at
    // no stage the report names: as often a filter's as a missing mailbox.
    let own_verdict = ![reason::COMMON, reason::RFC3463, reason::RFC5321].contains(&f.origin);
    if f.reason == Reason::UserUnknown
        && !own_verdict
        && e.status.is_none_or(|s| s.ends_with(".0.0"))
        && e.reply_code.is_some()
        && e.command.is_none()
        && !stated
    {
        f.why = format!(
            "{}; but a remote reply with no enhanced status code at no named stage: soft, filtered",
            f.why
        );
        f.reason = Reason::Filtered;
        return false;
    }
    // Words of a missing mailbox with no code of any kind and no stage:
    // nothing but the words says so.
    if f.reason == Reason::UserUnknown
        && !own_verdict
        && e.status.is_none()
        && e.reply_code.is_none()
        && e.command.is_none()
    {
        f.why = format!(
            "{}; but no status, reply code or SMTP stage confirms it: soft, filtered",
            f.why
        );
        f.reason = Reason::Filtered;
        return false;
    }
    if f.loose && subject != "1" && e.command != Some(SmtpCommand::RcptTo) {
        // A server's refusal in such words is most often its filter's.
        let (r, whose) = match e.reply_code {
            Some(_) => (Reason::Filtered, "a remote refusal: filtered"),
            None => (Reason::Undefined, "undefined"),
        };
        f.why = format!(
            "{}; matched loosely, no X.1.x status nor RCPT TO refusal confirms it: soft, {whose}",
            f.why
        );
        f.reason = r;
        return false;
    }
    true
}

/// What "user unknown" words mean. Many filters answer "user unknown" to
/// mail they refuse for other reasons (Japanese mobile carriers' sender
/// filters do so by design), so the words are taken at their word when
/// something confirms that the address itself was refused: an X.1.x
/// status (RFC 3463 §3.2, address status), a refusal of RCPT TO, or a
/// permanent reply with no status that says otherwise. Said after DATA,
/// or with an X.2.x status (the mailbox exists) at no confirmed stage,
/// they are a filter's, unless the MTA or provider is known to mean
/// something else (see `mta`).
fn unconfirmed_user_unknown(e: &Evidence<'_>, f: Found) -> Found {
    let subject = e.status.and_then(|s| s.split('.').nth(1));
    if subject == Some("1") {
        return Found {
            why: format!("{}, confirmed by status {}", f.why, e.status.unwrap_or("")),
            ..f
        };
    }
    if e.command == Some(SmtpCommand::RcptTo) {
        return Found {
            why: format!("{}, refused at RCPT TO (RFC 5321 §3.3)", f.why),
            ..f
        };
    }
    // X.2.x is the mailbox's status: it exists and refuses this message.
    if subject == Some("2") {
        return found(
            Reason::Filtered,
            format!(
                "{}, but status {} says the mailbox exists: a filter's",
                f.why,
                e.status.unwrap_or("")
            ),
            reason::RFC3463,
        );
    }
    if let Some((r, c)) = e.conventions.user_unknown() {
        return found(
            r,
            format!("{}, which {} says means {r}", f.why, c.name),
            c.origin,
        );
    }
    // Said only after the message itself was sent.
    if e.command == Some(SmtpCommand::Data) {
        return found(
            Reason::Filtered,
            format!("{}, but said after DATA: a filter's", f.why),
            reason::RFC5321,
        );
    }
    f
}

/// "553 mx.example.org does not exist": a host or domain name, not a
/// mailbox, said not to exist.
fn missing_domain(text: &str) -> Option<Reason> {
    let lower = text.to_lowercase();
    ["does not exist", "doesn't exist"]
        .iter()
        .find_map(|phrase| {
            let at = lower.find(phrase)?;
            let name = lower[..at]
                .split_whitespace()
                .next_back()?
                .trim_matches(|c: char| "<>\"'[]():".contains(c));
            let is_domain = name.contains('.')
                && !name.contains('@')
                && name.bytes().any(|b| b.is_ascii_alphabetic())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            is_domain.then_some(Reason::HostUnknown)
        })
}

/// Whether the diagnostic quotes one of our own (sender) addresses, other
/// than in a header field of the returned message ("From: <us@…>").
fn names_sender(e: &Evidence<'_>) -> bool {
    const FIELDS: &[&str] = &[
        "from:",
        "sender:",
        "return-path:",
        "reply-to:",
        "envelope-from",
    ];
    let lower = e.diagnostic.to_lowercase();
    e.senders.iter().filter(|s| !s.is_empty()).any(|s| {
        lower.match_indices(&s.to_lowercase()).any(|(at, _)| {
            let before = &lower[lower.floor_char_boundary(at.saturating_sub(30))..at];
            !FIELDS.iter().any(|f| before.contains(f))
        })
    })
}

/// Whether a diagnostic says anything beyond the addresses it names.
fn has_words(text: &str) -> bool {
    text.split_whitespace()
        .any(|w| !w.contains('@') && w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
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
        ("4", "6") => Reason::NetworkError,
        ("4", "7") => Reason::Expired,
        // RFC 7372 §3.3: X.7.25 is reverse DNS validation.
        ("7", "25") => Reason::RequirePtr,
        ("7", "20" | "21" | "22" | "23" | "24" | "26") => Reason::AuthFailure,
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
        ("7", "25") => Reason::RequirePtr,
        ("7", "23") | ("7", "24") | ("7", "26") => Reason::AuthFailure,
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
    // All names found in one Aho-Corasick pass (one substring search per
    // name was a tenth of `bounces inspect`'s instructions under callgrind).
    // Every occurrence is seen, overlapping ones too: two occurrences of a
    // name overlap only where its ends are letters, and then neither is a
    // word of its own, so the result is that of searching name by name.
    static NAMES_AC: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> =
        std::sync::OnceLock::new();
    let ac = NAMES_AC
        .get_or_init(|| aho_corasick::AhoCorasick::new(COMMAND_NAMES.iter().map(|(n, _)| n)).ok());
    // A name counts as a word of its own: "hello" is no HELO.
    let word_at = |at: usize, len: usize| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + len..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    };
    // The last place of each name where it is a word.
    let mut last: [Option<usize>; COMMAND_NAMES.len()] = [None; COMMAND_NAMES.len()];
    match ac {
        Some(ac) => {
            for m in ac.find_overlapping_iter(&lower) {
                if word_at(m.start(), m.len()) {
                    last[m.pattern().as_usize()] = Some(m.start());
                }
            }
        }
        None => {
            for (i, (name, _)) in COMMAND_NAMES.iter().enumerate() {
                last[i] = lower
                    .rmatch_indices(name)
                    .map(|(at, _)| at)
                    .find(|&at| word_at(at, name.len()));
            }
        }
    }
    COMMAND_NAMES
        .iter()
        .zip(last)
        .filter(|((n, _), _)| !reason::is_off(reason::origin_of(n)))
        .filter_map(|((_, c), at)| at.map(|at| (at, *c)))
        .max_by_key(|(at, _)| *at)
        .map(|(_, c)| c)
}

/// The words that name the SMTP command a reply answered.
const COMMAND_NAMES: &[(&str, SmtpCommand)] = &[
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
    // qmail names the phase in words ("Connected to 192.0.2.1 but
    // sender was rejected."), and so do the systems built on it.
    ("does not like recipient", SmtpCommand::RcptTo),
    ("my name was rejected", SmtpCommand::Helo),
    ("sender was rejected", SmtpCommand::MailFrom),
    ("failed on data command", SmtpCommand::Data),
    ("failed after i sent the message", SmtpCommand::Data),
];

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

    /// `reason` of a diagnostic with the codes and command found in it.
    fn of(diagnostic: &str) -> Reason {
        let status = find_status(diagnostic);
        reason(&Evidence {
            diagnostic,
            status: status.as_deref(),
            reply_code: find_reply_code(diagnostic),
            command: find_command(diagnostic),
            ..Default::default()
        })
    }

    #[test]
    fn user_unknown_needs_confirmation() {
        // Confirmed by the status or by RCPT TO.
        assert_eq!(
            of("550 5.1.1 <a@example.org>: User unknown"),
            Reason::UserUnknown
        );
        assert_eq!(
            of("after RCPT TO:<a@example.org>: 550 No such user here"),
            Reason::UserUnknown
        );
        assert_eq!(
            of("550 5.1.1 unknown user (in reply to end of DATA command)"),
            Reason::UserUnknown
        );
        // The words alone, with no code and no stage, are weak evidence
        // (asymmetric caution): soft.
        let alone = decide(&Evidence {
            diagnostic: "Unknown user: a@example.org",
            ..Default::default()
        });
        assert_eq!((alone.reason, alone.hard), (Reason::Filtered, false));
        assert!(alone
            .evidence
            .contains("no status, reply code or SMTP stage"));
        // A remote reply at an unknown stage, after DATA, or with a status
        // that says the mailbox exists: a filter's words.
        assert_eq!(
            of("550 <a@example.org> No such user here"),
            Reason::Filtered
        );
        assert_eq!(
            of("550 Unknown user (in reply to end of DATA command)"),
            Reason::Filtered
        );
        assert_eq!(
            of("550 5.2.1 <a@example.org>... User Unknown"),
            Reason::Filtered
        );
        assert_eq!(
            of("550 5.2.1 <a@example.org>... User Unknown (in reply to RCPT TO command)"),
            Reason::UserUnknown
        );
    }

    #[test]
    fn giving_up_is_the_last_word() {
        assert_eq!(of("retry timeout exceeded"), Reason::Expired);
        assert_eq!(
            of("mailbox is full: retry timeout exceeded"),
            Reason::MailboxFull
        );
        assert_eq!(
            of(
                "Unable to reach the directory. (#4.4.3) I'm not going to try again; \
                this message has been in the queue too long."
            ),
            Reason::SystemError
        );
    }

    #[test]
    fn x_1_10_is_a_null_mx_unless_the_words_say_the_recipient_is_missing() {
        assert_eq!(
            of("550 5.1.10 Recipient address has null MX"),
            Reason::NotAccept
        );
        let d = decide(&Evidence {
            diagnostic: "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
            status: Some("5.1.10"),
            reply_code: Some(550),
            ..Default::default()
        });
        assert_eq!((d.reason, d.hard), (Reason::UserUnknown, true));
    }

    #[test]
    fn a_missing_domain_is_no_missing_user() {
        assert_eq!(
            of("553 mail.example.org does not exist"),
            Reason::HostUnknown
        );
        assert_eq!(
            of("550 5.1.1 <a@example.org> does not exist"),
            Reason::UserUnknown
        );
    }

    #[test]
    fn a_refusal_quoting_our_sender_is_about_the_sender() {
        let senders = ["news@press.example.net".to_string()];
        let e = |diagnostic| Evidence {
            diagnostic,
            status: Some("5.2.0"),
            senders: &senders,
            ..Default::default()
        };
        assert_eq!(
            reason(&e("550 5.2.0 <news@press.example.net> Domain is invalid")),
            Reason::Rejected
        );
        // The returned message's own header names the sender too: no sign.
        assert_eq!(
            reason(&e("550 5.2.0 nope From: \"News\" <news@press.example.net>")),
            Reason::OnHold
        );
    }

    #[test]
    fn qmail_names_the_phase_in_words() {
        let refused_name = "Connected to 192.0.2.1 but my name was rejected. \
            Remote host said: 501 5.0.0 Invalid domain name";
        assert_eq!(find_command(refused_name), Some(SmtpCommand::Helo));
        assert_eq!(of(refused_name), Reason::Blocked);
        assert_eq!(
            find_command("192.0.2.1 does not like recipient."),
            Some(SmtpCommand::RcptTo)
        );
        assert_eq!(
            find_command("Connected to 192.0.2.1 but sender was rejected."),
            Some(SmtpCommand::MailFrom)
        );
    }

    #[test]
    fn the_command_tells_more_than_a_status_class() {
        assert_eq!(
            of("421 4.7.0 [XY12] deferred, try later (in reply to MAIL FROM command)"),
            Reason::Rejected
        );
        assert_eq!(
            of("SMTP error from remote mail server after initial connection: 554 5.7.1 go away"),
            Reason::Blocked
        );
        assert_eq!(of("554 5.7.1 go away"), Reason::SecurityError);
    }

    #[test]
    fn words_nobody_understands_are_on_hold() {
        assert_eq!(of("Zustellung nicht moeglich"), Reason::OnHold);
        assert_eq!(of("a@example.org"), Reason::Undefined);
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
