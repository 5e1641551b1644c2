//! Sending to a real SMTP server, postfix's `smtp-sink`: what arrived at the
//! sink (envelope, headers, body, DKIM signature checked by mail-auth) and
//! what the database says (deliveries, bounces, suppressions, contacts),
//! through soft and hard rejections, a relay that is down, the TLS rule,
//! the SMTP password, and the flags of `send` and `sends`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use mail_parser::{Message, MessageParser};
use presswire::send::tokens::Signer;

use crate::harness::{each_backend, free_port, SinkMessage, SmtpSink, TestApp};

// ---------------------------------------------------------------------------
// Helpers

/// The repository's example release (English, with a German variant).
fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("releases/example.md")
        .display()
        .to_string()
}

/// The example release's sender domain: Message-IDs, VERP and unsubscribe
/// addresses are at this domain.
const DOMAIN: &str = "clearwater-rights.example";

/// Four journalists: two in English with a first name, one in German, one
/// with only an address; one of them tagged `gone` for the bounce tests.
const CONTACTS: &str = "Email,First Name,Last Name,Outlet,Beat,Language,Tags\n\
    amara.okonkwo@nairobisignal.example,Amara,Okonkwo,Nairobi Daily Signal,Environment,en,climate\n\
    jonas.weber@rheinkurier.example,Jonas,Weber,Rhein-Kurier,,de,politics\n\
    thandiwe@capebroadcast.example,Thandiwe,Nkosi,Cape Broadcast Service,,en,radio\n\
    desk@harbourpost.example,,,Harbour Post,,,gone\n";

/// Imports `csv` (as contacts.csv) into the test database.
fn import(app: &TestApp, csv: &str) {
    app.write("contacts.csv", csv);
    app.ok(["contacts", "import", "contacts.csv"]);
}

/// `n` contacts on three domains.
fn many(n: usize) -> String {
    let mut csv = String::from("Email,First Name\n");
    for i in 0..n {
        csv.push_str(&format!(
            "reporter{i}@outlet{}.example,Reporter{i}\n",
            i % 3
        ));
    }
    csv
}

/// `presswire send example.md --yes --rate unlimited --smtp URL EXTRA…`;
/// returns the run's output, whatever its exit code.
fn send(app: &TestApp, url: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        example(),
        "--yes".into(),
        "--rate".into(),
        "unlimited".into(),
        "--smtp".into(),
        url.to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    app.run(std::iter::once("send".to_string()).chain(args))
}

/// Like [`send`], asserting success; returns stdout.
fn send_ok(app: &TestApp, url: &str, extra: &[&str]) -> String {
    let out = send(app, url, extra);
    let (stdout, stderr) = texts(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "[{}] send failed\nstdout:\n{stdout}\nstderr:\n{stderr}",
        app.backend
    );
    stdout
}

fn texts(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn parse(raw: &str) -> Message<'_> {
    MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap_or_else(|| panic!("not a MIME message:\n{raw}"))
}

/// A header's raw value, unfolded and trimmed.
fn header(m: &Message<'_>, name: &str) -> String {
    m.header_raw(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .replace(['\r', '\n'], "")
        .trim()
        .to_string()
}

fn address(v: Option<&mail_parser::Address<'_>>) -> String {
    v.and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_string()
}

/// One delivery row.
#[derive(Debug, Clone)]
struct Delivery {
    id: i64,
    send_id: i64,
    contact_id: Option<i64>,
    email: String,
    state: String,
    attempts: i64,
    message_id: Option<String>,
    last_reply: Option<String>,
}

fn deliveries(app: &TestApp) -> Vec<Delivery> {
    app.texts(
        "SELECT CAST(id AS TEXT), CAST(send_id AS TEXT), CAST(contact_id AS TEXT), email, state, \
             CAST(attempts AS TEXT), message_id, last_reply FROM deliveries ORDER BY id",
    )
    .into_iter()
    .map(|r| Delivery {
        id: r[0].as_deref().unwrap().parse().unwrap(),
        send_id: r[1].as_deref().unwrap().parse().unwrap(),
        contact_id: r[2].as_deref().map(|c| c.parse().unwrap()),
        email: r[3].clone().unwrap(),
        state: r[4].clone().unwrap(),
        attempts: r[5].as_deref().unwrap().parse().unwrap(),
        message_id: r[6].clone(),
        last_reply: r[7].clone(),
    })
    .collect()
}

/// Deliveries per state.
fn states(app: &TestApp) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for d in deliveries(app) {
        *m.entry(d.state).or_default() += 1;
    }
    m
}

fn state_of_send(app: &TestApp, id: i64) -> String {
    app.texts(&format!("SELECT state FROM sends WHERE id = {id}"))[0][0]
        .clone()
        .unwrap()
}

/// The newest send's id.
fn last_send(app: &TestApp) -> i64 {
    app.count("SELECT max(id) FROM sends")
}

/// The team's signing key, to check the tokens in what arrived.
fn signer(app: &TestApp) -> Signer {
    let key = app.texts("SELECT value FROM secrets WHERE name = 'signing'")[0][0]
        .clone()
        .unwrap();
    Signer::from_key(key.as_bytes())
}

/// How many copies each recipient got.
fn copies(messages: &[SinkMessage]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for msg in messages {
        for r in &msg.rcpt_to {
            *m.entry(r.clone()).or_default() += 1;
        }
    }
    m
}

/// Asserts every address in `emails` arrived exactly once, and nobody else.
fn assert_once_each(messages: &[SinkMessage], emails: &[&str]) {
    let got = copies(messages);
    let want: BTreeMap<String, usize> = emails.iter().map(|e| (e.to_string(), 1)).collect();
    assert_eq!(got, want, "copies per recipient at the sink");
    for m in messages {
        assert_eq!(m.rcpt_to.len(), 1, "one recipient per message");
    }
}

/// Waits until `cond` holds (up to `secs`).
fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A release with an embargo in the far future.
const EMBARGOED: &str = "+++\ntitle = \"Embargoed\"\nsubject = \"Report on the Lumo basin\"\n\
    embargo = 2099-05-10T09:00:00+03:00\n\
    [from]\nname = \"Clearwater Rights Network\"\nemail = \"press@clearwater-rights.example\"\n+++\n\
    Dear {{ contact.first_name or \"colleague\" }},\n\nThe report is attached in spirit.\n";

// ---------------------------------------------------------------------------
// 1. Every message arrives exactly once, with the right headers and body.

