//! Bounces in the database: a real send to postfix's `smtp-sink`, whose
//! messages' VERP tokens and Message-IDs are then written into bounce
//! messages (DSNs, an ARF complaint, an auto-reply) that `bounces import`
//! and `bounces poll` (from a real dovecot) read back: matching to the
//! right delivery and contact, forged tokens, each rule of the policy,
//! duplicates, `bounces list|show` and `contacts show`.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use mail_parser::MessageParser;
use serde_json::Value;

use crate::harness::{each_backend, Dovecot, SmtpSink, TestApp};

// ---------------------------------------------------------------------------
// Helpers

const DOMAIN: &str = "clearwater-rights.example";
const AMARA: &str = "amara.okonkwo@nairobisignal.example";
const JONAS: &str = "jonas.weber@rheinkurier.example";
const THANDIWE: &str = "thandiwe@capebroadcast.example";
const DESK: &str = "desk@harbourpost.example";

/// Four journalists; the desk is tagged `gone` to be sent to alone.
const CONTACTS: &str = "Email,First Name,Last Name,Outlet,Language,Tags\n\
    amara.okonkwo@nairobisignal.example,Amara,Okonkwo,Nairobi Daily Signal,en,climate\n\
    jonas.weber@rheinkurier.example,Jonas,Weber,Rhein-Kurier,de,politics\n\
    thandiwe@capebroadcast.example,Thandiwe,Nkosi,Cape Broadcast Service,en,radio\n\
    desk@harbourpost.example,,,Harbour Post,,gone\n";

fn setup(app: &TestApp) {
    app.write("contacts.csv", CONTACTS);
    app.ok(["contacts", "import", "contacts.csv"]);
}

/// One message as it arrived at the sink, with the delivery it belongs to.
#[derive(Debug, Clone)]
struct Sent {
    to: String,
    /// The envelope sender: `bounces+TOKEN@DOMAIN`.
    verp: String,
    token: String,
    /// The Message-ID header, without angle brackets.
    message_id: String,
    delivery_id: i64,
    send_id: i64,
    /// The `mailto:` address of its List-Unsubscribe header.
    unsubscribe: String,
}

/// Sends the example release (to the audience `flags`, e.g. `--tag gone`)
/// through a fresh smtp-sink; returns what arrived, by recipient.
fn send(app: &TestApp, flags: &[&str]) -> HashMap<String, Sent> {
    let sink = SmtpSink::start(&[]);
    send_through(app, &sink.url(), flags);
    let send_id = app.count("SELECT max(id) FROM sends");
    let mut out = HashMap::new();
    for m in sink.messages() {
        let to = m.rcpt_to[0].clone();
        let parsed = MessageParser::default().parse(m.raw.as_bytes()).unwrap();
        let message_id = parsed.message_id().unwrap().to_string();
        let token = m
            .mail_from
            .strip_prefix("bounces+")
            .and_then(|t| t.strip_suffix(&format!("@{DOMAIN}")))
            .unwrap_or_else(|| panic!("MAIL FROM {}", m.mail_from))
            .to_string();
        let delivery_id = app.count(&format!(
            "SELECT id FROM deliveries WHERE message_id = '{message_id}'"
        ));
        assert!(token.starts_with(&format!("d{delivery_id}-")), "{token}");
        let unsubscribe = m
            .raw
            .split("<mailto:")
            .nth(1)
            .and_then(|r| r.split(['?', '>']).next())
            .unwrap_or_else(|| panic!("no mailto: in List-Unsubscribe of {to}"))
            .to_string();
        out.insert(
            to.clone(),
            Sent {
                to,
                verp: m.mail_from.clone(),
                token,
                message_id,
                delivery_id,
                send_id,
                unsubscribe,
            },
        );
    }
    out
}

/// `presswire send example.md --yes --rate unlimited --smtp URL FLAGS…`.
fn send_through(app: &TestApp, url: &str, flags: &[&str]) -> String {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("releases/example.md");
    let mut args: Vec<String> = vec![
        "send".into(),
        example.display().to_string(),
        "--yes".into(),
        "--rate".into(),
        "unlimited".into(),
        "--smtp".into(),
        url.into(),
    ];
    args.extend(flags.iter().map(|s| s.to_string()));
    app.ok(args)
}

static BOUNCE_NO: AtomicU32 = AtomicU32::new(0);

/// A delivery status notification (RFC 3464) as an MTA writes it: a
/// text part, the `message/delivery-status` fields and the returned
/// message's headers.
#[derive(Debug, Clone)]
struct Dsn {
    /// Where the bounce went: our VERP address, or another.
    to: String,
    recipient: String,
    /// The returned message's Message-ID and Return-Path (none: left out).
    message_id: Option<String>,
    return_path: Option<String>,
    action: &'static str,
    status: &'static str,
    diagnostic: String,
    date: String,
}

impl Dsn {
    /// A bounce of `s` as it comes back: to its VERP address, quoting its
    /// headers; "user unknown".
    fn hard(s: &Sent) -> Dsn {
        Dsn {
            to: s.verp.clone(),
            recipient: s.to.clone(),
            message_id: Some(s.message_id.clone()),
            return_path: Some(s.verp.clone()),
            action: "failed",
            status: "5.1.1",
            diagnostic: format!(
                "550 5.1.1 <{}>: Recipient address rejected: User unknown in virtual mailbox table",
                s.to
            ),
            date: chrono::Utc::now().to_rfc2822(),
        }
    }

    /// "Mailbox full": a soft bounce.
    fn soft(s: &Sent) -> Dsn {
        Dsn {
            status: "5.2.2",
            diagnostic: format!("552 5.2.2 <{}>: Mailbox full", s.to),
            ..Dsn::hard(s)
        }
    }

    /// "Has moved": the journalist is elsewhere.
    fn moved(s: &Sent) -> Dsn {
        Dsn {
            status: "5.1.6",
            diagnostic: format!(
                "550 5.1.6 <{}>: Recipient has moved to desk@harbour-post.example",
                s.to
            ),
            ..Dsn::hard(s)
        }
    }

    /// A delay warning: not a failure.
    fn delayed(s: &Sent) -> Dsn {
        Dsn {
            action: "delayed",
            status: "4.4.1",
            diagnostic: "451 4.4.1 Connection timed out; still trying".into(),
            ..Dsn::hard(s)
        }
    }

