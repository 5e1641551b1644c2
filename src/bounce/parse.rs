//! Reading one returned message into one [`BounceResult`] per affected
//! recipient: RFC 3464 DSNs, RFC 5965 ARF complaints, RFC 3834 auto-replies
//! and the prose bounces of MTAs that write no DSN.
//!
//! Order of trust: a feedback report, then DSN fields, then an
//! unsubscribe request's and an auto-reply's marks, then the prose of a
//! bounce. A message that is none
//! of these (a person's reply, a newsletter) gives one result with kind
//! `not-a-failure`, reason `undefined` and no recipient, so that a caller
//! walking a mailbox sees every message accounted for.
//!
//! Nothing here touches the database: the VERP token is read, not
//! verified (that needs the team's signing key).

use mail_parser::{HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType};
use serde::Serialize;

use super::classify::{self, Evidence, SmtpCommand};
use super::dsn::{self, Dsn, Feedback};
use super::mta::{Conventions, Layout, Marks};
use super::prose;
use super::reason::Reason;
use super::{autoreply, Kind};

/// The local part of our bounce (Return-Path) addresses before the `+`:
/// `bounces+TOKEN@DOMAIN` (see `send::tokens::Signer::verp_address`).
pub const VERP_PREFIX: &str = "bounces+";

/// The local part's prefix of the `mailto:` address in every message's
/// List-Unsubscribe header (RFC 2369): `unsubscribe+TOKEN@…`, TOKEN the
/// signed unsubscribe token of the contact and the send.
pub const UNSUBSCRIBE_PREFIX: &str = "unsubscribe+";

/// Why some bytes could not be read as a mail message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("empty file, not a mail message")]
    Empty,
    #[error("not a mail message: it does not start with header fields such as \"From:\" or \"Received:\"")]
    NoHeaders,
}

/// One affected recipient of a returned message.
#[derive(Debug, Clone, Serialize)]
pub struct BounceResult {
    /// The address that failed (or complained, or auto-replied); `None`
    /// when the message does not say.
    pub recipient: Option<String>,
    /// The enhanced status code (RFC 3463), e.g. "5.1.1".
    pub status: Option<String>,
    /// The SMTP reply code, e.g. 550.
    pub reply_code: Option<u16>,
    /// Why, in Sisimai's vocabulary.
    pub reason: Reason,
    /// Hard, soft, complaint, auto-reply or not-a-failure.
    pub kind: Kind,
    /// Whether the address should not be mailed again (Sisimai's rule).
    pub hard: bool,
    /// The remote server's answer or the bounce's words about this recipient.
    pub diagnostic: Option<String>,
    /// The DSN action (failed, delayed, delivered, relayed, expanded).
    pub action: Option<String>,
    /// The SMTP command the failure answered (RCPT, DATA, …) when said.
    pub smtp_command: Option<&'static str>,
    /// The Message-ID of the message that bounced.
    pub message_id: Option<String>,
    /// Our VERP token (`d<id>-<sig>`), when the bounce came to one.
    pub verp_token: Option<String>,
    /// The MTA that wrote the report.
    pub reporting_mta: Option<String>,
    /// The server that refused the message.
    pub remote_host: Option<String>,
    /// For complaints: the ARF Feedback-Type (abuse, fraud, …).
    pub feedback_type: Option<String>,
    /// What decided the reason and hard or soft (see
    /// `classify::Decision::evidence`).
    pub evidence: Option<String>,
    /// Where the deciding rule comes from (see `reason::COMMON`).
    pub rule_origin: Option<&'static str>,
}

/// A returned message, read.
#[derive(Debug, Clone, Serialize)]
pub struct Parsed {
    /// One per affected recipient; never empty.
    pub results: Vec<BounceResult>,
    /// The returned message's Subject.
    pub subject: Option<String>,
    /// The returned message's From address.
    pub from: Option<String>,
    /// The Message-ID of the message that bounced (ours).
    pub message_id: Option<String>,
    /// Our VERP token, when the returned message came to a VERP address.
    pub verp_token: Option<String>,
    /// The MTA that wrote the report, when it says.
    pub reporting_mta: Option<String>,
    /// The unsubscribe token of the address the message was written to,
    /// when it is a reader's request to be taken off the list: an
    /// unsubscribe, never a complaint (`bounce::store` checks the token).
    pub unsubscribe_token: Option<String>,
}

/// Reads one message (RFC 5322, any MIME structure).
pub fn parse(raw: &[u8]) -> Result<Parsed, Error> {
    let raw = strip_envelope_line(raw);
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::Empty);
    }
    if !starts_with_header(raw) {
        return Err(Error::NoHeaders);
    }
    let message = parser().parse(raw).ok_or(Error::NoHeaders)?;
    Ok(Reader::new(&message).read())
}