#[test]
fn every_message_arrives_once_with_its_envelope_headers_and_personal_body() {
    each_backend(|app| {
        let sink = SmtpSink::start(&[]);
        import(app, CONTACTS);
        let out = send_ok(app, &sink.url(), &[]);
        assert!(out.contains("4 sent, 0 deferred, 0 failed"), "{out}");

        let arrived = sink.messages();
        assert_once_each(
            &arrived,
            &[
                "amara.okonkwo@nairobisignal.example",
                "jonas.weber@rheinkurier.example",
                "thandiwe@capebroadcast.example",
                "desk@harbourpost.example",
            ],
        );
        let send_id = last_send(app);
        assert_eq!(state_of_send(app, send_id), "finished");
        let signer = signer(app);
        let by_email: HashMap<String, Delivery> = deliveries(app)
            .into_iter()
            .map(|d| (d.email.clone(), d))
            .collect();
        for msg in &arrived {
            let to = &msg.rcpt_to[0];
            let d = &by_email[to];
            assert_eq!((d.state.as_str(), d.attempts), ("sent", 1), "{d:?}");
            assert_eq!(d.send_id, send_id);
            assert!(d.last_reply.as_deref().unwrap().starts_with("250"), "{d:?}");
            let m = parse(&msg.raw);

            // Envelope: VERP bounce address naming this delivery, signed.
            let token = msg
                .mail_from
                .strip_prefix("bounces+")
                .and_then(|t| t.strip_suffix(&format!("@{DOMAIN}")))
                .unwrap_or_else(|| panic!("MAIL FROM {}", msg.mail_from));
            assert!(token.starts_with(&format!("d{}-", d.id)), "{token}");
            assert_eq!(signer.verify_verp(token), Some(d.id));

            // From, To, Subject.
            assert_eq!(address(m.from()), "press@clearwater-rights.example");
            assert_eq!(address(m.to()), *to);

            // Message-ID: stored with the delivery, the same as the header.
            let mid = m.message_id().unwrap();
            assert_eq!(d.message_id.as_deref(), Some(mid), "{to}");
            assert!(mid.ends_with(&format!("@{DOMAIN}")), "{mid}");
            assert_eq!(header(&m, "Message-ID"), format!("<{mid}>"));

            // List-Unsubscribe: a mailto with a token signed for this contact and send.
            let unsubscribe = header(&m, "List-Unsubscribe");
            let token = unsubscribe
                .strip_prefix("<mailto:unsubscribe+")
                .and_then(|t| t.split_once('@'))
                .map(|(t, _)| t)
                .unwrap_or_else(|| panic!("List-Unsubscribe: {unsubscribe}"));
            assert_eq!(
                signer.verify_unsubscribe(token),
                Some((d.contact_id.unwrap(), send_id)),
                "{unsubscribe}"
            );
            assert!(
                unsubscribe.contains(&format!("@{DOMAIN}?subject=unsubscribe>")),
                "{unsubscribe}"
            );
            // No https URL configured: no one-click header (RFC 8058 needs one).
            assert!(m.header_raw("List-Unsubscribe-Post").is_none());
            assert!(
                header(&m, "X-Presswire-Send").starts_with(&format!("{send_id} ")),
                "{}",
                header(&m, "X-Presswire-Send")
            );

            // The personal body, in the contact's language.
            let subject = m.subject().unwrap();
            let text = m.body_text(0).unwrap();
            match to.as_str() {
                "amara.okonkwo@nairobisignal.example" => {
                    assert_eq!(
                        subject,
                        "Amara, for your environment desk: Lumo River dam permits must be frozen before the rains"
                    );
                    assert!(text.contains("Dear Amara,"), "{text}");
                    assert!(text.contains("Nairobi Daily Signal"), "{text}");
                }
                "thandiwe@capebroadcast.example" => {
                    assert!(
                        subject.starts_with("Thandiwe, for your desk: "),
                        "{subject}"
                    );
                    assert!(text.contains("Dear Thandiwe,"), "{text}");
                }
                "jonas.weber@rheinkurier.example" => {
                    assert_eq!(
                        subject,
                        "Lumo-Staudamm: 40 Gemeinden fordern Stopp der Genehmigungen vor der Regenzeit"
                    );
                    assert!(text.contains("Guten Tag Jonas"), "{text}");
                    assert!(text.contains("Rhein-Kurier"), "{text}");
                    assert_eq!(header(&m, "Content-Language"), "de");
                }
                _ => {
                    assert!(subject.starts_with("Lumo River dam permits"), "{subject}");
                    assert!(text.contains("Dear colleague,"), "{text}");
                }
            }
            assert!(
                m.body_html(0).unwrap().contains("<html"),
                "an HTML part too"
            );
        }
    });
}

// ---------------------------------------------------------------------------
// 2. 4xx faults end delivered after retries.

#[test]
fn soft_rejections_are_retried_and_end_delivered_once() {
    each_backend(|app| {
        import(app, &many(5));
        // Retry after a second, then after an hour: the first run tries
        // twice and stops with the deliveries deferred.
        app.write("presswire.toml", "[send]\nretry_delays = [1, 3600]\n");
        let greylisting = SmtpSink::start(&["-r", "RCPT", "-b", "450 4.7.1 Greylisted, try later"]);
        let out = send_ok(app, &greylisting.url(), &[]);
        assert!(out.contains("0 sent"), "{out}");
        assert!(out.contains("sends resume"), "{out}");
        assert!(greylisting.messages().is_empty());
        let send_id = last_send(app);
        for d in deliveries(app) {
            assert_eq!((d.state.as_str(), d.attempts), ("deferred", 2), "{d:?}");
            assert!(
                d.last_reply.as_deref().unwrap().contains("Greylisted"),
                "{d:?}"
            );
        }
        assert_eq!(app.count("SELECT count(*) FROM bounces"), 0);
        drop(greylisting);

        // The relay takes mail again: resuming retries now, not in an hour.
        let sink = SmtpSink::start(&[]);
        let out = app.ok([
            "sends",
            "resume",
            &send_id.to_string(),
            "--smtp",
            &sink.url(),
        ]);
        assert!(out.contains("5 sent"), "{out}");
        let emails: Vec<String> = (0..5)
            .map(|i| format!("reporter{i}@outlet{}.example", i % 3))
            .collect();
        let emails: Vec<&str> = emails.iter().map(String::as_str).collect();
        assert_once_each(&sink.messages(), &emails);
        for d in deliveries(app) {
            assert_eq!((d.state.as_str(), d.attempts), ("sent", 3), "{d:?}");
        }
        assert_eq!(state_of_send(app, send_id), "finished");
        // A contact deferred is not a contact bounced.
        assert!(app.contacts().iter().all(|c| c["status"] == "active"));
    });
}

// ---------------------------------------------------------------------------
// 3. 5xx faults end failed + bounced + suppressed.

#[test]
fn hard_rejections_fail_bounce_and_suppress_and_the_next_send_skips_them() {
    each_backend(|app| {
        import(app, CONTACTS);
        let rejecting = SmtpSink::start(&["-f", "RCPT", "-B", "550 5.1.1 User unknown"]);
        let out = send_ok(app, &rejecting.url(), &["--tag", "gone"]);
        assert!(out.contains("0 sent, 0 deferred, 1 failed"), "{out}");
        assert!(rejecting.messages().is_empty());
        drop(rejecting);

        let d = deliveries(app);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].state.as_str(), d[0].attempts), ("failed", 1));
        assert!(
            d[0].last_reply.as_deref().unwrap().contains("5.1.1"),
            "{d:?}"
        );
        let bounces = app.texts(
            "SELECT CAST(delivery_id AS TEXT), email, kind, reason, source, status_code, \
                 CAST(reply_code AS TEXT), diagnostic FROM bounces",
        );
        assert_eq!(bounces.len(), 1, "{bounces:?}");
        let b = &bounces[0];
        assert_eq!(b[0].as_deref(), Some(d[0].id.to_string().as_str()));
        assert_eq!(b[1].as_deref(), Some("desk@harbourpost.example"));
        assert_eq!(
            (b[2].as_deref(), b[3].as_deref(), b[4].as_deref()),
            (Some("hard"), Some("userunknown"), Some("smtp"))
        );
        assert_eq!(
            (b[5].as_deref(), b[6].as_deref()),
            (Some("5.1.1"), Some("550"))
        );
        assert!(b[7].as_deref().unwrap().contains("User unknown"), "{b:?}");
        let desk = app
            .contacts()
            .into_iter()
            .find(|c| c["email"] == "desk@harbourpost.example")
            .unwrap();
        assert_eq!(desk["status"], "bounced", "{desk}");
        assert_eq!(
            app.texts("SELECT kind, value, reason FROM suppressions"),
            vec![vec![
                Some("address".to_string()),
                Some("desk@harbourpost.example".to_string()),
                Some("bounced".to_string())
            ]]
        );

        // The next send leaves the bounced contact out.
        let sink = SmtpSink::start(&[]);
        let out = send_ok(app, &sink.url(), &[]);
        assert!(out.contains("3 sent"), "{out}");
        assert_once_each(
            &sink.messages(),
            &[
                "amara.okonkwo@nairobisignal.example",
                "jonas.weber@rheinkurier.example",
                "thandiwe@capebroadcast.example",
            ],
        );
        let second = last_send(app);
        let skipped = app.texts(&format!(
            "SELECT email, skip_reason FROM deliveries WHERE send_id = {second} AND state = 'skipped'"
        ));
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert_eq!(skipped[0][0].as_deref(), Some("desk@harbourpost.example"));
        assert!(
            skipped[0][1].as_deref().unwrap().contains("suppressed"),
            "{skipped:?}"
        );
        assert_eq!(app.count("SELECT count(*) FROM bounces"), 1);
    });
}

