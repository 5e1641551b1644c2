//! Building the e-mail of one contact: headers, multipart/alternative
//! (text + HTML) and multipart/mixed with attachments, through lettre's
//! message builder (which encodes non-ASCII headers per RFC 2047).
//!
//! Every header value, from the release or from the contact, is checked for
//! CR and LF first: a line break would let data add headers of its own.

use std::borrow::Cow;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::SystemTime;

use lettre::message::header::{
    self as header, ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue, Headers,
};
use lettre::message::{Attachment, Body, Mailbox, Mailboxes, MultiPart, SinglePart};
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
    /// The path as the release names it (relative to its folder).
    pub path: PathBuf,
    /// Where the file is, symlinks resolved: inside the release's folder
    /// or one of [`AttachmentDirs`].
    pub resolved: PathBuf,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The folders attachments may come from besides the release file's own:
/// `[release] attachment_dirs` of presswire.toml. Anything else (an
/// absolute path elsewhere, `../`, a symlink out of the folder) is refused,
/// so that a release written by someone else cannot mail out the DKIM key
/// or the database.
#[derive(Debug, Clone, Default)]
pub struct AttachmentDirs(pub Vec<PathBuf>);

/// Reads the attachments of a release file (paths relative to the file),
/// each of which must resolve, after symlinks, to a file inside the
/// release file's folder or one of `dirs`.
pub fn read_attachments(
    file: &ReleaseFile,
    dirs: &AttachmentDirs,
) -> Result<Vec<AttachmentFile>, Error> {
    let dir = file.path.parent().unwrap_or(Path::new("."));
    file.front
        .attachments
        .iter()
        .map(|rel| {
            let path = dir.join(rel);
            let resolved = confined(file, dir, rel, &path, dirs)?;
            let bytes = std::fs::read(&resolved).map_err(|e| {
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
                resolved,
                content_type,
                bytes,
            })
        })
        .collect()
}

/// The attachment `rel` of `file` (`path` = its folder `dir` joined with
/// it), resolved with every symlink: a regular file inside `dir` or one of
/// `dirs`, else an error naming it.
fn confined(
    file: &ReleaseFile,
    dir: &Path,
    rel: &Path,
    path: &Path,
    dirs: &AttachmentDirs,
) -> Result<PathBuf, Error> {
    let shown = shorten(&rel.display().to_string());
    let at = file
        .key_line(None, "attachments")
        .map(|l| format!(":{l}"))
        .unwrap_or_default();
    let io = |e: std::io::Error| {
        Error::Release(format!(
            "{}: attachment {}: {e}",
            file.name(),
            path.display()
        ))
    };
    let resolved = path.canonicalize().map_err(io)?;
    // A folder that does not exist allows nothing (and is no error here:
    // the setting may name a folder another machine has).
    let here = Some(dir).filter(|d| !d.as_os_str().is_empty());
    let inside = std::iter::once(here.unwrap_or(Path::new(".")))
        .chain(dirs.0.iter().map(PathBuf::as_path))
        .filter_map(|d| d.canonicalize().ok())
        .any(|root| resolved.starts_with(root));
    if !inside {
        return Err(Error::Release(format!(
            "{}{at}: attachment {shown} is {}, outside the release's folder{}; an attachment must be \
             inside the folder of the release file or of `[release] attachment_dirs` in \
             presswire.toml: copy the file next to the release",
            file.name(),
            shorten(&resolved.display().to_string()),
            if dirs.0.is_empty() {
                ""
            } else {
                " and the attachment folders"
            },
        )));
    }
    let meta = std::fs::metadata(&resolved).map_err(io)?;
    if !meta.is_file() {
        return Err(Error::Release(format!(
            "{}{at}: attachment {shown} is not a file",
            file.name()
        )));
    }
    Ok(resolved)
}