/// mail-parser made to decode only the header fields read through it (the
/// MIME fields, Subject, From, the message ids); every other field is read
/// raw, through `headers_raw`. Its default also parses each Received field
/// into its parts, about a twentieth of `bounces inspect`'s instructions
/// under callgrind, for nothing.
fn parser() -> &'static MessageParser {
    static PARSER: std::sync::OnceLock<MessageParser> = std::sync::OnceLock::new();
    PARSER.get_or_init(|| {
        MessageParser::new()
            .with_mime_headers()
            .with_message_ids()
            .header_text(HeaderName::Subject)
            .header_address(HeaderName::From)
            .default_header_raw()
    })
}

/// An mbox "From " line before the headers is not part of the message.
fn strip_envelope_line(raw: &[u8]) -> &[u8] {
    if raw.starts_with(b"From ") {
        match raw.iter().position(|b| *b == b'\n') {
            Some(nl) => &raw[nl + 1..],
            None => &[],
        }
    } else {
        raw
    }
}

/// Whether the first line is a header field (`Name: value`, RFC 5322 §2.2).
fn starts_with_header(raw: &[u8]) -> bool {
    let first = raw
        .split(|b| *b == b'\n')
        .find(|l| !l.iter().all(|b| b.is_ascii_whitespace()))
        .unwrap_or(&[]);
    match first.iter().position(|b| *b == b':') {
        Some(colon) if colon > 0 => first[..colon].iter().all(|b| (33..=126).contains(b)),
        _ => false,
    }
}

/// What was found in the returned message's parts.
#[derive(Default)]
struct Parts {
    dsn: Vec<String>,
    feedback: Option<String>,
    /// The first text part (the human-readable report).
    text: Option<String>,
    /// Headers of the returned original message.
    original: Vec<(String, String)>,
}

struct Reader<'m> {
    message: &'m Message<'m>,
    headers: Vec<(String, String)>,
    parts: Parts,
    /// What the conventions of particular MTAs look at (see `mta`).
    marks: Marks,
}

