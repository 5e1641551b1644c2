//! Importing returned messages into the database: each message is parsed,
//! each of its results matched to the delivery it is about, stored with
//! the raw message, and handed to the [`policy`](super::policy).
//!
//! Matching, in order of trust:
//! 1. the VERP token of the address the bounce came back to
//!    (`bounces+d<id>-<sig>@…`), its HMAC checked with the team's key; a
//!    token whose signature does not hold is a forgery or a mangled
//!    address, and the bounce stays unmatched: it must not suppress anyone,
//!    so no weaker way is tried after it;
//! 2. the returned message's Message-ID (ours carry a signature too);
//! 3. the recipient's address: the latest message sent to it no more than
//!    `match_window_days` before the bounce was written.
//!
//! Unmatched bounces are stored all the same, for review. The same
//! message imported twice is recorded once (see [`dedupe_key`]).
//!
//! One import is one transaction: the messages are read and parsed first
//! (a path that cannot be read stops the import before anything is
//! written), then every result is written, or none. An IMAP poll imports
//! each batch of fetched messages this way, and moves them on the server
//! only after the commit.
//!
//! Every SQL text of `bounce/` is in this module's files, by concern:
//! [`records`] (the `bounces` table), [`deliveries`] (matching) and
//! [`effects`] (what the policy changes).

pub(crate) mod deliveries;
pub(crate) mod effects;
pub(crate) mod records;

use std::collections::HashMap;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use super::parse::{self, BounceResult, Parsed};
use super::policy::{self, MatchedBy, NewBounce, Policy};
use super::Kind;
use crate::contacts::unsubscribe::{unsubscribe_in, Unsubscribed, Via};
use crate::db::{now_ms, Db};
use crate::send::tokens::Signer;
use deliveries::DeliveryRow;
pub(crate) use records::recorded_before;

/// One returned message to import.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Where it came from: `FILE`, `FILE#N` for the N-th message of an
    /// mbox, or the IMAP mailbox and UID.
    pub origin: String,
    pub bytes: Vec<u8>,
}

/// A message that could not be read as mail (left where it was).
#[derive(Debug, Clone, Serialize)]
pub struct Unparseable {
    pub file: String,
    pub error: String,
}

/// What recording a batch of bounces did, as an import and a webhook
/// request both report it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub recorded: usize,
    /// Of those recorded: matched to a delivery, or not.
    pub matched: usize,
    pub unmatched: usize,
    /// Addresses the policy newly suppressed.
    pub suppressed: usize,
    /// Recorded before (the same message or event again), skipped.
    pub duplicates: usize,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.recorded += o.recorded;
        self.matched += o.matched;
        self.unmatched += o.unmatched;
        self.suppressed += o.suppressed;
        self.duplicates += o.duplicates;
    }
}

/// Records one matched (or unmatched) bounce with the policy applied, and
/// counts it. `Some(kind)` of what was recorded; `None` when another
/// importer recorded it a moment ago (counted as a duplicate).
pub(crate) async fn record_counted(
    tx: &mut AnyConnection,
    policy: &Policy,
    new: &NewBounce<'_>,
    now: i64,
    counts: &mut Counts,
) -> Result<Option<Kind>, sqlx::Error> {
    match policy::record(tx, policy, new, now).await? {
        None => {
            counts.duplicates += 1;
            Ok(None)
        }
        Some(rec) => {
            counts.recorded += 1;
            if new.delivery_id.is_some() {
                counts.matched += 1;
            } else {
                counts.unmatched += 1;
            }
            counts.suppressed += usize::from(rec.suppressed);
            Ok(Some(new.kind))
        }
    }
}

