//! Why a message bounced: the reason vocabulary (Sisimai's, so that figures
//! compare with other tools) and the one table that maps a diagnostic's
//! words to a reason.
//!
//! This module owns the words; `classify` owns the order in which status
//! codes, reply codes and these words are consulted.

use std::fmt;

/// Why a message was not delivered (or, for the last few, what it is instead
/// of a bounce). Names and meanings follow Sisimai's reason list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The mailbox does not exist (RFC 3463 X.1.1).
    UserUnknown,
    /// The domain does not exist or has no mail server (X.1.2).
    HostUnknown,
    /// The mailbox is full (X.2.2).
    MailboxFull,
    /// A filter at the recipient's side refused the message (a user's rule,
    /// or "user unknown" said only after DATA).
    Filtered,
    /// The sender address was refused.
    Rejected,
    /// The sending host or its IP address was refused (blocklist, reputation).
    Blocked,
    /// The content was judged to be spam.
    SpamDetected,
    /// The message broke the receiver's policy (DMARC, content rules).
    PolicyViolation,
    /// Delivery was retried until the queue lifetime ran out (X.4.7).
    Expired,
    /// The mailbox is disabled or suspended (X.2.1).
    Suspend,
    /// The recipient has moved to another address (X.1.6).
    HasMoved,
    /// Relaying was denied.
    NoRelaying,
    /// A security or authentication problem other than SPF/DKIM/DMARC.
    SecurityError,
    /// The receiving system failed (X.3.x).
    SystemError,
    /// A network or routing problem (X.4.x).
    NetworkError,
    /// Too many connections at once.
    TooManyConn,
    /// A message limit of the recipient was exceeded (X.2.3).
    ExceedLimit,
    /// The message is too big for the receiving system (X.3.4).
    MesgTooBig,
    /// The content could not be accepted (X.6.x).
    ContentError,
    /// SPF, DKIM or DMARC failed.
    AuthFailure,
    /// The sending IP address has no (matching) reverse DNS.
    RequirePtr,
    /// The domain accepts no mail at all (null MX, RFC 7505).
    NotAccept,
    /// The sender's reputation is too low (Gmail, Yahoo).
    BadReputation,
    /// A virus was found in the message.
    VirusDetected,
    /// An SMTP syntax error (X.5.x).
    SyntaxError,
    /// The failure was reported but its cause is unclear: decided later.
    OnHold,
    /// STARTTLS could not be negotiated.
    FailedStartTls,
    /// Sending too fast (rate limited).
    Speeding,
    /// The receiving system has no space (X.3.1).
    SystemFull,
    /// A local mailer program (procmail, a pipe) failed.
    MailerError,
    /// The message does not comply with RFC 5322.
    NotCompliantRfc,
    /// An auto-reply (out of office, vacation): not a bounce.
    Vacation,
    /// A complaint (ARF feedback report): not a bounce.
    Feedback,
    /// Delivered or relayed (a positive DSN): not a bounce.
    Delivered,
    /// Nothing says why.
    Undefined,
}

/// Every reason with its name, in one place.
const NAMES: &[(Reason, &str)] = &[
    (Reason::UserUnknown, "userunknown"),
    (Reason::HostUnknown, "hostunknown"),
    (Reason::MailboxFull, "mailboxfull"),
    (Reason::Filtered, "filtered"),
    (Reason::Rejected, "rejected"),
    (Reason::Blocked, "blocked"),
    (Reason::SpamDetected, "spamdetected"),
    (Reason::PolicyViolation, "policyviolation"),
    (Reason::Expired, "expired"),
    (Reason::Suspend, "suspend"),
    (Reason::HasMoved, "hasmoved"),
    (Reason::NoRelaying, "norelaying"),
    (Reason::SecurityError, "securityerror"),
    (Reason::SystemError, "systemerror"),
    (Reason::NetworkError, "networkerror"),
    (Reason::TooManyConn, "toomanyconn"),
    (Reason::ExceedLimit, "exceedlimit"),
    (Reason::MesgTooBig, "mesgtoobig"),
    (Reason::ContentError, "contenterror"),
    (Reason::AuthFailure, "authfailure"),
    (Reason::RequirePtr, "requireptr"),
    (Reason::NotAccept, "notaccept"),
    (Reason::BadReputation, "badreputation"),
    (Reason::VirusDetected, "virusdetected"),
    (Reason::SyntaxError, "syntaxerror"),
    (Reason::OnHold, "onhold"),
    (Reason::FailedStartTls, "failedstarttls"),
    (Reason::Speeding, "speeding"),
    (Reason::SystemFull, "systemfull"),
    (Reason::MailerError, "mailererror"),
    (Reason::NotCompliantRfc, "notcompliantrfc"),
    (Reason::Vacation, "vacation"),
    (Reason::Feedback, "feedback"),
    (Reason::Delivered, "delivered"),
    (Reason::Undefined, "undefined"),
];

