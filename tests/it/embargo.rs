//! Embargoes as the press works them: a release goes out ahead of its
//! embargo, carrying the banner and the subject prefix; a message written
//! at or after the lift carries neither. Seen where the journalist sees it
//! (the messages at `smtp-sink`) and where the press officer does (the
//! confirmation, `sends`, `sends status`, the report, `release preview`
//! and `release check`), in the release's time zone.

use std::borrow::Cow;
use std::time::SystemTime;

use mail_parser::{Message, MessageParser};

use crate::harness::{each_backend, SinkMessage, SmtpSink, TestApp};

/// Four journalists, one of them German.
const CONTACTS: &str = "Email,First Name,Last Name,Language\n\
    amara@nairobisignal.example,Amara,Okonkwo,en\n\
    jonas@rheinkurier.example,Jonas,Weber,de\n\
    thandiwe@capebroadcast.example,Thandiwe,Nkosi,en\n\
    desk@harbourpost.example,,,\n";

/// A release with `embargo` (a TOML date-time) shown in Bangkok time.
fn release(embargo: &str) -> String {
    format!(
        "+++\ntitle = \"Mekong dam report\"\nsubject = \"Mekong dam report: 40 villages\"\n\
         embargo = {embargo}\ntimezone = \"Asia/Bangkok\"\n\
         [from]\nname = \"Clearwater\"\nemail = \"press@clearwater-rights.example\"\n+++\n\
         Dear {{{{ contact.first_name or \"colleague\" }}}},\n\nThe report is out.\n"
    )
}

fn import(app: &TestApp, csv: &str) {
    app.write("contacts.csv", csv);
    app.ok(["contacts", "import", "contacts.csv"]);
}

/// `send FILE --yes --smtp URL EXTRA…`, asserting success: stdout.
fn send(app: &TestApp, file: &str, url: &str, extra: &[&str]) -> String {
    let mut args = vec!["send", file, "--yes", "--smtp", url];
    args.extend_from_slice(extra);
    app.ok(args)
}

fn parse(raw: &str) -> Message<'_> {
    MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap_or_else(|| panic!("not a MIME message:\n{raw}"))
}

/// Whether a message shows an embargo: its subject prefix, the banner of
/// its text part and of its HTML part. (What the banner says, and in which
/// language, is the layouts' business.)
fn embargo_shown(m: &Message<'_>) -> (bool, bool, bool) {
    let subject = m.subject().unwrap_or_default();
    let text: Cow<'_, str> = m.body_text(0).unwrap();
    let html: Cow<'_, str> = m.body_html(0).unwrap();
    (
        subject.starts_with('[') && subject.to_uppercase().contains("EMBARGO"),
        text.lines()
            .next()
            .is_some_and(|l| l.starts_with("***") && l.to_uppercase().contains("EMBARGO")),
        html.contains("class=\"embargo\""),
    )
}

fn state_of_last_send(app: &TestApp) -> String {
    app.texts("SELECT state FROM sends ORDER BY id DESC")[0][0]
        .clone()
        .unwrap()
}