/// What an import did. Counts of kinds, matched and unmatched are of the
/// results recorded now; duplicates were recorded before and are skipped.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Messages read (parsed or not).
    pub messages: usize,
    /// Results (one per affected recipient) of the messages that parsed.
    pub results: usize,
    /// Recorded, matched, unmatched, suppressed and duplicates.
    #[serde(flatten)]
    pub counts: Counts,
    pub hard: usize,
    pub soft: usize,
    pub complaints: usize,
    pub auto_replies: usize,
    pub not_failures: usize,
    /// Readers unsubscribed by a message to the List-Unsubscribe address
    /// (unsubscribed before: counted as duplicates).
    pub unsubscribed: usize,
    pub unparseable: Vec<Unparseable>,
    /// Per message given, whether it was handled (parsed and recorded, or
    /// a duplicate): an IMAP poll moves exactly these.
    #[serde(skip)]
    pub handled: Vec<bool>,
}

impl ImportReport {
    /// Adds another batch's counts (IMAP polls import in batches).
    pub fn add(&mut self, o: ImportReport) {
        self.messages += o.messages;
        self.results += o.results;
        self.counts.add(&o.counts);
        self.hard += o.hard;
        self.soft += o.soft;
        self.complaints += o.complaints;
        self.auto_replies += o.auto_replies;
        self.not_failures += o.not_failures;
        self.unsubscribed += o.unsubscribed;
        self.unparseable.extend(o.unparseable);
        self.handled.extend(o.handled);
    }
}

/// Parses, matches, records and applies the policy to `messages`, all in
/// one transaction. `source` is "file" or "imap".
pub async fn import(
    db: &Db,
    signer: &Signer,
    policy: &Policy,
    source: &str,
    messages: &[Incoming],
) -> Result<ImportReport, sqlx::Error> {
    let now = now_ms();
    let mut report = ImportReport {
        messages: messages.len(),
        ..Default::default()
    };
    // Parsing needs no database: done before the transaction starts, on
    // every core, the results kept in the messages' order.
    let mut parsed: Vec<Result<Parsed, parse::Error>> = Vec::with_capacity(messages.len());
    super::pool::in_order(
        messages.iter(),
        super::pool::workers(),
        |m| parse::parse(&m.bytes),
        |p| {
            parsed.push(p);
            Ok::<(), std::convert::Infallible>(())
        },
    )
    .unwrap_or_else(|never| match never {});
    let mut tx = db.begin_write().await?;
    for (message, parsed) in messages.iter().zip(parsed) {
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                report.unparseable.push(Unparseable {
                    file: message.origin.clone(),
                    error: e.to_string(),
                });
                report.handled.push(false);
                continue;
            }
        };
        // A reader's request to unsubscribe, with our signed token: done
        // as the link does it (contact `unsubscribed`, address suppressed
        // with reason `unsubscribed`), and no bounce is recorded.
        if let Some((contact, send)) = parsed
            .unsubscribe_token
            .as_deref()
            .and_then(|t| signer.verify_unsubscribe(t))
        {
            report.results += 1;
            match unsubscribe_in(&mut tx, contact, send, Via::Mail, now).await? {
                Unsubscribed::Done { .. } => report.unsubscribed += 1,
                Unsubscribed::Already { .. } | Unsubscribed::NoSuchContact => {
                    report.counts.duplicates += 1
                }
            }
            report.handled.push(true);
            continue;
        }
        let hash = message_hash(&message.bytes);
        let received_at = written_at(&message.bytes, now);
        let mut ordinals: HashMap<String, usize> = HashMap::new();
        for r in &parsed.results {
            report.results += 1;
            let recipient = r.recipient.as_deref().unwrap_or("").to_lowercase();
            let n = ordinals.entry(recipient.clone()).or_default();
            let key = dedupe_key(&hash, &recipient, *n);
            *n += 1;
            // Recorded by an earlier import: skip before matching.
            if recorded_before(&mut tx, &key).await? {
                report.counts.duplicates += 1;
                continue;
            }
            let (delivery, why) = find_delivery(&mut tx, signer, policy, r, &parsed, received_at)
                .await?
                .into_parts();
            let email = r
                .recipient
                .as_deref()
                .or(delivery.as_ref().map(|d| d.email.as_str()));
            let new = NewBounce {
                delivery_id: delivery.as_ref().map(|d| d.id),
                matched_by: delivery.as_ref().map(|d| d.by),
                contact_id: delivery.as_ref().and_then(|d| d.contact_id),
                email,
                kind: r.kind,
                reason: r.reason,
                status_code: r.status.as_deref(),
                reply_code: r.reply_code.map(i64::from),
                diagnostic: r.diagnostic.as_deref(),
                reporting_mta: r
                    .reporting_mta
                    .as_deref()
                    .or(parsed.reporting_mta.as_deref()),
                remote_host: r.remote_host.as_deref(),
                source,
                origin: Some(&message.origin),
                raw: Some(&message.bytes),
                subject: parsed.subject.as_deref(),
                message_id: r.message_id.as_deref().or(parsed.message_id.as_deref()),
                verp_token: r.verp_token.as_deref().or(parsed.verp_token.as_deref()),
                action: r.action.as_deref(),
                feedback_type: r.feedback_type.as_deref(),
                received_at,
                dedupe_key: Some(key),
                unmatched_why: why,
                evidence: r.evidence.as_deref(),
            };
            match record_counted(&mut tx, policy, &new, now, &mut report.counts).await? {
                // Another importer recorded it a moment ago.
                None => {}
                Some(Kind::Hard) => report.hard += 1,
                Some(Kind::Soft) => report.soft += 1,
                Some(Kind::Complaint) => report.complaints += 1,
                Some(Kind::AutoReply) => report.auto_replies += 1,
                Some(Kind::NotAFailure) => report.not_failures += 1,
            }
        }
        report.handled.push(true);
    }
    tx.commit().await?;
    Ok(report)
}