    fn render(&self) -> String {
        let n = BOUNCE_NO.fetch_add(1, Ordering::Relaxed);
        let mut original = String::new();
        if let Some(rp) = &self.return_path {
            original.push_str(&format!("Return-Path: <{rp}>\n"));
        }
        original.push_str(&format!(
            "From: Clearwater Rights Network <press@{DOMAIN}>\nTo: {}\n\
             Subject: Lumo River dam permits must be frozen before the rains\n",
            self.recipient
        ));
        if let Some(mid) = &self.message_id {
            original.push_str(&format!("Message-ID: <{mid}>\n"));
        }
        format!(
            "Date: {date}\n\
             From: Mail Delivery System <MAILER-DAEMON@mx.outlet.example>\n\
             To: {to}\n\
             Subject: Undelivered Mail Returned to Sender\n\
             Auto-Submitted: auto-replied\n\
             Message-Id: <bounce-{n}-{pid}@mx.outlet.example>\n\
             MIME-Version: 1.0\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=\"B0UND\"\n\
             \n\
             --B0UND\n\
             Content-Type: text/plain; charset=us-ascii\n\
             \n\
             This is the mail system at host mx.outlet.example.\n\
             \n\
             I'm sorry to have to inform you that your message could not\n\
             be delivered to one or more recipients.\n\
             \n\
             <{rcpt}>: host mx.outlet.example said: {diag}\n\
             \n\
             --B0UND\n\
             Content-Type: message/delivery-status\n\
             \n\
             Reporting-MTA: dns; mx.outlet.example\n\
             \n\
             Final-Recipient: rfc822; {rcpt}\n\
             Original-Recipient: rfc822;{rcpt}\n\
             Action: {action}\n\
             Status: {status}\n\
             Diagnostic-Code: smtp; {diag}\n\
             \n\
             --B0UND\n\
             Content-Type: text/rfc822-headers\n\
             \n\
             {original}\n\
             --B0UND--\n",
            date = self.date,
            to = self.to,
            pid = std::process::id(),
            rcpt = self.recipient,
            diag = self.diagnostic,
            action = self.action,
            status = self.status,
        )
    }
}

/// An ARF complaint (RFC 5965) about `s`, sent to the abuse address.
fn complaint(s: &Sent) -> String {
    format!(
        "Date: {date}\n\
         From: Feedback Loop <fbl@outlet.example>\n\
         To: abuse@{DOMAIN}\n\
         Subject: Complaint about a message from {DOMAIN}\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"ARFB\"\n\
         \n\
         --ARFB\n\
         Content-Type: text/plain; charset=us-ascii\n\
         \n\
         This is an email abuse report for a message received from {DOMAIN}.\n\
         \n\
         --ARFB\n\
         Content-Type: message/feedback-report\n\
         \n\
         Feedback-Type: abuse\n\
         User-Agent: OutletFBL/1.0\n\
         Version: 1\n\
         Original-Mail-From: <{verp}>\n\
         Original-Rcpt-To: <{to}>\n\
         Reporting-MTA: dns; mx.outlet.example\n\
         \n\
         --ARFB\n\
         Content-Type: message/rfc822\n\
         \n\
         Return-Path: <{verp}>\n\
         From: Clearwater Rights Network <press@{DOMAIN}>\n\
         To: {to}\n\
         Subject: Lumo River dam permits\n\
         Message-ID: <{mid}>\n\
         \n\
         Dear colleague,\n\
         --ARFB--\n",
        date = chrono::Utc::now().to_rfc2822(),
        verp = s.verp,
        to = s.to,
        mid = s.message_id,
    )
}

/// An out-of-office answer (RFC 3834) to `s`, to its return path.
fn auto_reply(s: &Sent) -> String {
    format!(
        "Date: {date}\n\
         From: {to}\n\
         To: {verp}\n\
         Subject: Abwesenheitsnotiz: Lumo-Staudamm\n\
         Auto-Submitted: auto-replied\n\
         X-Autoreply: yes\n\
         In-Reply-To: <{mid}>\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\
         \n\
         I am out of the office until Monday and will read your message then.\n",
        date = chrono::Utc::now().to_rfc2822(),
        to = s.to,
        verp = s.verp,
        mid = s.message_id,
    )
}

/// Writes `contents` to `name` and imports it; returns the JSON report.
fn import(app: &TestApp, name: &str, contents: &str) -> Value {
    app.write(name, contents);
    app.json(["bounces", "import", name, "--format", "json"])
}

/// One recorded bounce.
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    delivery_id: Option<i64>,
    contact_id: Option<i64>,
    email: Option<String>,
    kind: String,
    reason: String,
    matched_by: Option<String>,
    source: String,
    effect: String,
}

fn rows(app: &TestApp) -> Vec<Row> {
    app.texts(
        "SELECT CAST(id AS TEXT), CAST(delivery_id AS TEXT), CAST(contact_id AS TEXT), email, kind, \
             reason, matched_by, source, effect FROM bounces ORDER BY id",
    )
    .into_iter()
    .map(|r| Row {
        id: r[0].as_deref().unwrap().parse().unwrap(),
        delivery_id: r[1].as_deref().map(|v| v.parse().unwrap()),
        contact_id: r[2].as_deref().map(|v| v.parse().unwrap()),
        email: r[3].clone(),
        kind: r[4].clone().unwrap(),
        reason: r[5].clone().unwrap(),
        matched_by: r[6].clone(),
        source: r[7].clone().unwrap(),
        effect: r[8].clone().unwrap_or_default(),
    })
    .collect()
}

fn contact_status(app: &TestApp, email: &str) -> String {
    app.texts(&format!(
        "SELECT status FROM contacts WHERE email_key = '{email}'"
    ))[0][0]
        .clone()
        .unwrap()
}

fn contact_id(app: &TestApp, email: &str) -> i64 {
    app.count(&format!(
        "SELECT id FROM contacts WHERE email_key = '{email}'"
    ))
}

fn delivery_state(app: &TestApp, id: i64) -> String {
    app.texts(&format!("SELECT state FROM deliveries WHERE id = {id}"))[0][0]
        .clone()
        .unwrap()
}

/// The reason of the address suppression of `email`, if any.
fn suppressed(app: &TestApp, email: &str) -> Option<String> {
    app.texts(&format!(
        "SELECT reason FROM suppressions WHERE kind = 'address' AND value = '{email}'"
    ))
    .into_iter()
    .next()
    .and_then(|r| r[0].clone())
}

fn n(v: &Value, field: &str) -> i64 {
    v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("no {field} in {v}"))
}

// ---------------------------------------------------------------------------
// Matching

