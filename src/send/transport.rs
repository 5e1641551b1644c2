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
//! is all this takes.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, MailParameter};
use lettre::transport::smtp::response::Response;
use memchr::memmem;

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

    /// Opens a connection: TCP with TCP_NODELAY, EHLO, STARTTLS as the rule
    /// requires (always, unless the relay is loopback or `tls=none` was
    /// asked for), then AUTH when a user is set. A relay that cannot be used
    /// as configured (no STARTTLS, login refused) is `Error::Input`; one
    /// that cannot be reached is `Error::Transport`.
    pub async fn connect(&self, timeout: Duration) -> Result<Connection, Error> {
        let hello = ClientId::default();
        let fail = |what: &str, e: &dyn fmt::Display| {
            Error::Transport(format!("{self}: {what}: {}", scrub(&e.to_string(), self)))
        };
        let mut conn = if self.tls == TlsMode::Tls {
            let params = TlsParameters::new(self.host.clone()).map_err(|e| fail("TLS", &e))?;
            AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(timeout),
                &hello,
                Some(params),
                None,
            )
            .await
            .map_err(|e| fail("connecting", &e))?
        } else {
            let stream = tokio::time::timeout(
                timeout,
                tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
            )
            .await
            .map_err(|_| fail("connecting", &"timed out"))?
            .map_err(|e| fail("connecting", &e))?;
            stream
                .set_nodelay(true)
                .map_err(|e| fail("connecting", &e))?;
            let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello)
                .await
                .map_err(|e| fail("greeting", &e))?;
            if self.requires_starttls() {
                if !conn.can_starttls() {
                    // A setting to change, not a failure to retry: `Input`.
                    return Err(Error::Input(format!(
                        "{self}: the relay does not offer STARTTLS, and presswire does not send \
                         passwords and contacts' data in clear text; add ?tls=none to the URL \
                         only if the network to the relay is trusted"
                    )));
                }
                let params = TlsParameters::new(self.host.clone()).map_err(|e| fail("TLS", &e))?;
                conn.starttls(params, &hello)
                    .await
                    .map_err(|e| fail("STARTTLS", &e))?;
            }
            conn
        };
        // lettre keeps only the EHLO keywords it uses, and PIPELINING is
        // not one of them: ask again (RFC 5321 §4.1.4 allows a new EHLO at
        // any point; before AUTH it resets nothing that matters).
        let ehlo = conn
            .command(Ehlo::new(hello.clone()))
            .await
            .map_err(|e| fail("greeting", &e))?;
        let pipelining = ehlo
            .message()
            .skip(1)
            .any(|line| line.trim().eq_ignore_ascii_case("PIPELINING"));
        if let Some(user) = &self.user {
            let creds = Credentials::new(user.clone(), self.password.clone().unwrap_or_default());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds)
                .await
                .map_err(|e| {
                    if e.is_permanent() || e.is_client() {
                        // 5xx, or no mechanism in common: the credentials or
                        // the URL must change; retrying would not help.
                        Error::Input(format!(
                            "{self}: the relay refused the login: {}; check the user and \
                             password in the SMTP URL",
                            scrub(&e.to_string(), self)
                        ))
                    } else {
                        fail("logging in", &e)
                    }
                })?;
        }
        Ok(Connection {
            smtp: conn,
            pipelining,
            open: None,
        })
    }
}

/// An open SMTP session with a relay.
pub struct Connection {
    smtp: AsyncSmtpConnection,
    /// Whether the relay offers PIPELINING (RFC 2920).
    pipelining: bool,
    /// The envelope of a transaction opened ahead (sent with the previous
    /// message's content, DATA answered 354) whose content is yet to come.
    open: Option<Envelope>,
}

impl Connection {
    /// Whether the session failed and must not be used again.
    pub fn has_broken(&self) -> bool {
        self.smtp.has_broken()
    }

    /// Whether the session can carry a message with this envelope: it has
    /// not failed, and no other message's transaction is waiting for its
    /// content (only closing the session ends that; RFC 5321 §4.1.1.4).
    pub fn usable_for(&self, envelope: &Envelope) -> bool {
        !self.smtp.has_broken() && self.open.as_ref().is_none_or(|e| e == envelope)
    }

    /// Ends the session: QUIT, or, if a transaction waits for its content,
    /// closing the connection, which makes the relay drop that transaction.
    pub async fn quit(mut self) {
        if self.open.is_none() {
            let _ = self.smtp.quit().await;
        }
    }
}

/// MAIL, RCPT and DATA written as one group (RFC 2920 §3.1: DATA ends
/// it), after the content of the previous message when there is one (see
/// [`pipelined`]).
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