impl<'m> Reader<'m> {
    fn new(message: &'m Message<'m>) -> Reader<'m> {
        let headers: Vec<(String, String)> = message
            .headers_raw()
            .map(|(n, v)| (n.to_string(), unfold(v)))
            .collect();
        let mut parts = Parts::default();
        collect_parts(message, &mut parts);
        let marks = marks(&headers, &parts);
        Reader {
            message,
            headers,
            parts,
            marks,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn read(&self) -> Parsed {
        let text = self.parts.text.clone().unwrap_or_default();
        let (report, rest) = prose::split_report(&text);
        let original = self.original_headers(rest);
        let message_id = original_field(&original, "message-id")
            .map(clean_message_id)
            .or_else(|| self.replied_message_id());
        let verp_token = self.verp_token(&original);
        let mut parsed = Parsed {
            results: Vec::new(),
            subject: self.message.subject().map(str::to_string),
            from: first_address(self.message.from()),
            message_id,
            verp_token,
            reporting_mta: None,
            unsubscribe_token: None,
        };
        let feedback = self.parts.feedback.as_deref().map(dsn::parse_feedback);
        let dsn = self.dsn(report);
        if let Some(f) = feedback {
            self.complaints(&mut parsed, f, &original);
        } else if !dsn.recipients.is_empty() {
            self.dsn_results(&mut parsed, dsn, report, &original);
        } else if let Some(token) = self.unsubscribe_request() {
            // The reader asks to be taken off the list (the mailto: of
            // List-Unsubscribe): an unsubscribe, which the import carries
            // out when the token is ours, never a complaint. The result
            // is what is recorded when it is not (nothing happens then).
            parsed.unsubscribe_token = token;
            let mut r = self.result(
                parsed.from.clone(),
                Reason::Feedback,
                Kind::NotAFailure,
                &parsed,
            );
            r.feedback_type = Some("opt-out".to_string());
            r.evidence = Some(
                "a request to unsubscribe without a valid token of ours: recorded only".to_string(),
            );
            parsed.results.push(r);
        } else if !self.looks_like_bounce(report)
            && autoreply::is_auto_reply(
                &self.headers,
                parsed.subject.as_deref().unwrap_or(""),
                report,
            )
        {
            parsed.results.push(self.result(
                parsed.from.clone(),
                Reason::Vacation,
                Kind::AutoReply,
                &parsed,
            ));
        } else if self.looks_like_bounce(report) {
            self.prose_results(&mut parsed, report, &original);
        }
        if parsed.results.is_empty() {
            parsed
                .results
                .push(self.result(None, Reason::Undefined, Kind::NotAFailure, &parsed));
        }
        parsed
    }

    /// A result with only the message-level fields filled in.
    fn result(
        &self,
        recipient: Option<String>,
        reason: Reason,
        kind: Kind,
        parsed: &Parsed,
    ) -> BounceResult {
        BounceResult {
            recipient,
            status: None,
            reply_code: None,
            reason,
            kind,
            hard: false,
            diagnostic: None,
            action: None,
            smtp_command: None,
            message_id: parsed.message_id.clone(),
            verp_token: parsed.verp_token.clone(),
            reporting_mta: parsed.reporting_mta.clone(),
            remote_host: None,
            feedback_type: None,
            evidence: None,
            rule_origin: None,
        }
    }

    /// The DSN fields: from `message/delivery-status` parts, else from DSN
    /// fields written into the text itself (some MTAs do).
    fn dsn(&self, report: &str) -> Dsn {
        let mut all = Dsn::default();
        for text in &self.parts.dsn {
            let d = dsn::parse_dsn(text);
            all.reporting_mta = all.reporting_mta.or(d.reporting_mta);
            all.recipients.extend(d.recipients);
        }
        if all.recipients.is_empty() && has_dsn_fields(report) {
            all = dsn::parse_dsn(report);
        }
        all
    }

    /// ARF: one complaint per Original-Rcpt-To, else one for the original
    /// message's To (RFC 5965 §3.2 makes the field optional).
    fn complaints(&self, parsed: &mut Parsed, f: Feedback, original: &[(String, String)]) {
        parsed.reporting_mta = f.reporting_mta.clone();
        let mut recipients: Vec<Option<String>> = f.recipients.into_iter().map(Some).collect();
        if recipients.is_empty() {
            recipients.push(
                original_field(original, "to")
                    .and_then(|to| prose::addresses(to).first().map(|a| a.address.clone())),
            );
        }
        for recipient in recipients {
            let mut r = self.result(recipient, Reason::Feedback, Kind::Complaint, parsed);
            r.feedback_type = f.feedback_type.clone();
            parsed.results.push(r);
        }
    }

    fn dsn_results(
        &self,
        parsed: &mut Parsed,
        dsn: Dsn,
        report: &str,
        original: &[(String, String)],
    ) {
        parsed.reporting_mta = dsn.reporting_mta.clone();
        let prose = prose::recipients(report, &self.sender_addresses(&[]));
        let senders = self.sender_addresses(original);
        let mut seen: Vec<String> = Vec::new();
        for rcpt in dsn.recipients {
            let address = rcpt.address().unwrap_or_default().to_string();
            // Some MTAs repeat a recipient (Original- and Final- groups).
            if seen.iter().any(|s| s.eq_ignore_ascii_case(&address)) {
                continue;
            }
            seen.push(address.clone());
            let about = prose
                .iter()
                .find(|p| {
                    p.address.eq_ignore_ascii_case(&address)
                        || rcpt
                            .original_recipient
                            .as_deref()
                            .is_some_and(|o| p.address.eq_ignore_ascii_case(o))
                })
                .map(|p| p.text.clone());
            let diagnostic = rcpt
                .diagnostic
                .clone()
                .filter(|d| !d.trim().is_empty())
                .or_else(|| about.clone().map(|t| prose::squash(&t)));
            let context = match &about {
                Some(t) => t.clone(),
                None => report.to_string(),
            };
            // No Action field and a status of class 2: left to `classified`
            // to read as success.
            let success = rcpt.status.as_deref().is_some_and(|s| s.starts_with("2."));
            let action = rcpt.action.clone().or_else(|| {
                let guessed = if is_delay(report) {
                    "delayed"
                } else {
                    "failed"
                };
                (!success).then(|| guessed.to_string())
            });
            let r = self.classified(
                parsed,
                Failure {
                    recipient: Some(address),
                    diagnostic: diagnostic.as_deref(),
                    context: &context,
                    status: rcpt.status.clone(),
                    action,
                    mailer: rcpt.diagnostic_type.as_deref() == Some("x-unix"),
                    status_words: rcpt.status_comment.as_deref(),
                    senders: &senders,
                    remote_host: rcpt.remote_mta.clone(),
                },
            );
            parsed.results.push(r);
        }
    }

    fn prose_results(&self, parsed: &mut Parsed, report: &str, original: &[(String, String)]) {
        let senders = self.sender_addresses(original);
        let layout = Conventions::of(&self.marks, None).layout();
        let mut found = match layout {
            Layout::ListNotice => prose::list_notice(report).into_iter().collect(),
            _ => prose::recipients(report, &senders),
        };
        if layout == Layout::ReasonAbove {
            prose::reason_above(report, &mut found);
        }
        if found.is_empty() {
            // A notice about a bounce it forwards (attached whole, with its
            // delivery-status part): that bounce says who failed.
            if let Some(inner) = self.forwarded_bounce() {
                parsed.reporting_mta = inner.reporting_mta;
                parsed.results.extend(inner.results);
                return;
            }
        }
        if found.is_empty() {
            // Exim also names them in a header (after any rewriting, so the
            // text's own words come first).
            if let Some(failed) = self.header("x-failed-recipients") {
                found = prose::addresses(failed)
                    .into_iter()
                    .map(|a| prose::ProseRecipient {
                        address: a.address,
                        text: report.to_string(),
                    })
                    .collect();
            }
        }
        if found.is_empty() {
            // Nothing in the report names a recipient: the returned
            // message's To is the best guess.
            let to = original_field(original, "to")
                .and_then(|to| prose::addresses(to).first().map(|a| a.address.clone()));
            // The report is not about this address in particular: it is
            // context, not the recipient's diagnostic.
            found.push(prose::ProseRecipient {
                address: to.unwrap_or_default(),
                text: String::new(),
            });
        }
        let intro = match found.first() {
            Some(p) if p.text.is_empty() => report.to_string(),
            first => prose::introduction(report, first).to_string(),
        };
        let action = if is_delay(&intro) || is_delay(self.message.subject().unwrap_or("")) {
            "delayed"
        } else {
            "failed"
        };
        for p in found {
            let text = prose::squash(&p.text);
            let recipient = (!p.address.is_empty()).then_some(p.address);
            let diagnostic = (!text.is_empty()).then_some(text);
            let mut r = self.classified(
                parsed,
                Failure {
                    recipient,
                    diagnostic: diagnostic.as_deref(),
                    context: &intro,
                    status: None,
                    action: Some(action.to_string()),
                    mailer: false,
                    status_words: None,
                    senders: &senders,
                    remote_host: None,
                },
            );
            if diagnostic.is_none() {
                // Still show what the report says.
                r.diagnostic = Some(truncate(&prose::squash(report), 1000));
            }
            parsed.results.push(r);
        }
    }

    /// A failure result, classified.
    fn classified(&self, parsed: &Parsed, f: Failure<'_>) -> BounceResult {
        let Failure {
            recipient,
            diagnostic,
            context,
            status,
            action,
            mailer,
            status_words,
            senders,
            remote_host: dsn_remote_host,
        } = f;
        let diag = diagnostic.unwrap_or("");
        let remote = dsn_remote_host.or_else(|| remote_host(diag));
        let conventions = Conventions::of(&self.marks, remote.as_deref());
        let text_status = classify::find_status(diag);
        // A DSN's Status is often the generic X.0.0 while the reply names
        // the precise code: keep the precise one.
        let status = match (status, text_status) {
            (Some(s), Some(t)) if s.ends_with(".0.0") && t.starts_with(&s[..1]) => Some(t),
            (Some(s), _) => Some(s),
            (None, t) => t.or_else(|| classify::find_status(context)),
        };
        let reply_code = match diag {
            "" => classify::find_reply_code(context),
            _ => classify::find_reply_code(diag),
        };
        let command = classify::find_command(diag).or_else(|| classify::find_command(context));
        // RFC 3464 §2.3.3's positive actions; without an Action field, a
        // status of class 2 (RFC 3463 §3.1, success) says the same.
        let success = action.is_none() && status.as_deref().is_some_and(|s| s.starts_with("2."));
        let action_lower = action
            .as_deref()
            .and_then(|a| a.split_whitespace().next())
            .unwrap_or(if success { "delivered" } else { "failed" })
            .to_ascii_lowercase();
        let positive =
            success || matches!(action_lower.as_str(), "delivered" | "relayed" | "expanded");
        let delayed = action_lower == "delayed";
        let mut r = self.result(recipient, Reason::Undefined, Kind::Soft, parsed);
        if positive {
            r.reason = Reason::Delivered;
            r.evidence = Some(if success {
                format!(
                    "status {}, class 2: success (RFC 3463 §3.1)",
                    status.as_deref().unwrap_or("")
                )
            } else {
                format!("Action: {action_lower} (RFC 3464 §2.3.3)")
            });
            r.rule_origin = Some(super::reason::RFC3463);
        } else {
            let words = match status_words {
                Some(w) => format!("{w} {diag}"),
                None => diag.to_string(),
            };
            let d = classify::decide(&Evidence {
                diagnostic: &words,
                context,
                mailer,
                status: status.as_deref(),
                reply_code,
                command,
                delayed,
                senders,
                conventions,
            });
            r.reason = d.reason;
            r.hard = d.hard && !delayed;
            r.evidence = Some(if delayed {
                format!(
                    "{}; Action: delayed (RFC 3464 §2.3.3), not a failure yet",
                    d.evidence
                )
            } else {
                d.evidence
            });
            r.rule_origin = Some(d.origin);
        }
        r.kind = if positive || delayed {
            Kind::NotAFailure
        } else if r.hard {
            Kind::Hard
        } else {
            Kind::Soft
        };
        r.status = status;
        r.reply_code = reply_code;
        r.smtp_command = command.map(SmtpCommand::as_str);
        r.diagnostic = diagnostic.map(|d| truncate(d, 1000));
        r.action = Some(action_lower);
        r.remote_host = remote;
        r
    }

    /// The attached message, read, when it is itself a DSN with failed
    /// recipients.
    fn forwarded_bounce(&self) -> Option<Parsed> {
        let inner = self.message.parts.iter().find_map(|p| match &p.body {
            PartType::Message(m) => Some(m),
            _ => None,
        })?;
        let reader = Reader::new(inner);
        let has_recipients = !reader.dsn("").recipients.is_empty();
        has_recipients.then(|| reader.read())
    }

    /// Whether the message asks to unsubscribe its sender: what a mail
    /// client sends to a `mailto:` List-Unsubscribe address (RFC 2369
    /// §3.2; the subject is "unsubscribe" by convention, and Apple Mail
    /// marks its requests `X-Apple-Unsubscribe: true`).
    /// Whether the message is a reader's request to unsubscribe: written
    /// to an `unsubscribe+TOKEN@` address, or saying so in its Subject or
    /// Apple Mail's header. `Some(token)` when it names one.
    fn unsubscribe_request(&self) -> Option<Option<String>> {
        let token = OWN_ADDRESS_HEADERS
            .iter()
            .filter_map(|n| self.header(n))
            .find_map(|v| prefixed_token(v, UNSUBSCRIBE_PREFIX));
        let subject = self.message.subject().unwrap_or("").trim();
        let asks = token.is_some()
            || subject.eq_ignore_ascii_case("unsubscribe")
            || self
                .header("x-apple-unsubscribe")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        asks.then_some(token)
    }

    /// Whether the message presents itself as a delivery failure notice.
    fn looks_like_bounce(&self, report: &str) -> bool {
        const SENDERS: &[&str] = &[
            "mailer-daemon",
            "mailer_daemon",
            "postmaster",
            "post_master",
            "mail delivery",
        ];
        const WORDS: &[&str] = &[
            "undeliver",
            "undelivered",
            "not delivered",
            "could not be delivered",
            "couldn't be delivered",
            "delivery fail",
            "delivery status notification",
            "delivery notification",
            "failure notice",
            "returned mail",
            "mail delivery failed",
            "delivery problem",
            "unable to deliver",
            "non remis",
            "unzustellbar",
            "nicht zugestellt",
            "no se pudo entregar",
            "mail failure",
            "delivery error",
            "error sending",
            "rejected",
            "permanent error",
            "delivery has failed",
            "has been delayed",
            "message delayed",
            "warning: could not send",
            "loop alert",
            "mail system error",
        ];
        let from = self.header("from").unwrap_or("").to_lowercase();
        if SENDERS.iter().any(|s| from.contains(s)) {
            return true;
        }
        let subject = self.message.subject().unwrap_or("").to_lowercase();
        if WORDS.iter().any(|w| subject.contains(w)) {
            return true;
        }
        // A notice in the words of a known MTA (a mailing list refusing a
        // non-member's post says none of the above).
        let own = Conventions::of(&self.marks, None);
        if own.phrase(&subject).is_some() || own.phrase(report).is_some() {
            return true;
        }
        let opening: String = report.chars().take(2000).collect::<String>().to_lowercase();
        WORDS.iter().any(|w| opening.contains(w))
    }

    /// Addresses that are the sender's side, never a failed recipient: the
    /// bounce's own recipient and the original message's sender.
    fn sender_addresses(&self, original: &[(String, String)]) -> Vec<String> {
        let mut out = Vec::new();
        for name in [
            "to",
            "delivered-to",
            "x-original-to",
            "envelope-to",
            "return-path",
        ] {
            if let Some(v) = self.header(name) {
                out.extend(prose::addresses(v).into_iter().map(|a| a.address));
            }
        }
        for name in ["from", "return-path", "sender", "reply-to"] {
            if let Some(v) = original_field(original, name) {
                out.extend(prose::addresses(v).into_iter().map(|a| a.address));
            }
        }
        out
    }

    /// Headers of the returned message: an attached message/rfc822 or
    /// text/rfc822-headers part, else the header block after the report.
    fn original_headers(&self, rest: &str) -> Vec<(String, String)> {
        if !self.parts.original.is_empty() {
            return self.parts.original.clone();
        }
        headers_in_text(rest)
    }

    /// The message an auto-reply or a bounce without the original answers.
    fn replied_message_id(&self) -> Option<String> {
        let ids = |v: &HeaderValue<'_>| -> Option<String> {
            match v {
                HeaderValue::Text(t) => Some(t.to_string()),
                HeaderValue::TextList(l) => l.last().map(|t| t.to_string()),
                _ => None,
            }
        };
        ids(self.message.in_reply_to())
            .or_else(|| ids(self.message.references()))
            .map(|s| clean_message_id(&s))
    }