/// The delivery a result was matched to.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) id: i64,
    pub(crate) contact_id: Option<i64>,
    pub(crate) email: String,
    pub(crate) by: MatchedBy,
}

pub(crate) enum Match {
    Found(Found),
    /// Why nothing matched, for the record.
    Unmatched(String),
}

impl Match {
    /// The delivery found, or why none was.
    pub(crate) fn into_parts(self) -> (Option<Found>, Option<String>) {
        match self {
            Match::Found(f) => (Some(f), None),
            Match::Unmatched(why) => (None, Some(why)),
        }
    }
}

const DAY_MS: i64 = 86_400_000;

/// A bounce written up to this long before the message it reports was
/// sent still matches it: clocks differ.
const CLOCK_SLACK_MS: i64 = 3_600_000;

async fn find_delivery(
    conn: &mut AnyConnection,
    signer: &Signer,
    policy: &Policy,
    r: &BounceResult,
    parsed: &Parsed,
    received_at: i64,
) -> Result<Match, sqlx::Error> {
    let token = r.verp_token.as_deref().or(parsed.verp_token.as_deref());
    let message_id = r.message_id.as_deref().or(parsed.message_id.as_deref());
    find_delivery_by(
        conn,
        signer,
        policy,
        token,
        message_id,
        r.recipient.as_deref(),
        received_at,
    )
    .await
}

/// Matches what a bounce says (its VERP token, the Message-ID of the
/// returned message, its recipient) to a delivery, in that order of trust.
/// Bounce webhooks use it too.
pub(crate) async fn find_delivery_by(
    conn: &mut AnyConnection,
    signer: &Signer,
    policy: &Policy,
    token: Option<&str>,
    message_id: Option<&str>,
    recipient: Option<&str>,
    received_at: i64,
) -> Result<Match, sqlx::Error> {
    let found = |(id, contact_id, email): DeliveryRow, by| {
        Match::Found(Found {
            id,
            contact_id,
            email,
            by,
        })
    };
    if let Some(token) = token {
        // Some MTAs change the case of the local part; ours is lower-case.
        let Some(id) = signer.verify_verp(&token.to_ascii_lowercase()) else {
            return Ok(Match::Unmatched(format!(
                "its VERP token {token:?} does not carry our signature (forged or altered)"
            )));
        };
        if let Some(row) = deliveries::delivery_by_id(conn, id).await? {
            return Ok(found(row, MatchedBy::Verp));
        }
    }
    if let Some(mid) = message_id.filter(|m| !m.is_empty()) {
        if let Some(row) = deliveries::delivery_by_message_id(conn, mid).await? {
            return Ok(found(row, MatchedBy::MessageId));
        }
    }
    let recipient = recipient.filter(|a| a.contains('@'));
    if let Some(recipient) = recipient {
        let from = received_at - i64::from(policy.match_window_days) * DAY_MS;
        // The latest message that left for this address before the bounce
        // was written (within the window): what the bounce most likely
        // reports.
        let to = received_at + CLOCK_SLACK_MS;
        if let Some(row) = deliveries::latest_delivery_to(conn, recipient, from, to).await? {
            return Ok(found(row, MatchedBy::Recipient));
        }
    }
    let mut tried = Vec::new();
    if token.is_some() {
        tried.push("its VERP token names a delivery that no longer exists".to_string());
    }
    if let Some(mid) = message_id {
        tried.push(format!("no message of ours had the Message-ID <{mid}>"));
    }
    match recipient {
        Some(a) => tried.push(format!(
            "nothing was sent to {a} in the {} days before it",
            policy.match_window_days
        )),
        None => tried.push("it names no recipient".to_string()),
    }
    Ok(Match::Unmatched(tried.join("; ")))
}