#[test]
fn verp_tokens_match_bounces_to_their_delivery_and_contact() {
    each_backend(|app| {
        setup(app);
        let sent = send(app, &[]);
        assert_eq!(sent.len(), 4);
        let desk = &sent[DESK];
        let report = import(app, "desk.eml", &Dsn::hard(desk).render());
        assert_eq!(
            (
                n(&report, "messages"),
                n(&report, "results"),
                n(&report, "matched")
            ),
            (1, 1, 1),
            "{report}"
        );
        assert_eq!(
            (
                n(&report, "hard"),
                n(&report, "suppressed"),
                n(&report, "unmatched")
            ),
            (1, 1, 0)
        );
        let b = &rows(app)[0];
        assert_eq!(b.delivery_id, Some(desk.delivery_id));
        assert_eq!(b.contact_id, Some(contact_id(app, DESK)));
        assert_eq!(
            (b.kind.as_str(), b.reason.as_str(), b.source.as_str()),
            ("hard", "userunknown", "file")
        );
        assert_eq!(b.matched_by.as_deref(), Some("verp"));
        assert_eq!(b.email.as_deref(), Some(DESK));
        assert!(b.effect.contains("suppressed"), "{b:?}");

        // The delivery bounced; the contact bounced and is suppressed; the
        // others are untouched.
        assert_eq!(delivery_state(app, desk.delivery_id), "bounced");
        assert_eq!(delivery_state(app, sent[AMARA].delivery_id), "sent");
        assert_eq!(contact_status(app, DESK), "bounced");
        assert_eq!(suppressed(app, DESK).as_deref(), Some("bounced"));
        for other in [AMARA, JONAS, THANDIWE] {
            assert_eq!(contact_status(app, other), "active");
            assert_eq!(suppressed(app, other), None);
        }

        // The table summary says the same.
        let amara = &sent[AMARA];
        app.write("amara.eml", Dsn::soft(amara).render());
        let out = app.ok(["bounces", "import", "amara.eml"]);
        assert!(
            out.contains("1 message read, 1 result: 1 recorded (1 matched, 0 unmatched)"),
            "{out}"
        );
        assert!(out.contains("hard 0, soft 1"), "{out}");

        // `contacts show` lists the contact's bounces.
        let out = app.ok(["contacts", "show", DESK]);
        assert!(out.contains("bounces (1):"), "{out}");
        // The relay's answer to each delivery is called what it is.
        assert!(
            out.contains("RELAY ANSWER") && !out.contains("LAST REPLY"),
            "{out}"
        );
        assert!(out.contains("userunknown") && out.contains("hard"), "{out}");
        // Reasons in words beside their code, wherever a person reads them.
        assert!(
            out.contains("userunknown (address does not exist)"),
            "{out}"
        );
        let report = app.ok(["report", "latest"]);
        assert!(
            report.contains("userunknown (address does not exist)"),
            "{report}"
        );
        let html = app.ok(["report", "latest", "--format", "html"]);
        assert!(
            html.contains("userunknown (address does not exist)"),
            "report html"
        );
        let list = app.ok(["bounces", "list"]);
        assert!(list.contains("mailboxfull (mailbox full)"), "{list}");
        assert!(out.contains("Recipient address rejected"), "{out}");
        let json = app.json(["contacts", "show", AMARA, "--format", "json"]);
        let bounces = json["bounces"].as_array().unwrap();
        assert_eq!(bounces.len(), 1, "{json}");
        assert_eq!(bounces[0]["kind"], "soft");
        assert_eq!(bounces[0]["reason"], "mailboxfull");
        assert_eq!(json["email"], AMARA);
        let out = app.ok(["contacts", "show", JONAS]);
        assert!(out.contains("bounces: none"), "{out}");
    });
}

#[test]
fn forged_or_altered_tokens_match_nobody_and_suppress_nobody() {
    each_backend(|app| {
        setup(app);
        let sent = send(app, &[]);
        let desk = &sent[DESK];
        let amara = &sent[AMARA];
        // A signature that is not ours, on an otherwise real bounce: the
        // real recipient and the real Message-ID are in it, and still
        // nothing may match.
        let (id_part, _sig) = desk.token.split_once('-').unwrap();
        let forged_verp = format!("bounces+{id_part}-0123456789abcdef@{DOMAIN}");
        let mut forged = Dsn::hard(desk);
        forged.to = forged_verp.clone();
        forged.return_path = Some(forged_verp);
        // Amara's signature on the desk's delivery id: altered.
        let amara_sig = amara.token.split_once('-').unwrap().1;
        let altered_verp = format!("bounces+{id_part}-{amara_sig}@{DOMAIN}");
        let mut altered = Dsn::hard(amara);
        altered.to = altered_verp.clone();
        altered.return_path = Some(altered_verp);
        app.write("forged.eml", forged.render());
        app.write("altered.eml", altered.render());
        let report = app.json([
            "bounces",
            "import",
            "forged.eml",
            "altered.eml",
            "--format",
            "json",
        ]);
        assert_eq!(
            (
                n(&report, "unmatched"),
                n(&report, "matched"),
                n(&report, "suppressed")
            ),
            (2, 0, 0),
            "{report}"
        );
        for b in rows(app) {
            assert_eq!(
                (b.delivery_id, b.contact_id, b.matched_by.as_deref()),
                (None, None, None)
            );
            assert!(b.effect.contains("forged or altered"), "{b:?}");
        }
        assert_eq!(app.count("SELECT count(*) FROM suppressions"), 0);
        assert!(app.contacts().iter().all(|c| c["status"] == "active"));
        assert_eq!(delivery_state(app, desk.delivery_id), "sent");
        // Stored and listed for review, never dropped.
        let list = app.json(["bounces", "list", "--unmatched", "--format", "json"]);
        assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    });
}