/// `value` in quotes, cut to 200 characters: an error never echoes a
/// whole file name of any length.
fn shorten(value: &str) -> String {
    const MAX: usize = 200;
    match value.char_indices().nth(MAX) {
        Some((at, _)) => format!("{:?}…", &value[..at]),
        None => format!("{value:?}"),
    }
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

/// Whose header value is checked, for an error message: formatted only when
/// there is an error (most messages have none).
#[derive(Clone, Copy)]
enum Whose<'a> {
    /// The release file.
    File(&'a ReleaseFile),
    /// A contact, by address.
    Contact(&'a str),
    /// The release file's subject as rendered for a contact.
    SubjectFor(&'a ReleaseFile, &'a str),
}

impl std::fmt::Display for Whose<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Whose::File(file) => write!(f, "{}", file.path.display()),
            Whose::Contact(email) => write!(f, "contact {email}"),
            Whose::SubjectFor(file, email) => write!(f, "{} (for {email})", file.path.display()),
        }
    }
}

/// Refuses a header value with CR or LF.
fn one_line<'a>(what: &str, whose: Whose<'_>, value: &'a str) -> Result<&'a str, Error> {
    if memchr::memchr2(b'\r', b'\n', value.as_bytes()).is_some() {
        return Err(Error::Header(format!(
            "{whose}: {what} contains a line break; a header value must be one line (the message was not built)"
        )));
    }
    Ok(value)
}

fn mailbox(
    what: &str,
    whose: Whose<'_>,
    name: Option<&str>,
    email: &str,
) -> Result<Mailbox, Error> {
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
    let who = Whose::Contact(&contact.email);
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
/// header, and that lettre takes them) without encoding it: planning
/// checks every message before the first leaves, and what passes these
/// checks always encodes (lettre's header encoders take any one-line
/// value; quoted-printable and base64 take any text or bytes).
/// What lettre's builder checks beyond the headers themselves (a From
/// header, one mailbox in it, an envelope) holds by construction; the
/// envelope is made here as [`build`] makes it.
pub fn check(
    file: &ReleaseFile,
    rendered: &Rendered,
    contact: &Contact,
    envelope: &Envelope,
) -> Result<(), Error> {
    let (from, _, to) = addresses(file, contact)?;
    smtp_envelope(&from, &to, contact)?;
    checked(file, rendered, contact, envelope).map(|_| ())
}

/// The SMTP envelope of `contact`'s message, from the addresses already
/// parsed: left to lettre's builder, it is parsed back out of the From and
/// To headers (a tenth of the build).
fn smtp_envelope(
    from: &Mailbox,
    to: &Mailbox,
    contact: &Contact,
) -> Result<lettre::address::Envelope, Error> {
    lettre::address::Envelope::new(Some(from.email.clone()), vec![to.email.clone()]).map_err(|e| {
        Error::Header(format!(
            "contact {}: cannot build the message: {e}",
            contact.email
        ))
    })
}

/// `contact`'s message as [`build`] formats it (`build(…)?.formatted()`),
/// byte for byte, written directly: the headers through lettre's own
/// [`Headers`] (every value encoded and folded by lettre, or, short plain
/// ones, found not to need it: [`header_value`]), the MIME structure by
/// hand. lettre's builder costs about twice as much: it parses
/// each multipart's content type back to read its boundary, the From header
/// back to check it, and copies the parts into the message. With
/// attachments, [`build`] does it.
pub fn write(
    file: &ReleaseFile,
    rendered: &Rendered,
    contact: &Contact,
    attachments: &[AttachmentFile],
    envelope: &Envelope,
) -> Result<Vec<u8>, Error> {
    if !attachments.is_empty() {
        return Ok(build(file, rendered, contact, attachments, envelope)?.formatted());
    }
    let (_, from, to) = addresses(file, contact)?;
    let checked = checked(file, rendered, contact, envelope)?;
    let mut headers = header_list(rendered, from, to, envelope, checked);
    // `MessageBuilder::multipart` adds MIME-Version last.
    headers.insert_raw(MIME_VERSION.clone());
    let boundary = format!("=_alt_{}", boundary_seed(&envelope.message_id));
    let parts = [
        (TEXT_PLAIN, encode::text_body(&rendered.text)),
        (TEXT_HTML, encode::text_body(&rendered.html)),
    ];
    let size: usize = parts.iter().map(|(_, b)| b.len()).sum();
    let mut out = Vec::with_capacity(size + 2048);
    put(&mut out, &headers);
    // The multipart/alternative's own headers (its content type, as
    // `MultiPartBuilder::boundary` sets it), then each part after its
    // boundary line (`MultiPart::format_body`).
    let mut multipart = Headers::with_capacity(1);
    multipart.insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str("Content-Type"),
        format!("multipart/alternative; boundary=\"{boundary}\""),
    ));
    put(&mut out, &multipart);
    out.extend_from_slice(b"\r\n");
    for (content_type, body) in parts {
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(part_headers(content_type, body.encoding()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body.as_ref());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
    Ok(out)
}

/// Appends `headers` to `out` as lettre formats them (`Headers`' Display),
/// without a `String` in between.
fn put(out: &mut Vec<u8>, headers: &Headers) {
    use std::io::Write;
    write!(out, "{headers}").expect("writing to a Vec cannot fail");
}

/// The content types of [`write`]'s parts, indices into [`PART_HEADERS`].
const TEXT_PLAIN: usize = 0;
const TEXT_HTML: usize = 1;

/// What every message of [`write`] has alike, made by lettre once.
static MIME_VERSION: LazyLock<HeaderValue> = LazyLock::new(|| header::MIME_VERSION_1_0.display());

/// The headers of a text part as `SinglePartBuilder::content_type` and
/// `body` set them, formatted, by content type ([`TEXT_PLAIN`],
/// [`TEXT_HTML`]) and the encodings [`encode::text_body`] chooses most.
static PART_HEADERS: LazyLock<[[String; 2]; 2]> = LazyLock::new(|| {
    let encodings = [
        ContentTransferEncoding::SevenBit,
        ContentTransferEncoding::QuotedPrintable,
    ];
    [ContentType::TEXT_PLAIN, ContentType::TEXT_HTML]
        .map(|ct| encodings.map(|encoding| format_part_headers(ct.clone(), encoding)))
});

fn format_part_headers(content_type: ContentType, encoding: ContentTransferEncoding) -> String {
    let mut part = Headers::with_capacity(2);
    part.set(content_type);
    part.set(encoding);
    part.to_string()
}

/// The formatted headers of a text part of `content_type` ([`TEXT_PLAIN`]
/// or [`TEXT_HTML`]) encoded as `encoding`.
fn part_headers(content_type: usize, encoding: ContentTransferEncoding) -> Cow<'static, str> {
    match encoding {
        ContentTransferEncoding::SevenBit => Cow::Borrowed(&PART_HEADERS[content_type][0]),
        ContentTransferEncoding::QuotedPrintable => Cow::Borrowed(&PART_HEADERS[content_type][1]),
        other => {
            let ct = [ContentType::TEXT_PLAIN, ContentType::TEXT_HTML][content_type].clone();
            Cow::Owned(format_part_headers(ct, other))
        }
    }
}

