//! Transports: SMTP through lettre (our own TCP connections, so that
//! TCP_NODELAY is set: lettre's pooled transport does not, and every message
//! then waits for a delayed ACK), or the outbox, a folder of .eml files,
//! when no SMTP relay is configured.
//!
//! When the relay offers PIPELINING (RFC 2920), MAIL, RCPT and DATA go
//! out together and their replies are read in order; and when the worker
//! knows the next message's envelope, that message's MAIL, RCPT and DATA
//! follow this message's content in the same write (content may open a
//! group, §3.1): one round trip per message instead of four. lettre does
//! not pipeline, but its commands and its reply reader are public, which
//! is all this takes. Every reply owed is read, whatever it says, and a
//! refusal at any step leaves the session in step with the relay (RSET),
//! or closes it when it cannot be (see [`Connection::pipelined`]); each
//! reply is awaited within its RFC 5321 limit (`timeouts`), and each is
//! scrubbed of the password before it goes further (`scrub`).

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, MailParameter};
use lettre::transport::smtp::response::Response;
use memchr::memmem;

use super::scrub;
pub use super::timeouts::Timeouts;
use super::timeouts::{within, TimedOut, WriteLimit};
use super::Error;
use crate::bounce::classify::SmtpCommand;

pub use crate::mailurl::TlsMode;
use crate::mailurl::{self, Protocol};

/// SMTP URLs: submission (587) with STARTTLS, or SMTPS (465).
const SMTP: Protocol = Protocol {
    plain: "smtp",
    tls: "smtps",
    plain_port: 587,
    tls_port: 465,
};

/// An SMTP relay from `smtp://user:pass@host:port?tls=none|starttls|tls`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    password: Option<String>,
    pub tls: TlsMode,
    /// Whether `tls=` was given (loopback relays may go without TLS unless asked).
    pub tls_explicit: bool,
}

impl fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpTarget({self})")
    }
}

impl fmt::Display for SmtpTarget {
    /// The URL with the password replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls == TlsMode::Tls {
            "smtps"
        } else {
            "smtp"
        };
        write!(f, "{scheme}://")?;
        if let Some(u) = &self.user {
            write!(f, "{u}")?;
            if self.password.is_some() {
                write!(f, ":***")?;
            }
            write!(f, "@")?;
        }
        write!(f, "{}:{}?tls={}", self.host, self.port, self.tls.as_str())
    }
}

impl SmtpTarget {
    /// Parses an SMTP URL. Errors never repeat the password.
    pub fn parse(url: &str) -> Result<SmtpTarget, Error> {
        let bad = |why: &str| {
            Error::Input(format!(
                "{}: {why}; write smtp://user:password@host:port?tls=starttls",
                crate::db::redact_url(url)
            ))
        };
        let u = mailurl::parse(url, &SMTP, bad)?;
        if !u.path.is_empty() {
            return Err(bad("an SMTP URL has nothing after the host and port"));
        }
        Ok(SmtpTarget {
            host: u.host,
            port: u.port,
            user: u.user,
            password: u.password,
            tls: u.tls,
            tls_explicit: u.tls_explicit,
        })
    }

    /// Whether the relay is on this machine (127.0.0.0/8, ::1, localhost).
    pub fn is_loopback(&self) -> bool {
        mailurl::is_loopback(&self.host)
    }

    /// The TLS rule for a plain connection (see [`mailurl::requires_starttls`]).
    pub fn requires_starttls(&self) -> bool {
        mailurl::requires_starttls(self.tls, self.tls_explicit, &self.host)
    }

    /// A relay's reply, or an error quoting one, made safe to store with a
    /// delivery (see `scrub`).
    fn stored(&self, text: &str) -> String {
        scrub::scrub(text, self.password.as_deref(), scrub::STORED_CHARS)
    }

    /// The same, cut shorter, for an error a press officer reads.
    fn quoted(&self, text: &str) -> String {
        scrub::scrub(text, self.password.as_deref(), scrub::QUOTED_CHARS)
    }

