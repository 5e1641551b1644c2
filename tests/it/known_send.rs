//! A send with known outcomes, shared by the report tests and the
//! dashboard's: twelve journalists, a relay that accepts, refuses and
//! defers, a worker that dies, and what bounce processing and the
//! unsubscribe endpoint record afterwards. tests/it/report.rs lists the
//! outcome of every delivery.

use std::path::Path;

use crate::harness::{SmtpSink, TestApp};

/// The repository's example release.
pub fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("releases/example.md")
        .display()
        .to_string()
}

/// Twelve journalists. Deliveries go out in address order, so the first
/// six (ada…fay) are the ones sent while the relay accepts; gus and hal
/// meet a relay that refuses them; ivy one that defers; jon is left
/// uncertain; kim is suppressed and lea needs an update, so both are
/// skipped. Gus's name tries to smuggle markup into the HTML report.
const CONTACTS: &str = "Email,Name,Outlet,Country,Language\n\
    ada@alpha.example,Ada Lovelace,Alpha Times,DE,de\n\
    ben@alpha.example,Ben Adler,Alpha Times,DE,de\n\
    cat@beta.example,Cat Moyo,Beta Radio,GB,en\n\
    dan@beta.example,Dan Okafor,Beta Radio,GB,en\n\
    eve@gamma.example,Eve Wanjiru,Gamma Post,KE,en\n\
    fay@gamma.example,Fay Achieng,Gamma Post,KE,sw\n\
    gus@delta.example,\"Gus <script>alert('x')</script>\",Delta Daily,FR,fr\n\
    hal@delta.example,Hal Martin,Delta Daily,FR,fr\n\
    ivy@epsilon.example,Ivy Chen,Epsilon Wire,US,en\n\
    jon@epsilon.example,Jon Park,Epsilon Wire,US,en\n\
    kim@zeta.example,Kim de Vries,Zeta Nieuws,NL,nl\n\
    lea@zeta.example,Lea Jansen,Zeta Nieuws,NL,nl\n";

/// What the relay says to gus and hal (smtp-sink's reply to RCPT).
const REFUSAL: &str = "550 5.1.1 User unknown";
/// What of it lettre passes on, and so the bounce records.
pub const REFUSED: &str = "5.1.1 User unknown";

/// Raises (or lifts, with "null") the daily cap stored with send `id`.
fn set_cap(app: &TestApp, id: i64, from: &str, to: &str) {
    app.execute(
        &format!(
            "UPDATE sends SET settings = replace(settings, '\"daily_cap\":{from}', '\"daily_cap\":{to}') \
             WHERE id = {id}"
        ),
        &[],
    );
}

/// A delivery's id by address.
fn delivery(app: &TestApp, email: &str) -> i64 {
    app.count(&format!(
        "SELECT id FROM deliveries WHERE email = '{email}'"
    ))
}

