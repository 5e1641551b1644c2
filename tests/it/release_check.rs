//! What `release check` (and `send`, which checks the same) tells a press
//! officer before anything leaves: links and addresses left from a
//! template, failed messages counted per language, and attachments that
//! are not the release's to send (a path out of its folder, a symlink
//! out of it): refused, naming the path, with nothing sent.

use mail_parser::{MessageParser, MimeHeaders};

use crate::harness::{each_backend, SmtpSink, TestApp};

fn import(app: &TestApp, csv: &str) {
    app.write("contacts.csv", csv);
    app.ok(["contacts", "import", "contacts.csv"]);
}

#[test]
fn check_warns_about_links_and_addresses_left_from_a_template() {
    each_backend(|app| {
        import(app, "Email,First Name\nan@x.example,Ann\n");
        // The starter of `release new`, sent as it comes.
        app.ok(["release", "new", "statement"]);
        let out = app.ok(["release", "check", "releases/statement.md"]);
        for warning in [
            "warning: releases/statement.md:13: `reply_to` is \"press@example.org\", a placeholder left from a template; put in the real one or take it out",
            "warning: releases/statement.md:17: `from.email` is \"press@example.org\"",
            "warning: releases/statement.md:24: `links.website` is \"https://example.org\"",
            "warning: releases/statement.md:30: `contact.email` is \"press@example.org\"",
            "warning: releases/statement.md:31: `contact.phone` is \"+00 000 000 000\"",
            "warning: releases/statement.md: the text links to \"https://example.org/report\", left from a template; put in the real address or take the link out",
        ] {
            assert!(out.contains(warning), "{warning}\nnot in:\n{out}");
        }
        // `#`, an empty link, an HTML link to example.com; a real one and an
        // anchor are fine.
        app.write(
            "links.md",
            "+++\ntitle = \"T\"\nsubject = \"S\"\n[from]\nemail = \"press@ngo.example\"\n\
             [links]\nwebsite = \"https://ngo.example\"\nmirror = \"#\"\n+++\n\
             Read [the report](#) and [the annex]() and <a href=\"https://www.example.com/x\">this</a>.\n\
             Also [our site](https://ngo.example/r) and [below](#demands).\n",
        );
        let out = app.ok(["release", "check", "links.md"]);
        assert!(
            out.contains("warning: links.md:8: `links.mirror` is \"#\", a placeholder"),
            "{out}"
        );
        assert!(
            out.contains(
                "warning: links.md: the text links to \"\", \"https://www.example.com/x\", left from a template"
            ),
            "{out}"
        );
        assert!(out.contains("0 error(s), 2 warning(s)"), "{out}");
        // The repository's example release has none.
        let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("releases/example.md");
        let report = app.json([
            "release",
            "check",
            example.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(report["warnings"], serde_json::json!([]), "{report:#}");
    });
}

/// The summary used to count every message per language, failed or not
/// ("0 of 3 messages rendered (2 in en, 1 in my)" read as if two English
/// ones had rendered): it now says how many of each language rendered,
/// and how many failed. An English release with a Burmese variant, as the
/// press office tried it: the English text fails for contacts with an
/// outlet, the Burmese one for everyone.
#[test]
fn regression_check_summary_counts_failed_messages_per_language() {
    each_backend(|app| {
        let from = "[from]\nemail = \"press@ngo.example\"\n";
        app.write(
            "statement.md",
            format!(
                "+++\ntitle = \"T\"\nsubject = \"S\"\nvariants = [\"statement.my.md\"]\n{from}+++\n\
                 Hello{{% if contact.outlet %}} {{{{ contact.outlet_nam }}}}{{% endif %}}.\n"
            ),
        );
        app.write(
            "statement.my.md",
            "+++\nlanguage = \"my\"\n+++\nမင်္ဂလာပါ {{ contact.nmae }}\n",
        );
        import(
            app,
            "Email,Name,Outlet,Language\n\
             a@x.example,Ann,Daily Planet,en\n\
             b@x.example,Ben,,en\n\
             c@x.example,Cho,,my\n\
             d@x.example,Daw,The Irrawaddy,my\n",
        );
        let (out, _) = app.fails(1, ["release", "check", "statement.md"]);
        assert!(
            out.ends_with(
                "statement.md: 1 of 4 messages rendered (en: 1 of 2, my: 0 of 2); 3 failed; 2 error(s), 0 warning(s)\n"
            ),
            "{out}"
        );
        let (out, _) = app.fails(1, ["release", "check", "statement.md", "--format", "json"]);
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(report["languages"], serde_json::json!({"en": 2, "my": 2}));
        assert_eq!(
            report["failed_languages"],
            serde_json::json!({"en": 1, "my": 2})
        );
    });
}

/// A release folder `rel/` with a release attaching `attachment`.
fn release_with(app: &TestApp, attachment: &str) {
    std::fs::create_dir_all(app.path().join("rel")).unwrap();
    app.write(
        "rel/r.md",
        format!(
            "+++\ntitle = \"T\"\nsubject = \"S\"\nattachments = [\"{attachment}\"]\n\
             [from]\nemail = \"press@ngo.example\"\n+++\nHello.\n"
        ),
    );
}

#[test]
fn attachments_from_outside_the_release_folder_are_refused_by_check_preview_and_send() {
    each_backend(|app| {
        import(app, "Email,Name\nan@x.example,Ann\n");
        let sink = SmtpSink::start(&[]);
        app.write("secret.key", "-----BEGIN PRIVATE KEY-----\nhunter2\n");
        let outside = app.path().join("secret.key");
        std::fs::create_dir_all(app.path().join("rel")).unwrap();
        std::os::unix::fs::symlink(&outside, app.path().join("rel/notes.txt")).unwrap();
        for (attachment, resolved) in [
            ("/etc/passwd".to_string(), "/etc/passwd".to_string()),
            (
                "../../../../../../../../etc/passwd".into(),
                "/etc/passwd".into(),
            ),
            (
                "../secret.key".into(),
                outside.canonicalize().unwrap().display().to_string(),
            ),
            // A symlink in the folder that points out of it.
            (
                "notes.txt".into(),
                outside.canonicalize().unwrap().display().to_string(),
            ),
        ] {
            release_with(app, &attachment);
            let error = format!(
                "rel/r.md:4: attachment {attachment:?} is {resolved:?}, outside the release's folder"
            );
            let (out, _) = app.fails(1, ["release", "check", "rel/r.md"]);
            assert!(out.contains(&format!("error: {error}")), "{out}");
            let (_, err) = app.fails(2, ["release", "preview", "rel/r.md", "--format", "eml"]);
            assert!(err.contains(&error), "{err}");
            let (_, err) = app.fails(2, ["send", "rel/r.md", "--yes", "--smtp", &sink.url()]);
            assert!(err.contains(&error), "{err}");
            let (_, err) = app.fails(
                2,
                [
                    "send",
                    "rel/r.md",
                    "--test",
                    "me@ngo.example",
                    "--smtp",
                    &sink.url(),
                ],
            );
            assert!(err.contains(&error), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        // Nothing sent, nothing recorded.
        assert!(sink.messages().is_empty());
        assert_eq!(app.count("SELECT count(*) FROM sends"), 0);
        // A folder that is no file.
        std::fs::create_dir_all(app.path().join("rel/images")).unwrap();
        release_with(app, "images");
        let (out, _) = app.fails(1, ["release", "check", "rel/r.md"]);
        assert!(
            out.contains("error: rel/r.md:4: attachment \"images\" is not a file"),
            "{out}"
        );
    });
}

/// `[release] attachment_dirs` names folders attachments may come from
/// too; the send's workers get them from the stored release.
#[test]
fn attachments_from_a_folder_of_attachment_dirs_are_sent() {
    each_backend(|app| {
        import(app, "Email,Name\nan@x.example,Ann\nbo@y.example,Bo\n");
        let sink = SmtpSink::start(&[]);
        std::fs::create_dir_all(app.path().join("shared")).unwrap();
        app.write("shared/logo.png", b"\x89PNG\r\n\x1a\n0000");
        release_with(app, "../shared/logo.png");
        let (out, _) = app.fails(1, ["release", "check", "rel/r.md"]);
        assert!(out.contains("outside the release's folder"), "{out}");
        app.write(
            "presswire.toml",
            "[release]\nattachment_dirs = [\"shared\"]\n",
        );
        app.ok(["release", "check", "rel/r.md"]);
        // Scheduled, then started: a worker builds the messages from the
        // stored release, not from the files.
        app.ok(["send", "rel/r.md", "--yes", "--at", "2099-01-01T00:00:00Z"]);
        std::fs::remove_file(app.path().join("shared/logo.png")).unwrap();
        let out = app.ok(["sends", "start", "1", "--smtp", &sink.url()]);
        assert!(out.contains("2 sent"), "{out}");
        let arrived = sink.messages();
        assert_eq!(arrived.len(), 2);
        for msg in &arrived {
            let m = MessageParser::default().parse(msg.raw.as_bytes()).unwrap();
            assert_eq!(m.attachment_count(), 1);
            let a = m.attachment(0).unwrap();
            assert_eq!(a.attachment_name(), Some("logo.png"));
            assert_eq!(a.contents(), b"\x89PNG\r\n\x1a\n0000");
        }
    });
}