    /// Opens a connection: TCP with TCP_NODELAY, EHLO, STARTTLS as the rule
    /// requires (always, unless the relay is loopback or `tls=none` was
    /// asked for), then AUTH when a user is set; each step within its limit
    /// (see [`Timeouts`]). A relay that cannot be used as configured (no
    /// STARTTLS, login refused) is `Error::Relay`; one that cannot be
    /// reached, or does not answer in time, is `Error::Connection`.
    pub async fn connect(&self, timeouts: &Timeouts) -> Result<Connection, Error> {
        let hello = ClientId::default();
        let fail = |what: &str, e: &dyn fmt::Display| {
            Error::Connection(format!("{self}: {what}: {}", self.quoted(&e.to_string())))
        };
        let late = |t: TimedOut| Error::Connection(format!("{self}: {t}"));
        let mut conn = if self.tls == TlsMode::Tls {
            let params = TlsParameters::new(self.host.clone()).map_err(|e| fail("TLS", &e))?;
            // TCP (within `connect`), TLS, the greeting and EHLO, all in
            // lettre.
            within(
                timeouts.greeting,
                "greeting",
                AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(timeouts.connect),
                    &hello,
                    Some(params),
                    None,
                ),
            )
            .await
            .map_err(late)?
            .map_err(|e| fail("connecting", &e))?
        } else {
            let stream = within(
                timeouts.connect,
                "connection",
                tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
            )
            .await
            .map_err(late)?
            .map_err(|e| fail("connecting", &e))?;
            stream
                .set_nodelay(true)
                .map_err(|e| fail("connecting", &e))?;
            let stream = WriteLimit::new(stream, timeouts.data_block);
            // The greeting, then lettre's EHLO.
            let mut conn = within(
                timeouts.greeting,
                "greeting",
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello),
            )
            .await
            .map_err(late)?
            .map_err(|e| fail("greeting", &e))?;
            if self.requires_starttls() {
                if !conn.can_starttls() {
                    // A setting to change, not a failure to retry.
                    return Err(Error::Relay(format!(
                        "{self}: the relay does not offer STARTTLS, and presswire does not send \
                         passwords and contacts' data in clear text; add ?tls=none to the URL \
                         only if the network to the relay is trusted"
                    )));
                }
                let params = TlsParameters::new(self.host.clone()).map_err(|e| fail("TLS", &e))?;
                within(
                    timeouts.command,
                    "reply to STARTTLS",
                    conn.starttls(params, &hello),
                )
                .await
                .map_err(late)?
                .map_err(|e| fail("STARTTLS", &e))?;
            }
            conn
        };
        // lettre keeps only the EHLO keywords it uses, and PIPELINING is
        // not one of them: ask again (RFC 5321 §4.1.4 allows a new EHLO at
        // any point; before AUTH it resets nothing that matters).
        let ehlo = within(
            timeouts.command,
            "reply to EHLO",
            conn.command(Ehlo::new(hello.clone())),
        )
        .await
        .map_err(late)?
        .map_err(|e| fail("greeting", &e))?;
        let pipelining = ehlo
            .message()
            .skip(1)
            .any(|line| line.trim().eq_ignore_ascii_case("PIPELINING"));
        if let Some(user) = &self.user {
            let creds = Credentials::new(user.clone(), self.password.clone().unwrap_or_default());
            within(
                timeouts.command,
                "reply to AUTH",
                conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds),
            )
            .await
            .map_err(late)?
            .map_err(|e| {
                if e.is_permanent() || e.is_client() {
                    // 5xx, or no mechanism in common: the credentials or
                    // the URL must change; retrying would not help.
                    Error::Relay(format!(
                        "{self}: the relay refused the login: {}; check the user and \
                         password in the SMTP URL",
                        self.quoted(&e.to_string())
                    ))
                } else {
                    fail("logging in", &e)
                }
            })?;
        }
        Ok(Connection {
            smtp: conn,
            pipelining,
            timeouts: *timeouts,
            broken: false,
            open: None,
        })
    }
}

