//! Test sends: the message a contact would get (their variant, their name,
//! the embargo banner as of now), sent to other addresses instead (the
//! press officer's own inbox, colleagues', a mail tester), with `[TEST]`
//! before the subject and an `X-Presswire-Test` header. A test send is not
//! a send: no send or delivery is recorded, nothing counts in a report, no
//! rate or daily cap applies. Its messages carry no List-Unsubscribe (a
//! click there would unsubscribe the contact, not the tester) and are
//! DKIM-signed like every other message when `[dkim]` is set.

use super::dkim::Dkim;
use super::scrub;
use super::transport::{self, Attempt, Timeouts};
use super::worker::Destination;
use super::Error;
use crate::contacts::{Address, Contact};
use crate::release::message::{self, AttachmentDirs, Envelope};
use crate::release::{Release, Renderer};

/// The subject prefix of a test message.
pub const SUBJECT_PREFIX: &str = "[TEST] ";

/// One test message: whom it went to, and as whom it was rendered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TestMessage {
    pub to: String,
    /// The contact whose message it is.
    pub as_contact: String,
    pub subject: String,
    /// The relay's reply (or the outbox file), or why it was not accepted.
    pub result: Result<String, String>,
}

/// What a test send needs besides its recipients.
pub struct TestSend<'a> {
    pub release: &'a Release,
    pub renderer: &'a Renderer,
    pub attachment_dirs: &'a AttachmentDirs,
    pub target: &'a Destination,
    /// How long each step of the SMTP session may take.
    pub timeouts: &'a Timeouts,
    pub dkim: Option<&'a Dkim>,
}

impl TestSend<'_> {
    /// Sends `as_contact`'s message to each address of `to` (one message
    /// each, in order). Every message is built before the first leaves; an
    /// address that is not one is an error before anything is sent. A relay
    /// that refuses one message is that message's result.
    pub async fn send(&self, to: &[(String, Contact)]) -> Result<Vec<TestMessage>, Error> {
        let mut built = Vec::with_capacity(to.len());
        for (address, contact) in to {
            let tester = Address::parse(address)
                .map_err(|e| Error::Input(format!("--test {}: {e}", shorten(address))))?;
            let message = self.build(tester_contact(tester.as_str(), contact), contact)?;
            built.push((tester, contact, message));
        }
        let mut conn = None;
        let mut out = Vec::with_capacity(built.len());
        for (tester, contact, (subject, bytes)) in built {
            let result = self.transmit(&mut conn, tester.as_str(), &bytes).await?;
            out.push(TestMessage {
                to: tester.as_str().to_string(),
                as_contact: contact.email.clone(),
                subject,
                result,
            });
        }
        if let Some(c) = conn {
            c.quit().await;
        }
        Ok(out)
    }

    /// The subject and bytes of `contact`'s message, addressed to `tester`.
    fn build(&self, tester: Contact, contact: &Contact) -> Result<(String, Vec<u8>), Error> {
        let mut rendered = self
            .renderer
            .render_at(self.release, contact, chrono::Utc::now())?;
        rendered.subject = format!("{SUBJECT_PREFIX}{}", rendered.subject);
        let file = self.release.file_for(contact.language.as_deref());
        let attachments = message::read_attachments(file, self.attachment_dirs)?;
        let mut envelope = Envelope::new(self.release);
        envelope.headers.push((
            "X-Presswire-Test".into(),
            "yes; not a delivery of any send".into(),
        ));
        let mut msg = message::build(file, &rendered, &tester, &attachments, &envelope)?;
        if let Some(dkim) = self.dkim {
            dkim.sign(&mut msg);
        }
        Ok((rendered.subject, msg.formatted()))
    }

    /// Hands one message to the target; `Err` only when the relay cannot
    /// be used at all (the connection is then not retried per message).
    async fn transmit(
        &self,
        conn: &mut Option<transport::Connection>,
        to: &str,
        bytes: &[u8],
    ) -> Result<Result<String, String>, Error> {
        let attempt = match self.target {
            Destination::Outbox(dir) => {
                let dir = dir.join("test");
                let path = dir.join(format!("{}.eml", uuid::Uuid::new_v4().simple()));
                let written = std::fs::create_dir_all(&dir)
                    .and_then(|()| std::fs::write(&path, bytes))
                    .map_err(|e| format!("writing {}: {e}", path.display()));
                return Ok(written.map(|()| format!("written to {}", path.display())));
            }
            Destination::Smtp(t) => {
                let from = &self.release.main.front.from.email;
                let envelope = lettre::address::Envelope::new(
                    Some(
                        from.parse()
                            .map_err(|e| Error::Input(format!("`from` {}: {e}", shorten(from))))?,
                    ),
                    vec![to
                        .parse()
                        .map_err(|e| Error::Input(format!("--test {}: {e}", shorten(to))))?],
                )
                .map_err(|e| Error::Input(e.to_string()))?;
                if conn.as_ref().is_none_or(|c| !c.usable_for(&envelope)) {
                    *conn = Some(t.connect(self.timeouts).await?);
                }
                let c = conn.as_mut().expect("connected above");
                let a = transport::send_smtp(c, t, &envelope, bytes, None)
                    .await
                    .this;
                if matches!(a, Attempt::Connection(_)) || c.has_broken() {
                    *conn = None;
                }
                a
            }
        };
        // Printed: the relay's reply quoted short.
        let quoted = |r: String| scrub::cut(&r, scrub::QUOTED_CHARS);
        Ok(match attempt {
            Attempt::Accepted(reply) => Ok(quoted(reply)),
            Attempt::Transient(r)
            | Attempt::Permanent { reply: r, .. }
            | Attempt::Connection(r) => Err(quoted(r)),
        })
    }
}

/// The contact a test message is addressed to: the tester's address, with
/// no name (the journalist's name is not the tester's).
fn tester_contact(address: &str, contact: &Contact) -> Contact {
    Contact {
        email: address.to_string(),
        name: None,
        ..contact.clone()
    }
}

/// A value for an error message, cut to 200 characters.
fn shorten(value: &str) -> String {
    let cut: String = value.chars().take(200).collect();
    if cut.len() < value.len() {
        format!("{cut:?}…")
    } else {
        format!("{value:?}")
    }
}