/// A header value encoded as lettre's `HeaderValue::new` encodes it
/// (RFC 2047 words, folded at spaces past 76 bytes a line), e.g. for
/// `Headers::set(Subject::from(value))`. A value of printable ASCII that
/// fits on the header's line (`Name: value`, 76 bytes at most) is its own
/// encoding: lettre encodes only words with bytes outside ASCII (or NUL,
/// CR, LF), and folds only where a line would grow past 76 bytes. Anything
/// else goes to lettre. Most subjects, Message-IDs and language tags are
/// short and plain; the tests compare with lettre.
fn header_value(name: HeaderName, value: String) -> HeaderValue {
    const MAX_LINE: usize = 76;
    let fits = name.len() + ": ".len() + value.len() <= MAX_LINE;
    if fits && value.bytes().all(|b| matches!(b, b' '..=b'~')) {
        let encoded = value.clone();
        HeaderValue::dangerous_new_pre_encoded(name, value, encoded)
    } else {
        HeaderValue::new(name, value)
    }
}

/// The sender's and `contact`'s mailboxes, checked, with the sender's
/// From header.
fn addresses(
    file: &ReleaseFile,
    contact: &Contact,
) -> Result<(Mailbox, HeaderValue, Mailbox), Error> {
    let (from, from_header) = sender(file)?;
    let to = mailbox(
        "name",
        Whose::Contact(&contact.email),
        contact.name.as_deref(),
        &contact.email,
    )?;
    Ok((from, from_header, to))
}

/// A release's sender: its name and address as written, checked and
/// parsed, and its From header as lettre encodes it.
struct Sender {
    name: Option<String>,
    email: String,
    mailbox: Mailbox,
    header: HeaderValue,
}