/// An open SMTP session with a relay.
pub struct Connection {
    smtp: AsyncSmtpConnection,
    /// Whether the relay offers PIPELINING (RFC 2920).
    pipelining: bool,
    timeouts: Timeouts,
    /// The session must not be used again: a reply did not come in time,
    /// the relay ended it (421, a closed connection), or it stands inside a
    /// DATA whose content must not follow. Only closing it is left, and
    /// closing drops whatever transaction it holds; a QUIT written now
    /// could be taken as a message's content.
    broken: bool,
    /// The envelope of a transaction opened ahead (sent with the previous
    /// message's content, DATA answered 354) whose content is yet to come.
    open: Option<Envelope>,
}

impl Connection {
    /// Whether the session failed and must not be used again.
    pub fn has_broken(&self) -> bool {
        self.broken || self.smtp.has_broken()
    }

    /// Whether the session can carry a message with this envelope: it has
    /// not failed, and no other message's transaction is waiting for its
    /// content (only closing the session ends that; RFC 5321 §4.1.1.4).
    pub fn usable_for(&self, envelope: &Envelope) -> bool {
        !self.has_broken() && self.open.as_ref().is_none_or(|e| e == envelope)
    }

    /// Ends the session: QUIT, or, if a transaction waits for its content
    /// or the session broke, closing the connection, which makes the relay
    /// drop that transaction.
    pub async fn quit(mut self) {
        if self.open.is_none() && !self.has_broken() {
            let _ = within(self.timeouts.quit(), "reply to QUIT", self.smtp.quit()).await;
        }
    }
}

/// MAIL, RCPT and DATA written as one group (RFC 2920 §3.1: DATA ends
/// it), after the content of the previous message when there is one (see
/// [`Connection::pipelined`]).
struct Group {
    mail: Mail,
    rcpts: Vec<Rcpt>,
}

impl Group {
    /// 7-bit content and ASCII addresses: MAIL takes no BODY= or SMTPUTF8
    /// parameter.
    fn new(envelope: &Envelope) -> Group {
        Group {
            mail: Mail::new(envelope.from().cloned(), Vec::<MailParameter>::new()),
            rcpts: envelope
                .to()
                .iter()
                .map(|to| Rcpt::new(to.clone(), vec![]))
                .collect(),
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.mail)?;
        for r in &self.rcpts {
            write!(f, "{r}")?;
        }
        write!(f, "{Data}")
    }
}

/// A message's content as it goes after DATA (RFC 5321 §4.5.2): a '.'
/// that starts a line doubled, then `CRLF . CRLF`; byte for byte what
/// lettre's `message` writes. `bytes` is ASCII (see [`plain`]). The
/// string has room for `room` more bytes: the commands that may follow.
fn dot_stuffed(bytes: &[u8], room: usize) -> String {
    /// A '.' that starts a line: lines start after each CRLF (and at the
    /// beginning), not after a bare LF, as in lettre's `ClientCodec`.
    static LINE_DOT: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"\r\n."));
    // The bytes are ASCII; `from_utf8_lossy` would check them a byte at a
    // time.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    };
    let mut out = String::with_capacity(text.len() + room + 16);
    if text.starts_with('.') {
        out.push('.');
    }
    // Copied in runs between the dots to double; most messages have none.
    let mut from = 0;
    for i in LINE_DOT.find_iter(text.as_bytes()) {
        out.push_str(&text[from..i + 2]);
        out.push('.');
        from = i + 2;
    }
    out.push_str(&text[from..]);
    out.push_str("\r\n.\r\n");
    out
}

/// What became of one message at the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// 2xx: accepted, with the server's reply.
    Accepted(String),
    /// 4xx: try again later.
    Transient(String),
    /// 5xx to RCPT or DATA: the relay refuses this message for good; with
    /// the command refused, when known (a bare "550 No such user" means
    /// one thing at RCPT and another at MAIL).
    Permanent {
        reply: String,
        command: Option<SmtpCommand>,
    },
    /// The connection failed, broke, or did not answer in time: try again
    /// later, on a new connection.
    Connection(String),
}