    /// The token of our VERP address, where the bounce came to one.
    fn verp_token(&self, original: &[(String, String)]) -> Option<String> {
        let own = OWN_ADDRESS_HEADERS
            .iter()
            .filter_map(|n| self.header(n).map(str::to_string))
            .collect::<Vec<_>>();
        let theirs = ["return-path", "sender"]
            .iter()
            .filter_map(|n| original_field(original, n).map(str::to_string));
        own.into_iter().chain(theirs).find_map(|v| verp_token(&v))
    }
}

/// One failure to classify (see [`Reader::classified`]).
struct Failure<'a> {
    recipient: Option<String>,
    diagnostic: Option<&'a str>,
    context: &'a str,
    status: Option<String>,
    action: Option<String>,
    /// From a local mailer (Diagnostic-Code type x-unix).
    mailer: bool,
    /// Words after the DSN Status code.
    status_words: Option<&'a str>,
    /// Our own addresses (see [`Evidence::senders`]).
    senders: &'a [String],
    /// The server that refused the recipient, where the DSN names it.
    remote_host: Option<String>,
}

/// What the signs of `mta::CONVENTIONS` are looked for in: the bounce's
/// own header fields and its report (text and delivery-status fields).
fn marks(headers: &[(String, String)], parts: &Parts) -> Marks {
    let mut text = parts.text.as_deref().unwrap_or("").to_lowercase();
    for d in &parts.dsn {
        text.push('\n');
        text.push_str(&d.to_lowercase());
    }
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_lowercase()))
        .collect();
    let from = headers
        .iter()
        .find(|(n, _)| n == "from")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    Marks {
        from,
        headers,
        text,
    }
}