#[test]
fn an_embargoed_release_goes_out_now_with_the_banner_and_the_subject_prefix() {
    each_backend(|app| {
        import(app, CONTACTS);
        app.write("mekong.md", release("2099-05-10T09:00:00+07:00"));
        let sink = SmtpSink::start(&[]);
        let out = send(app, "mekong.md", &sink.url(), &["--rate", "unlimited"]);
        // The confirmation names the embargo and the start, in Bangkok time.
        assert!(
            out.contains(
                "embargo:    until 10 May 2099, 09:00 Asia/Bangkok (02:00 UTC); messages written \
                 before then carry the embargo banner and subject prefix"
            ),
            "{out}"
        );
        assert!(out.contains("start:      now"), "{out}");
        assert!(out.contains("4 sent"), "{out}");
        // Not held back: sent now.
        assert_eq!(state_of_last_send(app), "finished");
        let arrived = sink.messages();
        assert_eq!(arrived.len(), 4);
        for msg in &arrived {
            let m = parse(&msg.raw);
            assert_eq!(embargo_shown(&m), (true, true, true), "{}", msg.raw);
            assert!(
                m.subject()
                    .unwrap()
                    .ends_with("] Mekong dam report: 40 villages"),
                "{:?}",
                m.subject()
            );
        }

        // `sends`, `sends status` and the report show the send's times in
        // the release's zone, and the embargo.
        let id = app.count("SELECT max(id) FROM sends").to_string();
        let status = app.ok(["sends", "status", &id]);
        assert!(
            status.contains("embargo until 10 May 2099, 09:00 Asia/Bangkok (02:00 UTC)"),
            "{status}"
        );
        assert!(
            status.contains("started ") && status.contains(" Asia/Bangkok ("),
            "{status}"
        );
        let list = app.ok(["sends"]);
        assert!(list.contains(" Asia/Bangkok ("), "{list}");
        let report = app.ok(["report", &id]);
        assert!(
            report.contains("embargo:  until 10 May 2099, 09:00 Asia/Bangkok (02:00 UTC)"),
            "{report}"
        );
        assert!(
            report.contains("started:  ") && report.contains(" Asia/Bangkok ("),
            "{report}"
        );
        let html = app.ok(["report", &id, "--format", "html"]);
        // minijinja writes the zone's slash as `&#x2f;`.
        assert!(
            html.contains(
                "<dt>Embargo until</dt><dd>10 May 2099, 09:00 Asia&#x2f;Bangkok (02:00 UTC)</dd>"
            ),
            "{html}"
        );
        let json = app.json(["sends", "status", &id, "--format", "json"]);
        assert_eq!(json["timezone"], "Asia/Bangkok");
        assert_eq!(json["embargo_at"], "2099-05-10T02:00:00Z");
    });
}

#[test]
fn a_release_whose_embargo_has_passed_goes_out_without_banner_or_prefix() {
    each_backend(|app| {
        import(app, CONTACTS);
        app.write("mekong.md", release("2020-05-10T09:00:00+07:00"));
        let sink = SmtpSink::start(&[]);
        let out = send(app, "mekong.md", &sink.url(), &["--rate", "unlimited"]);
        assert!(
            out.contains(
                "embargo:    lifted 10 May 2020, 09:00 Asia/Bangkok (02:00 UTC); the messages carry \
                 no embargo banner or subject prefix"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "warning:    mekong.md:4: the embargo lifted at 10 May 2020, 09:00 Asia/Bangkok"
            ),
            "{out}"
        );
        let arrived = sink.messages();
        assert_eq!(arrived.len(), 4);
        for msg in &arrived {
            let m = parse(&msg.raw);
            assert_eq!(embargo_shown(&m), (false, false, false), "{}", msg.raw);
            assert_eq!(m.subject(), Some("Mekong dam report: 40 villages"));
        }
    });
}

/// The Date header of a message, in seconds since the epoch.
fn date(msg: &SinkMessage) -> i64 {
    parse(&msg.raw)
        .date()
        .expect("a Date header")
        .to_timestamp()
}