/// The bounce recorded for each address: (email, kind, reason).
fn bounce_reasons(app: &TestApp) -> Vec<(String, String, String)> {
    app.texts("SELECT email, kind, reason FROM bounces ORDER BY email")
        .into_iter()
        .map(|r| {
            let s = |i: usize| r[i].clone().unwrap_or_default();
            (s(0), s(1), s(2))
        })
        .collect()
}

/// A bare "550 No such user" (no enhanced status code) means what the
/// command it answered says: at RCPT TO the address does not exist (hard,
/// suppressed); at MAIL FROM the relay refused our sender, which is no
/// fault of the contact (soft, kept).
#[test]
fn a_bare_550_is_classified_by_the_command_it_answered() {
    each_backend(|app| {
        import(app, CONTACTS);
        let at_rcpt = SmtpSink::start(&["-f", "RCPT", "-B", "550 No such user"]);
        let out = send_ok(app, &at_rcpt.url(), &["--tag", "gone"]);
        assert!(out.contains("1 failed"), "{out}");
        drop(at_rcpt);
        assert_eq!(
            bounce_reasons(app),
            vec![(
                "desk@harbourpost.example".to_string(),
                "hard".to_string(),
                "userunknown".to_string()
            )]
        );
        assert_eq!(app.count("SELECT count(*) FROM suppressions"), 1);

        let at_mail = SmtpSink::start(&["-f", "MAIL", "-B", "550 No such user"]);
        let out = send_ok(app, &at_mail.url(), &["--tag", "politics"]);
        assert!(out.contains("1 failed"), "{out}");
        assert!(at_mail.messages().is_empty());
        drop(at_mail);
        let reasons = bounce_reasons(app);
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        let mail = reasons.iter().find(|r| r.0 != "desk@harbourpost.example");
        assert_eq!(
            mail.map(|r| (r.1.as_str(), r.2.as_str())),
            Some(("soft", "rejected")),
            "{reasons:?}"
        );
        // Only the unknown user is suppressed.
        assert_eq!(app.count("SELECT count(*) FROM suppressions"), 1);

        // `sends` counts both as bounced, as `report` does, not as OTHER.
        let list = app.ok(["sends", "list"]);
        let rows = table_rows(&list);
        assert_eq!(
            rows[0][4..],
            [
                "TOTAL",
                "DELIVERED",
                "BOUNCED",
                "FAILED",
                "PENDING",
                "OTHER"
            ],
            "{list}"
        );
        for row in &rows[1..] {
            assert_eq!(row[4..], ["1", "0", "1", "0", "0", "0"], "{list}");
        }
        let report = app.json(["report", "latest", "--format", "json"]);
        assert_eq!(report["counts"]["bounced"], 1, "{report}");
    });
}