#[test]
fn message_ids_and_recipients_match_when_there_is_no_token() {
    each_backend(|app| {
        setup(app);
        let sent = send(app, &[]);
        // Came back to another address, the original's headers quoted
        // without its Return-Path: only the Message-ID ties it to us.
        let mut by_mid = Dsn::hard(&sent[JONAS]);
        by_mid.to = format!("postmaster@{DOMAIN}");
        by_mid.return_path = None;
        // Only the recipient: the latest message sent to it.
        let mut by_rcpt = Dsn::soft(&sent[THANDIWE]);
        by_rcpt.to = format!("postmaster@{DOMAIN}");
        by_rcpt.return_path = None;
        by_rcpt.message_id = None;
        // A recipient nothing was sent to.
        let mut stranger = by_rcpt.clone();
        stranger.recipient = "nobody@elsewhere.example".into();
        stranger.diagnostic = "552 5.2.2 <nobody@elsewhere.example>: Mailbox full".into();
        app.write("mid.eml", by_mid.render());
        app.write("rcpt.eml", by_rcpt.render());
        app.write("stranger.eml", stranger.render());
        let report = app.json([
            "bounces",
            "import",
            "mid.eml",
            "rcpt.eml",
            "stranger.eml",
            "--format",
            "json",
        ]);
        assert_eq!(
            (n(&report, "matched"), n(&report, "unmatched")),
            (2, 1),
            "{report}"
        );
        let recorded = rows(app);
        let by_email: HashMap<String, &Row> = recorded
            .iter()
            .map(|r| (r.email.clone().unwrap(), r))
            .collect();
        let b = by_email[JONAS];
        assert_eq!(b.matched_by.as_deref(), Some("message-id"));
        assert_eq!(b.delivery_id, Some(sent[JONAS].delivery_id));
        assert_eq!(b.contact_id, Some(contact_id(app, JONAS)));
        assert_eq!(contact_status(app, JONAS), "bounced");
        let b = by_email[THANDIWE];
        assert_eq!(b.matched_by.as_deref(), Some("recipient"));
        assert_eq!(b.delivery_id, Some(sent[THANDIWE].delivery_id));
        assert_eq!(delivery_state(app, sent[THANDIWE].delivery_id), "bounced");
        let b = by_email["nobody@elsewhere.example"];
        assert_eq!((b.delivery_id, b.matched_by.as_deref()), (None, None));
        assert!(b.effect.contains("nothing was sent to"), "{b:?}");

        // A second send: a bounce naming only the recipient goes to the
        // latest message sent to it.
        let second = send(app, &["--tag", "radio"]);
        let mut again = Dsn::soft(&second[THANDIWE]);
        again.to = format!("postmaster@{DOMAIN}");
        again.return_path = None;
        again.message_id = None;
        import(app, "again.eml", &again.render());
        let last = rows(app).pop().unwrap();
        assert_eq!(last.delivery_id, Some(second[THANDIWE].delivery_id));
        assert_ne!(second[THANDIWE].send_id, sent[THANDIWE].send_id);
    });
}

// ---------------------------------------------------------------------------
// Policy

#[test]
fn three_soft_bounces_within_the_window_suppress_and_two_do_not() {
    each_backend(|app| {
        setup(app);
        let mut effects = Vec::new();
        for i in 1..=3 {
            let s = send(app, &["--tag", "gone"]);
            let report = import(app, &format!("soft{i}.eml"), &Dsn::soft(&s[DESK]).render());
            assert_eq!(n(&report, "soft"), 1, "{report}");
            effects.push(rows(app).pop().unwrap().effect);
            if i < 3 {
                assert_eq!(
                    contact_status(app, DESK),
                    "active",
                    "after {i} soft bounces"
                );
                assert_eq!(suppressed(app, DESK), None, "after {i} soft bounces");
                assert_eq!(n(&report, "suppressed"), 0);
            } else {
                assert_eq!(n(&report, "suppressed"), 1, "{report}");
            }
            assert_eq!(delivery_state(app, s[DESK].delivery_id), "bounced");
        }
        assert_eq!(contact_status(app, DESK), "bounced");
        assert_eq!(suppressed(app, DESK).as_deref(), Some("bounced"));
        assert!(
            effects[0].contains("soft bounce 1 of 3 within 30 days"),
            "{effects:?}"
        );
        assert!(effects[1].contains("soft bounce 2 of 3"), "{effects:?}");
        assert!(
            effects[2].contains("suppressed: 3 soft bounces within 30 days"),
            "{effects:?}"
        );
        // The next send leaves the address out (here: nobody is left).
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("releases/example.md");
        let (out, _) = app.fails(
            2,
            [
                "send",
                example.to_str().unwrap(),
                "--yes",
                "--tag",
                "gone",
                "--smtp",
                "smtp://127.0.0.1:9",
            ],
        );
        assert!(
            out.contains("skipped:    1 (suppressed (bounced))"),
            "{out}"
        );
    });
}

#[test]
fn a_delivery_between_soft_bounces_starts_the_count_again() {
    each_backend(|app| {
        setup(app);
        // Soft, delivered (nothing came back), soft, soft: two since the
        // delivery.
        let first = send(app, &["--tag", "gone"]);
        import(app, "s1.eml", &Dsn::soft(&first[DESK]).render());
        let delivered = send(app, &["--tag", "gone"]);
        for i in 3..=4 {
            let s = send(app, &["--tag", "gone"]);
            import(app, &format!("s{i}.eml"), &Dsn::soft(&s[DESK]).render());
        }
        assert_eq!(delivery_state(app, delivered[DESK].delivery_id), "sent");
        assert_eq!(contact_status(app, DESK), "active");
        assert_eq!(suppressed(app, DESK), None);
        assert!(rows(app)
            .pop()
            .unwrap()
            .effect
            .contains("soft bounce 2 of 3"));
        // A third one after the delivery reaches the limit.
        let s = send(app, &["--tag", "gone"]);
        import(app, "s5.eml", &Dsn::soft(&s[DESK]).render());
        assert_eq!(contact_status(app, DESK), "bounced");
        assert_eq!(suppressed(app, DESK).as_deref(), Some("bounced"));
    });
}

#[test]
fn the_soft_limit_and_window_come_from_presswire_toml() {
    each_backend(|app| {
        setup(app);
        app.write(
            "presswire.toml",
            "[bounces]\nsoft_limit = 2\nsoft_window_days = 30\n",
        );
        // Written 40 days ago: outside the window, it does not count.
        let s = send(app, &["--tag", "gone"]);
        let mut old = Dsn::soft(&s[DESK]);
        old.date = (chrono::Utc::now() - chrono::Duration::days(40)).to_rfc2822();
        import(app, "old.eml", &old.render());
        let s = send(app, &["--tag", "gone"]);
        import(app, "new1.eml", &Dsn::soft(&s[DESK]).render());
        let last = rows(app).pop().unwrap();
        assert!(
            last.effect.contains("soft bounce 1 of 2 within 30 days"),
            "{last:?}"
        );
        assert_eq!(contact_status(app, DESK), "active");
        let s = send(app, &["--tag", "gone"]);
        import(app, "new2.eml", &Dsn::soft(&s[DESK]).render());
        assert_eq!(contact_status(app, DESK), "bounced");
        assert_eq!(suppressed(app, DESK).as_deref(), Some("bounced"));
        // An unknown key is refused, naming it.
        app.write("presswire.toml", "[bounces]\nsoft_limits = 2\n");
        let (_, err) = app.fails(2, ["bounces", "list"]);
        assert!(err.contains("soft_limits"), "{err}");
    });
}