/// Walks the MIME tree (not into the returned message) and sorts the parts.
fn collect_parts(message: &Message<'_>, parts: &mut Parts) {
    for part in &message.parts {
        let (ctype, subtype) = part
            .content_type()
            .map(|c| {
                (
                    c.ctype().to_ascii_lowercase(),
                    c.subtype().unwrap_or("").to_ascii_lowercase(),
                )
            })
            .unwrap_or_else(|| ("text".into(), "plain".into()));
        let text = || String::from_utf8_lossy(part.contents()).into_owned();
        match (ctype.as_str(), subtype.as_str(), &part.body) {
            (_, _, PartType::Multipart(_)) => {}
            ("message", "delivery-status" | "global-delivery-status", _) => parts.dsn.push(text()),
            ("message", "feedback-report", _) => parts.feedback = Some(text()),
            // A nested message's header offsets point into the outer raw bytes.
            (_, _, PartType::Message(inner)) if parts.original.is_empty() => {
                parts.original = inner
                    .headers_raw()
                    .map(|(n, v)| (n.to_ascii_lowercase(), unfold(v)))
                    .collect();
            }
            // Headers only, or an attached message mail-parser left unparsed.
            ("text" | "message", "rfc822-headers" | "rfc822" | "global", _)
                if parts.original.is_empty() =>
            {
                parts.original = headers_in_text(&text());
            }
            (_, _, PartType::Message(_)) => {}
            ("text" | "message", "rfc822-headers" | "rfc822" | "global", _) => {}
            (_, _, PartType::Text(t)) if parts.text.is_none() => parts.text = Some(t.to_string()),
            (_, _, PartType::Html(h)) if parts.text.is_none() => parts.text = Some(html_to_text(h)),
            // A part whose headers were too broken to read (a multipart
            // without its boundary): its raw text still says what happened.
            ("multipart" | "text", _, PartType::Binary(b) | PartType::InlineBinary(b))
                if parts.text.is_none() =>
            {
                parts.text = Some(String::from_utf8_lossy(b).into_owned())
            }
            _ => {}
        }
    }
}