/// Builds the send with known outcomes; returns its id.
pub fn known_send(app: &TestApp) -> i64 {
    app.write("contacts.csv", CONTACTS);
    app.ok(["contacts", "import", "contacts.csv"]);
    // lea moved desks: her record needs an update (and she is skipped).
    app.execute(
        "UPDATE contacts SET status = 'needs-update' WHERE email_key = 'lea@zeta.example'",
        &[],
    );
    app.ok([
        "suppress",
        "add",
        "kim@zeta.example",
        "--reason",
        "unsubscribed",
    ]);
    // A retry an hour away: a deferred delivery stays deferred.
    app.write("presswire.toml", "[send]\nretry_delays = [3600]\n");

    // 1. The relay accepts: the daily cap stops the run after six.
    let sink = SmtpSink::start(&[]);
    let out = app.ok([
        "send",
        &example(),
        "--yes",
        "--rate",
        "unlimited",
        "--concurrency",
        "1",
        "--daily-cap",
        "6",
        "--smtp",
        &sink.url(),
    ]);
    assert!(out.contains("6 sent"), "{out}");
    assert_eq!(sink.messages().len(), 6);
    drop(sink);
    let id = app.count("SELECT max(id) FROM sends");

    // 2. Two more, to a relay that refuses them (hard, 5.1.1).
    set_cap(app, id, "6", "8");
    let refusing = SmtpSink::start(&["-f", "RCPT", "-B", REFUSAL]);
    let out = app.ok([
        "sends",
        "resume",
        &id.to_string(),
        "--smtp",
        &refusing.url(),
    ]);
    assert!(out.contains("2 failed"), "{out}");
    drop(refusing);

    // 3. jon's worker died while sending (what `sends resume` would find
    // after a crash), and the rest meet a relay that defers.
    app.execute(
        "UPDATE deliveries SET state = 'uncertain', attempts = 1, \
             last_reply = 'the worker stopped while sending; outcome unknown' \
         WHERE email = 'jon@epsilon.example'",
        &[],
    );
    set_cap(app, id, "8", "null");
    let deferring = SmtpSink::start(&["-r", "RCPT", "-b", "450 4.7.1 Greylisted, try later"]);
    let out = app.ok([
        "sends",
        "resume",
        &id.to_string(),
        "--smtp",
        &deferring.url(),
    ]);
    assert!(out.contains("1 deferred"), "{out}");
    drop(deferring);

    // What came back later, as bounce processing records it: eve's address
    // bounced hard (the delivery becomes `bounced`), fay's mailbox is full
    // (a soft bounce; the delivery stays `sent`), dan complained, cat's
    // complaint came from a feedback loop that names only the contact,
    // ben's autoresponder answered, and ada's server sent a delivery
    // notice (not a failure: it changes nothing).
    let b = |delivery: &str,
             contact: &str,
             email: &str,
             kind: &str,
             reason: &str,
             status: &str,
             diagnostic: &str,
             after_ms: i64| {
        app.execute(
            &format!(
                "INSERT INTO bounces (delivery_id, contact_id, email, kind, reason, status_code, \
                     diagnostic, source, received_at, created_at) \
                 VALUES ({delivery}, {contact}, '{email}', '{kind}', '{reason}', {status}, {diagnostic}, 'imap', \
                     (SELECT sent_at FROM deliveries WHERE email = '{email}') + {after_ms}, \
                     (SELECT sent_at FROM deliveries WHERE email = '{email}') + {after_ms})"
            ),
            &[],
        );
    };
    let d = |email: &str| delivery(app, email).to_string();
    let c = |email: &str| {
        app.count(&format!(
            "SELECT id FROM contacts WHERE email_key = '{email}'"
        ))
        .to_string()
    };
    b(
        &d("eve@gamma.example"),
        &c("eve@gamma.example"),
        "eve@gamma.example",
        "hard",
        "userunknown",
        "'5.1.1'",
        "'smtp; 550 5.1.1 <eve@gamma.example>: Recipient address rejected: User unknown'",
        120_000,
    );
    app.execute(
        "UPDATE deliveries SET state = 'bounced' WHERE email = 'eve@gamma.example'",
        &[],
    );
    b(
        &d("fay@gamma.example"),
        &c("fay@gamma.example"),
        "fay@gamma.example",
        "soft",
        "mailboxfull",
        "'4.2.2'",
        "'smtp; 452 4.2.2 Mailbox full & over quota'",
        180_000,
    );
    b(
        &d("dan@beta.example"),
        &c("dan@beta.example"),
        "dan@beta.example",
        "complaint",
        "feedback",
        "NULL",
        "'abuse'",
        600_000,
    );
    b(
        "NULL",
        &c("cat@beta.example"),
        "cat@beta.example",
        "complaint",
        "feedback",
        "NULL",
        "NULL",
        // A millisecond after cat's message: it comes before any later send
        // reaches cat however fast the machine (a complaint that names no
        // delivery goes with the contact's latest message before it).
        1,
    );
    b(
        &d("ben@alpha.example"),
        &c("ben@alpha.example"),
        "ben@alpha.example",
        "auto-reply",
        "vacation",
        "NULL",
        "NULL",
        60_000,
    );
    b(
        &d("ada@alpha.example"),
        &c("ada@alpha.example"),
        "ada@alpha.example",
        "not-a-failure",
        "delivered",
        "'2.0.0'",
        "NULL",
        30_000,
    );
    // Unsubscribes after the send: ada through this send's link (the
    // suppression names it), ben by e-mail (it names no send). kim's
    // suppression is older than the send: not an unsubscribe since.
    app.execute(
        &format!(
            "INSERT INTO suppressions (kind, value, reason, source, send_id, created_at) \
             VALUES ('address', 'ada@alpha.example', 'unsubscribed', 'list-unsubscribe', {id}, \
                 (SELECT sent_at FROM deliveries WHERE email = 'ada@alpha.example') + 900000)"
        ),
        &[],
    );
    app.execute(
        "INSERT INTO suppressions (kind, value, reason, source, created_at) \
         VALUES ('address', 'ben@alpha.example', 'unsubscribed', 'mailto', \
             (SELECT sent_at FROM deliveries WHERE email = 'ben@alpha.example') + 800000)",
        &[],
    );
    app.execute(
        "UPDATE contacts SET status = 'unsubscribed' WHERE email_key IN ('ada@alpha.example', 'ben@alpha.example')",
        &[],
    );
    // dan changed outlet after the send: his record needs an update.
    app.execute(
        "UPDATE contacts SET status = 'needs-update' WHERE email_key = 'dan@beta.example'",
        &[],
    );
    id
}