#[test]
fn complaints_auto_replies_moves_and_delays_follow_the_policy() {
    each_backend(|app| {
        setup(app);
        let sent = send(app, &[]);
        app.write("complaint.eml", complaint(&sent[AMARA]));
        app.write("ooo.eml", auto_reply(&sent[JONAS]));
        app.write("moved.eml", Dsn::moved(&sent[DESK]).render());
        app.write("delay.eml", Dsn::delayed(&sent[THANDIWE]).render());
        let report = app.json([
            "bounces",
            "import",
            "complaint.eml",
            "ooo.eml",
            "moved.eml",
            "delay.eml",
            "--format",
            "json",
        ]);
        assert_eq!(
            (
                n(&report, "complaints"),
                n(&report, "auto_replies"),
                n(&report, "hard"),
                n(&report, "not_failures"),
                n(&report, "matched"),
                n(&report, "suppressed")
            ),
            (1, 1, 1, 1, 4, 1),
            "{report}"
        );
        // Complaint: complained and suppressed; the message was delivered.
        assert_eq!(contact_status(app, AMARA), "complained");
        assert_eq!(suppressed(app, AMARA).as_deref(), Some("complained"));
        assert_eq!(delivery_state(app, sent[AMARA].delivery_id), "sent");
        // Auto-reply: recorded, nothing else.
        assert_eq!(contact_status(app, JONAS), "active");
        assert_eq!(suppressed(app, JONAS), None);
        assert_eq!(delivery_state(app, sent[JONAS].delivery_id), "sent");
        // Has moved: needs-update, not suppressed.
        assert_eq!(contact_status(app, DESK), "needs-update");
        assert_eq!(suppressed(app, DESK), None);
        assert_eq!(delivery_state(app, sent[DESK].delivery_id), "bounced");
        // Delayed: recorded only.
        assert_eq!(contact_status(app, THANDIWE), "active");
        assert_eq!(delivery_state(app, sent[THANDIWE].delivery_id), "sent");
        let by_email: HashMap<String, Row> = rows(app)
            .into_iter()
            .map(|r| (r.email.clone().unwrap(), r))
            .collect();
        assert_eq!(by_email[AMARA].kind, "complaint");
        assert_eq!(by_email[JONAS].kind, "auto-reply");
        assert_eq!(by_email[JONAS].matched_by.as_deref(), Some("verp"));
        assert_eq!(by_email[DESK].reason, "hasmoved");
        assert_eq!(by_email[THANDIWE].kind, "not-a-failure");
    });
}

#[test]
fn auto_replies_are_not_counted_as_soft_bounces() {
    each_backend(|app| {
        setup(app);
        for i in 1..=2 {
            let s = send(app, &["--tag", "gone"]);
            import(app, &format!("soft{i}.eml"), &Dsn::soft(&s[DESK]).render());
        }
        let s = send(app, &["--tag", "gone"]);
        import(app, "ooo.eml", &auto_reply(&s[DESK]));
        assert_eq!(contact_status(app, DESK), "active");
        assert_eq!(suppressed(app, DESK), None);
        assert_eq!(rows(app).pop().unwrap().kind, "auto-reply");
    });
}

#[test]
fn smtp_refusals_and_returned_bounces_share_one_soft_count() {
    each_backend(|app| {
        setup(app);
        // Two refusals while sending (5xx "mailbox full": soft), recorded
        // by the sender through the same policy…
        for _ in 0..2 {
            let full = SmtpSink::start(&["-f", "RCPT", "-B", "552 5.2.2 Mailbox full"]);
            let out = send_through(app, &full.url(), &["--tag", "gone"]);
            assert!(out.contains("1 failed"), "{out}");
        }
        let smtp = rows(app);
        assert_eq!(smtp.len(), 2);
        for b in &smtp {
            assert_eq!(
                (
                    b.kind.as_str(),
                    b.reason.as_str(),
                    b.source.as_str(),
                    b.matched_by.as_deref()
                ),
                ("soft", "mailboxfull", "smtp", Some("smtp"))
            );
            assert!(b.effect.contains("soft bounce"), "{b:?}");
        }
        assert!(smtp[1].effect.contains("2 of 3"), "{smtp:?}");
        assert_eq!(contact_status(app, DESK), "active");
        // …and a third that came back by mail reaches the limit.
        let s = send(app, &["--tag", "gone"]);
        import(app, "soft.eml", &Dsn::soft(&s[DESK]).render());
        assert_eq!(contact_status(app, DESK), "bounced");
        assert_eq!(suppressed(app, DESK).as_deref(), Some("bounced"));
    });
}

// ---------------------------------------------------------------------------
// Duplicates, bad input, Maildirs

#[test]
fn importing_the_same_messages_again_counts_nothing_twice() {
    each_backend(|app| {
        setup(app);
        let sent = send(app, &[]);
        let hard = Dsn::hard(&sent[DESK]).render();
        let soft = Dsn::soft(&sent[AMARA]).render();
        app.write("hard.eml", &hard);
        app.write("soft.eml", &soft);
        let first = app.json([
            "bounces", "import", "hard.eml", "soft.eml", "--format", "json",
        ]);
        assert_eq!((n(&first, "recorded"), n(&first, "duplicates")), (2, 0));
        // The same files again, the soft one also as CRLF in an mbox, as
        // an IMAP server or a mail client would have kept it.
        let mbox = format!(
            "From MAILER-DAEMON Thu Feb  1 10:00:00 2024\n{}",
            soft.replace('\n', "\r\n")
        );
        app.write("archive.mbox", mbox);
        let again = app.json([
            "bounces",
            "import",
            "hard.eml",
            "soft.eml",
            "archive.mbox",
            "--format",
            "json",
        ]);
        assert_eq!(
            (
                n(&again, "messages"),
                n(&again, "results"),
                n(&again, "recorded"),
                n(&again, "duplicates"),
                n(&again, "suppressed")
            ),
            (3, 3, 0, 3, 0),
            "{again}"
        );
        assert_eq!(app.count("SELECT count(*) FROM bounces"), 2);
        // The soft bounce still counts once.
        assert_eq!(contact_status(app, AMARA), "active");
        assert!(rows(app)[1].effect.contains("soft bounce 1 of 3"));
        let out = app.ok(["bounces", "import", "soft.eml"]);
        assert!(
            out.contains("0 recorded") && out.contains("1 duplicate skipped"),
            "{out}"
        );
    });
}

