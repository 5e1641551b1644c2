//! `send FILE --test EMAIL… [--as CONTACT]`: the message a contact gets
//! (their variant, their name, the embargo banner), sent to the press
//! officer's own inbox and colleagues' at `smtp-sink`, marked as a test,
//! and recorded nowhere: no send, no delivery, nothing in a report.

use mail_parser::{Message, MessageParser};

use crate::harness::{each_backend, fixture, SmtpSink, TestApp};

/// The embargoed release in English and German (an embargo far ahead).
fn copy_embargo_release(app: &TestApp) {
    for f in ["embargo.md", "embargo.de.md"] {
        std::fs::copy(fixture(&format!("releases/{f}")), app.path().join(f)).unwrap();
    }
}

const CONTACTS: &str = "Email,First Name,Last Name,Language\n\
    jane@x.example,Jane,Doe,en\n\
    max@y.example,Max,Muster,de-AT\n";

fn parse(raw: &str) -> Message<'_> {
    MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap_or_else(|| panic!("not a MIME message:\n{raw}"))
}

#[test]
fn a_test_send_renders_as_the_contact_given_by_as_to_every_test_address() {
    each_backend(|app| {
        copy_embargo_release(app);
        app.write("contacts.csv", CONTACTS);
        app.ok(["contacts", "import", "contacts.csv"]);
        let sink = SmtpSink::start(&[]);
        let out = app.ok([
            "send",
            "embargo.md",
            "--test",
            "me@ngo.example",
            "--test",
            "colleague@ngo.example",
            "--as",
            "max@y.example",
            "--smtp",
            &sink.url(),
        ]);
        assert!(
            out.contains("test message for max@y.example sent to me@ngo.example: 250")
                && out
                    .contains("test message for max@y.example sent to colleague@ngo.example: 250"),
            "{out}"
        );
        let arrived = sink.messages();
        assert_eq!(arrived.len(), 2);
        let mut to: Vec<&str> = arrived.iter().map(|m| m.rcpt_to[0].as_str()).collect();
        to.sort();
        assert_eq!(to, ["colleague@ngo.example", "me@ngo.example"]);
        for msg in &arrived {
            let m = parse(&msg.raw);
            // Max's message: the German variant, his name, the embargo.
            let subject = m.subject().unwrap();
            assert!(subject.starts_with("[TEST] ["), "{subject}");
            assert!(
                subject.ends_with("] Genehmigungen für den Lumo-Staudamm müssen ausgesetzt werden"),
                "{subject}"
            );
            assert_eq!(m.header_raw("Content-Language").unwrap().trim(), "de");
            let text = m.body_text(0).unwrap();
            assert!(text.contains("Guten Tag Max Muster,"), "{text}");
            assert!(text.lines().next().unwrap().starts_with("***"), "{text}");
            assert!(m.body_html(0).unwrap().contains("class=\"embargo\""));
            // Addressed to the tester, marked as a test, and with no
            // unsubscribe link that would unsubscribe Max.
            let addressee = m.to().unwrap().first().unwrap();
            assert_eq!(addressee.address(), Some(msg.rcpt_to[0].as_str()));
            assert_eq!(addressee.name(), None);
            assert!(m.header_raw("X-Presswire-Test").is_some(), "{}", msg.raw);
            assert!(m.header_raw("List-Unsubscribe").is_none(), "{}", msg.raw);
            assert_eq!(
                msg.mail_from, "press@clearwater-rights.example",
                "a test message has no delivery to bounce to"
            );
        }
        // Not a delivery of any send: nothing recorded, nothing to report.
        assert_eq!(app.count("SELECT count(*) FROM sends"), 0);
        assert_eq!(app.count("SELECT count(*) FROM deliveries"), 0);
        let reports = app.ok(["reports"]);
        assert!(!reports.contains("embargo"), "{reports}");
        app.fails(2, ["report", "latest"]);

        // Without --as, a test address that is a contact gets their own
        // message; one that is not, a made-up contact's.
        let out = app.ok([
            "send",
            "embargo.md",
            "--test",
            "jane@x.example",
            "--test",
            "someone@else.example",
            "--smtp",
            &sink.url(),
        ]);
        assert!(
            out.contains("test message for jane@x.example sent to jane@x.example"),
            "{out}"
        );
        assert!(
            out.contains("test message for someone@else.example sent to someone@else.example"),
            "{out}"
        );
        assert_eq!(sink.messages().len(), 4);
        assert_eq!(app.count("SELECT count(*) FROM deliveries"), 0);
    });
}

#[test]
fn a_test_send_as_a_contact_that_does_not_exist_sends_nothing() {
    each_backend(|app| {
        copy_embargo_release(app);
        app.write("contacts.csv", CONTACTS);
        app.ok(["contacts", "import", "contacts.csv"]);
        let sink = SmtpSink::start(&[]);
        let (_, err) = app.fails(
            2,
            [
                "send",
                "embargo.md",
                "--test",
                "me@ngo.example",
                "--as",
                "nobody@x.example",
                "--smtp",
                &sink.url(),
            ],
        );
        assert!(
            err.contains("--as nobody@x.example: no contact has this address"),
            "{err}"
        );
        // --as needs --test; a test address must be one.
        let (_, err) = app.fails(2, ["send", "embargo.md", "--as", "max@y.example", "--yes"]);
        assert!(err.contains("--test"), "{err}");
        let (_, err) = app.fails(
            2,
            [
                "send",
                "embargo.md",
                "--test",
                "not an address",
                "--smtp",
                &sink.url(),
            ],
        );
        assert!(err.contains("--test \"not an address\""), "{err}");
        assert!(sink.messages().is_empty());
        assert_eq!(app.count("SELECT count(*) FROM sends"), 0);
    });
}