/// What one exchange told: this message's outcome, and the next message's
/// when its transaction was opened ahead and did not open (the relay
/// refused its MAIL, RCPT or DATA, or the session ended before it
/// answered them). That outcome is the next message's attempt: the worker
/// records it when it comes to that message, instead of sending it again
/// at once on a new connection, which would neither wait out the retry
/// delay nor count as an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub this: Attempt,
    pub next: Option<Attempt>,
}

/// Whether a message can go pipelined: presswire's messages are 7-bit
/// (encoded parts and headers); an internationalised address needs
/// SMTPUTF8 and lettre's checks of it.
fn plain(envelope: &Envelope, bytes: &[u8]) -> bool {
    bytes.is_ascii()
        && envelope
            .from()
            .into_iter()
            .chain(envelope.to())
            .all(|a: &lettre::Address| AsRef::<str>::as_ref(a).is_ascii())
}

/// Sends one message over an open connection and classifies the outcome.
/// With `next`, the envelope of the message the worker sends next on this
/// connection, that message's transaction is opened in the same round
/// trip; the session remembers it (see [`Connection::usable_for`]), or,
/// when it did not open, the exchange says why (see [`Exchange`]).
pub async fn send_smtp(
    conn: &mut Connection,
    target: &SmtpTarget,
    envelope: &Envelope,
    bytes: &[u8],
    next: Option<&Envelope>,
) -> Exchange {
    if !conn.usable_for(envelope) {
        // Broken, or inside another message's DATA: a command written now
        // would be taken as that message's content.
        conn.broken = true;
        return Exchange {
            this: Attempt::Connection("the session cannot take this message; reconnecting".into()),
            next: None,
        };
    }
    let (this, next) = if conn.pipelining && plain(envelope, bytes) {
        conn.pipelined(envelope, bytes, next).await
    } else if conn.open.take().is_some() {
        // Opened ahead for a message that cannot go pipelined after all
        // (never for presswire's 7-bit messages): only closing ends it.
        conn.broken = true;
        return Exchange {
            this: Attempt::Connection("the session was left in a transaction; reconnecting".into()),
            next: None,
        };
    } else if plain(envelope, bytes) {
        (conn.stepwise(envelope, bytes).await, None)
    } else {
        // SMTPUTF8 or 8BITMIME: lettre's own checks and parameters; a
        // refusal makes it end the session (QUIT, close).
        let t = conn.timeouts;
        let limit = t.mail + t.rcpt * envelope.to().len() as u32 + t.data + t.data_end;
        let sent = within(
            limit,
            "reply to the message",
            conn.smtp.send(envelope, bytes),
        )
        .await;
        let sent = match sent {
            Ok(r) => r.map_err(Failure::Smtp),
            Err(t) => Err(Failure::Late(t)),
        };
        if sent.is_err() {
            conn.broken = true;
        }
        (sent.map_err(|f| (f, None)), None)
    };
    Exchange {
        this: classify(this, target),
        next: next.map(|refused| classify(Err(refused), target)),
    }
}

/// The outcome of a message from the relay's last word on it.
fn classify(result: SmtpResult, target: &SmtpTarget) -> Attempt {
    match result {
        Ok(resp) => Attempt::Accepted(target.stored(&format!(
            "{} {}",
            resp.code(),
            resp.message().collect::<Vec<_>>().join(" ")
        ))),
        Err((Failure::Smtp(e), command)) => {
            let text = target.stored(&e.to_string());
            if e.is_permanent() {
                Attempt::Permanent {
                    reply: text,
                    command,
                }
            } else if e.is_transient() {
                Attempt::Transient(text)
            } else {
                Attempt::Connection(text)
            }
        }
        Err((Failure::Late(t), _)) => Attempt::Connection(t.to_string()),
        Err((Failure::Unanswered(why), _)) => Attempt::Connection(format!(
            "the session ended before the relay answered ({})",
            target.quoted(&why)
        )),
    }
}