#[test]
fn a_path_that_cannot_be_read_stops_the_import_with_nothing_written() {
    each_backend(|app| {
        setup(app);
        let sent = send(app, &[]);
        app.write("good.eml", Dsn::hard(&sent[DESK]).render());
        let (_, err) = app.fails(2, ["bounces", "import", "good.eml", "missing.eml"]);
        assert!(err.contains("missing.eml"), "{err}");
        assert!(err.contains("nothing imported"), "{err}");
        assert_eq!(app.count("SELECT count(*) FROM bounces"), 0);
        assert_eq!(contact_status(app, DESK), "active");

        // What is not mail at all is listed with its path and left out;
        // the rest is imported.
        app.write("empty.eml", "");
        app.write("notes.txt", "call the desk back on Monday\n");
        let out = app.ok(["bounces", "import", "good.eml", "empty.eml", "notes.txt"]);
        assert!(
            out.contains("3 messages read, 1 result: 1 recorded"),
            "{out}"
        );
        assert!(out.contains("not mail, left out (2):"), "{out}");
        assert!(out.contains("empty.eml: empty file"), "{out}");
        assert!(out.contains("notes.txt: not a mail message"), "{out}");
        assert_eq!(contact_status(app, DESK), "bounced");
    });
}

#[test]
fn a_maildir_is_read_from_cur_and_new() {
    each_backend(|app| {
        setup(app);
        let sent = send(app, &[]);
        let md = app.path().join("Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(md.join(sub)).unwrap();
        }
        std::fs::write(md.join("cur/1.host:2,S"), Dsn::hard(&sent[DESK]).render()).unwrap();
        std::fs::write(md.join("new/2.host"), Dsn::soft(&sent[AMARA]).render()).unwrap();
        // Half-written by an MTA: not read.
        std::fs::write(md.join("tmp/3.host"), "Date: Thu, 1 Feb 2024").unwrap();
        std::fs::write(md.join("dovecot-uidlist"), "3 V1 N3\n").unwrap();
        let report = app.json(["bounces", "import", "Maildir", "--format", "json"]);
        assert_eq!(
            (n(&report, "messages"), n(&report, "matched")),
            (2, 2),
            "{report}"
        );
        assert!(report["unparseable"].as_array().unwrap().is_empty());
    });
}

// ---------------------------------------------------------------------------
// list and show

#[test]
fn bounces_list_filters_by_send_kind_reason_date_and_match() {
    each_backend(|app| {
        setup(app);
        let first = send(app, &[]);
        let mut stranger = Dsn::soft(&first[AMARA]);
        stranger.to = format!("postmaster@{DOMAIN}");
        stranger.return_path = None;
        stranger.message_id = None;
        stranger.recipient = "nobody@elsewhere.example".into();
        app.write("hard.eml", Dsn::hard(&first[DESK]).render());
        app.write("soft1.eml", Dsn::soft(&first[AMARA]).render());
        app.write("stranger.eml", stranger.render());
        app.ok(["bounces", "import", "hard.eml", "soft1.eml", "stranger.eml"]);
        let second = send(app, &["--tag", "climate"]);
        import(app, "soft2.eml", &Dsn::soft(&second[AMARA]).render());
        let first_send = first[AMARA].send_id.to_string();

        let ids = |args: &[&str]| -> Vec<i64> {
            let mut all = vec!["bounces", "list", "--format", "json"];
            all.extend_from_slice(args);
            app.json(all)
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["id"].as_i64().unwrap())
                .collect()
        };
        assert_eq!(ids(&[]), [4, 3, 2, 1], "newest first");
        assert_eq!(ids(&["--send", &first_send]), [2, 1]);
        assert_eq!(ids(&["--send", "latest"]), [4]);
        assert_eq!(ids(&["--kind", "hard"]), [1]);
        assert_eq!(ids(&["--kind", "soft"]), [4, 3, 2]);
        assert_eq!(ids(&["--kind", "hard", "--kind", "soft"]), [4, 3, 2, 1]);
        assert_eq!(ids(&["--reason", "mailboxfull", "--send", "latest"]), [4]);
        assert_eq!(ids(&["--unmatched"]), [3]);
        assert_eq!(ids(&["--since", "2000-01-01"]).len(), 4);
        assert!(ids(&["--since", "2999-01-01"]).is_empty());
        assert!(ids(&["--since", "2999-01-01T00:00:00Z"]).is_empty());

        let json = app.json(["bounces", "list", "--kind", "hard", "--format", "json"]);
        let b = &json[0];
        assert_eq!(b["email"], DESK);
        assert_eq!(b["send_id"].as_i64().unwrap().to_string(), first_send);
        assert_eq!(b["delivery_id"], first[DESK].delivery_id);
        assert_eq!(b["matched_by"], "verp");
        assert_eq!(b["status_code"], "5.1.1");

        let csv = app.ok(["bounces", "list", "--format", "csv"]);
        let mut lines = csv.lines();
        let header = lines.next().unwrap();
        assert!(
            header.starts_with(
                "id,received_at,email,kind,reason,status_code,reply_code,diagnostic,send_id"
            ),
            "{header}"
        );
        assert_eq!(lines.count(), 4, "{csv}");

        let table = app.ok(["bounces", "list"]);
        assert!(
            table.contains("unmatched") && table.contains("userunknown"),
            "{table}"
        );
        assert!(table.contains("4 bounces"), "{table}");

        let (_, err) = app.fails(2, ["bounces", "list", "--kind", "bouncy"]);
        assert!(err.contains("hard, soft, complaint"), "{err}");
        let (_, err) = app.fails(2, ["bounces", "list", "--reason", "sunspots"]);
        assert!(err.contains("sunspots"), "{err}");
        let (_, err) = app.fails(2, ["bounces", "list", "--since", "yesterday"]);
        assert!(err.contains("YYYY-MM-DD"), "{err}");
    });
}