impl Reason {
    /// The reason's name in Sisimai's vocabulary ("userunknown", …).
    pub fn as_str(self) -> &'static str {
        NAMES
            .iter()
            .find(|(r, _)| *r == self)
            .map(|(_, n)| *n)
            .unwrap_or("undefined")
    }

    /// The reason named `name` (as [`Reason::as_str`] writes it).
    pub fn from_name(name: &str) -> Option<Reason> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(r, _)| *r)
    }

    /// Whether this reason describes a failed delivery at all: auto-replies,
    /// complaints and delivery reports do not.
    pub fn is_failure(self) -> bool {
        !matches!(
            self,
            Reason::Vacation | Reason::Feedback | Reason::Delivered
        )
    }

    /// Sisimai's hard-bounce rule: the address itself is wrong
    /// (userunknown, hostunknown, hasmoved), or the domain accepts no mail
    /// (notaccept) and the refusal was not temporary. `temporary` is true
    /// when a 4xx reply code or a 4.x.x status came with the failure.
    pub fn is_hard(self, temporary: bool) -> bool {
        match self {
            Reason::UserUnknown | Reason::HostUnknown | Reason::HasMoved => true,
            Reason::NotAccept => !temporary,
            _ => false,
        }
    }
}

impl Reason {
    /// The reason as a press officer reads it, printed beside its code
    /// ("userunknown: address does not exist").
    pub fn words(self) -> &'static str {
        match self {
            Reason::UserUnknown => "address does not exist",
            Reason::HostUnknown => "domain does not exist",
            Reason::MailboxFull => "mailbox full",
            Reason::Filtered => "refused by the recipient's filter",
            Reason::Rejected => "our sender address refused",
            Reason::Blocked => "our sending server blocked",
            Reason::SpamDetected => "taken for spam",
            Reason::PolicyViolation => "against the receiver's policy",
            Reason::Expired => "gave up after retrying",
            Reason::Suspend => "mailbox disabled",
            Reason::HasMoved => "address has moved",
            Reason::NoRelaying => "relaying refused",
            Reason::SecurityError => "security check failed",
            Reason::SystemError => "receiving system failed",
            Reason::NetworkError => "network or routing problem",
            Reason::TooManyConn => "too many connections",
            Reason::ExceedLimit => "recipient's limit exceeded",
            Reason::MesgTooBig => "message too big",
            Reason::ContentError => "content not accepted",
            Reason::AuthFailure => "SPF, DKIM or DMARC failed",
            Reason::RequirePtr => "our server lacks reverse DNS",
            Reason::NotAccept => "domain accepts no mail",
            Reason::BadReputation => "our sending reputation",
            Reason::VirusDetected => "taken for a virus",
            Reason::SyntaxError => "SMTP syntax error",
            Reason::OnHold => "held, cause not given",
            Reason::FailedStartTls => "encryption (STARTTLS) failed",
            Reason::Speeding => "sent too fast",
            Reason::SystemFull => "receiving system full",
            Reason::MailerError => "recipient's mail program failed",
            Reason::NotCompliantRfc => "message not standard-conform",
            Reason::Vacation => "auto-reply",
            Reason::Feedback => "reader's report",
            Reason::Delivered => "delivered",
            Reason::Undefined => "cause not given",
        }
    }
}