/// The header fields at the start of `text` (after leading blank lines
/// and marker lines), lowercased names.
fn headers_in_text(text: &str) -> Vec<(String, String)> {
    // Skip to the first line that looks like a header field.
    let start = text
        .lines()
        .position(|l| {
            let t = l.trim_start();
            t.split_once(':').is_some_and(|(n, _)| {
                !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
        })
        .unwrap_or(0);
    let block: Vec<&str> = text
        .lines()
        .skip(start)
        .map(|l| l.trim_start_matches([' ']))
        .collect();
    let block = block.join("\n");
    dsn::field_groups(&block)
        .into_iter()
        .next()
        .unwrap_or_default()
}

fn original_field<'a>(original: &'a [(String, String)], name: &str) -> Option<&'a str> {
    original
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Whether text carries RFC 3464 recipient fields.
fn has_dsn_fields(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start().to_ascii_lowercase();
        l.starts_with("final-recipient:") || l.starts_with("original-recipient:")
    }) && text
        .lines()
        .any(|l| l.trim_start().to_ascii_lowercase().starts_with("status:"))
}

/// Whether a report or subject says delivery is only delayed.
fn is_delay(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "has been delayed",
        "delivery delayed",
        "delivery is delayed",
        "message delayed",
        "(delay)",
        "warning message only",
        "will be retried",
        "will retry",
        "still trying",
        "do not need to resend",
        "delivery status notification (delay)",
        "not yet been delivered",
        "delayed mail",
    ];
    let lower = text.to_lowercase();
    WORDS.iter().any(|w| lower.contains(w))
}