#[test]
fn bounces_show_prints_the_record_and_raw_prints_the_message_byte_for_byte() {
    each_backend(|app| {
        setup(app);
        let sent = send(app, &[]);
        // CRLF line ends and 8-bit text: kept exactly as they came.
        let raw = Dsn::hard(&sent[DESK])
            .render()
            .replace(
                "This is the mail system",
                "Ceci est le système de messagerie",
            )
            .replace('\n', "\r\n");
        app.write("hard.eml", &raw);
        app.ok(["bounces", "import", "hard.eml"]);
        let id = rows(app)[0].id.to_string();

        let out = app.run(["bounces", "show", &id, "--raw"]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(out.stdout, raw.as_bytes());

        let table = app.ok(["bounces", "show", &id]);
        for want in [
            "userunknown",
            "verp",
            "suppressed: hard bounce",
            DESK,
            "hard.eml",
        ] {
            assert!(table.contains(want), "{want}:\n{table}");
        }
        assert!(table.contains(&format!("{} bytes", raw.len())), "{table}");
        let json = app.json(["bounces", "show", &id, "--format", "json"]);
        assert_eq!(json["id"].as_i64().unwrap().to_string(), id);
        assert_eq!(json["verp_token"], sent[DESK].token);
        assert_eq!(json["message_id"], sent[DESK].message_id);

        let (_, err) = app.fails(2, ["bounces", "show", "999"]);
        assert!(err.contains("no bounce 999"), "{err}");
    });
}

// ---------------------------------------------------------------------------
// IMAP

/// APPENDs `bytes` (CRLF line ends) to the INBOX over IMAP.
fn append(dovecot: &Dovecot, bytes: &str) {
    let port = dovecot.port();
    let bytes = bytes.replace("\r\n", "\n").replace('\n', "\r\n");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let mut client = async_imap::Client::new(tcp);
            client.read_response().await.unwrap().unwrap();
            let mut session = client
                .login(Dovecot::USER, Dovecot::PASSWORD)
                .await
                .map_err(|(e, _)| e)
                .unwrap();
            session.append("INBOX", None, None, bytes).await.unwrap();
            session.logout().await.unwrap();
        });
}

#[test]
fn poll_once_imports_moves_handled_messages_and_leaves_the_unreadable() {
    each_backend(|app| {
        setup(app);
        let sent = send(app, &[]);
        let dovecot = Dovecot::start();
        // One dropped into Maildir/new by the "MTA", one APPENDed, and one
        // that is no mail message at all.
        dovecot.deliver("1.bounce", Dsn::hard(&sent[DESK]).render().as_bytes());
        append(&dovecot, &complaint(&sent[AMARA]));
        dovecot.deliver("3.junk", b"\x00\x01 binary junk, no headers\n");
        assert_eq!(dovecot.count("INBOX"), 3);
        app.write(
            "presswire.toml",
            format!(
                "[imap]\nurl = \"{}\"\nmove_to = \"presswire-processed\"\ninterval = \"5m\"\n",
                dovecot.url()
            ),
        );
        let out = app.run(["bounces", "poll", "--once"]);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(
            stdout.contains("3 messages read, 2 results: 2 recorded (2 matched, 0 unmatched)"),
            "{stdout}"
        );
        assert!(
            stdout.contains("moved 2 to presswire-processed (created); 1 left"),
            "{stdout}"
        );
        assert!(stdout.contains("not mail, left out (1):"), "{stdout}");
        assert!(stdout.contains("UID="), "{stdout}");
        assert!(stdout.contains("imap://test:***@127.0.0.1"), "{stdout}");
        assert!(!stdout.contains(Dovecot::PASSWORD) && !stderr.contains(Dovecot::PASSWORD));

        // The mailbox: the junk stayed, the bounces were moved, not deleted.
        assert_eq!(dovecot.count("INBOX"), 1);
        assert!(dovecot.messages("INBOX")[0].starts_with(b"\x00\x01 binary junk"));
        assert_eq!(dovecot.count("presswire-processed"), 2);
        // The database: matched, the policy applied.
        let rows = rows(app);
        assert_eq!(rows.len(), 2);
        assert!(rows
            .iter()
            .all(|r| r.source == "imap" && r.matched_by.as_deref() == Some("verp")));
        assert_eq!(contact_status(app, DESK), "bounced");
        assert_eq!(contact_status(app, AMARA), "complained");
        let origin = app.texts("SELECT origin FROM bounces ORDER BY id")[0][0]
            .clone()
            .unwrap();
        assert!(
            origin.starts_with("imap://test@127.0.0.1:") && origin.contains("/INBOX;UID="),
            "{origin}"
        );
        assert!(!origin.contains(Dovecot::PASSWORD), "{origin}");

        // Again: only the junk is there; nothing is recorded twice; the
        // raw message fetched over IMAP is kept.
        let again = app.json(["bounces", "poll", "--once", "--format", "json"]);
        assert_eq!(
            (
                n(&again, "messages"),
                n(&again, "recorded"),
                n(&again, "moved")
            ),
            (1, 0, 0),
            "{again}"
        );
        assert_eq!(again["created_folder"], false);
        assert_eq!(dovecot.count("presswire-processed"), 2);
        let id = rows[0].id.to_string();
        let raw = app.run(["bounces", "show", &id, "--raw"]).stdout;
        assert!(String::from_utf8_lossy(&raw).contains(&sent[DESK].token));
    });
}

#[test]
fn poll_refuses_a_wrong_password_and_plain_text_where_tls_is_required() {
    each_backend(|app| {
        let dovecot = Dovecot::start();
        dovecot.deliver("1.msg", b"Subject: hello\n\nhi\n");
        let wrong = dovecot.url().replace(Dovecot::PASSWORD, "hunter2");
        let (out, err) = app.fails(2, ["bounces", "poll", "--once", "--url", &wrong]);
        assert!(err.contains("refused the login"), "{err}");
        assert!(
            !out.contains("hunter2") && !err.contains("hunter2"),
            "{err}"
        );
        // STARTTLS asked for, and this dovecot has no TLS: refused, not
        // sent in clear text.
        let starttls = format!("{}?tls=starttls", dovecot.url());
        let (out, err) = app.fails(2, ["bounces", "poll", "--once", "--url", &starttls]);
        assert!(err.contains("STARTTLS"), "{err}");
        assert!(
            !out.contains(Dovecot::PASSWORD) && !err.contains(Dovecot::PASSWORD),
            "{err}"
        );
        // No mailbox configured at all.
        let (_, err) = app.fails(2, ["bounces", "poll", "--once"]);
        assert!(err.contains("[imap]"), "{err}");
        // Nothing was touched.
        assert_eq!(dovecot.count("INBOX"), 1);
        assert_eq!(app.count("SELECT count(*) FROM bounces"), 0);
    });
}