type SmtpError = lettre::transport::smtp::Error;

/// Why a step of the exchange did not succeed.
#[derive(Debug)]
enum Failure {
    /// A refusal (4xx, 5xx), a failed connection or a reply that made no
    /// sense, as lettre reports it.
    Smtp(SmtpError),
    /// No reply within the step's limit.
    Late(TimedOut),
    /// The session ended (as said) before the relay answered a transaction
    /// opened ahead.
    Unanswered(String),
}

impl Failure {
    /// Whether the session is over: nothing more can be read from it in
    /// step with the relay. A 421 says the relay is closing it (RFC 5321
    /// §3.8); any other refusal leaves it usable.
    fn ends_session(&self) -> bool {
        match self {
            Failure::Smtp(e) => {
                !(e.is_transient() || e.is_permanent()) || e.status().map(u16::from) == Some(421)
            }
            Failure::Late(_) | Failure::Unanswered(_) => true,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Smtp(e) => write!(f, "{e}"),
            Failure::Late(t) => write!(f, "{t}"),
            Failure::Unanswered(why) => write!(f, "{why}"),
        }
    }
}

/// A reply, or the failure with the command it answered when known: the
/// content's reply counts as DATA's, as in Sisimai's vocabulary.
type SmtpResult = Result<Response, Refusal>;
type Refusal = (Failure, Option<SmtpCommand>);

/// A step's result from lettre's, within its limit.
async fn step(
    limit: Duration,
    waiting_for: &'static str,
    command: SmtpCommand,
    reply: impl std::future::Future<Output = Result<Response, SmtpError>>,
) -> SmtpResult {
    match within(limit, waiting_for, reply).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err((Failure::Smtp(e), Some(command))),
        Err(t) => Err((Failure::Late(t), Some(command))),
    }
}

impl Connection {
    /// One message without PIPELINING, a command and its reply at a time,
    /// as lettre's `send` does but knowing which command a refusal
    /// answered, and leaving the session usable after a refusal.
    async fn stepwise(&mut self, envelope: &Envelope, bytes: &[u8]) -> SmtpResult {
        let group = Group::new(envelope);
        let t = self.timeouts;
        let smtp = &mut self.smtp;
        let opened = async {
            step(
                t.mail,
                "reply to MAIL",
                SmtpCommand::MailFrom,
                smtp.command(&group.mail),
            )
            .await?;
            for rcpt in &group.rcpts {
                step(
                    t.rcpt,
                    "reply to RCPT",
                    SmtpCommand::RcptTo,
                    smtp.command(rcpt),
                )
                .await?;
            }
            step(
                t.data,
                "reply to DATA",
                SmtpCommand::Data,
                smtp.command(Data),
            )
            .await
        }
        .await;
        if let Err(refusal) = opened {
            self.after_refusal(&refusal.0, false).await;
            return Err(refusal);
        }
        self.content(&dot_stuffed(bytes, 0)).await
    }