/// A stored reason's code with its words ("mailboxfull (mailbox full)");
/// a code presswire does not know is printed as it is.
pub fn with_words(code: &str) -> String {
    match Reason::from_name(code) {
        Some(r) => format!("{code} ({})", r.words()),
        None => code.to_string(),
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

mod phrases;
pub use phrases::{GAVE_UP, PHRASES};

/// The most text a `*` in a pattern stands for: the words of one phrase
/// stay close together.
const GAP: usize = 40;

/// Whether lowercase `text` matches `pattern` (see [`PHRASES`]): the pieces
/// between `*` appear in order, each at most [`GAP`] bytes after the last.
pub fn matches(text: &str, pattern: &str) -> bool {
    let pieces: Vec<&str> = pattern
        .split('*')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let Some((first, rest)) = pieces.split_first() else {
        return true;
    };
    text.match_indices(first).any(|(at, _)| {
        let mut end = at + first.len();
        rest.iter().all(|piece| match text[end..].find(piece) {
            Some(gap) if gap <= GAP => {
                end += gap + piece.len();
                true
            }
            _ => false,
        })
    })
}

/// `text` as patterns are matched against: lowercase, and runs of
/// whitespace as one space (replies wrap: "does\n    not exist" must read
/// as "does not exist").
pub fn normalize(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The first reason of `table` with a pattern that matches `text` (any
/// case), with the pattern. Patterns of an origin that is [switched
/// off](switch_off) are skipped.
pub fn by_table(
    table: &'static [(Reason, &'static [&'static str])],
    text: &str,
) -> Option<(Reason, &'static str)> {
    let lower = normalize(text);
    if table.iter().map(|(_, p)| p.len()).sum::<usize>() < INDEXED {
        return table.iter().find_map(|(r, patterns)| {
            patterns
                .iter()
                .find(|p| !is_off(origin_of(p)) && matches(&lower, p))
                .map(|p| (*r, *p))
        });
    }
    let key = table.as_ptr() as usize;
    PhraseIndex::of(key, || {
        table
            .iter()
            .flat_map(|(r, patterns)| patterns.iter().map(|p| (*r, *p)))
            .collect()
    })
    .first_match(&lower)
}

/// The first reason in [`PHRASES`] whose words appear in `text` (any
/// case), with the pattern that matched.
pub fn by_phrase(text: &str) -> Option<(Reason, &'static str)> {
    by_table(PHRASES, text)
}

/// [`Reason::Expired`] when `text` says the MTA gave up retrying (see
/// [`GAVE_UP`]), with the pattern that matched.
pub fn gave_up(text: &str) -> Option<(Reason, &'static str)> {
    let lower = normalize(text);
    PhraseIndex::of(GAVE_UP.as_ptr() as usize, || {
        GAVE_UP.iter().map(|p| (Reason::Expired, *p)).collect()
    })
    .first_match(&lower)
}

/// Tables with fewer patterns than this are matched pattern by pattern
/// (an MTA convention's few phrases); larger ones through a [`PhraseIndex`].
const INDEXED: usize = 8;

/// A phrase table made ready for matching: the first piece of every
/// pattern found in one Aho-Corasick pass over the text, so that only the
/// patterns whose first piece occurs are tried (measured with callgrind on
/// the corpus: searching each of PHRASES' patterns one after the other was
/// nearly half of all the instructions of `bounces inspect`). The result is
/// the same: the first pattern of the table, in order, that [`matches`].
struct PhraseIndex {
    /// Finds the distinct first pieces of the patterns (`None` if the
    /// automaton could not be built: then every pattern is tried).
    first_pieces: Option<aho_corasick::AhoCorasick>,
    /// The table's patterns in order, with their origin and the number of
    /// their first piece in `first_pieces` (`None`: a pattern without
    /// pieces, which matches any text).
    patterns: Vec<(Reason, &'static str, &'static str, Option<usize>)>,
}

impl PhraseIndex {
    /// The index of the table at `key` (its address), built with the
    /// table's patterns from `patterns` the first time. Tables are
    /// `'static` and few, so their indexes live as long as the process.
    fn of(
        key: usize,
        patterns: impl FnOnce() -> Vec<(Reason, &'static str)>,
    ) -> &'static PhraseIndex {
        static BUILT: std::sync::Mutex<Vec<(usize, &'static PhraseIndex)>> =
            std::sync::Mutex::new(Vec::new());
        let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, index)) = built.iter().find(|(k, _)| *k == key) {
            return index;
        }
        let index: &'static PhraseIndex = Box::leak(Box::new(PhraseIndex::new(patterns())));
        built.push((key, index));
        index
    }

    fn new(table: Vec<(Reason, &'static str)>) -> PhraseIndex {
        let mut pieces: Vec<&'static str> = Vec::new();
        let patterns = table
            .into_iter()
            .map(|(r, p)| {
                let first = p.split('*').map(str::trim).find(|piece| !piece.is_empty());
                let id = first.map(|f| {
                    pieces.iter().position(|x| *x == f).unwrap_or_else(|| {
                        pieces.push(f);
                        pieces.len() - 1
                    })
                });
                (r, p, origin_of(p), id)
            })
            .collect();
        let first_pieces = aho_corasick::AhoCorasick::new(&pieces).ok();
        PhraseIndex {
            first_pieces,
            patterns,
        }
    }

    fn first_match(&self, lower: &str) -> Option<(Reason, &'static str)> {
        let present = self.first_pieces.as_ref().map(|ac| {
            let mut present = vec![false; ac.patterns_len()];
            for m in ac.find_overlapping_iter(lower) {
                present[m.pattern().as_usize()] = true;
            }
            present
        });
        let occurs = |id: &Option<usize>| match (id, &present) {
            (Some(i), Some(present)) => present[*i],
            _ => true,
        };
        self.patterns
            .iter()
            .find(|(_, p, origin, id)| occurs(id) && !is_off(origin) && matches(lower, p))
            .map(|(r, p, _, _)| (*r, *p))
    }
}

/// Where a rule comes from. Every pattern of [`PHRASES`], [`GAVE_UP`] and
/// `classify`'s command names is wording that several MTAs or providers
/// write (`COMMON`), unless [`ONE_ORIGIN`] names the one MTA or provider
/// of the development corpus (`tests/fixtures/bounces`, its `module`
/// column) it was taken from. The status code rules are RFC 3463's
/// (`RFC3463`), the reply code and command rules RFC 5321's (`RFC5321`);
/// `mta::CONVENTIONS` name their origin each.
///
/// The tags let the leave-one-origin-out measurement (`tests/it/
/// bounce_generalisation.rs`) switch off everything that exists only
/// because of one origin while it scores that origin's messages: the
/// figure it prints is what the classifier does on an MTA it has never
/// seen.
pub const COMMON: &str = "common";
pub const RFC3463: &str = "rfc3463";
pub const RFC5321: &str = "rfc5321";

/// The patterns that exist because of one origin of the corpus, with it.
/// A pattern not listed here is [`COMMON`]. `tests/it/
/// bounce_generalisation.rs` checks this list against the corpus: a
/// pattern that decides only for one origin's messages (and for none of
/// `tests/fixtures/bounces-own`) must be listed with it.
pub const ONE_ORIGIN: &[(&str, &str)] = &[
    ("smtp server of your isp", "Exim"),
    ("domain may not exist", "Exim"),
    ("unverifyable sending ip", "Exim"),
    ("unverifiable sending ip", "Exim"),
    ("an address that has been blacklisted", "Exim"),
    ("line limit exceeded", "Exim"),
    ("unknown or illegal alias", "Exim"),
    ("all hosts have been failing", "Exim"),
    ("retry time not reached for any host", "Exim"),
    ("retry timeout exceeded", "Exim"),
    ("pipe to", "Exim"),
    ("does not support tls", "Gmail"),
    ("mailbox exceeds allowed size", "IMailServer"),
    ("invalid final delivery userid", "IMailServer"),
    ("failed * attempts:", "IMailServer"),
    ("blacklisted url", "IMailServer"),
    ("mx or srv record indicated no smtp service", "MailRu"),
    ("unrouteable address", "MailRu"),
    ("not listed in", "Notes"),
    ("user not listed", "Notes"),
    ("host not found, try again", "Postfix"),
    ("could not load", "Postfix"),
    ("configured to relay", "Postfix"),
    ("low reputation", "Postfix"),
    ("write error", "Postfix"),
    ("duplicate header", "Postfix"),
    ("connection rate", "Postfix"),
    ("lost connection", "Postfix"),
    ("recipient preferences", "Rhost-Facebook"),
    ("address couldn't be found", "Rhost-GSuite"),
    ("spam classification", "Rhost-GSuite"),
    ("dns error", "Rhost-GSuite"),
    ("insecure mail relay", "V5sendmail"),
    ("open relay", "V5sendmail"),
    ("no valid recipients", "Verizon"),
    ("sender was rejected", "qmail"),
    ("account is locked", "qmail"),
    ("banned sending ip", "qmail"),
    ("couldn't find a mail exchanger or ip address", "qmail"),
    ("no mailbox", "qmail"),
    ("sorry, no mailbox here", "qmail"),
    (
        "sorry, that domain isn't in my list of allowed rcpthosts",
        "qmail",
    ),
    ("does not like recipient", "qmail"),
    ("my name was rejected", "qmail"),
    ("failed on data command", "qmail"),
    ("failed after i sent the message", "qmail"),
];

/// Patterns that are a provider's own reply text as the provider
/// documents it publicly, with where: they would exist had the corpus
/// never held a message of that provider, so they are never switched off
/// ([`DOCUMENTED`] origin), and the provider's documented meaning is its
/// verdict (`classify::caution` does not second-guess it). Each has a
/// hand-made fixture in `tests/fixtures/bounces-own` written from the
/// same page.
pub const DOCUMENTED_PHRASES: &[(&str, &str)] = &[(
    "delivery error: dd this user doesn't have a",
    "Yahoo, postmaster.yahooinc.com/error-codes: 554 delivery error: dd This user doesn't have a yahoo.com account",
)];

/// The origin of the [`DOCUMENTED_PHRASES`].
pub const DOCUMENTED: &str = "documented";

/// Patterns that also match text about other things than a missing
/// mailbox ("does not exist" may be said of a domain, a folder, a page;
/// "address rejected" of a policy): alone they are weak evidence for a
/// hard bounce (see `classify::caution`).
pub const LOOSE: &[&str] = &[
    "does not exist",
    "doesn't exist",
    "doesn't have a",
    "address rejected",
    "recipient rejected",
    "no longer available",
    "no longer valid",
    "cannot be found",
    "could not be found",
    "is not a valid",
    "destination mailbox",
    "did not reach the following recipient",
    "address is correct",
    "mailbox unavailable",
    "mailbox not available",
    "mailbox is unavailable",
    "undeliverable address",
    "bad recipient",
    "invalid address",
    "not our user",
];

/// Whether `pattern` is one of the [`LOOSE`] ones.
pub fn is_loose(pattern: &str) -> bool {
    LOOSE.contains(&pattern)
}

/// The origin of `pattern` (see [`ONE_ORIGIN`]).
pub fn origin_of(pattern: &str) -> &'static str {
    if DOCUMENTED_PHRASES.iter().any(|(p, _)| *p == pattern) {
        return DOCUMENTED;
    }
    ONE_ORIGIN
        .iter()
        .find(|(p, _)| *p == pattern)
        .map(|(_, o)| *o)
        .unwrap_or(COMMON)
}

/// The origins switched off for this process (see [`switch_off`]).
static OFF: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Switches off, for the rest of the process, every rule whose origin is
/// one of `origins` (compared without case): the classifier then reads
/// messages as if it had never been taught those origins' ways. Only the
/// generalisation measurement uses this (`bounces inspect
/// --without-origin`); set once, before any message is read.
pub fn switch_off(origins: Vec<String>) {
    let _ = OFF.set(origins);
}

std::thread_local! {
    /// The origin switched off for this thread only (see [`without`]).
    static OFF_HERE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with the rules of `origin` switched off on this thread: the
/// leave-one-origin-out measurement (`evaluate`) scores one origin's
/// messages on each of its worker threads this way.
pub fn without<T>(origin: &str, f: impl FnOnce() -> T) -> T {
    let before = OFF_HERE.with(|o| o.replace(Some(origin.to_string())));
    let out = f();
    OFF_HERE.with(|o| o.replace(before));
    out
}

/// Whether rules of `origin` are switched off.
pub fn is_off(origin: &str) -> bool {
    if origin == COMMON || origin == DOCUMENTED {
        // Common wording, documented replies and the standards are never
        // switched off.
        return false;
    }
    OFF_HERE.with(|o| {
        o.borrow()
            .as_deref()
            .is_some_and(|off| off.eq_ignore_ascii_case(origin))
    }) || OFF
        .get()
        .is_some_and(|off| off.iter().any(|o| o.eq_ignore_ascii_case(origin)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (r, n) in NAMES {
            assert_eq!(r.as_str(), *n);
            assert_eq!(Reason::from_name(n), Some(*r));
        }
    }

    #[test]
    fn patterns_with_gaps() {
        assert!(matches("the mailbox is full now", "mailbox * full"));
        assert!(!matches("full mailbox", "mailbox * full"));
        let far = format!("mailbox {} full", "x".repeat(60));
        assert!(!matches(&far, "mailbox * full"));
        assert!(matches("anything", ""));
    }

    #[test]
    fn hard_rule() {
        assert!(Reason::UserUnknown.is_hard(true));
        assert!(Reason::NotAccept.is_hard(false));
        assert!(!Reason::NotAccept.is_hard(true));
        assert!(!Reason::MailboxFull.is_hard(false));
    }
}