/// SHA-256 (hex) of a message as its content, whatever way it came: an
/// mbox "From " line dropped, CRLF and LF line ends alike, trailing blank
/// lines ignored. A message fetched over IMAP (CRLF) and the same message
/// in a Maildir file (LF) hash alike.
pub fn message_hash(raw: &[u8]) -> String {
    let mut raw = raw;
    if raw.starts_with(b"From ") {
        raw = match raw.iter().position(|b| *b == b'\n') {
            Some(nl) => &raw[nl + 1..],
            None => &[],
        };
    }
    let end = raw
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let mut h = Sha256::new();
    let mut rest = &raw[..end];
    while let Some(cr) = rest.windows(2).position(|w| w == b"\r\n") {
        h.update(&rest[..cr]);
        rest = &rest[cr + 1..];
    }
    h.update(rest);
    hex::encode(h.finalize())
}

/// The key that makes one result of one message unique: the message's
/// hash, the recipient (lower-cased, empty when none) and, when a message
/// names the same recipient more than once, which time this is.
pub fn dedupe_key(hash: &str, recipient: &str, ordinal: usize) -> String {
    if ordinal == 0 {
        format!("{hash}:{recipient}")
    } else {
        format!("{hash}:{recipient}:{ordinal}")
    }
}

/// When the returned message was written (its Date), as epoch ms: the
/// time the policy's windows count from. Missing, unreadable, before 2000
/// or in the future: `now`.
fn written_at(raw: &[u8], now: i64) -> i64 {
    let date = mail_parser::MessageParser::default()
        .parse_headers(raw)
        .and_then(|m| m.date().map(|d| d.to_timestamp() * 1000));
    match date {
        Some(ms) if ms >= 946_684_800_000 => ms.min(now),
        _ => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_line_ends_envelope_and_trailing_blank_lines() {
        let lf = message_hash(b"Subject: x\n\nbody\n");
        assert_eq!(message_hash(b"Subject: x\r\n\r\nbody\r\n"), lf);
        assert_eq!(
            message_hash(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2024\nSubject: x\n\nbody\n\n"),
            lf
        );
        assert_ne!(message_hash(b"Subject: y\n\nbody\n"), lf);
    }

    #[test]
    fn dedupe_keys() {
        assert_eq!(dedupe_key("ab", "x@y", 0), "ab:x@y");
        assert_eq!(dedupe_key("ab", "x@y", 1), "ab:x@y:1");
    }

    #[test]
    fn written_at_reads_the_date_and_never_the_future() {
        let now = 2_000_000_000_000;
        let raw = b"Date: Thu, 01 Feb 2024 10:00:00 +0000\nSubject: x\n\nbody\n";
        assert_eq!(written_at(raw, now), 1_706_781_600_000);
        let future = b"Date: Thu, 01 Feb 2046 10:00:00 +0000\n\nbody\n";
        assert_eq!(written_at(future, now), now);
        assert_eq!(written_at(b"Subject: no date\n\nbody\n", now), now);
    }
}
