//! The IMAP source: `presswire bounces poll` logs in to the mailbox that
//! receives the `bounces+TOKEN@` mail, imports every message in it the way
//! `bounces import` imports files, and moves each handled message to a
//! folder (created when missing) instead of deleting it. A message that
//! cannot be read as mail stays where it is, for a person to look at.
//!
//! Messages are fetched with `BODY.PEEK[]` (RFC 3501 §6.4.5: their \Seen
//! flag is left alone) in batches; each batch is imported in one
//! transaction and moved only after it is committed. When the move fails,
//! the next poll finds the messages again and the dedupe key keeps them
//! from counting twice. Moving uses `UID MOVE` (RFC 6851) when the server
//! has it, else `UID COPY`, `\Deleted` and `UID EXPUNGE` (RFC 4315), or a
//! plain `EXPUNGE` on a server without UIDPLUS.
//!
//! TLS: `imaps://` is TLS from the first byte (port 993); `imap://` must
//! upgrade with STARTTLS (RFC 3501 §6.2.1) unless the server is on this
//! machine or the URL says `?tls=none`: the password and contacts' data do
//! not cross a network in clear text by accident. The password is never
//! printed: the URL shows as `user:***@host`, and server answers that could
//! quote it are scrubbed.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls;

use super::policy::Policy;
use super::store::{self, ImportReport, Incoming};
use super::Error;
use crate::db::Db;
use crate::send::tokens::Signer;

pub use crate::mailurl::TlsMode;
use crate::mailurl::{self, Protocol};

/// IMAP URLs: IMAP (143) with STARTTLS, or IMAPS (993).
const IMAP: Protocol = Protocol {
    plain: "imap",
    tls: "imaps",
    plain_port: 143,
    tls_port: 993,
};

/// A mailbox from `imap[s]://user:password@host:port/MAILBOX?tls=…`.
#[derive(Clone, PartialEq, Eq)]
pub struct ImapTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    password: String,
    pub tls: TlsMode,
    /// Whether `tls=` was given (loopback servers may go without TLS unless asked).
    pub tls_explicit: bool,
    /// The mailbox to read, `INBOX` unless the URL names one.
    pub mailbox: String,
}

impl fmt::Debug for ImapTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImapTarget({self})")
    }
}

impl fmt::Display for ImapTarget {
    /// The URL with the password replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.scheme();
        write!(
            f,
            "{scheme}://{}:***@{}:{}/{}",
            self.user, self.host, self.port, self.mailbox
        )?;
        if self.tls_explicit && self.tls != TlsMode::Tls {
            write!(f, "?tls={}", self.tls.as_str())?;
        }
        Ok(())
    }
}

impl ImapTarget {
    /// Parses an IMAP URL. Errors never repeat the password.
    pub fn parse(url: &str) -> Result<ImapTarget, Error> {
        let bad = |why: &str| {
            Error::Input(format!(
                "IMAP URL {}: {why}; write imaps://user:password@host:993/INBOX",
                crate::db::redact_url(url)
            ))
        };
        let u = mailurl::parse(url, &IMAP, bad)?;
        let user = u.user.filter(|u| !u.is_empty());
        let user = user.ok_or_else(|| bad("no user name (user@host)"))?;
        let mailbox = if u.path.is_empty() {
            "INBOX".to_string()
        } else {
            u.path
        };
        check_mailbox_name(&mailbox).map_err(|why| bad(&why))?;
        Ok(ImapTarget {
            host: u.host,
            port: u.port,
            user,
            password: u.password.unwrap_or_default(),
            tls: u.tls,
            tls_explicit: u.tls_explicit,
            mailbox,
        })
    }

    /// Whether the server is on this machine (127.0.0.0/8, ::1, localhost).
    pub fn is_loopback(&self) -> bool {
        mailurl::is_loopback(&self.host)
    }

    /// The TLS rule for a plain connection (see [`mailurl::requires_starttls`]).
    pub fn requires_starttls(&self) -> bool {
        mailurl::requires_starttls(self.tls, self.tls_explicit, &self.host)
    }