/// `bounces+TOKEN@domain` anywhere in a header value → TOKEN.
pub fn verp_token(value: &str) -> Option<String> {
    prefixed_token(value, VERP_PREFIX)
}

/// The headers that name the address a message was written to (ours).
const OWN_ADDRESS_HEADERS: [&str; 5] = [
    "to",
    "delivered-to",
    "x-original-to",
    "envelope-to",
    "x-envelope-to",
];

/// The token after `prefix` in the local part of an address in `value`.
fn prefixed_token(value: &str, prefix: &str) -> Option<String> {
    prose::addresses(value).into_iter().find_map(|a| {
        let local = a.address.split('@').next()?;
        let lower = local.to_ascii_lowercase();
        let token = local.get(prefix.len()..)?;
        (lower.starts_with(prefix) && !token.is_empty()).then(|| token.to_string())
    })
}

fn clean_message_id(v: &str) -> String {
    let v = v.trim();
    let v = v.split_whitespace().next().unwrap_or(v);
    v.trim_start_matches('<').trim_end_matches('>').to_string()
}

fn first_address(a: Option<&mail_parser::Address<'_>>) -> Option<String> {
    a?.first()?.address().map(str::to_string)
}

/// Unfolds a raw header value (RFC 5322 §2.2.3). By hand: mail-parser
/// unfolds only while decoding a field (RFC 2047 words, addresses), and its
/// raw value keeps the line breaks.
fn unfold(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for line in v.split(['\r', '\n']).map(str::trim) {
        if !line.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(line);
        }
    }
    out
}