    /// One message with PIPELINING. Its MAIL, RCPT and DATA go in one
    /// write unless they went with the previous message; then its content,
    /// followed by the next message's MAIL, RCPT and DATA if there is one.
    /// Every reply owed is read, in order (RFC 2920 §3.1), so that the
    /// session stays in step with the relay: a refusal of this message's
    /// content leaves the next one's transaction open and usable; a refusal
    /// of the next one's MAIL, RCPT or DATA is that message's outcome, and
    /// RSET clears the way for the one after. Returns this message's result
    /// and, when the next message's transaction did not open, why.
    async fn pipelined(
        &mut self,
        envelope: &Envelope,
        bytes: &[u8],
        next: Option<&Envelope>,
    ) -> (SmtpResult, Option<Refusal>) {
        if self.open.take().as_ref() != Some(envelope) {
            let group = Group::new(envelope);
            let mail = step(
                self.timeouts.mail,
                "reply to MAIL",
                SmtpCommand::MailFrom,
                self.smtp.command(&group),
            )
            .await;
            if let Err(refusal) = self.group_replies(mail, group.rcpts.len()).await {
                return (Err(refusal), None);
            }
        }
        let Some(next) = next.filter(|n| plain(n, b"")) else {
            return (self.content(&dot_stuffed(bytes, 0)).await, None);
        };
        let group = Group::new(next);
        // One string, written at once: the content, then the next message's
        // commands (room for one recipient's; more grow it).
        let mut write = dot_stuffed(bytes, 1024);
        fmt::Write::write_fmt(&mut write, format_args!("{group}"))
            .expect("writing to a String cannot fail");
        // The first reply is this message's; then come the next one's.
        let sent = self.content(&write).await;
        if self.has_broken() {
            // The relay will not answer the next message's commands (it
            // closed the session, or stopped answering): that transaction
            // never opened, and nothing of its message left.
            let why = match &sent {
                Err((f, _)) => f.to_string(),
                Ok(_) => "the session broke".to_string(),
            };
            return (sent, Some((Failure::Unanswered(why), None)));
        }
        let mail = step(
            self.timeouts.mail,
            "reply to MAIL",
            SmtpCommand::MailFrom,
            self.smtp.read_response(),
        )
        .await;
        match self.group_replies(mail, group.rcpts.len()).await {
            Ok(()) => {
                self.open = Some(next.clone());
                (sent, None)
            }
            Err(refusal) => (sent, Some(refusal)),
        }
    }

    /// Sends a message's content after DATA (and whatever follows it in
    /// the same write) and reads the content's reply: what lettre's
    /// `message` writes (see [`dot_stuffed`]), in one write, without its
    /// encoder's byte-at-a-time pass. A refusal ends the transaction, not
    /// the session (RFC 5321 §4.1.1.4), unless it is a 421.
    async fn content(&mut self, write: &str) -> SmtpResult {
        let sent = step(
            self.timeouts.data_end,
            "reply to the end of data",
            SmtpCommand::Data,
            self.smtp.command(write),
        )
        .await;
        if let Err((f, _)) = &sent {
            if f.ends_session() {
                self.broken = true;
            }
        }
        sent
    }

    /// Reads the rest of the replies to a group: its MAIL's (`mail`,
    /// already awaited), then each RCPT's and DATA's, each within its
    /// limit; the first refusal is the result, with the command it
    /// answered. The session is left ready for the next transaction (see
    /// [`Connection::after_refusal`]).
    async fn group_replies(&mut self, mail: SmtpResult, rcpts: usize) -> Result<(), Refusal> {
        let t = self.timeouts;
        let mut first: Option<Refusal> = None;
        let mut data_open = false;
        let mut mail = Some(mail);
        // MAIL's reply, each RCPT's, then DATA's.
        for i in 0..rcpts + 2 {
            let reply = match mail.take() {
                Some(reply) => reply,
                None if i <= rcpts => {
                    let read = self.smtp.read_response();
                    step(t.rcpt, "reply to RCPT", SmtpCommand::RcptTo, read).await
                }
                None => {
                    let read = self.smtp.read_response();
                    step(t.data, "reply to DATA", SmtpCommand::Data, read).await
                }
            };
            match reply {
                Ok(_) => data_open = i == rcpts + 1,
                // The first refusal is the message's; a later failure of
                // the session still ends the session.
                Err(refusal) if refusal.0.ends_session() => {
                    self.broken = true;
                    return Err(first.unwrap_or(refusal));
                }
                Err(refusal) => {
                    first.get_or_insert(refusal);
                }
            }
        }
        match first {
            None => Ok(()),
            Some(refusal) => {
                self.after_refusal(&refusal.0, data_open).await;
                Err(refusal)
            }
        }
    }