thread_local! {
    /// The sender of the last message built on this thread: every message
    /// of a release has the same, parsed and encoded once instead of once
    /// per message.
    static SENDER: RefCell<Option<Sender>> = const { RefCell::new(None) };
    /// The Date header of the last message built on this thread, with its
    /// second: consecutive messages mostly share it.
    static DATE: RefCell<Option<(u64, HeaderValue)>> = const { RefCell::new(None) };
}

/// The sender of `file` and its From header (see [`SENDER`]).
fn sender(file: &ReleaseFile) -> Result<(Mailbox, HeaderValue), Error> {
    let from = &file.front.from;
    SENDER.with_borrow_mut(|cached| {
        if let Some(s) = cached
            .as_ref()
            .filter(|s| s.name == from.name && s.email == from.email)
        {
            return Ok((s.mailbox.clone(), s.header.clone()));
        }
        let mailbox = mailbox(
            "`from`",
            Whose::File(file),
            from.name.as_deref(),
            &from.email,
        )?;
        let header = header::From::from(Mailboxes::from(mailbox.clone())).display();
        *cached = Some(Sender {
            name: from.name.clone(),
            email: from.email.clone(),
            mailbox: mailbox.clone(),
            header: header.clone(),
        });
        Ok((mailbox, header))
    })
}

/// The Date header of a message dated `date` (lettre's `Date`, which keeps
/// whole seconds; see [`DATE`]).
fn date_header(date: SystemTime) -> HeaderValue {
    let Ok(second) = date.duration_since(SystemTime::UNIX_EPOCH) else {
        return header::Date::new(date).display();
    };
    let second = second.as_secs();
    DATE.with_borrow_mut(|cached| match cached {
        Some((s, value)) if *s == second => value.clone(),
        _ => {
            let value = header::Date::new(date).display();
            *cached = Some((second, value.clone()));
            value
        }
    })
}

/// The header values of `contact`'s message that come from the release,
/// the rendering and the send, checked: one line each, a usable Reply-To
/// address, valid names for the extra headers (in the order [`headers`]
/// checks them, for the same first error).
struct Checked<'a> {
    subject: &'a str,
    message_id: &'a str,
    reply_to: Option<Mailbox>,
    extra: Vec<(HeaderName, &'a str)>,
}

fn checked<'a>(
    file: &ReleaseFile,
    rendered: &'a Rendered,
    contact: &Contact,
    envelope: &'a Envelope,
) -> Result<Checked<'a>, Error> {
    let release = Whose::File(file);
    let subject = one_line(
        "the subject",
        Whose::SubjectFor(file, &contact.email),
        &rendered.subject,
    )?;
    let message_id = one_line("Message-ID", release, &envelope.message_id)?;
    let reply_to = file
        .front
        .reply_to
        .as_deref()
        .map(|r| mailbox("`reply_to`", release, None, r))
        .transpose()?;
    let extra = envelope
        .headers
        .iter()
        .map(|(name, value)| {
            let value = one_line(name, release, value)?;
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|_| Error::Header(format!("{name:?} is not a valid header name")))?;
            Ok((name, value))
        })
        .collect::<Result<_, Error>>()?;
    Ok(Checked {
        subject,
        message_id,
        reply_to,
        extra,
    })
}

/// The headers [`headers`] gives lettre's builder, in the same order, set
/// the way the builder sets them.
fn header_list(
    rendered: &Rendered,
    from: HeaderValue,
    to: Mailbox,
    envelope: &Envelope,
    checked: Checked<'_>,
) -> Headers {
    let mut h = Headers::with_capacity(8 + checked.extra.len());
    // As `h.set(header::From::from(Mailboxes::from(from)))` would.
    h.insert_raw(from);
    h.set(header::To::from(Mailboxes::from(to)));
    // The textual headers as `h.set(header::Subject::from(…))` and the
    // like would set them (`HeaderValue::new`), through [`header_value`].
    h.insert_raw(header_value(
        HeaderName::new_from_ascii_str("Subject"),
        checked.subject.to_string(),
    ));
    h.insert_raw(date_header(envelope.date));
    h.insert_raw(header_value(
        HeaderName::new_from_ascii_str("Message-ID"),
        format!("<{}>", checked.message_id),
    ));
    h.insert_raw(header_value(
        HeaderName::new_from_ascii_str("Content-Language"),
        rendered.language.clone(),
    ));
    if let Some(r) = checked.reply_to {
        h.set(header::ReplyTo::from(Mailboxes::from(r)));
    }
    for (name, value) in checked.extra {
        h.insert_raw(header_value(name, value.to_string()));
    }
    h
}