/// A send paced so that it outlasts its embargo: each message is written
/// when its turn comes, and carries the banner and the prefix exactly when
/// that is before the lift (its Date header is the moment it was written).
/// A late or resumed delivery is written the same way.
#[test]
fn a_send_that_outlasts_its_embargo_drops_the_banner_from_the_lift_on() {
    each_backend(|app| {
        let mut csv = String::from("Email,First Name\n");
        for i in 0..8 {
            csv.push_str(&format!("r{i}@outlet{}.example,R{i}\n", i % 3));
        }
        import(app, &csv);
        // Four whole seconds ahead: the banner decision and the Date header
        // share a second's resolution then.
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let lifts = now + 4;
        let embargo = chrono::DateTime::from_timestamp(lifts, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        app.write("mekong.md", release(&embargo));
        let sink = SmtpSink::start(&[]);
        let out = send(app, "mekong.md", &sink.url(), &["--rate", "1/s"]);
        assert!(out.contains("8 sent"), "{out}");
        assert!(
            out.contains("after the embargo lifts") && out.contains("carry no embargo banner"),
            "the confirmation warns that the send outlasts the embargo:\n{out}"
        );
        let arrived = sink.messages();
        assert_eq!(arrived.len(), 8);
        let (mut before, mut after) = (0, 0);
        for msg in &arrived {
            let m = parse(&msg.raw);
            let written_before = date(msg) < lifts;
            let shown = if written_before {
                (true, true, true)
            } else {
                (false, false, false)
            };
            assert_eq!(
                embargo_shown(&m),
                shown,
                "[{}] written at {} (lift at {lifts}):\n{}",
                app.backend,
                date(msg),
                msg.raw
            );
            if written_before {
                before += 1;
            } else {
                after += 1;
            }
        }
        assert!(
            before > 0 && after > 0,
            "{before} before, {after} after the lift"
        );
    });
}

#[test]
fn preview_of_a_past_embargo_says_it_has_lifted_and_shows_no_banner() {
    each_backend(|app| {
        import(app, CONTACTS);
        for (embargo, lifted) in [
            ("2020-05-10T09:00:00+07:00", true),
            ("2099-05-10T09:00:00+07:00", false),
        ] {
            app.write("mekong.md", release(embargo));
            let out = app
                .command()
                .args([
                    "release",
                    "preview",
                    "mekong.md",
                    "--contact",
                    "amara@nairobisignal.example",
                ])
                .args(["--format", "eml"])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0));
            let raw = String::from_utf8(out.stdout).unwrap();
            let note = String::from_utf8(out.stderr).unwrap();
            let m = parse(&raw);
            if lifted {
                assert!(
                    note.contains(
                        "the embargo lifted at 10 May 2020, 09:00 Asia/Bangkok (02:00 UTC): this \
                         message carries no embargo banner or subject prefix"
                    ),
                    "{note}"
                );
                assert_eq!(embargo_shown(&m), (false, false, false), "{raw}");
            } else {
                assert_eq!(note, "");
                assert_eq!(embargo_shown(&m), (true, true, true), "{raw}");
            }
        }
    });
}

#[test]
fn check_warns_about_a_double_embargo_prefix_and_an_embargo_that_has_passed() {
    each_backend(|app| {
        import(app, "Email,First Name\namara@nairobisignal.example,Amara\n");
        let front = |subject: &str, embargo: Option<&str>| {
            format!(
                "+++\ntitle = \"T\"\nsubject = \"{subject}\"\n{}\
                 [from]\nemail = \"press@clearwater-rights.example\"\n+++\nHello.\n",
                embargo
                    .map(|e| format!("embargo = {e}\n"))
                    .unwrap_or_default()
            )
        };
        // The subject says it, and presswire adds the prefix: twice.
        app.write(
            "double.md",
            front(
                "EMBARGOED until Monday: Mekong report",
                Some("2099-05-10T09:00:00Z"),
            ),
        );
        let out = app.ok(["release", "check", "double.md"]);
        assert!(
            out.contains(
                "warning: double.md:3: the subject already says \"embargo\", and presswire puts \
                 \"["
            ) && out.contains("before it until the embargo lifts: take it out of `subject`"),
            "{out}"
        );
        // The subject says it and there is no embargo: it would still say so
        // after the lift.
        app.write("nodate.md", front("Embargoed: Mekong report", None));
        let out = app.ok(["release", "check", "nodate.md"]);
        assert!(
            out.contains("warning: nodate.md:3: the subject says \"embargo\" but the release sets no `embargo`"),
            "{out}"
        );
        // An embargo in the past: its banner would be gone.
        app.write(
            "past.md",
            front("Mekong report", Some("2020-05-10T09:00:00+07:00")),
        );
        let out = app.ok(["release", "check", "past.md"]);
        assert!(
            out.contains(
                "warning: past.md:4: the embargo lifted at 10 May 2020, 02:00 UTC: messages written \
                 now carry no embargo banner or subject prefix; set a new `embargo` or take it out"
            ),
            "{out}"
        );
        // A plain one: no warning about embargoes.
        app.write(
            "plain.md",
            front("Mekong report", Some("2099-05-10T09:00:00Z")),
        );
        let out = app.ok(["release", "check", "plain.md"]);
        assert!(out.contains("0 error(s), 0 warning(s)"), "{out}");
    });
}

