//! Building the e-mail of one contact: headers, multipart/alternative
//! (text + HTML) and multipart/mixed with attachments, through lettre's
//! message builder (which encodes non-ASCII headers per RFC 2047).
//!
//! Every header value, from the release or from the contact, is checked for
//! CR and LF first: a line break would let data add headers of its own.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use sha2::{Digest, Sha256};

use super::encode;
use super::file::{Release, ReleaseFile};
use super::render::Rendered;
use super::Error;
use crate::contacts::Contact;

/// Above this total, `release check` warns: many mail servers refuse more.
pub const ATTACHMENT_WARN_BYTES: u64 = 10 * 1024 * 1024;

/// An attachment read once and reused for every message.
#[derive(Debug, Clone)]
pub struct AttachmentFile {
    pub name: String,
    pub path: PathBuf,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Reads the attachments of a release file (paths relative to the file).
pub fn read_attachments(file: &ReleaseFile) -> Result<Vec<AttachmentFile>, Error> {
    let dir = file.path.parent().unwrap_or(Path::new("."));
    file.front
        .attachments
        .iter()
        .map(|rel| {
            let path = dir.join(rel);
            let bytes = std::fs::read(&path).map_err(|e| {
                Error::Release(format!(
                    "{}: attachment {}: {e}",
                    file.name(),
                    path.display()
                ))
            })?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "attachment".into());
            let content_type = mime_guess::from_path(&path)
                .first_or_octet_stream()
                .essence_str()
                .to_string();
            Ok(AttachmentFile {
                name,
                path,
                content_type,
                bytes,
            })
        })
        .collect()
}

/// What identifies one message.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// Without angle brackets: `local@domain`.
    pub message_id: String,
    pub date: SystemTime,
    /// Extra headers (name, value), e.g. List-Unsubscribe; checked like the rest.
    pub headers: Vec<(String, String)>,
}

impl Envelope {
    /// A new random Message-ID at the sender's domain, dated now.
    pub fn new(release: &Release) -> Envelope {
        let domain = Some(release.from_domain())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "presswire.invalid".into());
        Envelope {
            message_id: format!("{}@{domain}", uuid::Uuid::new_v4().simple()),
            date: SystemTime::now(),
            headers: Vec::new(),
        }
    }
}

/// Refuses a header value with CR or LF.
fn one_line<'a>(what: &str, whose: &str, value: &'a str) -> Result<&'a str, Error> {
    if value.contains(['\r', '\n']) {
        return Err(Error::Header(format!(
            "{whose}: {what} contains a line break; a header value must be one line (the message was not built)"
        )));
    }
    Ok(value)
}

fn mailbox(what: &str, whose: &str, name: Option<&str>, email: &str) -> Result<Mailbox, Error> {
    let name = name.map(|n| one_line(what, whose, n)).transpose()?;
    let email = one_line(what, whose, email)?;
    let address = email.parse().map_err(|e| {
        Error::Header(format!(
            "{whose}: {what} {email:?} is not a usable address: {e}"
        ))
    })?;
    Ok(Mailbox::new(name.map(str::to_string), address))
}