/// Removes the password from a text that might quote it.
fn scrub(text: &str, target: &SmtpTarget) -> String {
    match &target.password {
        Some(p) if !p.is_empty() => text.replace(p.as_str(), "***"),
        _ => text.to_string(),
    }
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
    /// The connection failed or broke: try again later, on a new connection.
    Connection(String),
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
/// trip; the session remembers it (see [`Connection::usable_for`]).
pub async fn send_smtp(
    conn: &mut Connection,
    target: &SmtpTarget,
    envelope: &Envelope,
    bytes: &[u8],
    next: Option<&Envelope>,
) -> Attempt {
    let result = if conn.pipelining && plain(envelope, bytes) {
        pipelined(conn, envelope, bytes, next).await
    } else if conn.open.take().is_some() {
        // Opened ahead for a message that cannot go pipelined after all
        // (never for presswire's 7-bit messages): only closing ends it.
        conn.smtp.abort().await;
        return Attempt::Connection("the session was left in a transaction; reconnecting".into());
    } else if plain(envelope, bytes) {
        stepwise(&mut conn.smtp, envelope, bytes).await
    } else {
        // SMTPUTF8 or 8BITMIME: lettre's own checks and parameters.
        conn.smtp.send(envelope, bytes).await.map_err(|e| (e, None))
    };
    match result {
        Ok(resp) => Attempt::Accepted(format!(
            "{} {}",
            resp.code(),
            resp.message().collect::<Vec<_>>().join(" ")
        )),
        Err((e, command)) => {
            let text = scrub(&e.to_string(), target);
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
    }
}

type SmtpError = lettre::transport::smtp::Error;

/// A reply, or the failure with the command it answered when known: the
/// content's reply counts as DATA's, as in Sisimai's vocabulary.
type SmtpResult = Result<Response, (SmtpError, Option<SmtpCommand>)>;

/// Tags a command's failure with the command.
fn at(command: SmtpCommand) -> impl Fn(SmtpError) -> (SmtpError, Option<SmtpCommand>) {
    move |e| (e, Some(command))
}

/// One message without PIPELINING, a command and its reply at a time, as
/// lettre's `send` does but knowing which command a refusal answered. A
/// refusal ends the session (`abort`), as there.
async fn stepwise(smtp: &mut AsyncSmtpConnection, envelope: &Envelope, bytes: &[u8]) -> SmtpResult {
    let group = Group::new(envelope);
    let result = async {
        smtp.command(&group.mail)
            .await
            .map_err(at(SmtpCommand::MailFrom))?;
        for rcpt in &group.rcpts {
            smtp.command(rcpt).await.map_err(at(SmtpCommand::RcptTo))?;
        }
        smtp.command(Data).await.map_err(at(SmtpCommand::Data))?;
        content(smtp, bytes).await
    }
    .await;
    if result.is_err() {
        smtp.abort().await;
    }
    result
}

/// Sends a message's content after DATA and reads its reply: what
/// lettre's `message` writes (see [`dot_stuffed`]), in one write, without
/// its encoder's byte-at-a-time pass. `bytes` is ASCII.
async fn content(smtp: &mut AsyncSmtpConnection, bytes: &[u8]) -> SmtpResult {
    smtp.command(dot_stuffed(bytes, 0).as_str())
        .await
        .map_err(at(SmtpCommand::Data))
}

/// One message with PIPELINING. Its MAIL, RCPT and DATA go in one write
/// unless they went with the previous message; then its content, followed
/// by the next message's MAIL, RCPT and DATA if there is one; the replies
/// are read in order, every one of them, to stay in step with the relay.
/// As with lettre's own `send`, a refusal ends the session (`abort`: QUIT,
/// close), so nothing is left half-open; the next message opens a new one.
async fn pipelined(
    conn: &mut Connection,
    envelope: &Envelope,
    bytes: &[u8],
    next: Option<&Envelope>,
) -> SmtpResult {
    let smtp = &mut conn.smtp;
    if conn.open.take().as_ref() != Some(envelope) {
        let group = Group::new(envelope);
        let first = smtp.command(&group).await;
        if let Err(e) = replies(smtp, Some(first), group.rcpts.len()).await {
            smtp.abort().await;
            return Err(e);
        }
    }
    let Some(next) = next.filter(|n| plain(n, b"")) else {
        let sent = content(smtp, bytes).await;
        if sent.is_err() {
            smtp.abort().await;
        }
        return sent;
    };
    let group = Group::new(next);
    // One string, written at once: the content, then the next message's
    // commands (room for one recipient's; more grow it).
    let mut write = dot_stuffed(bytes, 1024);
    fmt::Write::write_fmt(&mut write, format_args!("{group}"))
        .expect("writing to a String cannot fail");
    // The first reply is this message's; then come the next one's.
    let sent = smtp
        .command(write.as_str())
        .await
        .map_err(at(SmtpCommand::Data));
    if sent
        .as_ref()
        .is_err_and(|(e, _)| !e.is_permanent() && !e.is_transient())
    {
        // The connection failed: nothing more can be read.
        smtp.abort().await;
        return sent;
    }
    match replies(smtp, None, group.rcpts.len()).await {
        Ok(()) if sent.is_ok() => conn.open = Some(next.clone()),
        _ => smtp.abort().await,
    }
    sent
}

/// Reads the replies to a group's MAIL (unless `mail`, already read),
/// RCPTs and DATA; the first refusal or failure is the result, with the
/// command it answered.
async fn replies(
    smtp: &mut AsyncSmtpConnection,
    mail: Option<Result<Response, SmtpError>>,
    rcpts: usize,
) -> Result<(), (SmtpError, Option<SmtpCommand>)> {
    let mail = match mail {
        Some(r) => r,
        None => smtp.read_response().await,
    };
    let mut first_error = match mail {
        Ok(_) => None,
        Err(e) if e.is_permanent() || e.is_transient() => Some((e, Some(SmtpCommand::MailFrom))),
        // The connection failed, or the reply made no sense.
        Err(e) => return Err((e, Some(SmtpCommand::MailFrom))),
    };
    for i in 0..rcpts + 1 {
        let command = if i < rcpts {
            SmtpCommand::RcptTo
        } else {
            SmtpCommand::Data
        };
        match smtp.read_response().await {
            Ok(_) => {}
            Err(e) if e.is_permanent() || e.is_transient() => {
                first_error.get_or_insert((e, Some(command)));
            }
            Err(e) => return Err(first_error.unwrap_or((e, Some(command)))),
        }
    }
    // A refused MAIL or RCPT makes the relay refuse DATA (RFC 2920 §3.1);
    // should it take DATA all the same, the caller's `abort` ends the
    // session and with it the transaction.
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
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