    /// Leaves the session ready for the next transaction after a refusal
    /// of MAIL, RCPT or DATA. A refused MAIL or RCPT makes the relay refuse
    /// DATA (RFC 2920 §3.1), and RSET then clears what remains of the
    /// transaction (RFC 5321 §4.1.1.5). Should the relay take DATA all the
    /// same, the session stands inside a DATA without a message to send:
    /// it is closed, which drops the transaction (a QUIT would be taken as
    /// content). A 421, a failed connection or a late reply end it too.
    async fn after_refusal(&mut self, failure: &Failure, data_open: bool) {
        if data_open || failure.ends_session() {
            self.broken = true;
            return;
        }
        let reset = within(
            self.timeouts.command,
            "reply to RSET",
            self.smtp.command(Rset),
        )
        .await;
        if !matches!(reset, Ok(Ok(_))) {
            self.broken = true;
        }
    }
}

/// Writes a message into the outbox: `DIR/<send>/<delivery>.eml`, through a
/// temporary file and a rename, so a crash never leaves half a message.
pub async fn write_outbox(
    dir: &Path,
    send_id: i64,
    delivery_id: i64,
    return_path: &str,
    bytes: &[u8],
) -> Attempt {
    let folder = dir.join(send_id.to_string());
    let path = folder.join(format!("{delivery_id}.eml"));
    let tmp = folder.join(format!(".{delivery_id}.eml.tmp"));
    let mut content = format!("Return-Path: <{return_path}>\r\n").into_bytes();
    content.extend_from_slice(bytes);
    let result = async {
        tokio::fs::create_dir_all(&folder).await?;
        tokio::fs::write(&tmp, &content).await?;
        tokio::fs::rename(&tmp, &path).await
    }
    .await;
    match result {
        Ok(()) => Attempt::Accepted(format!("250 written to {}", path.display())),
        Err(e) => Attempt::Connection(format!("writing {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_dot_stuffed_as_lettre_would() {
        assert_eq!(
            dot_stuffed(b".a\r\n.b\r\nc.\n.d\r\n", 0),
            "..a\r\n..b\r\nc.\n.d\r\n\r\n.\r\n"
        );
        assert_eq!(dot_stuffed(b"", 0), "\r\n.\r\n");
        assert_eq!(dot_stuffed(b"x\r\n.", 0), "x\r\n..\r\n.\r\n");
        assert_eq!(dot_stuffed(b"..", 0), "...\r\n.\r\n");
        assert_eq!(
            dot_stuffed(b"\r\r\n.a\r\n\r\n.\r\n.", 0),
            "\r\r\n..a\r\n\r\n..\r\n..\r\n.\r\n"
        );
        assert_eq!(dot_stuffed(b"a\n.b\r.c", 0), "a\n.b\r.c\r\n.\r\n");
    }

    #[test]
    fn urls_parse_and_never_show_the_password() {
        let t =
            SmtpTarget::parse("smtp://press%40ngo.example:s3cr%3At@mail.ngo.example:587").unwrap();
        assert_eq!(t.user.as_deref(), Some("press@ngo.example"));
        assert_eq!(t.password.as_deref(), Some("s3cr:t"));
        assert_eq!(t.tls, TlsMode::StartTls);
        let shown = format!("{t} {t:?}");
        assert!(!shown.contains("s3cr"), "{shown}");
        assert_eq!(
            t.to_string(),
            "smtp://press@ngo.example:***@mail.ngo.example:587?tls=starttls"
        );
        let l = SmtpTarget::parse("smtp://127.0.0.1:2525").unwrap();
        assert!(l.is_loopback() && !l.tls_explicit);
        assert_eq!(SmtpTarget::parse("smtps://h.example").unwrap().port, 465);
        assert_eq!(
            SmtpTarget::parse("smtp://h.example?tls=none").unwrap().tls,
            TlsMode::None
        );
        let e = SmtpTarget::parse("smtp://u:hunter2@h.example?tls=maybe")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(SmtpTarget::parse("http://h").is_err());
    }
}