/// The host a diagnostic names as the one that answered.
fn remote_host(diag: &str) -> Option<String> {
    let mut words = diag.split_whitespace();
    while let Some(w) = words.next() {
        if w.eq_ignore_ascii_case("host") {
            let next = words.next()?;
            let host: String = next
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
                .collect();
            if host.contains('.') {
                return Some(host.trim_end_matches('.').to_string());
            }
        }
    }
    None
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Plain text of an HTML report: tags dropped, block ends as line breaks.
/// Kept by hand rather than mail-parser's `html_to_text`, which breaks
/// lines only at `<br>` and `</p>` and squashes spaces, while the prose
/// reading goes by lines (`<div>`, `<tr>`, `<li>` end the lines it reads).
fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    // Text is copied a run at a time; `<` and `>` are ASCII, so byte
    // offsets around them are character boundaries.
    let mut text_from = 0;
    let mut tag_from: Option<usize> = None;
    for (i, b) in html.bytes().enumerate() {
        match b {
            b'<' => {
                if tag_from.is_none() {
                    out.push_str(&html[text_from..i]);
                }
                tag_from = Some(i + 1);
            }
            b'>' => {
                if let Some(from) = tag_from.take() {
                    let block = breaks_line(&html.as_bytes()[from..i]);
                    out.push(if block { '\n' } else { ' ' });
                    text_from = i + 1;
                }
            }
            _ => {}
        }
    }
    // An unclosed tag at the end is dropped.
    if tag_from.is_none() {
        out.push_str(&html[text_from..]);
    }
    if !out.contains('&') {
        return out;
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// Whether a tag (its text between `<` and `>`) ends a block of text.
fn breaks_line(tag: &[u8]) -> bool {
    const BLOCKS: [&str; 12] = [
        "br", "p", "/p", "div", "/div", "tr", "/tr", "li", "/li", "/h1", "/h2", "/h3",
    ];
    BLOCKS.iter().any(|b| {
        tag.len() >= b.len()
            && tag[..b.len()].eq_ignore_ascii_case(b.as_bytes())
            && matches!(&tag[b.len()..], [] | [b' ', ..] | [b'/'])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verp_tokens() {
        assert_eq!(
            verp_token("<bounces+d42-0123456789abcdef@bounce.example.org>").as_deref(),
            Some("d42-0123456789abcdef")
        );
        assert_eq!(verp_token("jane@example.org"), None);
        assert_eq!(verp_token("bounces+@example.org"), None);
    }

    #[test]
    fn a_notice_forwarding_a_bounce_is_read_through() {
        let raw = "From: MAILER-DAEMON@relay.example.net\r\n\
            To: ops@relay.example.net\r\n\
            Subject: Returned mail\r\n\
            MIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
            --outer\r\nContent-Type: text/plain\r\n\r\n\
            ----- The following addresses had permanent delivery errors -----\r\n\r\n\
            --outer\r\nContent-Type: message/rfc822\r\n\r\n\
            From: MAILER-DAEMON@mx.example.org\r\n\
            To: news@press.example.net\r\n\
            Subject: Returned mail: User unknown\r\n\
            MIME-Version: 1.0\r\n\
            Content-Type: multipart/report; report-type=delivery-status; boundary=\"inner\"\r\n\r\n\
            --inner\r\nContent-Type: text/plain\r\n\r\nUser unknown\r\n\r\n\
            --inner\r\nContent-Type: message/delivery-status\r\n\r\n\
            Reporting-MTA: dns; mx.example.org\r\n\r\n\
            Final-Recipient: rfc822; desk@example.org\r\n\
            Action: failed\r\nStatus: 5.1.1\r\n\
            Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n\
            --inner--\r\n\r\n\
            --outer--\r\n";
        let parsed = parse(raw.as_bytes()).unwrap();
        assert_eq!(parsed.results.len(), 1, "{parsed:#?}");
        let r = &parsed.results[0];
        assert_eq!(r.recipient.as_deref(), Some("desk@example.org"));
        assert_eq!(r.reason, Reason::UserUnknown);
        assert_eq!(r.kind, Kind::Hard);
    }

    #[test]
    fn an_unsubscribe_request_is_no_complaint_and_names_its_token() {
        let raw = "From: Reader <reader@example.org>\r\n\
            To: unsubscribe+d42@press.example.net\r\n\
            Subject: unsubscribe\r\n\
            Auto-Submitted: auto-replied\r\n\r\n\
            This message was sent to unsubscribe from a list.\r\n";
        let parsed = parse(raw.as_bytes()).unwrap();
        assert_eq!(parsed.unsubscribe_token.as_deref(), Some("d42"));
        let r = &parsed.results[0];
        assert_eq!(r.kind, Kind::NotAFailure);
        assert_eq!(r.reason, Reason::Feedback);
        assert_eq!(r.feedback_type.as_deref(), Some("opt-out"));
        assert_eq!(r.recipient.as_deref(), Some("reader@example.org"));
    }

    #[test]
    fn a_report_that_names_nobody_says_nothing_about_the_guess() {
        let raw = "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n\
            Subject: Undelivered Mail Returned to Sender\r\n\
            To: news@press.example.net\r\n\r\n\
            This is the mail system at host mx.example.net.\r\n\
            Your message could not be delivered. It's attached below.\r\n\r\n\
            --- Delivery report unavailable ---\r\n\r\n\
            ------ This is a copy of the message, including all the headers. ------\r\n\
            From: news@press.example.net\r\nTo: desk@example.org\r\nSubject: Dam\r\n\r\nText\r\n";
        let parsed = parse(raw.as_bytes()).unwrap();
        let r = &parsed.results[0];
        assert_eq!(r.recipient.as_deref(), Some("desk@example.org"));
        assert_eq!(r.reason, Reason::Undefined);
        assert!(r
            .diagnostic
            .as_deref()
            .unwrap_or("")
            .contains("could not be delivered"));
    }

    #[test]
    fn not_a_message() {
        assert!(matches!(parse(b""), Err(Error::Empty)));
        assert!(matches!(parse(b"hello world\n"), Err(Error::NoHeaders)));
        assert!(matches!(parse(b"\x00\x01\x02"), Err(Error::NoHeaders)));
    }
}