/// Sends an earlier presswire scheduled for the lift of an embargo keep
/// their state and their time through the migration, and still start: the
/// send is made at the schema before it (its stored settings still saying
/// `ignore_embargo`), the database migrated by the next command.
#[test]
fn sends_an_earlier_presswire_scheduled_for_an_embargo_keep_their_time() {
    const BEFORE: i64 = 20261207010001;
    each_backend(|app| {
        // The stored release of a real send, from a database of today.
        let other = app.fresh();
        import(&other, CONTACTS);
        other.write("mekong.md", release("2099-05-10T09:00:00+07:00"));
        other.ok([
            "send",
            "mekong.md",
            "--yes",
            "--at",
            "2099-05-10T09:00:00+07:00",
        ]);
        let bundle = other.texts("SELECT bundle FROM releases")[0][0]
            .clone()
            .unwrap();
        let settings = other.texts("SELECT settings FROM sends")[0][0]
            .clone()
            .unwrap();
        let mut settings: serde_json::Value = serde_json::from_str(&settings).unwrap();
        settings["ignore_embargo"] = false.into();
        drop(other);

        let lifts: i64 = 4_082_061_600_000; // 2099-05-10T02:00:00Z
        let statements = [
            "INSERT INTO contacts (email, email_key, domain, name, first_name, language, created_at, updated_at) \
             VALUES ('amara@nairobisignal.example', 'amara@nairobisignal.example', 'nairobisignal.example', \
                     'Amara Okonkwo', 'Amara', 'en', 1, 1), \
                    ('jonas@rheinkurier.example', 'jonas@rheinkurier.example', 'rheinkurier.example', \
                     'Jonas Weber', 'Jonas', 'de', 1, 1)"
                .to_string(),
            "INSERT INTO releases (id, slug, title, subject, source_hash, bundle, created_at) \
             VALUES (1, 'mekong', 'Mekong dam report', 'Mekong dam report: 40 villages', 'h', $1, 1)"
                .to_string(),
            format!(
                "INSERT INTO sends (id, release_id, audience, settings, state, scheduled_at, created_at) \
                 VALUES (1, 1, '{{}}', $1, 'scheduled', {lifts}, 1)"
            ),
            "INSERT INTO deliveries (send_id, contact_id, email, state, created_at, updated_at) \
             SELECT 1, id, email, 'queued', 1, 1 FROM contacts"
                .to_string(),
        ];
        let binds = [None, Some(bundle), Some(settings.to_string()), None];
        old_schema(
            app,
            BEFORE,
            &statements.iter().zip(binds).collect::<Vec<_>>(),
        );

        // Migrated: still scheduled, for the same time.
        let status = app.ok(["sends", "status", "1"]);
        assert!(status.contains(": scheduled"), "{status}");
        assert!(
            status.contains("scheduled for 10 May 2099, 02:00 UTC"),
            "{status}"
        );
        assert_eq!(
            app.count("SELECT scheduled_at FROM sends WHERE id = 1"),
            lifts
        );
        // And it starts, before the lift: with the banner.
        let sink = SmtpSink::start(&[]);
        let out = app.ok(["sends", "start", "1", "--smtp", &sink.url()]);
        assert!(out.contains("2 sent"), "{out}");
        let arrived = sink.messages();
        assert_eq!(arrived.len(), 2);
        for msg in arrived {
            assert_eq!(embargo_shown(&parse(&msg.raw)), (true, true, true));
        }
    });
}

/// Brings `app`'s fresh database to the schema before migration `before`
/// and runs `statements` there (each with its one text parameter, if any),
/// without presswire (which would migrate it to today's schema).
fn old_schema(app: &TestApp, before: i64, statements: &[(&String, Option<String>)]) {
    macro_rules! migrate_and_run {
        ($dir:literal, $pool:expr) => {{
            let pool = $pool;
            let mut m = sqlx::migrate!($dir);
            let kept: Vec<_> = m
                .migrations
                .iter()
                .filter(|x| x.version < before)
                .cloned()
                .collect();
            m.migrations = Cow::Owned(kept);
            m.run(&pool).await.unwrap();
            for (sql, bind) in statements {
                let mut q = sqlx::query(sql.as_str());
                if let Some(b) = bind {
                    q = q.bind(b.clone());
                }
                q.execute(&pool).await.unwrap();
            }
            pool.close().await;
        }};
    }
    let url = app.db_url.clone();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            if let Some(file) = url.strip_prefix("sqlite://") {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(file)
                    .create_if_missing(true);
                migrate_and_run!(
                    "migrations/sqlite",
                    sqlx::SqlitePool::connect_with(options).await.unwrap()
                );
            } else {
                migrate_and_run!(
                    "migrations/postgres",
                    sqlx::PgPool::connect(&url).await.unwrap()
                );
            }
        });
}