/// The cells of each row of a table as `presswire` prints it.
fn table_rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|l| l.starts_with('│'))
        .map(|l| {
            l.trim_matches('│')
                .split(['┆', '│'])
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// The same through a relay that pipelines: the refusal is read among
/// MAIL's, RCPT's and DATA's replies, and still tied to RCPT.
#[test]
fn a_bare_550_to_a_pipelined_rcpt_is_an_unknown_user() {
    each_backend(|app| {
        import(
            app,
            "Email,First Name\nreporter1@outlet.example,Ann\nbare2@outlet.example,Ben\nreporter3@outlet.example,Cem\n",
        );
        let (url, log) = pipelining_relay();
        let out = send_ok(app, &url, &[]);
        assert!(out.contains("2 sent, 0 deferred, 1 failed"), "{out}");
        assert_eq!(log.lock().unwrap().delivered.len(), 2);
        assert_eq!(
            bounce_reasons(app),
            vec![(
                "bare2@outlet.example".to_string(),
                "hard".to_string(),
                "userunknown".to_string()
            )]
        );
    });
}

// ---------------------------------------------------------------------------
// 3b. A relay that offers PIPELINING: MAIL, RCPT and DATA go together,
// after the previous message's content.

/// What the pipelining relay saw.
#[derive(Debug, Default)]
struct RelayLog {
    /// Recipients of each message accepted.
    delivered: Vec<String>,
    /// MAIL commands whose RCPT had arrived with them (pipelined).
    pipelined: usize,
    /// Messages whose content arrived with the next MAIL after it.
    chained: usize,
    sessions: usize,
}

/// A relay on a free port that offers PIPELINING (which smtp-sink drops
/// when told to refuse commands) and answers RCPT by the address: `hard…`
/// 550 5.1.1, `bare…` 550 without an enhanced code, `soft…` 450, anyone
/// else 250; DATA with no recipient accepted 554.
fn pipelining_relay() -> (String, std::sync::Arc<Mutex<RelayLog>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let log = std::sync::Arc::new(Mutex::new(RelayLog::default()));
    let shared = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let log = shared.clone();
            std::thread::spawn(move || {
                log.lock().unwrap().sessions += 1;
                let mut out = stream.try_clone().unwrap();
                let mut input = BufReader::new(stream);
                let _ = out.write_all(b"220 relay.test ESMTP\r\n");
                let mut rcpts: Vec<String> = Vec::new();
                let mut line = String::new();
                loop {
                    line.clear();
                    if input.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let upper = line.to_ascii_uppercase();
                    let reply: String = if upper.starts_with("EHLO") {
                        "250-relay.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n".into()
                    } else if upper.starts_with("MAIL") {
                        rcpts.clear();
                        if input.buffer().to_ascii_uppercase().starts_with(b"RCPT") {
                            log.lock().unwrap().pipelined += 1;
                        }
                        "250 2.1.0 Ok\r\n".into()
                    } else if upper.starts_with("RCPT") {
                        let to =
                            line[line.find('<').unwrap() + 1..line.find('>').unwrap()].to_string();
                        if to.starts_with("bare") {
                            "550 No such user\r\n".into()
                        } else if to.starts_with("hard") {
                            "550 5.1.1 User unknown\r\n".into()
                        } else if to.starts_with("soft") {
                            "450 4.2.0 Mailbox busy\r\n".into()
                        } else {
                            rcpts.push(to);
                            "250 2.1.5 Ok\r\n".into()
                        }
                    } else if upper.starts_with("DATA") {
                        if rcpts.is_empty() {
                            "554 5.5.1 No valid recipients\r\n".into()
                        } else {
                            let _ = out.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n");
                            loop {
                                line.clear();
                                if input.read_line(&mut line).unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" {
                                    if input.buffer().to_ascii_uppercase().starts_with(b"MAIL") {
                                        log.lock().unwrap().chained += 1;
                                    }
                                    break;
                                }
                            }
                            log.lock().unwrap().delivered.append(&mut rcpts);
                            "250 2.0.0 Ok: queued\r\n".into()
                        }
                    } else if upper.starts_with("QUIT") {
                        let _ = out.write_all(b"221 2.0.0 Bye\r\n");
                        return;
                    } else {
                        "250 2.0.0 Ok\r\n".into()
                    };
                    if out.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, log)
}

#[test]
fn a_pipelining_relay_gets_each_message_once_and_its_refusals_are_recorded() {
    each_backend(|app| {
        let mut csv = String::from("Email,First Name\n");
        for i in 0..30 {
            let who = match i % 10 {
                3 => "hard",
                7 => "soft",
                _ => "reporter",
            };
            csv.push_str(&format!("{who}{i}@outlet{}.example,Name{i}\n", i % 3));
        }
        import(app, &csv);
        app.write("presswire.toml", "[send]\nretry_delays = [3600]\n");
        let (url, log) = pipelining_relay();
        let out = send_ok(app, &url, &[]);
        assert!(out.contains("24 sent, 3 deferred, 3 failed"), "{out}");
        let log = log.lock().unwrap();
        let mut delivered = log.delivered.clone();
        delivered.sort();
        let mut want: Vec<String> = (0..30)
            .filter(|i| i % 10 != 3 && i % 10 != 7)
            .map(|i| format!("reporter{i}@outlet{}.example", i % 3))
            .collect();
        want.sort();
        assert_eq!(delivered, want, "each accepted recipient once");
        assert!(
            log.pipelined >= 24,
            "MAIL and RCPT arrived together: {log:?}"
        );
        // The next message's transaction opens in the same round trip as
        // this one's content, but for the last of a batch and after a
        // refusal (which ends the session).
        assert!(
            log.chained >= 15,
            "content and the next MAIL together: {log:?}"
        );
        for d in deliveries(app) {
            let (state, reply) = match &d.email[..4] {
                "hard" => ("failed", "5.1.1"),
                "soft" => ("deferred", "4.2.0"),
                _ => ("sent", "2.0.0"),
            };
            assert_eq!(d.state, state, "{d:?}");
            assert_eq!(d.attempts, 1, "{d:?}");
            assert!(d.last_reply.as_deref().unwrap().contains(reply), "{d:?}");
        }
        assert_eq!(
            app.count("SELECT count(*) FROM bounces WHERE kind = 'hard'"),
            3
        );
    });
}

// ---------------------------------------------------------------------------
// 4. The TLS rule.

#[test]
fn starttls_asked_of_a_relay_without_it_is_refused_and_loopback_goes_plain() {
    each_backend(|app| {
        import(app, CONTACTS);
        let sink = SmtpSink::start(&[]);
        let started = Instant::now();
        let out = send(app, &format!("{}?tls=starttls", sink.url()), &[]);
        let (stdout, stderr) = texts(&out);
        // A setting to change, not a relay to wait for: refused at once.
        assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
        assert!(started.elapsed() < Duration::from_secs(30));
        let id = last_send(app);
        assert!(
            stderr.contains("does not offer STARTTLS")
                && stderr.contains("?tls=none")
                && stderr.contains(&format!("presswire sends resume {id}")),
            "a clear error\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(sink.messages().is_empty(), "nothing in clear text");
        // Nothing was attempted; the send waits, paused, for a fixed URL.
        assert_eq!(states(app), BTreeMap::from([("queued".to_string(), 4)]));
        assert_eq!(
            app.count("SELECT count(*) FROM deliveries WHERE attempts > 0"),
            0
        );
        assert_eq!(state_of_send(app, id), "paused");

        // A name is not known to be loopback: the rule asks for STARTTLS
        // even if it resolves to this machine (no traffic leaves it).
        if let Some(name) = loopback_name() {
            let out = send(app, &format!("smtp://{name}:{}", sink.port()), &[]);
            let (stdout, stderr) = texts(&out);
            assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
            assert!(stderr.contains("does not offer STARTTLS"), "{stderr}");
            assert!(sink.messages().is_empty());
        }

        // Loopback without tls=: plain text, delivered.
        let out = send_ok(app, &sink.url(), &[]);
        assert!(out.contains("4 sent"), "{out}");
        assert_eq!(sink.messages().len(), 4);
    });
}

/// This machine's host name when it resolves only to loopback addresses.
fn loopback_name() -> Option<String> {
    use std::net::ToSocketAddrs;
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()?
        .trim()
        .to_string();
    if name.is_empty() || name == "localhost" {
        return None;
    }
    let addrs: Vec<_> = (name.as_str(), 25).to_socket_addrs().ok()?.collect();
    (!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())).then_some(name)
}

#[test]
fn the_tls_rule_of_smtp_urls() {
    use presswire::send::transport::SmtpTarget;
    let rule = |url: &str| SmtpTarget::parse(url).unwrap().requires_starttls();
    // Anything that is not loopback must upgrade, unless tls=none says not to.
    assert!(rule("smtp://mail.ngo.example:587"));
    assert!(rule("smtp://192.0.2.10:25"));
    assert!(rule("smtp://relay"));
    assert!(rule("smtp://mail.ngo.example?tls=starttls"));
    assert!(!rule("smtp://mail.ngo.example?tls=none"));
    // SMTPS is TLS from the first byte: no STARTTLS on top.
    assert!(!rule("smtps://mail.ngo.example"));
    // Loopback may go plain, unless STARTTLS is asked for.
    assert!(!rule("smtp://127.0.0.1:2525"));
    assert!(!rule("smtp://localhost:2525"));
    assert!(!rule("smtp://[::1]:2525"));
    assert!(rule("smtp://127.0.0.1:2525?tls=starttls"));
}

// ---------------------------------------------------------------------------
// 5. The password is never printed or stored.

#[test]
fn the_smtp_password_appears_in_no_output_report_or_table() {
    each_backend(|app| {
        import(app, CONTACTS);
        // Retry soon: the relay that is not there pauses the send quickly.
        app.write("presswire.toml", "[send]\nretry_delays = [1]\n");
        let mut seen = String::new();
        let mut keep = |out: &std::process::Output| {
            let (o, e) = texts(out);
            seen.push_str(&o);
            seen.push_str(&e);
        };

        // A relay that takes the login: the messages go out.
        let sink = SmtpSink::start(&[]);
        let url = format!(
            "smtp://press%40ngo.example:hunter2@127.0.0.1:{}",
            sink.port()
        );
        let out = send(app, &url, &["-v"]);
        assert_eq!(out.status.code(), Some(0), "{:?}", texts(&out));
        keep(&out);
        assert_eq!(sink.messages().len(), 4);
        assert!(
            texts(&out).0.contains("press@ngo.example:***@127.0.0.1"),
            "{:?}",
            texts(&out)
        );
        for m in sink.messages() {
            assert!(!m.raw.contains("hunter2"));
        }

        // A relay that refuses the login.
        let refusing = SmtpSink::start(&["-f", "AUTH"]);
        let url = format!("smtp://press:hunter2@127.0.0.1:{}", refusing.port());
        let out = send(app, &url, &[]);
        assert_eq!(out.status.code(), Some(2), "{:?}", texts(&out));
        assert!(
            texts(&out).1.contains("refused the login"),
            "{:?}",
            texts(&out)
        );
        keep(&out);
        assert!(refusing.messages().is_empty());

        // A relay that is not there.
        let url = format!("smtp://press:hunter2@127.0.0.1:{}", free_port());
        let out = send(app, &url, &[]);
        assert_eq!(out.status.code(), Some(1), "{:?}", texts(&out));
        assert!(texts(&out).0.contains("paused itself"), "{:?}", texts(&out));
        keep(&out);
        let out = app.run([
            "send",
            &example(),
            "--test",
            "me@ngo.example",
            "--smtp",
            &url,
        ]);
        assert_ne!(out.status.code(), Some(0));
        keep(&out);

        for id in 1..=last_send(app) {
            keep(&app.run(["sends", "status", &id.to_string()]));
            keep(&app.run(["sends", "status", &id.to_string(), "--format", "json"]));
        }
        keep(&app.run(["sends", "list", "--format", "json"]));
        keep(&app.run(["sends", "list"]));
        assert!(
            seen.contains("***"),
            "the URLs were shown redacted:\n{seen}"
        );
        assert!(!seen.contains("hunter2"), "{seen}");

        for (table, column) in [
            ("sends", "settings"),
            ("sends", "audience"),
            ("deliveries", "last_reply"),
            ("deliveries", "skip_reason"),
            ("bounces", "diagnostic"),
        ] {
            for row in app.texts(&format!("SELECT {column} FROM {table}")) {
                let v = row[0].clone().unwrap_or_default();
                assert!(!v.contains("hunter2"), "{table}.{column}: {v}");
            }
        }
        // The failures were recorded, redacted.
        let replies: Vec<String> = deliveries(app)
            .into_iter()
            .filter_map(|d| d.last_reply)
            .filter(|r| !r.starts_with("250"))
            .collect();
        assert!(!replies.is_empty());
        assert!(replies.iter().any(|r| r.contains("***")), "{replies:?}");
    });
}

// ---------------------------------------------------------------------------
// 6. The relay is down: deferred, then the send pauses itself.

#[test]
fn a_relay_that_is_down_defers_and_pauses_the_send_until_resumed() {
    each_backend(|app| {
        import(app, &many(40));
        let closed = format!("smtp://127.0.0.1:{}", free_port());
        let out = send(app, &closed, &[]);
        let (stdout, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
        let id = last_send(app);
        let all = format!("{stdout}\n{stderr}");
        assert!(
            all.contains("paused itself after 5 connection failures"),
            "{all}"
        );
        assert!(
            all.contains(&format!("presswire sends resume {id}")),
            "{all}"
        );
        assert_eq!(state_of_send(app, id), "paused");
        let status = app.ok(["sends", "status", &id.to_string()]);
        assert!(status.contains(": paused"), "{status}");
        // Only the attempts that found the relay down are deferred: the rest
        // of the queue was not burnt on a dead relay.
        let s = states(app);
        let deferred = s.get("deferred").copied().unwrap_or(0);
        assert!((5..=7).contains(&deferred), "{s:?}");
        assert_eq!(
            s.get("queued").copied().unwrap_or(0),
            40 - deferred,
            "{s:?}"
        );
        for d in deliveries(app).iter().filter(|d| d.state == "deferred") {
            assert!(
                d.last_reply.as_deref().unwrap().contains("connecting"),
                "{d:?}"
            );
        }

        // The relay is back: resuming sends everyone exactly once, now.
        let sink = SmtpSink::start(&[]);
        let started = Instant::now();
        let out = app.ok(["sends", "resume", &id.to_string(), "--smtp", &sink.url()]);
        assert!(out.contains("40 sent"), "{out}");
        assert!(started.elapsed() < Duration::from_secs(30));
        let emails: Vec<String> = (0..40)
            .map(|i| format!("reporter{i}@outlet{}.example", i % 3))
            .collect();
        let emails: Vec<&str> = emails.iter().map(String::as_str).collect();
        assert_once_each(&sink.messages(), &emails);
        assert_eq!(state_of_send(app, id), "finished");
    });
}

// ---------------------------------------------------------------------------
// 7. The flags of `send` and `sends`.

#[test]
fn a_dry_run_sends_nothing_and_records_nothing() {
    each_backend(|app| {
        import(app, CONTACTS);
        let sink = SmtpSink::start(&[]);
        let out = send_ok(app, &sink.url(), &["--dry-run"]);
        assert!(out.contains("recipients: 4"), "{out}");
        assert!(out.contains("dry run"), "{out}");
        let json = send_ok(app, &sink.url(), &["--dry-run", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["recipients"], 4, "{v}");
        assert!(sink.messages().is_empty());
        assert_eq!(app.count("SELECT count(*) FROM sends"), 0);
        assert_eq!(app.count("SELECT count(*) FROM deliveries"), 0);
    });
}

#[test]
fn a_test_send_delivers_one_copy_and_records_no_delivery() {
    each_backend(|app| {
        import(app, CONTACTS);
        let sink = SmtpSink::start(&[]);
        let out = app.ok([
            "send",
            &example(),
            "--test",
            "editor@ngo.example",
            "--smtp",
            &sink.url(),
        ]);
        assert!(out.contains("editor@ngo.example"), "{out}");
        let arrived = sink.messages();
        assert_eq!(arrived.len(), 1);
        assert_eq!(arrived[0].rcpt_to, vec!["editor@ngo.example".to_string()]);
        let m = parse(&arrived[0].raw);
        assert!(
            m.subject().unwrap().starts_with("[TEST] "),
            "{:?}",
            m.subject()
        );
        assert_eq!(address(m.to()), "editor@ngo.example");
        assert_eq!(app.count("SELECT count(*) FROM sends"), 0);
        assert_eq!(app.count("SELECT count(*) FROM deliveries"), 0);
    });
}

#[test]
fn without_a_terminal_yes_is_required() {
    each_backend(|app| {
        import(app, CONTACTS);
        let sink = SmtpSink::start(&[]);
        let (_, err) = app.fails(2, ["send", &example(), "--smtp", &sink.url()]);
        assert!(err.contains("--yes"), "{err}");
        assert!(sink.messages().is_empty());
        assert_eq!(app.count("SELECT count(*) FROM sends"), 0);
    });
}

#[test]
fn at_a_future_time_schedules_the_send_and_nothing_leaves() {
    each_backend(|app| {
        import(app, CONTACTS);
        let sink = SmtpSink::start(&[]);
        let out = send_ok(app, &sink.url(), &["--at", "2099-05-10T09:00:00+03:00"]);
        assert!(out.contains("scheduled"), "{out}");
        let id = last_send(app);
        assert_eq!(state_of_send(app, id), "scheduled");
        assert_eq!(
            app.count(&format!("SELECT scheduled_at FROM sends WHERE id = {id}")),
            4_082_076_000_000
        );
        assert_eq!(states(app), BTreeMap::from([("queued".to_string(), 4)]));
        assert!(sink.messages().is_empty());
        // In the release's time zone (the example's is Africa/Nairobi).
        let status = app.ok(["sends", "status", &id.to_string()]);
        assert!(
            status.contains("scheduled for 10 May 2099, 09:00 Africa/Nairobi (06:00 UTC)"),
            "{status}"
        );
        assert!(
            out.contains("scheduled for 10 May 2099, 09:00 Africa/Nairobi (06:00 UTC)"),
            "{out}"
        );
        assert!(
            out.contains("start:      10 May 2099, 09:00 Africa/Nairobi (06:00 UTC)"),
            "{out}"
        );
        let list = app.ok(["sends", "list"]);
        assert!(
            list.contains("starts 10 May 2099, 09:00 Africa/Nairobi (06:00 UTC)"),
            "{list}"
        );

        // A time that is not one is bad input.
        let out = send(app, &sink.url(), &["--at", "tomorrow"]);
        assert_eq!(out.status.code(), Some(2), "{:?}", texts(&out));
    });
}

/// A start time already past (or one that passes while a large send is
/// planned: the same check, made when the send is created) starts the
/// send at once, and says so.
#[test]
fn at_a_time_already_past_sends_at_once_and_says_so() {
    each_backend(|app| {
        import(app, CONTACTS);
        let sink = SmtpSink::start(&[]);
        let out = send_ok(app, &sink.url(), &["--at", "2020-05-10T09:00:00+03:00"]);
        assert!(
            out.contains(
                "the start time 10 May 2020, 09:00 Africa/Nairobi (06:00 UTC) has passed: sending now"
            ),
            "{out}"
        );
        assert!(out.contains("4 sent"), "{out}");
        assert_eq!(state_of_send(app, last_send(app)), "finished");
        assert_eq!(sink.messages().len(), 4);
    });
}

/// `sends start` starts a scheduled send now; `sends resume` leaves it
/// waiting for its time (as it does a scheduled send that was paused).
#[test]
fn a_scheduled_send_starts_early_with_sends_start() {
    each_backend(|app| {
        import(app, CONTACTS);
        let sink = SmtpSink::start(&[]);
        send_ok(app, &sink.url(), &["--at", "2099-05-10T09:00:00+03:00"]);
        let id = last_send(app);
        let ids = id.to_string();

        let out = app.ok(["sends", "resume", &ids, "--smtp", &sink.url()]);
        assert!(out.contains(&format!("sends start {id}")), "{out}");
        assert_eq!(state_of_send(app, id), "scheduled");
        app.ok(["sends", "pause", &ids]);
        app.ok(["sends", "resume", &ids, "--smtp", &sink.url()]);
        assert_eq!(state_of_send(app, id), "scheduled");
        assert!(sink.messages().is_empty());

        let out = app.ok(["sends", "start", &ids, "--smtp", &sink.url()]);
        assert!(out.contains("4 sent"), "{out}");
        assert_eq!(state_of_send(app, id), "finished");
        assert_eq!(sink.messages().len(), 4);
        // Only a scheduled send starts.
        let (_, err) = app.fails(2, ["sends", "start", &ids, "--smtp", &sink.url()]);
        assert!(err.contains("finished, not scheduled"), "{err}");

        // An embargoed release scheduled with --at starts early like any
        // other, and says when its embargo lifts. The flag that used to
        // let it out before the lift still works, and says it is not needed.
        app.write("embargoed.md", EMBARGOED);
        let url = sink.url();
        app.ok([
            "send",
            "embargoed.md",
            "--yes",
            "--rate",
            "unlimited",
            "--smtp",
            &url,
            "--at",
            "2099-01-01T00:00:00Z",
        ]);
        let embargoed = last_send(app).to_string();
        assert_eq!(state_of_send(app, last_send(app)), "scheduled");
        let out = app
            .command()
            .args([
                "sends",
                "start",
                &embargoed,
                "--ignore-embargo",
                "--smtp",
                &url,
            ])
            .output()
            .unwrap();
        let (stdout, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(stdout.contains("4 sent"), "{stdout}");
        assert!(
            stdout.contains("the embargo lifts 10 May 2099, 06:00 UTC"),
            "{stdout}"
        );
        assert!(
            stderr.contains("--ignore-embargo is no longer needed"),
            "{stderr}"
        );
        assert_eq!(sink.messages().len(), 8);
    });
}

#[test]
fn pausing_a_running_send_stops_it_and_cancelling_drops_what_is_left() {
    each_backend(|app| {
        import(app, &many(20));
        let sink = SmtpSink::start(&[]);
        let mut child = app
            .command()
            .args([
                "send",
                &example(),
                "--yes",
                "--rate",
                "2/s",
                "--smtp",
                &sink.url(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(20, "the first message", || !sink.messages().is_empty());
        let id = last_send(app);
        let out = app.ok(["sends", "pause", &id.to_string()]);
        assert!(out.contains("paused"), "{out}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "the send did not stop when paused"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{:?}", texts(&out));
        assert_eq!(state_of_send(app, id), "paused");
        let arrived = sink.messages().len();
        let s = states(app);
        assert!(arrived < 20, "{s:?}");
        assert_eq!(s.get("sent").copied().unwrap_or(0), arrived, "{s:?}");
        assert_eq!(s.get("queued").copied().unwrap_or(0), 20 - arrived, "{s:?}");

        let out = app.ok(["sends", "cancel", &id.to_string()]);
        assert!(out.contains("cancelled"), "{out}");
        assert_eq!(state_of_send(app, id), "cancelled");
        let s = states(app);
        assert_eq!(s.get("sent").copied().unwrap_or(0), arrived, "{s:?}");
        assert_eq!(
            s.get("cancelled").copied().unwrap_or(0),
            20 - arrived,
            "{s:?}"
        );
        // A cancelled send stays cancelled.
        let (_, err) = app.fails(
            2,
            ["sends", "resume", &id.to_string(), "--smtp", &sink.url()],
        );
        assert!(err.contains("cancelled"), "{err}");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(sink.messages().len(), arrived);
        assert_once_each(
            &sink.messages(),
            &copies(&sink.messages())
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
    });
}

#[test]
fn a_scheduled_send_can_be_paused_and_cancelled() {
    each_backend(|app| {
        import(app, CONTACTS);
        let sink = SmtpSink::start(&[]);
        send_ok(app, &sink.url(), &["--at", "2099-05-10T09:00:00+03:00"]);
        let id = last_send(app).to_string();
        app.ok(["sends", "pause", &id]);
        assert_eq!(state_of_send(app, last_send(app)), "paused");
        app.ok(["sends", "cancel", &id]);
        assert_eq!(states(app), BTreeMap::from([("cancelled".to_string(), 4)]));
        let list = app.json(["sends", "list", "--format", "json"]);
        assert_eq!(list[0]["state"], "cancelled", "{list}");
        assert_eq!(list[0]["counts"]["cancelled"], 4, "{list}");
        assert!(sink.messages().is_empty());
    });
}

#[test]
fn the_daily_cap_stops_the_send_for_the_day() {
    each_backend(|app| {
        import(app, CONTACTS);
        let sink = SmtpSink::start(&[]);
        let out = send_ok(app, &sink.url(), &["--daily-cap", "2"]);
        assert!(out.contains("2 sent"), "{out}");
        assert!(out.contains("daily cap of 2"), "{out}");
        assert_eq!(sink.messages().len(), 2);
        let s = states(app);
        assert_eq!(
            s,
            BTreeMap::from([("queued".to_string(), 2), ("sent".to_string(), 2)])
        );
        // The cap counts across sends: a resume today sends nothing more.
        let id = last_send(app).to_string();
        let out = app.ok(["sends", "resume", &id, "--smtp", &sink.url()]);
        assert!(out.contains("0 sent"), "{out}");
        assert_eq!(sink.messages().len(), 2);
    });
}

#[test]
fn the_summary_as_json() {
    each_backend(|app| {
        import(app, CONTACTS);
        let sink = SmtpSink::start(&[]);
        let out = send_ok(app, &sink.url(), &["--format", "json"]);
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"));
        assert_eq!(v["send"], last_send(app), "{v}");
        assert_eq!(
            (&v["sent"], &v["deferred"], &v["failed"], &v["skipped"]),
            (
                &serde_json::json!(4),
                &serde_json::json!(0),
                &serde_json::json!(0),
                &serde_json::json!(0)
            ),
            "{v}"
        );
        assert_eq!(v["relay_down"], false, "{v}");
        assert!(v["paused"].is_null(), "{v}");
        assert_eq!(sink.messages().len(), 4);
    });
}

#[test]
fn without_an_smtp_relay_messages_go_to_the_outbox() {
    each_backend(|app| {
        import(app, CONTACTS);
        let out = app.ok(["send", &example(), "--yes", "--rate", "unlimited"]);
        assert!(out.contains("4 sent"), "{out}");
        assert!(out.contains("outbox"), "{out}");
        let id = last_send(app);
        let folder = app.path().join("outbox").join(id.to_string());
        let mut files: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), 4, "{files:?}");
        let signer = signer(app);
        let by_email: HashMap<String, Delivery> = deliveries(app)
            .into_iter()
            .map(|d| (d.email.clone(), d))
            .collect();
        let mut to = Vec::new();
        for f in files {
            assert_eq!(f.extension().unwrap(), "eml");
            let raw = std::fs::read_to_string(&f).unwrap();
            let m = parse(&raw);
            let rcpt = address(m.to());
            let d = &by_email[&rcpt];
            assert_eq!(
                f.file_name().unwrap().to_string_lossy(),
                format!("{}.eml", d.id)
            );
            let first = raw.lines().next().unwrap();
            assert_eq!(
                first,
                format!("Return-Path: <{}>", signer.verp_address(d.id, DOMAIN))
            );
            assert_eq!(m.message_id(), d.message_id.as_deref());
            to.push(rcpt);
        }
        to.sort();
        assert_eq!(
            to,
            vec![
                "amara.okonkwo@nairobisignal.example",
                "desk@harbourpost.example",
                "jonas.weber@rheinkurier.example",
                "thandiwe@capebroadcast.example",
            ]
        );
    });
}

// ---------------------------------------------------------------------------
// 8. DKIM: the signature verifies with an independent verifier.

/// A DNS TXT cache for mail-auth: the published keys, without DNS.
struct TxtRecords(Mutex<HashMap<String, mail_auth::Txt>>);

impl mail_auth::ResolverCache<String, mail_auth::Txt> for TxtRecords {
    fn get<Q>(&self, name: &Q) -> Option<mail_auth::Txt>
    where
        String: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().get(name).cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<mail_auth::Txt>
    where
        String: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().remove(name)
    }

    fn insert(&self, key: String, value: mail_auth::Txt, _: Instant) {
        self.0.lock().unwrap().insert(key, value);
    }
}

/// Verifies the DKIM signatures of `raw` against the TXT record `record`
/// published at `SELECTOR._domainkey.DOMAIN`; returns the results.
fn dkim_results(raw: &str, selector: &str, record: &str) -> Vec<String> {
    use mail_auth::common::parse::TxtRecordParser;
    use mail_auth::common::verify::DomainKey;
    let records = TxtRecords(Mutex::new(HashMap::new()));
    records.0.lock().unwrap().insert(
        format!("{selector}._domainkey.{DOMAIN}."),
        mail_auth::Txt::from(DomainKey::parse(record.as_bytes()).unwrap()),
    );
    let message = mail_auth::AuthenticatedMessage::parse(raw.as_bytes()).unwrap();
    // The resolver is never asked: every key comes from the cache.
    let authenticator = mail_auth::MessageAuthenticator::new_cloudflare().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        authenticator
            .verify_dkim(mail_auth::Parameters::new(&message).with_txt_cache(&records))
            .await
            .iter()
            .map(|o| format!("{:?}", o.result()))
            .collect()
    })
}

fn openssl(app: &TestApp, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("openssl")
        .current_dir(app.path())
        .args(args)
        .output()
        .expect("openssl must be installed");
    assert!(out.status.success(), "openssl {args:?}: {:?}", texts(&out));
    out.stdout
}

/// Writes presswire.toml with a `[dkim]` section for `key_file`, and
/// `algorithm` when given.
fn dkim_settings(app: &TestApp, key_file: &str, algorithm: Option<&str>) {
    let line = algorithm
        .map(|a| format!("algorithm = \"{a}\"\n"))
        .unwrap_or_default();
    app.write(
        "presswire.toml",
        format!(
            "[dkim]\ndomain = \"{DOMAIN}\"\nselector = \"press2026\"\nkey_file = \"{key_file}\"\n{line}"
        ),
    );
}

/// `send example.md --test me@ngo.example --smtp URL`.
fn test_send(app: &TestApp, url: &str) -> std::process::Output {
    app.run([
        "send",
        &example(),
        "--test",
        "me@ngo.example",
        "--smtp",
        url,
    ])
}

/// Sends the example to the sink with `[dkim]` set up (`algorithm` given,
/// or left for the key to say), and a test message; checks every arrived
/// message's signature against `record`.
fn assert_dkim_verifies(app: &TestApp, algorithm: &str, given: bool, key_file: &str, record: &str) {
    dkim_settings(app, key_file, given.then_some(algorithm));
    import(app, CONTACTS);
    let sink = SmtpSink::start(&[]);
    send_ok(app, &sink.url(), &[]);
    assert_eq!(test_send(app, &sink.url()).status.code(), Some(0));
    let arrived = sink.messages();
    assert_eq!(arrived.len(), 5);
    for msg in &arrived {
        let m = parse(&msg.raw);
        let sig = header(&m, "DKIM-Signature");
        let a = if algorithm == "rsa-sha256" {
            "a=rsa-sha256"
        } else {
            "a=ed25519-sha256"
        };
        assert!(
            sig.contains(a) && sig.contains(&format!("d={DOMAIN}")),
            "{sig}"
        );
        assert!(sig.contains("s=press2026"), "{sig}");
        let results = dkim_results(&msg.raw, "press2026", record);
        assert_eq!(
            results,
            vec!["Pass".to_string()],
            "{}:\n{}",
            msg.rcpt_to[0],
            msg.raw
        );
        // A changed body no longer verifies: the verifier really checks.
        let tampered = msg.raw.replacen("Lumo", "Lumx", 1);
        let results = dkim_results(&tampered, "press2026", record);
        assert_ne!(results, vec!["Pass".to_string()]);
    }
    // The key is never printed.
    let key = std::fs::read_to_string(app.path().join(key_file)).unwrap();
    let line = key.lines().nth(1).unwrap_or(&key).trim().to_string();
    let status = app.ok(["sends", "status", &last_send(app).to_string()]);
    assert!(!status.contains(&line));
}

/// Makes a 2048-bit RSA key `dkim.pem` with `openssl genrsa FLAGS…`;
/// returns the DNS record of its public half.
fn rsa_key(app: &TestApp, flags: &[&str]) -> String {
    let mut args = vec!["genrsa"];
    args.extend_from_slice(flags);
    args.extend(["-out", "dkim.pem", "2048"]);
    openssl(app, &args);
    let public = openssl(
        app,
        &["rsa", "-in", "dkim.pem", "-pubout", "-outform", "DER"],
    );
    format!(
        "v=DKIM1; k=rsa; p={}",
        base64::engine::general_purpose::STANDARD.encode(public)
    )
}

#[test]
fn dkim_rsa_signatures_verify_with_mail_auth() {
    each_backend(|app| {
        let record = rsa_key(app, &["-traditional"]);
        assert_dkim_verifies(app, "rsa-sha256", true, "dkim.pem", &record);
    });
}

/// `openssl genrsa` writes PKCS#8 ("BEGIN PRIVATE KEY") since OpenSSL 3,
/// and so does `opendkim-genkey`, which runs it: such a key signs, with no
/// `algorithm` set (the key says it is RSA), and the signature verifies.
#[test]
fn dkim_pkcs8_rsa_keys_from_openssl_genrsa_verify_with_mail_auth() {
    each_backend(|app| {
        let record = rsa_key(app, &[]);
        let pem = std::fs::read_to_string(app.path().join("dkim.pem")).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem:.40}");
        assert_dkim_verifies(app, "rsa-sha256", false, "dkim.pem", &record);
    });
}

/// `opendkim-genkey` (Debian opendkim-tools, as docs/sending.md shows it) writes
/// the key and the TXT record to publish: presswire signs with that key,
/// and the record, as written, verifies the signature.
#[test]
fn dkim_keys_from_opendkim_genkey_verify_against_the_record_it_writes() {
    each_backend(|app| {
        let out = std::process::Command::new("/usr/sbin/opendkim-genkey")
            .current_dir(app.path())
            .args(["-b", "2048", "-d", DOMAIN, "-s", "press2026"])
            .output()
            .expect("opendkim-genkey (Debian package opendkim-tools) must be installed");
        assert!(out.status.success(), "{:?}", texts(&out));
        // `press2026._domainkey IN TXT ( "v=DKIM1; h=sha256; k=rsa; " "p=…" "…" )`:
        // the record is its quoted strings, joined.
        let zone = std::fs::read_to_string(app.path().join("press2026.txt")).unwrap();
        let record: String = zone.split('"').skip(1).step_by(2).collect();
        assert!(record.starts_with("v=DKIM1;"), "{zone}");
        assert_dkim_verifies(app, "rsa-sha256", false, "press2026.private", &record);
    });
}

/// An Ed25519 key as `openssl genpkey` writes it (PKCS#8 PEM) signs and
/// verifies (RFC 8463).
#[test]
fn dkim_pkcs8_ed25519_keys_from_openssl_genpkey_verify_with_mail_auth() {
    each_backend(|app| {
        openssl(
            app,
            &["genpkey", "-algorithm", "ed25519", "-out", "dkim.pem"],
        );
        let public = openssl(
            app,
            &["pkey", "-in", "dkim.pem", "-pubout", "-outform", "DER"],
        );
        let record = format!(
            "v=DKIM1; k=ed25519; p={}",
            base64::engine::general_purpose::STANDARD.encode(&public[public.len() - 32..])
        );
        assert_dkim_verifies(app, "ed25519-sha256", false, "dkim.pem", &record);
    });
}

/// A DKIM key that does not load stops `send` before anything is written:
/// no send, no delivery, nothing for a running worker to deliver, nothing
/// at the sink; fixing the key and sending again mails everyone once. The
/// same holds for a key that is not the configured algorithm's, and for a
/// test send; the key's content is never printed.
#[test]
fn a_dkim_key_that_does_not_load_leaves_no_send_for_a_worker_to_deliver() {
    each_backend(|app| {
        import(app, CONTACTS);
        let sink = SmtpSink::start(&[]);
        // A worker with settings of its own (no DKIM), running all along.
        app.write("worker.toml", "");
        let mut worker = app
            .command()
            .args(["--config", "worker.toml", "worker", "--smtp", &sink.url()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        app.write(
            "dkim.pem",
            "-----BEGIN PRIVATE KEY-----\nhunter2hunter2\n-----END PRIVATE KEY-----\n",
        );
        dkim_settings(app, "dkim.pem", None);
        let out = send(app, &sink.url(), &[]);
        let (stdout, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
        assert!(
            stderr.contains("presswire.toml [dkim] key_file dkim.pem: a PKCS#8 private key that is neither RSA nor Ed25519"),
            "{stderr}"
        );
        assert!(!format!("{stdout}{stderr}").contains("hunter2"));
        let out = test_send(app, &sink.url());
        assert_eq!(out.status.code(), Some(2), "{:?}", texts(&out));

        // An Ed25519 key where the settings say RSA.
        openssl(
            app,
            &["genpkey", "-algorithm", "ed25519", "-out", "dkim.pem"],
        );
        dkim_settings(app, "dkim.pem", Some("rsa-sha256"));
        let out = send(app, &sink.url(), &[]);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("the file holds an ed25519 key, but [dkim] algorithm says rsa-sha256"),
            "{stderr}"
        );

        // Nothing was created, and the worker found nothing to deliver.
        assert_eq!(app.count("SELECT count(*) FROM sends"), 0);
        assert_eq!(app.count("SELECT count(*) FROM deliveries"), 0);
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            worker.try_wait().unwrap().is_none(),
            "the worker is still running"
        );
        assert!(sink.messages().is_empty());

        // Fixed: one send, everyone once.
        dkim_settings(app, "dkim.pem", None);
        send_ok(app, &sink.url(), &[]);
        std::thread::sleep(Duration::from_millis(500));
        let _ = worker.kill();
        let _ = worker.wait();
        assert_eq!(app.count("SELECT count(*) FROM sends"), 1);
        assert_once_each(
            &sink.messages(),
            &[
                "amara.okonkwo@nairobisignal.example",
                "jonas.weber@rheinkurier.example",
                "thandiwe@capebroadcast.example",
                "desk@harbourpost.example",
            ],
        );
    });
}

#[test]
fn dkim_ed25519_signatures_verify_with_mail_auth() {
    each_backend(|app| {
        let b64 = base64::engine::general_purpose::STANDARD;
        openssl(
            app,
            &[
                "genpkey",
                "-algorithm",
                "ed25519",
                "-outform",
                "DER",
                "-out",
                "ed.der",
            ],
        );
        // lettre takes the 32-byte seed in base64; DNS gets the raw public key (RFC 8463).
        let private = std::fs::read(app.path().join("ed.der")).unwrap();
        app.write("dkim.ed25519", b64.encode(&private[private.len() - 32..]));
        let public = openssl(
            app,
            &[
                "pkey", "-in", "ed.der", "-inform", "DER", "-pubout", "-outform", "DER",
            ],
        );
        let record = format!(
            "v=DKIM1; k=ed25519; p={}",
            b64.encode(&public[public.len() - 32..])
        );
        assert_dkim_verifies(app, "ed25519-sha256", true, "dkim.ed25519", &record);
    });
}