/// The headers of `contact`'s message, checked.
fn headers(
    file: &ReleaseFile,
    rendered: &Rendered,
    contact: &Contact,
    envelope: &Envelope,
) -> Result<lettre::message::MessageBuilder, Error> {
    // The same checks, in the same order, as `check` and `write`.
    let (from, _, to) = addresses(file, contact)?;
    let smtp_envelope = smtp_envelope(&from, &to, contact)?;
    let checked = checked(file, rendered, contact, envelope)?;
    let mut b = Message::builder()
        .envelope(smtp_envelope)
        .from(from)
        .to(to)
        .subject(checked.subject)
        .date(envelope.date)
        .message_id(Some(format!("<{}>", checked.message_id)))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Content-Language"),
            rendered.language.clone(),
        ));
    if let Some(r) = checked.reply_to {
        b = b.reply_to(r);
    }
    for (name, value) in checked.extra {
        b = b.raw_header(HeaderValue::new(name, value.to_string()));
    }
    Ok(b)
}

/// MIME boundaries derived from the Message-ID: unique per message, and the
/// same for the same message (golden tests compare whole files).
fn boundary_seed(message_id: &str) -> String {
    hex::encode(&Sha256::digest(message_id.as_bytes())[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Release {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        Release::load(&root.join("releases/example.md")).expect("the example release")
    }

    fn rendered(subject: &str, text: &str, html: &str) -> Rendered {
        Rendered {
            subject: subject.into(),
            html: html.into(),
            text: text.into(),
            language: "de-AT".into(),
            file: PathBuf::from("releases/example.md"),
        }
    }

    /// `write` gives the bytes of lettre's builder, for plain and encoded
    /// names, subjects and bodies, long header values, a Reply-To and
    /// extra headers.
    #[test]
    fn writing_a_message_gives_the_bytes_of_lettres_builder() {
        let release = example();
        let mut file = release.main.clone();
        let long = "Forty communities along the Lumo River ask for a freeze — ".repeat(4);
        let bodies = [
            ("plain", "Dear Ana,\n\nshort lines only.\n", "<p>Dear Ana,</p>\n"),
            (
                "Grüße aus Köln: ein Betreff, der über die Zeilengrenze hinaus geht, mit Umlauten",
                "Liebe Jürgen,\n\nÜberschwemmung = Gefahr; eine sehr lange Zeile, die weit über sechsundsiebzig Zeichen hinausgeht und umbrochen werden muss.\r\nEnde.",
                "<html><body><p style=\"color:#222\">Grüße — “quoted” ☔</p>\n</body></html>",
            ),
            (long.as_str(), long.as_str(), long.as_str()),
        ];
        let edges = edge_values("Subject");
        let bodies: Vec<(&str, &str, &str)> = bodies
            .into_iter()
            .chain(edges.iter().map(|s| (s.as_str(), "t", "h")))
            .collect();
        let contacts = [
            Contact::sample("ana@outlet.example", "Ana", "Silva", Some("en".into())),
            Contact {
                name: Some("Jürgen Müller-Lüdenscheidt, \"Die Zeit\"".into()),
                ..Contact::sample("j.mueller@zeit.example", "Jürgen", "Müller", None)
            },
            Contact {
                name: None,
                ..Contact::sample("x@y.example", "", "", None)
            },
        ];
        let senders = [
            (None, Some("desk@clearwater-rights.example".to_string())),
            (Some("Clearwater — Presse".to_string()), None),
            (None, None),
        ];
        for (from_name, reply_to) in senders {
            // A sender of its own each time: its cached header must follow.
            file.front.from.name = from_name;
            file.front.reply_to = reply_to;
            for (subject, text, html) in &bodies {
                for contact in &contacts {
                    let r = rendered(subject, text, html);
                    let envelope = Envelope {
                        message_id: "7.1234.abcdef@clearwater-rights.example".into(),
                        date: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000),
                        headers: vec![
                            (
                                "List-Unsubscribe".into(),
                                format!("<mailto:unsubscribe+{}@bounces.example?subject=unsubscribe>, <https://press.example/u/{}>", "t".repeat(60), "t".repeat(60)),
                            ),
                            ("X-Presswire-Send".into(), "7 lumo-dam".into()),
                        ],
                    };
                    let lettre = build(&file, &r, contact, &[], &envelope)
                        .expect("lettre builds it")
                        .formatted();
                    let written = write(&file, &r, contact, &[], &envelope).expect("written");
                    assert_eq!(
                        String::from_utf8_lossy(&written),
                        String::from_utf8_lossy(&lettre),
                        "subject {subject:?}, contact {}",
                        contact.email
                    );
                    check(&file, &r, contact, &envelope).expect("checked");
                }
            }
        }
    }

    /// Values at the edges of [`header_value`]'s fast path: lines of 76
    /// and 77 bytes, spaces where lettre would fold, leading, trailing and
    /// repeated spaces, tabs and other controls, '=' and '?', non-ASCII.
    fn edge_values(name: &str) -> Vec<String> {
        let room = 76 - name.len() - 2;
        let mut values = vec![
            String::new(),
            " ".into(),
            "x".repeat(room),
            "x".repeat(room + 1),
            format!("{} y", "x".repeat(room - 2)),
            format!("{} y", "x".repeat(room - 1)),
            format!("{} ", "x".repeat(room - 1)),
            format!("{} ", "x".repeat(room)),
            format!("{}  ", "x".repeat(room - 1)),
            format!("  {}", "x".repeat(room - 2)),
            "a  b   c    d".into(),
            "tab\there".into(),
            "del\x7fhere and a bell \x07".into(),
            "=?utf-8?b?QQ==?= looks encoded".into(),
            "Grüße aus Köln".into(),
            format!("{}é", "x".repeat(room - 2)),
            "word ".repeat(30),
            "Forty communities along the Lumo River ask for a freeze — ".repeat(3),
        ];
        for n in room - 3..room + 3 {
            values.push("ab cde f ".chars().cycle().take(n).collect::<String>());
        }
        values
    }

    #[test]
    fn header_values_are_encoded_as_lettre_encodes_them() {
        for name in [
            "Subject",
            "Message-ID",
            "Content-Language",
            "X-Presswire-Send",
        ] {
            for value in edge_values(name) {
                let header = HeaderName::new_from_ascii(name.to_string()).expect("a name");
                assert_eq!(
                    header_value(header.clone(), value.clone()),
                    HeaderValue::new(header, value.clone()),
                    "{name}: {value:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn any_header_value_is_encoded_as_lettre_encodes_it(
            value in "([a-z]{1,12}|[ ]{1,3}|\t|=|\\?|é|\x7f|[!-~]{1,30}){0,20}",
        ) {
            let header = HeaderName::new_from_ascii_str("Subject");
            proptest::prop_assert_eq!(
                header_value(header.clone(), value.clone()),
                HeaderValue::new(header, value)
            );
        }
    }

    /// What `build` refuses, `write` and `check` refuse alike.
    #[test]
    fn writing_and_checking_refuse_what_building_refuses() {
        let release = example();
        let file = release.main.clone();
        let envelope = Envelope::new(&release);
        let ok = Contact::sample("ana@outlet.example", "Ana", "Silva", None);
        let cases = [
            (rendered("two\nlines", "t", "h"), ok.clone()),
            (
                rendered("fine", "t", "h"),
                Contact::sample("not an address", "A", "B", None),
            ),
            (
                rendered("fine", "t", "h"),
                Contact {
                    name: Some("Evil\r\nBcc: x@y.example".into()),
                    ..ok.clone()
                },
            ),
        ];
        for (r, contact) in &cases {
            let built = build(&file, r, contact, &[], &envelope).map(|_| ());
            let written = write(&file, r, contact, &[], &envelope).map(|_| ());
            let checked = check(&file, r, contact, &envelope);
            assert!(built.is_err(), "{:?}", r.subject);
            let built = built.map_err(|e| e.to_string());
            assert_eq!(written.map_err(|e| e.to_string()), built);
            assert_eq!(checked.map_err(|e| e.to_string()), built);
        }
    }
}