    /// Removes the password from a text that might quote it.
    fn scrub(&self, text: &str) -> String {
        if self.password.is_empty() {
            text.to_string()
        } else {
            text.replace(self.password.as_str(), "***")
        }
    }

    /// The URL scheme: `imaps` for implicit TLS, else `imap`.
    fn scheme(&self) -> &'static str {
        if self.tls == TlsMode::Tls {
            "imaps"
        } else {
            "imap"
        }
    }

    /// How bounce records name a message of this mailbox (RFC 5092 style).
    fn origin(&self, uid: u32) -> String {
        let scheme = self.scheme();
        format!(
            "{scheme}://{}@{}:{}/{};UID={uid}",
            self.user, self.host, self.port, self.mailbox
        )
    }
}

/// Folder names presswire sends as IMAP quoted strings: printable ASCII
/// without `"` and `\` (non-ASCII names would need modified UTF-7,
/// RFC 3501 §5.1.3).
fn check_mailbox_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| (32..127).contains(&b) && b != b'"' && b != b'\\')
    {
        return Err(format!(
            "the mailbox name {name:?} must be plain ASCII without quotes or backslashes"
        ));
    }
    Ok(())
}

/// What `bounces poll` does once.
#[derive(Debug, Clone)]
pub struct PollOptions {
    pub target: ImapTarget,
    /// Handled messages go to this folder.
    pub move_to: String,
}

impl PollOptions {
    pub fn new(target: ImapTarget, move_to: String) -> Result<PollOptions, Error> {
        check_mailbox_name(&move_to)
            .map_err(|why| Error::Input(format!("[imap] move_to: {why}")))?;
        if move_to.eq_ignore_ascii_case(&target.mailbox) {
            return Err(Error::Input(format!(
                "[imap] move_to is the mailbox being read ({move_to}); name another folder, \
                 e.g. \"presswire-processed\""
            )));
        }
        Ok(PollOptions { target, move_to })
    }
}

/// What one poll did.
#[derive(Debug, Clone, Serialize)]
pub struct PollReport {
    /// The mailbox read (the URL without its password).
    pub mailbox: String,
    #[serde(flatten)]
    pub import: ImportReport,
    /// Messages moved to the processed folder.
    pub moved: usize,
    /// The folder they went to, and whether this poll created it.
    pub moved_to: String,
    pub created_folder: bool,
}

/// Messages fetched and imported at a time.
const BATCH: usize = 100;

/// How long one IMAP command may take before the poll gives up.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// Reads the mailbox once: imports every message, moves the handled ones.
pub async fn poll_once(
    db: &Db,
    signer: &Signer,
    policy: &Policy,
    opts: &PollOptions,
) -> Result<PollReport, Error> {
    let target = &opts.target;
    let mut session = connect(target).await?;
    let result = read_mailbox(&mut session, db, signer, policy, opts).await;
    // Polite, and not worth failing a poll over.
    let _ = tokio::time::timeout(Duration::from_secs(10), session.logout()).await;
    result
}