#[test]
fn poll_over_tls_refuses_a_certificate_it_cannot_trust() {
    each_backend(|app| {
        let dovecot = Dovecot::start_tls();
        dovecot.deliver("1.msg", b"Subject: hello\n\nhi\n");
        let imaps = format!(
            "imaps://{}:{}@127.0.0.1:{}/INBOX",
            Dovecot::USER,
            Dovecot::PASSWORD,
            dovecot.imaps_port()
        );
        let starttls = format!("{}?tls=starttls", dovecot.url());
        // TLS from the first byte, and STARTTLS: both reach the handshake
        // and stop at the self-signed certificate, before any password.
        for url in [imaps, starttls] {
            let (out, err) = app.fails(1, ["bounces", "poll", "--once", "--url", &url]);
            assert!(
                err.contains("TLS") && err.contains("certificate"),
                "{url}: {err}"
            );
            assert!(!out.contains(Dovecot::PASSWORD) && !err.contains(Dovecot::PASSWORD));
        }
        assert_eq!(dovecot.count("INBOX"), 1);
    });
}

#[test]
fn poll_without_once_repeats_at_the_interval_until_interrupted() {
    each_backend(|app| {
        setup(app);
        let sent = send(app, &[]);
        let dovecot = Dovecot::start();
        let child = app
            .command()
            .args([
                "bounces",
                "poll",
                "--interval",
                "1",
                "--url",
                &dovecot.url(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Mail arriving while it runs is picked up by a later poll.
        std::thread::sleep(Duration::from_millis(300));
        dovecot.deliver("1.bounce", Dsn::hard(&sent[DESK]).render().as_bytes());
        let deadline = Instant::now() + Duration::from_secs(20);
        while dovecot.count("presswire-processed") < 1 {
            assert!(Instant::now() < deadline, "the bounce was not polled");
            std::thread::sleep(Duration::from_millis(100));
        }
        let status = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(contact_status(app, DESK), "bounced");
        assert_eq!(dovecot.count("INBOX"), 0);
    });
}

// ---------------------------------------------------------------------------
// Unsubscribe by mail

/// What a mail client sends to the `mailto:` of List-Unsubscribe.
fn unsubscribe_mail(s: &Sent) -> String {
    format!(
        "From: Reader <{}>\r\n\
         To: {}\r\n\
         Subject: unsubscribe\r\n\
         Date: Mon, 7 Dec 2026 09:00:00 +0000\r\n\
         Message-ID: <unsub-1@mail.example>\r\n\r\n\
         This message was automatically generated by Mail to unsubscribe.\r\n",
        s.to, s.unsubscribe
    )
}

#[test]
fn a_message_to_the_unsubscribe_address_unsubscribes_and_is_no_complaint() {
    each_backend(|app| {
        setup(app);
        let sent = send(app, &[]);
        let amara = &sent[AMARA];
        assert!(
            amara.unsubscribe.starts_with("unsubscribe+u"),
            "{}",
            amara.unsubscribe
        );
        app.write("unsub.eml", unsubscribe_mail(amara));
        let out = app.ok(["bounces", "import", "unsub.eml"]);
        assert!(out.contains("unsubscribed 1"), "{out}");
        assert!(out.contains("complaints 0"), "{out}");
        assert_eq!(contact_status(app, AMARA), "unsubscribed");
        assert_eq!(suppressed(app, AMARA).as_deref(), Some("unsubscribed"));
        // No bounce or complaint is recorded, and the report counts an
        // unsubscribe, not a complaint.
        assert!(rows(app).is_empty());
        let report = app.json(["report", "latest", "--format", "json"]);
        assert_eq!(report["counts"]["unsubscribed"], 1, "{}", report["counts"]);
        assert_eq!(report["counts"]["complaints"], 0, "{}", report["counts"]);
        // The same message again changes nothing.
        let out = app.ok(["bounces", "import", "unsub.eml"]);
        assert!(out.contains("unsubscribed 0"), "{out}");
        let report = app.json(["report", "latest", "--format", "json"]);
        assert_eq!(report["counts"]["unsubscribed"], 1);
        // Nobody else was touched.
        for other in [JONAS, THANDIWE, DESK] {
            assert_eq!(contact_status(app, other), "active");
            assert_eq!(suppressed(app, other), None);
        }
    });
}

#[test]
fn an_unsubscribe_mail_with_a_forged_token_changes_nobody() {
    each_backend(|app| {
        setup(app);
        let sent = send(app, &[]);
        let mut jonas = sent[JONAS].clone();
        // Another contact's id with Jonas's signature: not ours.
        let contact = contact_id(app, AMARA);
        let (_, rest) = jonas.unsubscribe.split_once('.').unwrap();
        jonas.unsubscribe = format!("unsubscribe+u{contact}.{rest}");
        app.write("forged.eml", unsubscribe_mail(&jonas));
        let out = app.ok(["bounces", "import", "forged.eml"]);
        assert!(
            out.contains("unsubscribed 0") && out.contains("complaints 0"),
            "{out}"
        );
        for email in [AMARA, JONAS] {
            assert_eq!(contact_status(app, email), "active");
            assert_eq!(suppressed(app, email), None);
        }
        // Kept for a person to look at, as no failure, touching nobody.
        let rows = rows(app);
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].kind, "not-a-failure");
    });
}

#[test]
fn poll_reads_unsubscribe_mail_from_the_bounce_mailbox() {
    each_backend(|app| {
        setup(app);
        let sent = send(app, &[]);
        let dovecot = Dovecot::start();
        append(&dovecot, &unsubscribe_mail(&sent[THANDIWE]));
        app.write(
            "presswire.toml",
            format!(
                "[imap]\nurl = \"{}\"\nmove_to = \"presswire-processed\"\n",
                dovecot.url()
            ),
        );
        let out = app.ok(["bounces", "poll", "--once"]);
        assert!(out.contains("unsubscribed 1"), "{out}");
        assert_eq!(contact_status(app, THANDIWE), "unsubscribed");
        assert_eq!(suppressed(app, THANDIWE).as_deref(), Some("unsubscribed"));
        assert_eq!(dovecot.count("INBOX"), 0);
        assert_eq!(dovecot.count("presswire-processed"), 1);
        let report = app.json(["report", "latest", "--format", "json"]);
        assert_eq!(report["counts"]["unsubscribed"], 1);
        assert_eq!(report["counts"]["complaints"], 0);
    });
}