/// Builds the message for `contact` from its rendered parts.
pub fn build(
    file: &ReleaseFile,
    rendered: &Rendered,
    contact: &Contact,
    attachments: &[AttachmentFile],
    envelope: &Envelope,
) -> Result<Message, Error> {
    let release = file.name();
    let who = format!("contact {}", contact.email);
    let b = headers(file, rendered, contact, envelope)?;
    let seed = boundary_seed(&envelope.message_id);
    let alternative = MultiPart::alternative()
        .boundary(format!("=_alt_{seed}"))
        .singlepart(
            SinglePart::builder()
                .content_type(ContentType::TEXT_PLAIN)
                .body(encode::text_body(&rendered.text)),
        )
        .singlepart(
            SinglePart::builder()
                .content_type(ContentType::TEXT_HTML)
                .body(encode::text_body(&rendered.html)),
        );
    let message = if attachments.is_empty() {
        b.multipart(alternative)
    } else {
        let mut mixed = MultiPart::mixed()
            .boundary(format!("=_mix_{seed}"))
            .multipart(alternative);
        for a in attachments {
            let ct = ContentType::parse(&a.content_type).unwrap_or(
                ContentType::parse("application/octet-stream")
                    .map_err(|e| Error::Header(e.to_string()))?,
            );
            // Always base64: left to choose, lettre sends an all-ASCII file
            // as 7bit with its bare LFs, which SMTP forbids (RFC 5321
            // §2.3.8) and relays rewrite, corrupting e.g. a PDF's offsets.
            let body = Body::new_with_encoding(a.bytes.clone(), ContentTransferEncoding::Base64)
                .map_err(|_| {
                    Error::Header(format!(
                        "{release}: attachment {}: cannot encode it",
                        a.name
                    ))
                })?;
            mixed = mixed.singlepart(Attachment::new(a.name.clone()).body(body, ct));
        }
        b.multipart(mixed)
    };
    message.map_err(|e| Error::Header(format!("{who}: cannot build the message: {e}")))
}

/// Checks what [`build`] checks of `contact`'s message (every address and
/// header, and that lettre takes them) without encoding its body: planning
/// checks every message before the first leaves, and the parts of a body
/// always encode (quoted-printable and base64 take any text or bytes).
pub fn check(
    file: &ReleaseFile,
    rendered: &Rendered,
    contact: &Contact,
    envelope: &Envelope,
) -> Result<(), Error> {
    headers(file, rendered, contact, envelope)?
        .body(String::new())
        .map(|_| ())
        .map_err(|e| {
            Error::Header(format!(
                "contact {}: cannot build the message: {e}",
                contact.email
            ))
        })
}

/// The headers of `contact`'s message, checked.
fn headers(
    file: &ReleaseFile,
    rendered: &Rendered,
    contact: &Contact,
    envelope: &Envelope,
) -> Result<lettre::message::MessageBuilder, Error> {
    let release = file.name();
    let who = format!("contact {}", contact.email);
    let front = &file.front;
    let from = mailbox(
        "`from`",
        &release,
        front.from.name.as_deref(),
        &front.from.email,
    )?;
    let to = mailbox("name", &who, contact.name.as_deref(), &contact.email)?;
    // The envelope from the addresses just parsed: left to lettre, it is
    // parsed back out of the From and To headers (a tenth of the build).
    let smtp_envelope =
        lettre::address::Envelope::new(Some(from.email.clone()), vec![to.email.clone()])
            .map_err(|e| Error::Header(format!("{who}: cannot build the message: {e}")))?;
    let mut b = Message::builder()
        .envelope(smtp_envelope)
        .from(from)
        .to(to)
        .subject(one_line(
            "the subject",
            &format!("{release} (for {})", contact.email),
            &rendered.subject,
        )?)
        .date(envelope.date)
        .message_id(Some(format!(
            "<{}>",
            one_line("Message-ID", &release, &envelope.message_id)?
        )))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Content-Language"),
            rendered.language.clone(),
        ));
    if let Some(r) = &front.reply_to {
        b = b.reply_to(mailbox("`reply_to`", &release, None, r)?);
    }
    for (name, value) in &envelope.headers {
        let value = one_line(name, &release, value)?;
        let name = HeaderName::new_from_ascii(name.clone())
            .map_err(|_| Error::Header(format!("{name:?} is not a valid header name")))?;
        b = b.raw_header(HeaderValue::new(name, value.to_string()));
    }
    Ok(b)
}

/// MIME boundaries derived from the Message-ID: unique per message, and the
/// same for the same message (golden tests compare whole files).
fn boundary_seed(message_id: &str) -> String {
    hex::encode(&Sha256::digest(message_id.as_bytes())[..12])
}