async fn read_mailbox(
    session: &mut Session<Stream>,
    db: &Db,
    signer: &Signer,
    policy: &Policy,
    opts: &PollOptions,
) -> Result<PollReport, Error> {
    let target = &opts.target;
    let selected = step(target, "SELECT", session.select(&target.mailbox))
        .await
        .map_err(|e| match e {
            Error::Imap(why) if why.contains("no response") => Error::Input(format!(
                "{target}: the mailbox {:?} cannot be opened ({why}); check the path of the IMAP URL",
                target.mailbox
            )),
            e => e,
        })?;
    let created_folder = ensure_folder(session, target, &opts.move_to).await?;
    let mut report = PollReport {
        mailbox: target.to_string(),
        import: ImportReport::default(),
        moved: 0,
        moved_to: opts.move_to.clone(),
        created_folder,
    };
    if selected.exists == 0 {
        return Ok(report);
    }
    let caps = step(target, "CAPABILITY", session.capabilities()).await?;
    let (can_move, uidplus) = (caps.has_str("MOVE"), caps.has_str("UIDPLUS"));
    let mut uids: Vec<u32> = step(target, "UID SEARCH", session.uid_search("ALL"))
        .await?
        .into_iter()
        .collect();
    uids.sort_unstable();
    for chunk in uids.chunks(BATCH) {
        let set = uid_set(chunk);
        let fetched = step(target, "UID FETCH", async {
            session
                .uid_fetch(&set, "(UID BODY.PEEK[])")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        let mut messages = Vec::with_capacity(fetched.len());
        let mut fetched_uids = Vec::with_capacity(fetched.len());
        for f in &fetched {
            if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                fetched_uids.push(uid);
                messages.push(Incoming {
                    origin: target.origin(uid),
                    bytes: body.to_vec(),
                });
            }
        }
        drop(fetched);
        let imported = store::import(db, signer, policy, "imap", &messages).await?;
        let handled: Vec<u32> = fetched_uids
            .iter()
            .zip(&imported.handled)
            .filter(|(_, h)| **h)
            .map(|(u, _)| *u)
            .collect();
        report.import.add(imported);
        if handled.is_empty() {
            continue;
        }
        // The batch is committed: move what was handled out of the way.
        let set = uid_set(&handled);
        if can_move {
            step(target, "UID MOVE", session.uid_mv(&set, &opts.move_to)).await?;
        } else {
            step(target, "UID COPY", session.uid_copy(&set, &opts.move_to)).await?;
            step(target, "UID STORE", async {
                session
                    .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
            if uidplus {
                step(target, "UID EXPUNGE", async {
                    session
                        .uid_expunge(&set)
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                })
                .await?;
            } else {
                step(target, "EXPUNGE", async {
                    session.expunge().await?.try_collect::<Vec<_>>().await
                })
                .await?;
            }
        }
        report.moved += handled.len();
    }
    Ok(report)
}

/// Creates the processed folder when it is missing; whether it did.
async fn ensure_folder(
    session: &mut Session<Stream>,
    target: &ImapTarget,
    folder: &str,
) -> Result<bool, Error> {
    let pattern = format!("\"{folder}\"");
    let names = step(target, "LIST", async {
        session
            .list(Some(""), Some(&pattern))
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    if names.iter().any(|n| n.name() == folder) {
        return Ok(false);
    }
    step(target, "CREATE", session.create(folder)).await?;
    Ok(true)
}

/// `1,2,5` (a UID set, RFC 3501 §9 sequence-set).
fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Runs one IMAP command with a time limit; its error says which.
async fn step<T>(
    target: &ImapTarget,
    what: &str,
    fut: impl std::future::Future<Output = async_imap::error::Result<T>>,
) -> Result<T, Error> {
    match tokio::time::timeout(STEP_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Error::Imap(format!(
            "{target}: {what}: {}",
            target.scrub(&e.to_string())
        ))),
        Err(_) => Err(Error::Imap(format!(
            "{target}: {what}: no answer within {} s",
            STEP_TIMEOUT.as_secs()
        ))),
    }
}

/// A connection, plain or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Io for T {}
type Stream = Box<dyn Io>;

/// Connects, upgrades to TLS as the rule requires, and logs in.
async fn connect(target: &ImapTarget) -> Result<Session<Stream>, Error> {
    let fail = |what: &str, e: &dyn fmt::Display| {
        Error::Imap(format!(
            "{target}: {what}: {}",
            target.scrub(&e.to_string())
        ))
    };
    let tcp = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::net::TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| fail("connecting", &"timed out"))?
    .map_err(|e| fail("connecting", &e))?;
    let stream: Stream = if target.tls == TlsMode::Tls {
        Box::new(tls(target, Box::new(tcp)).await?)
    } else {
        Box::new(tcp)
    };
    let mut client = Client::new(stream);
    let greeting = tokio::time::timeout(Duration::from_secs(30), client.read_response())
        .await
        .map_err(|_| fail("greeting", &"no answer within 30 s"))?
        .map_err(|e| fail("greeting", &e))?;
    if greeting.is_none() {
        return Err(fail("greeting", &"the server closed the connection"));
    }
    if target.requires_starttls() {
        let started = tokio::time::timeout(
            Duration::from_secs(30),
            client.run_command_and_check_ok("STARTTLS", None),
        )
        .await
        .map_err(|_| fail("STARTTLS", &"no answer within 30 s"))?;
        if let Err(e) = started {
            // A setting to change, not a failure to retry: `Input`.
            return Err(Error::Input(format!(
                "{target}: the server does not offer STARTTLS ({}), and presswire does not send \
                 the password and bounce messages in clear text; use imaps://, or add ?tls=none \
                 to the URL only if the network to the server is trusted",
                target.scrub(&e.to_string())
            )));
        }
        client = Client::new(Box::new(tls(target, client.into_inner()).await?));
    }
    let login = tokio::time::timeout(
        Duration::from_secs(60),
        client.login(&target.user, &target.password),
    )
    .await
    .map_err(|_| fail("logging in", &"no answer within 60 s"))?;
    login.map_err(|(e, _)| match e {
        async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_) => Error::Input(format!(
            "{target}: the server refused the login: {}; check the user and password in the IMAP URL",
            target.scrub(&e.to_string())
        )),
        // Its message would show the offending character of the password.
        async_imap::error::Error::Validate(_) => Error::Input(format!(
            "{target}: the user name or password contains a line break"
        )),
        e => fail("logging in", &e),
    })
}

/// Wraps a stream in TLS, checking the server's certificate against the
/// web's root certificates (as lettre does for SMTP).
async fn tls(
    target: &ImapTarget,
    stream: Stream,
) -> Result<tokio_rustls::client::TlsStream<Stream>, Error> {
    let fail = |e: &dyn fmt::Display| Error::Imap(format!("{target}: TLS: {e}"));
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| fail(&e))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name =
        rustls::pki_types::ServerName::try_from(target.host.clone()).map_err(|e| fail(&e))?;
    tokio::time::timeout(
        Duration::from_secs(30),
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, stream),
    )
    .await
    .map_err(|_| fail(&"no answer within 30 s"))?
    .map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = ImapTarget::parse("imaps://bounces%40example.org:s3cr%3At@mail.example.org/INBOX")
            .unwrap();
        assert_eq!(
            (
                t.host.as_str(),
                t.port,
                t.user.as_str(),
                t.password.as_str()
            ),
            ("mail.example.org", 993, "bounces@example.org", "s3cr:t")
        );
        assert_eq!((t.tls, t.mailbox.as_str()), (TlsMode::Tls, "INBOX"));
        assert_eq!(
            t.to_string(),
            "imaps://bounces@example.org:***@mail.example.org:993/INBOX"
        );
        assert!(!format!("{t:?}").contains("s3cr"));

        let t = ImapTarget::parse("imap://u:p@mail.example.org/Bounces").unwrap();
        assert_eq!((t.port, t.mailbox.as_str()), (143, "Bounces"));
        assert!(t.requires_starttls());
        let t = ImapTarget::parse("imap://u:p@mail.example.org?tls=none").unwrap();
        assert!(!t.requires_starttls());
        assert_eq!(t.mailbox, "INBOX");
        let t = ImapTarget::parse("imap://u:p@127.0.0.1:1143").unwrap();
        assert!(!t.requires_starttls());
        let t = ImapTarget::parse("imap://u:p@127.0.0.1:1143/?tls=starttls").unwrap();
        assert!(t.requires_starttls());

        for bad in [
            "http://u:p@x/INBOX",
            "imap://x/INBOX",
            "imap://u:p@x:port/INBOX",
            "imap://u:p@x/INBOX?tls=maybe",
            "imap://u:p@x/INB\"OX",
        ] {
            let e = ImapTarget::parse(bad).unwrap_err().to_string();
            assert!(!e.contains(":p@"), "{e}");
        }
    }

    #[test]
    fn move_to_must_differ_from_the_mailbox() {
        let t = ImapTarget::parse("imap://u:p@127.0.0.1/INBOX").unwrap();
        assert!(PollOptions::new(t.clone(), "inbox".into()).is_err());
        assert!(PollOptions::new(t, "presswire-processed".into()).is_ok());
    }
}
