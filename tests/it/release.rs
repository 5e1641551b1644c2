//! Releases: `release new`, `preview` and `check` run as a press officer
//! runs them, and the messages they build parsed back with mail-parser:
//! headers, parts, attachments, golden files of the example release and
//! SpamAssassin's verdict on it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use crate::harness::{each_backend, fixture, TestApp};

// ---------------------------------------------------------------------------
// Helpers

/// The repository's example release (English, with a German variant).
fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("releases/example.md")
        .display()
        .to_string()
}

/// Copies tests/fixtures/releases/`name` (a file or a folder) into the
/// working directory, so that messages name it by its bare file name.
fn copy_release(app: &TestApp, name: &str) {
    copy_tree(
        &fixture(&format!("releases/{name}")),
        &app.path().join(name),
    );
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// Imports `csv` (written as contacts.csv) into the test database.
fn import(app: &TestApp, csv: &str) {
    app.write("contacts.csv", csv);
    app.ok(["contacts", "import", "contacts.csv"]);
}

/// `release preview RELEASE --contact EMAIL --format eml`: the raw message.
fn eml(app: &TestApp, release: &str, contact: &str) -> String {
    app.ok([
        "release",
        "preview",
        release,
        "--contact",
        contact,
        "--format",
        "eml",
    ])
}

fn parse(raw: &str) -> Message<'_> {
    MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap_or_else(|| panic!("not a MIME message:\n{raw}"))
}

/// The MIME structure, e.g. `multipart/alternative[text/plain, text/html]`.
fn tree(m: &Message<'_>) -> String {
    fn part(m: &Message<'_>, id: usize) -> String {
        let p = &m.parts[id];
        let ct = p
            .content_type()
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
            .unwrap_or_else(|| "text/plain".into());
        match &p.body {
            PartType::Multipart(ids) => format!(
                "{ct}[{}]",
                ids.iter()
                    .map(|i| part(m, *i as usize))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => ct,
        }
    }
    part(m, 0)
}

/// The message's own header section, unfolded: (name, raw value).
fn headers(raw: &str) -> Vec<(String, String)> {
    let section = raw.split("\r\n\r\n").next().unwrap();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in section.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            out.last_mut().unwrap().1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').unwrap();
            out.push((name.to_string(), value.trim().to_string()));
        }
    }
    out
}

/// The value of one top-level header, asserting there is exactly one.
fn header(raw: &str, name: &str) -> String {
    let found: Vec<String> = headers(raw)
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(found.len(), 1, "{name}: {found:?}\n{raw}");
    found.into_iter().next().unwrap()
}

fn subject(m: &Message<'_>) -> String {
    m.subject().unwrap().to_string()
}

/// The text part, with the CRLF line ends of the wire made LF again.
fn text(m: &Message<'_>) -> String {
    m.body_text(0).unwrap().replace("\r\n", "\n")
}

fn html(m: &Message<'_>) -> String {
    m.body_html(0).unwrap().into_owned()
}

/// The one To address: (display name, address).
fn to(m: &Message<'_>) -> (Option<String>, String) {
    let to: Vec<_> = m.to().unwrap().iter().collect();
    assert_eq!(to.len(), 1, "{to:?}");
    (
        to[0].name().map(str::to_string),
        to[0].address().unwrap().to_string(),
    )
}

fn content_language(m: &Message<'_>) -> String {
    m.header_raw("Content-Language").unwrap().trim().to_string()
}

/// Bytes of the message that are a LF without the CR before it.
fn bare_lfs(raw: &str) -> usize {
    raw.as_bytes()
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' && (i == 0 || raw.as_bytes()[i - 1] != b'\r'))
        .count()
}

/// The CSV of two journalists, one per language of the example release.
const TWO_LANGUAGES: &str = "Email,First Name,Last Name,Outlet,Beat,Language\n\
    jane.doe@planet.example,Jane,Doe,Daily Planet,Environment,en-GB\n\
    max.mustermann@wire.example,Max,Mustermann,Wire Service,,de\n";

// ---------------------------------------------------------------------------
// Golden files

/// A rendered .eml with what differs between two renderings of the same
/// message replaced: the Date, the Message-ID's random part and the MIME
/// boundaries (derived from the Message-ID). Line ends become LF so the
/// files read and diff as text.
fn normalise(raw: &str) -> String {
    let seed = raw
        .split("boundary=\"=_alt_")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a multipart/alternative boundary");
    let text = raw.replace("\r\n", "\n").replace(seed, "SEED");
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if line.starts_with("Date: ") {
            out.push_str("Date: DATE\n");
        } else if let Some(id) = line.strip_prefix("Message-ID: <") {
            let (_, domain) = id.split_once('@').expect("Message-ID with a domain");
            out.push_str(&format!("Message-ID: <MESSAGE-ID@{domain}"));
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Compares `actual` with the golden file, or rewrites it when
/// `PRESSWIRE_BLESS=1`.
fn golden(name: &str, actual: &str) {
    let path = fixture(&format!("releases/golden/{name}"));
    if std::env::var("PRESSWIRE_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with PRESSWIRE_BLESS=1 cargo test",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the rendered message at line {}:\n  expected: {:?}\n  actual:   {:?}\n\
             If the change is intended, run PRESSWIRE_BLESS=1 cargo test and review the diff.\n\
             --- actual ---\n{actual}",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first),
        );
    }
}

#[test]
fn golden_example_messages_in_english_and_german() {
    each_backend(|app| {
        import(app, TWO_LANGUAGES);
        let en = eml(app, &example(), "jane.doe@planet.example");
        let de = eml(app, &example(), "max.mustermann@wire.example");
        golden("example-en.eml", &normalise(&en));
        golden("example-de.eml", &normalise(&de));
    });
}

#[test]
fn normalising_leaves_only_what_varies() {
    // Two renderings of the same message differ before normalising and are
    // identical after it: nothing else in a message varies.
    let app = TestApp::sqlite();
    import(&app, TWO_LANGUAGES);
    let a = eml(&app, &example(), "jane.doe@planet.example");
    let b = eml(&app, &example(), "jane.doe@planet.example");
    assert_ne!(a, b);
    assert_eq!(normalise(&a), normalise(&b));
    assert!(!normalise(&a).contains('\r'));
}

// ---------------------------------------------------------------------------
// Headers

#[test]
fn headers_of_a_message_follow_every_rule() {
    each_backend(|app| {
        import(app, TWO_LANGUAGES);
        let raw = eml(app, &example(), "jane.doe@planet.example");
        let m = parse(&raw);

        // From: the release's sender, with its name.
        let from = m.from().unwrap().first().unwrap();
        assert_eq!(from.name(), Some("Clearwater Rights Network"));
        assert_eq!(from.address(), Some("press@clearwater-rights.example"));
        // To: exactly the contact, by name; nobody else is addressed.
        assert_eq!(
            to(&m),
            (Some("Jane Doe".into()), "jane.doe@planet.example".into())
        );
        for absent in ["Cc", "Bcc", "Sender", "Return-Path"] {
            assert!(
                !headers(&raw)
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(absent)),
                "{absent} in\n{raw}"
            );
        }
        // Subject: the release's subject template, personalised.
        assert_eq!(
            subject(&m),
            "Jane, for your environment desk: Lumo River dam permits must be frozen before the rains"
        );
        // Date: now (RFC 5322 §3.6.1 requires it).
        let date = m.date().unwrap().to_timestamp();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!((now - date).abs() < 300, "Date {date} vs now {now}");
        // Message-ID: random, at the sender's domain (RFC 5322 §3.6.4).
        let id = m.message_id().unwrap();
        let (local, domain) = id.split_once('@').unwrap();
        assert_eq!(domain, "clearwater-rights.example");
        assert_eq!(local.len(), 32, "{id}");
        assert!(local.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        let again = eml(app, &example(), "jane.doe@planet.example");
        assert_ne!(parse(&again).message_id().unwrap(), id);
        // Reply-To from the front matter.
        let reply_to = m.reply_to().unwrap().first().unwrap();
        assert_eq!(reply_to.address(), Some("press@clearwater-rights.example"));
        // Content-Language: the language of the text the contact gets.
        assert_eq!(content_language(&m), "en");
        assert_eq!(header(&raw, "MIME-Version"), "1.0");
        // Text first, HTML last: the last alternative is preferred (RFC 2046 §5.1.4).
        assert_eq!(tree(&m), "multipart/alternative[text/plain, text/html]");
        for part in &m.parts[1..] {
            assert_eq!(
                part.content_type().unwrap().attribute("charset"),
                Some("utf-8")
            );
        }

        // On the wire: CRLF only (RFC 5321 §2.3.8), no line over 998
        // octets (RFC 5322 §2.1.1), headers folded to 78 and ASCII
        // (RFC 2047 encodes the rest).
        assert_eq!(bare_lfs(&raw), 0);
        assert!(raw.split("\r\n").all(|l| l.len() <= 998));
        let section = raw.split("\r\n\r\n").next().unwrap();
        assert!(section.is_ascii(), "{section}");
        assert!(section.split("\r\n").all(|l| l.len() <= 78), "{section}");

        // The German contact: German subject and Content-Language, same rules.
        let raw = eml(app, &example(), "max.mustermann@wire.example");
        let m = parse(&raw);
        assert_eq!(
            subject(&m),
            "Lumo-Staudamm: 40 Gemeinden fordern Stopp der Genehmigungen vor der Regenzeit"
        );
        assert_eq!(content_language(&m), "de");
        assert_eq!(
            to(&m),
            (
                Some("Max Mustermann".into()),
                "max.mustermann@wire.example".into()
            )
        );
    });
}

#[test]
fn no_reply_to_header_without_reply_to_in_the_release() {
    let app = TestApp::sqlite();
    for f in [
        "scripts.md",
        "scripts.my.md",
        "scripts.th.md",
        "scripts.ar.md",
    ] {
        copy_release(&app, f);
    }
    let raw = app.ok(["release", "preview", "scripts.md", "--format", "eml"]);
    assert!(
        !headers(&raw)
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("Reply-To")),
        "{raw}"
    );
}

// ---------------------------------------------------------------------------
// Contact data is data

#[test]
fn template_code_in_contact_data_is_shown_not_run() {
    each_backend(|app| {
        copy_release(app, "injection.md");
        import(
            app,
            "Email,Name,Outlet\nseven@x.example,{{ 7*7 }},{% if true %}Planet{% endif %}\n",
        );
        let raw = eml(app, "injection.md", "seven@x.example");
        let m = parse(&raw);
        assert_eq!(
            subject(&m),
            "For {{ 7*7 }} at {% if true %}Planet{% endif %}"
        );
        assert_eq!(to(&m).0.as_deref(), Some("{{ 7*7 }}"));
        let html = html(&m);
        for shown in [
            "Dear {{ 7*7 }},",
            "<strong>{% if true %}Planet{% endif %}</strong>",
            "Prepared for {{ 7*7 }} at {% if true %}Planet{% endif %}.",
            "Notes for {{ 7*7 }}</h2>",
        ] {
            assert!(html.contains(shown), "{shown:?} not in\n{html}");
        }
        assert!(!html.contains("Dear 49"), "{html}");
        let text = text(&m);
        assert!(text.contains("Dear {{ 7*7 }},"), "{text}");
        assert!(text.contains("{% if true %}Planet{% endif %} has its own page"));
    });
}

#[test]
fn html_in_contact_data_is_escaped_in_every_place() {
    each_backend(|app| {
        copy_release(app, "injection.md");
        import(
            app,
            "Email,Name,Outlet\nmallory@x.example,<script>alert(1)</script>,<img src=x onerror=alert(2)>\n",
        );
        let raw = eml(app, "injection.md", "mallory@x.example");
        let m = parse(&raw);
        // Headers are text: shown as written, and still one address.
        assert_eq!(
            subject(&m),
            "For <script>alert(1)</script> at <img src=x onerror=alert(2)>"
        );
        assert_eq!(
            to(&m),
            (
                Some("<script>alert(1)</script>".into()),
                "mallory@x.example".into()
            )
        );
        let html = html(&m);
        let lower = html.to_lowercase();
        assert!(!lower.contains("<script"), "{html}");
        assert!(!lower.contains("<img"), "{html}");
        for shown in [
            "Dear &lt;script&gt;alert(1)&lt;/script&gt;,",
            "<strong>&lt;img src=x onerror=alert(2)&gt;</strong>",
            "href=\"https://clearwater-rights.example/for/mallory@x.example\"",
            "Notes for &lt;script&gt;alert(1)&lt;/script&gt;</h2>",
            // The footer's layout escapes too.
            "journalist at &lt;img src=x onerror=alert(2)&gt;.",
        ] {
            assert!(html.contains(shown), "{shown:?} not in\n{html}");
        }
        let text = text(&m);
        assert!(text.contains("Dear <script>alert(1)</script>,"), "{text}");
    });
}

#[test]
fn regression_contact_html_inside_an_html_block_stays_text() {
    // Markdown passes an HTML block through untouched: a backslash-escaped
    // `\<script\>` there was a real <script> element in the HTML part.
    let app = TestApp::sqlite();
    copy_release(&app, "injection.md");
    import(
        &app,
        "Email,Name,Outlet\nmallory@x.example,<script>alert(1)</script>,O'Brien & \"Sons\"\n",
    );
    let html = app.ok(["release", "preview", "injection.md", "--format", "html"]);
    assert!(!html.to_lowercase().contains("<script"), "{html}");
    assert!(
        html.contains(
            "Prepared for &lt;script&gt;alert(1)&lt;/script&gt; at O'Brien &amp; \"Sons\"."
        ),
        "{html}"
    );
    // No escape characters show: not in the HTML block, not elsewhere.
    assert!(!html.contains('\\'), "{html}");
    assert!(!html.contains("&amp;#"), "{html}");
}

#[test]
fn line_breaks_in_contact_data_never_add_a_header() {
    each_backend(|app| {
        // An import refuses them.
        app.write(
            "crlf.csv",
            "Email,Name\neve@x.example,\"Eve\r\nBcc: x@example.org\"\n",
        );
        let (out, err) = app.fails(2, ["contacts", "import", "crlf.csv"]);
        assert!(
            format!("{out}{err}").contains("contains a line break"),
            "{out}{err}"
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);

        // A database filled some other way: the message is not built.
        let evil = "Eve\r\nBcc: x@example.org";
        let insert = "INSERT INTO contacts (email, email_key, domain, name, first_name, created_at, updated_at) \
                      VALUES ($1, $1, 'x.example', $2, $3, 0, 0)";
        app.execute(insert, &["eve@x.example", evil, "Eve"]);
        app.execute(insert, &["frank@x.example", "Frank", evil]);
        app.execute(insert, &["grace@x.example", "Grace", "Grace"]);

        let (out, err) = app.fails(
            2,
            [
                "release",
                "preview",
                example().as_str(),
                "--contact",
                "eve@x.example",
                "--format",
                "eml",
            ],
        );
        assert_eq!(out, "", "no message is written");
        assert!(
            err.contains("contact eve@x.example: name contains a line break"),
            "{err}"
        );
        // Frank's first name goes into the subject of the example.
        let (out, err) = app.fails(
            2,
            [
                "release",
                "preview",
                example().as_str(),
                "--contact",
                "frank@x.example",
                "--format",
                "eml",
            ],
        );
        assert_eq!(out, "");
        assert!(err.contains("the subject contains a line break"), "{err}");
        assert!(err.contains("frank@x.example"), "{err}");

        // `release check` names both and fails; Grace's message is fine.
        let (out, _) = app.fails(1, ["release", "check", example().as_str()]);
        assert!(out.contains("eve@x.example"), "{out}");
        assert!(out.contains("frank@x.example"), "{out}");
        assert!(out.contains("1 of 3 messages rendered"), "{out}");
        assert!(!out.lines().any(|l| l.starts_with("Bcc:")), "{out}");
    });
}

// ---------------------------------------------------------------------------
// Strict undefined values

#[test]
fn undefined_values_are_errors_with_the_file_and_line() {
    each_backend(|app| {
        copy_release(app, "undefined.md");
        copy_release(app, "undefined.de.md");
        import(
            app,
            "Email,Name,Outlet,Language\n\
             a@x.example,Ann,Daily Planet,en\n\
             b@x.example,Ben,Wire Service,en\n\
             c@x.example,Cleo,,en\n\
             d@x.example,Dirk,Tagblatt,de\n",
        );
        // Only contacts with an outlet reach line 13.
        let (out, _) = app.fails(1, ["release", "check", "undefined.md"]);
        assert!(
            out.contains(
                "error: undefined.md:13: undefined value in `Our statement{% if contact.outlet %}, for {{ contact.outlet_name }}{% endif %}.`"
            ),
            "{out}"
        );
        assert!(
            out.contains("for 2 contact(s): a@x.example, b@x.example"),
            "{out}"
        );
        // The German variant fails on its own line 8, for the German contact.
        assert!(
            out.contains("error: undefined.de.md:8: undefined value"),
            "{out}"
        );
        assert!(out.contains("for 1 contact(s): d@x.example"), "{out}");
        assert!(out.contains("1 of 4 messages rendered"), "{out}");

        // The same as JSON, on standard output even though the check fails.
        let (out, _) = app.fails(1, ["release", "check", "undefined.md", "--format", "json"]);
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(report["contacts"], 4);
        assert_eq!(report["ok"], 1);
        let errors = report["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 2, "{report:#}");
        let en = errors
            .iter()
            .find(|e| {
                e["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("undefined.md:13:")
            })
            .unwrap();
        assert_eq!(
            en["contacts"],
            serde_json::json!(["a@x.example", "b@x.example"])
        );

        // A preview stops with the contact and the line, exit 2.
        let (_, err) = app.fails(
            2,
            [
                "release",
                "preview",
                "undefined.md",
                "--contact",
                "a@x.example",
            ],
        );
        assert!(err.contains("undefined.md:13: undefined value"), "{err}");
        assert!(err.contains("(rendering for a@x.example)"), "{err}");
        // Cleo has no outlet: her message renders.
        app.ok([
            "release",
            "preview",
            "undefined.md",
            "--contact",
            "c@x.example",
        ]);
    });
}

#[test]
fn an_undefined_value_in_the_subject_names_the_front_matter() {
    let app = TestApp::sqlite();
    app.write(
        "subject.md",
        "+++\ntitle = \"T\"\nsubject = \"News for {{ contact.nickname }}\"\n\
         [from]\nemail = \"press@x.example\"\n+++\nHello.\n",
    );
    let (_, err) = app.fails(2, ["release", "preview", "subject.md"]);
    assert!(
        err.contains("subject.md: front matter `subject`: undefined value"),
        "{err}"
    );
}

#[test]
fn regression_a_blank_line_before_the_closing_plus_keeps_line_numbers() {
    // The body's lines were counted one short when the front matter ended
    // with a blank line, so every error pointed at the line above.
    let app = TestApp::sqlite();
    app.write(
        "blank.md",
        "+++\ntitle = \"T\"\nsubject = \"S\"\n[from]\nemail = \"press@x.example\"\n\n+++\n\
         Line 8.\n\nLine 10 {{ contact.nickname }}.\n",
    );
    let (_, err) = app.fails(2, ["release", "preview", "blank.md"]);
    assert!(err.contains("blank.md:10: undefined value"), "{err}");
}

#[test]
fn regression_a_missing_contact_field_prints_nothing_not_none() {
    // minijinja prints a missing value as "none": "Hello none" in a subject.
    let app = TestApp::sqlite();
    app.write(
        "hello.md",
        "+++\ntitle = \"T\"\nsubject = \"Hello {{ contact.first_name }}, from {{ contact.outlet }}\"\n\
         [from]\nemail = \"press@x.example\"\n+++\nDear {{ contact.first_name }}.\n",
    );
    import(&app, "Email\nnobody.known@x.example\n");
    let out = app.ok(["release", "preview", "hello.md"]);
    assert!(out.starts_with("Subject: Hello , from\n"), "{out}");
    assert!(!out.to_lowercase().contains("none"), "{out}");
    let html = app.ok(["release", "preview", "hello.md", "--format", "html"]);
    assert!(html.contains(">Dear .</p>"), "{html}");
    // In a layout too.
    let brand = copy_templates(&app, "brand");
    edit(
        &brand.join("release.html"),
        "<h1>",
        "<p>Outlet: [{{ contact.outlet }}]</p>\n<h1>",
    );
    let html = app.ok([
        "release",
        "preview",
        "hello.md",
        "--format",
        "html",
        "--templates",
        "brand",
    ]);
    assert!(html.contains(">Outlet: []</p>"), "{html}");
}

// ---------------------------------------------------------------------------
// Variants, embargo, scripts

#[test]
fn each_contact_gets_the_variant_of_their_language() {
    each_backend(|app| {
        import(
            app,
            "Email,First Name,Language\n\
             a.en@x.example,Ann,en\n\
             b.engb@x.example,Ben,en-GB\n\
             c.de@x.example,Carla,de\n\
             d.deat@x.example,Dora,de-AT\n\
             e.fr@x.example,Émile,fr\n\
             f.none@x.example,Finn,\n",
        );
        let german =
            "Lumo-Staudamm: 40 Gemeinden fordern Stopp der Genehmigungen vor der Regenzeit";
        for (contact, lang, subject_ends, greeting) in [
            (
                "a.en@x.example",
                "en",
                "must be frozen before the rains",
                "Dear Ann,",
            ),
            (
                "b.engb@x.example",
                "en",
                "must be frozen before the rains",
                "Dear Ben,",
            ),
            ("c.de@x.example", "de", german, "Guten Tag Carla,"),
            // de-AT: no de-AT file, the de one.
            ("d.deat@x.example", "de", german, "Guten Tag Dora,"),
            // fr: no French file, the main one.
            (
                "e.fr@x.example",
                "en",
                "must be frozen before the rains",
                "Dear Émile,",
            ),
            // No language: the main one.
            (
                "f.none@x.example",
                "en",
                "must be frozen before the rains",
                "Dear Finn,",
            ),
        ] {
            let raw = eml(app, &example(), contact);
            let m = parse(&raw);
            assert_eq!(content_language(&m), lang, "{contact}");
            assert!(
                subject(&m).ends_with(subject_ends),
                "{contact}: {}",
                subject(&m)
            );
            assert!(text(&m).contains(greeting), "{contact}: {}", text(&m));
            assert!(
                html(&m).contains(&format!("<html lang=\"{lang}\"")),
                "{contact}"
            );
        }
        let report = app.json(["release", "check", example().as_str(), "--format", "json"]);
        assert_eq!(report["languages"], serde_json::json!({"de": 2, "en": 4}));
        let warnings = report["warnings"].as_array().unwrap();
        assert!(
            warnings.iter().any(|w| {
                let w = w.as_str().unwrap();
                w.contains("language \"fr\"") && w.contains("e.fr@x.example")
            }),
            "{warnings:?}"
        );
        // The audience flag picks the German contacts.
        let report = app.json([
            "release",
            "check",
            example().as_str(),
            "--language",
            "de",
            "--format",
            "json",
        ]);
        assert_eq!(report["languages"], serde_json::json!({"de": 2}));
    });
}

#[test]
fn embargo_banner_and_subject_in_each_language_and_time_zone() {
    each_backend(|app| {
        copy_release(app, "embargo.md");
        copy_release(app, "embargo.de.md");
        import(
            app,
            "Email,First Name,Last Name,Language\n\
             jane@x.example,Jane,Doe,en\n\
             max@y.example,Max,Muster,de-AT\n",
        );
        for (contact, banner, title) in [
            (
                "jane@x.example",
                "EMBARGOED UNTIL 10 May 2099, 09:00 EAT",
                "Lumo River dam permits must be frozen before the rains",
            ),
            (
                "max@y.example",
                "SPERRFRIST BIS 10. Mai 2099, 08:00 CEST",
                "Genehmigungen für den Lumo-Staudamm müssen ausgesetzt werden",
            ),
        ] {
            let raw = eml(app, "embargo.md", contact);
            let m = parse(&raw);
            assert_eq!(subject(&m), format!("[{banner}] {title}"));
            // The text part opens with the banner.
            let text = text(&m);
            assert_eq!(
                text.lines().next().unwrap(),
                format!("*** {banner} ***"),
                "{text}"
            );
            // The HTML part shows it above the dateline and the headline.
            let html = html(&m);
            let at = html
                .find(&format!(">{banner}</div>"))
                .unwrap_or_else(|| panic!("no banner in\n{html}"));
            assert!(html[..at].contains("class=\"embargo\""), "{html}");
            assert!(at < html.find("<h1").unwrap(), "{html}");
        }
        app.ok(["release", "check", "embargo.md"]);
    });
}

#[test]
fn myanmar_thai_and_arabic_in_subject_name_and_body() {
    each_backend(|app| {
        for f in [
            "scripts.md",
            "scripts.my.md",
            "scripts.th.md",
            "scripts.ar.md",
        ] {
            copy_release(app, f);
        }
        import(
            app,
            "Email,Name,Language\n\
             khin@news.example,ခင်မောင်ဝင်း,my\n\
             somchai@news.example,สมชาย ใจดี,th\n\
             layla@news.example,ليلى حداد,ar\n\
             nilar@news.example,နီလာ,en\n",
        );
        for (contact, lang, name, subject_is, dateline, body) in [
            (
                "khin@news.example",
                "my",
                "ခင်မောင်ဝင်း",
                "ခင်မောင်ဝင်း သို့ — ရပ်ရွာ ၄၀ က ရေကာတာ ခွင့်ပြုချက်များ ရပ်ဆိုင်းရန် တောင်းဆို",
                "၂၀၂၆ ခုနှစ်၊ ဒီဇင်ဘာ ၁ ရက် | ရန်ကုန်",
                "ခင်မောင်ဝင်း ခင်ဗျာ၊",
            ),
            (
                "somchai@news.example",
                "th",
                "สมชาย ใจดี",
                "เรียนคุณสมชาย ใจดี: 40 ชุมชนเรียกร้องให้ระงับใบอนุญาตสร้างเขื่อนก่อนฤดูฝน",
                "1 ธันวาคม 2026 | กรุงเทพฯ",
                "วันนี้ชุมชนสี่สิบแห่งริมแม่น้ำลูโมได้ยื่นหนังสือเรียกร้องให้กระทรวงทรัพยากรน้ำระงับใบอนุญาตก่อสร้างเขื่อนจนกว่าจะมีการเผยแพร่ผลการศึกษาความเสี่ยงน้ำท่วมที่เป็นอิสระ",
            ),
            (
                "layla@news.example",
                "ar",
                "ليلى حداد",
                "إلى ليلى حداد: أربعون مجتمعاً محلياً تطالب بتجميد تصاريح السد",
                "1 ديسمبر 2026 | دبي",
                "عزيزتي ليلى حداد،",
            ),
            // A Burmese name in the English text.
            (
                "nilar@news.example",
                "en",
                "နီလာ",
                "နီလာ: forty communities ask for a freeze of the dam permits",
                "1 December 2026 | Yangon",
                "Dear နီလာ,",
            ),
        ] {
            let raw = eml(app, "scripts.md", contact);
            // Encoded words keep the header section ASCII; decoded, every
            // character is back (no split UTF-8 sequence, no "?").
            let section = raw.split("\r\n\r\n").next().unwrap();
            assert!(section.is_ascii(), "{section}");
            let m = parse(&raw);
            assert_eq!(subject(&m), subject_is, "{contact}");
            assert_eq!(to(&m), (Some(name.to_string()), contact.to_string()));
            assert_eq!(content_language(&m), lang);
            let text = text(&m);
            assert_eq!(text.lines().next(), Some(dateline), "{text}");
            assert!(text.contains(body), "{contact}:\n{text}");
            let html = html(&m);
            assert!(html.contains(body), "{contact}:\n{html}");
            assert!(html.contains(dateline), "{contact}:\n{html}");
            let rtl = html.contains(" dir=\"rtl\"");
            assert_eq!(rtl, lang == "ar", "{contact}: dir=rtl only for Arabic");
        }
        // The Thai paragraph has no spaces to wrap at: it is kept whole,
        // never cut inside a word.
        let m_raw = eml(app, "scripts.md", "somchai@news.example");
        let text = text(&parse(&m_raw));
        assert!(text
            .lines()
            .any(|l| l.starts_with("วันนี้") && l.ends_with("เป็นอิสระ")));
    });
}

// ---------------------------------------------------------------------------
// Attachments

const ATTACHMENTS: [(&str, &str); 5] = [
    ("factsheet.pdf", "application/pdf"),
    ("photo.png", "image/png"),
    ("households.csv", "text/csv"),
    (
        "Stellungnahme-Überblick.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("map.lumo-layer", "application/octet-stream"),
];

#[test]
fn attachments_have_their_mime_types_in_multipart_mixed() {
    each_backend(|app| {
        copy_release(app, "attachments.md");
        copy_release(app, "attachments.de.md");
        copy_release(app, "files");
        import(
            app,
            "Email,Name,Language\nan@x.example,Ann,en\nde@x.example,Dirk,de\n",
        );
        for (contact, lang) in [("an@x.example", "en"), ("de@x.example", "de")] {
            let raw = eml(app, "attachments.md", contact);
            let m = parse(&raw);
            assert_eq!(content_language(&m), lang);
            let types: Vec<&str> = ATTACHMENTS.iter().map(|(_, t)| *t).collect();
            assert_eq!(
                tree(&m),
                format!(
                    "multipart/mixed[multipart/alternative[text/plain, text/html], {}]",
                    types.join(", ")
                )
            );
            assert_eq!(m.attachment_count(), ATTACHMENTS.len());
            for (n, (name, _)) in ATTACHMENTS.iter().enumerate() {
                let a = m.attachment(n as u32).unwrap();
                assert_eq!(a.attachment_name(), Some(*name));
                assert!(a.content_disposition().unwrap().is_attachment());
                let expected = std::fs::read(fixture(&format!("releases/files/{name}"))).unwrap();
                assert_eq!(a.contents(), expected.as_slice(), "{name}");
            }
            // Regression: all-ASCII files went out as 7bit with bare LFs,
            // which SMTP forbids and relays rewrite.
            assert_eq!(bare_lfs(&raw), 0);
            let encodings = raw
                .split("\r\n")
                .filter(|l| l.starts_with("Content-Transfer-Encoding:"))
                .count();
            let base64 = raw
                .split("\r\n")
                .filter(|l| *l == "Content-Transfer-Encoding: base64")
                .count();
            assert_eq!(encodings, 2 + ATTACHMENTS.len(), "{raw}");
            assert!(base64 >= ATTACHMENTS.len(), "{raw}");
            // The text still says what it says.
            assert!(!text(&m).is_empty());
        }
        let report = app.json(["release", "check", "attachments.md", "--format", "json"]);
        let total: u64 = ATTACHMENTS
            .iter()
            .map(|(n, _)| {
                std::fs::metadata(fixture(&format!("releases/files/{n}")))
                    .unwrap()
                    .len()
            })
            .sum();
        assert_eq!(report["attachment_bytes"], total);
        assert_eq!(report["warnings"], serde_json::json!([]));
        assert_eq!(report["errors"], serde_json::json!([]));
    });
}

#[test]
fn check_warns_when_attachments_pass_10_mb() {
    let app = TestApp::sqlite();
    import(&app, "Email,Name\nan@x.example,Ann\n");
    let release = "+++\ntitle = \"T\"\nsubject = \"S\"\nattachments = [\"big.bin\"]\n\
                   [from]\nemail = \"press@x.example\"\n+++\nHello.\n";
    app.write("big.md", release);

    // Exactly 10 MiB: no warning.
    app.write("big.bin", vec![0u8; 10 * 1024 * 1024]);

    let out = app.ok(["release", "check", "big.md"]);
    assert!(out.contains("0 error(s), 0 warning(s)"), "{out}");

    // One byte more: a warning, and still exit 0.
    app.write("big.bin", vec![0u8; 10 * 1024 * 1024 + 1]);
    let out = app.ok(["release", "check", "big.md"]);
    assert!(
        out.contains("warning: big.md: the attachments add up to 10.0 MB per message; many mail servers refuse more than 10 MB"),
        "{out}"
    );
    app.write("big.bin", vec![0u8; 11 * 1024 * 1024]);
    let report = app.json(["release", "check", "big.md", "--format", "json"]);
    assert_eq!(report["attachment_bytes"], 11 * 1024 * 1024);
    assert!(
        report["warnings"][0]
            .as_str()
            .unwrap()
            .contains("11.0 MB per message"),
        "{report:#}"
    );
}

#[test]
fn a_missing_attachment_stops_the_check_and_the_preview() {
    // Not a warning: a message without its attachment must not go out.
    each_backend(|app| {
        import(app, "Email,Name\nan@x.example,Ann\n");
        app.write(
            "missing.md",
            "+++\ntitle = \"T\"\nsubject = \"S\"\nattachments = [\"report.pdf\"]\n\
             [from]\nemail = \"press@x.example\"\n+++\nHello.\n",
        );
        let (out, _) = app.fails(1, ["release", "check", "missing.md"]);
        assert!(
            out.contains("error: missing.md: attachment report.pdf: No such file"),
            "{out}"
        );
        let (out, _) = app.fails(1, ["release", "check", "missing.md", "--format", "json"]);
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(report["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("attachment report.pdf"));
        let (_, err) = app.fails(2, ["release", "preview", "missing.md", "--format", "eml"]);
        assert!(err.contains("missing.md: attachment report.pdf"), "{err}");
    });
}

// ---------------------------------------------------------------------------
// The text part

#[test]
fn the_text_part_reads_as_a_plain_text_release() {
    let app = TestApp::sqlite();
    import(&app, TWO_LANGUAGES);
    let raw = eml(&app, &example(), "jane.doe@planet.example");
    let text = text(&parse(&raw));
    // `preview --format text` shows the same text under its subject.
    let preview = app.ok([
        "release",
        "preview",
        example().as_str(),
        "--contact",
        "jane.doe@planet.example",
    ]);
    assert_eq!(
        preview,
        format!(
            "Subject: Jane, for your environment desk: Lumo River dam permits must be frozen before the rains\n\n{text}"
        )
    );

    let lines: Vec<&str> = text.lines().collect();
    // Dateline, then the headline in capitals, then the greeting.
    assert_eq!(
        &lines[..6],
        &[
            "1 December 2026 | Nairobi",
            "",
            "LUMO RIVER DAM PERMITS MUST BE FROZEN BEFORE THE RAINS, SAY 40",
            "COMMUNITIES",
            "",
            "Dear Jane,",
        ]
    );
    // Wrapped at 72, no trailing spaces, no two blank lines in a row, one
    // final newline.
    for l in &lines {
        assert!(l.chars().count() <= 72, "too long: {l:?}");
        assert_eq!(l.trim_end(), *l, "trailing space: {l:?}");
    }
    assert!(!text.contains("\n\n\n"), "{text}");
    assert!(text.ends_with(".\n") && !text.ends_with("\n\n"), "{text}");
    // No Markdown or HTML left over.
    for markup in ["**", "](", "<", "&#", "&amp;", "\\"] {
        assert!(!text.contains(markup), "{markup:?} in\n{text}");
    }
    // Quotes as "> " lines, curly quotes from smart punctuation.
    assert!(text.contains(
        "> \u{201c}People here are not against electricity. They are against being\n\
         > flooded out without a plan, a warning or a voice,\u{201d} said Wanjiku\n"
    ));
    // Headings underlined to their length.
    for (n, l) in lines.iter().enumerate().skip(1) {
        if !l.is_empty() && l.chars().all(|c| c == '-') && l.len() > 2 {
            assert_eq!(
                l.chars().count(),
                lines[n - 1].chars().count(),
                "underline of {:?}",
                lines[n - 1]
            );
        }
    }
    assert!(text
        .contains("What we ask of the Ministry of Water\n------------------------------------\n"));
    // Numbered lists with hanging indents.
    assert!(text.contains(
        "1. Freeze the three construction permits issued in October until the\n   \
         flood-risk study is complete.\n2. "
    ));
    // Links written out, bare URLs once.
    assert!(text.contains(
        "- Map of the households surveyed\n  (https://clearwater-rights.example/maps/lumo)\n"
    ));
    assert!(text.contains(
        "- Photos and video for editorial use:\n  https://clearwater-rights.example/media/lumo\n"
    ));
    // The end mark, then the footer after a separator.
    let end = lines.iter().position(|l| *l == "###").unwrap();
    assert_eq!(lines[end + 2], "--");
    let footer = lines[end + 3..].join("\n");
    for line in [
        "Press contact: Clearwater Rights Network, Achieng Mwangi, Media Officer",
        "E-mail: press@clearwater-rights.example",
        "Phone: +254 20 555 0100",
        "Website: https://clearwater-rights.example",
        "https://mirror.clearwater-net.example",
        "Mastodon: https://social.example/@clearwater",
        "You receive this release as a journalist at Daily Planet.",
    ] {
        assert!(footer.contains(line), "{line:?} not in\n{footer}");
    }
}

// ---------------------------------------------------------------------------
// SpamAssassin

/// `spamassassin -L -t` (local tests only) on `raw`: (score, rules hit).
fn spamassassin(raw: &str) -> (f64, Vec<String>, String) {
    let home = tempfile::tempdir().unwrap();
    let child = Command::new("spamassassin")
        .args(["-L", "-t"])
        // Its user preferences go to a temporary home, not the real one.
        .env("HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot run spamassassin ({e}): this test needs Debian's spamassassin package; \
             .ci/run installs it (apt-get install spamassassin)"
        ),
    };
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(raw.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "spamassassin failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scored = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = headers(&scored.replace("\r\n", "\n").replace('\n', "\r\n"))
        .into_iter()
        .find(|(n, _)| n == "X-Spam-Status")
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no X-Spam-Status in\n{scored}"));
    let field = |key: &str| {
        status
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {status:?}"))
            .to_string()
    };
    let score: f64 = field("score=").parse().unwrap();
    let tests: Vec<String> = status
        .split("tests=")
        .nth(1)
        .unwrap()
        .split(" autolearn=")
        .next()
        .unwrap()
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty() && t != "none")
        .collect();
    let report = scored
        .split("Content analysis details:")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (score, tests, report)
}

#[test]
fn spamassassin_scores_the_example_below_1() {
    let app = TestApp::sqlite();
    import(&app, TWO_LANGUAGES);
    for contact in ["jane.doe@planet.example", "max.mustermann@wire.example"] {
        let raw = eml(&app, &example(), contact);
        let (score, tests, report) = spamassassin(&raw);
        eprintln!(
            "spamassassin -L -t, example for {contact}: score {score}, tests {tests:?}\n{report}"
        );
        assert!(
            score < 1.0,
            "the example for {contact} scores {score} (rules {tests:?}):\n{report}"
        );
    }
}

// ---------------------------------------------------------------------------
// release new

#[test]
fn release_new_writes_a_starter_that_previews_and_is_never_overwritten() {
    let app = TestApp::sqlite();
    let out = app.ok(["release", "new", "river-report"]);
    assert!(out.contains("wrote releases/river-report.md"), "{out}");
    let path = app.path().join("releases/river-report.md");
    let starter = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        starter,
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/starter.md"))
            .unwrap()
    );
    // It previews as it is, in every format, and passes the check.
    let text = app.ok(["release", "preview", "releases/river-report.md"]);
    assert!(
        text.starts_with("Subject: Headline of the release\n"),
        "{text}"
    );
    assert!(text.contains("Dear Alex,"), "{text}");
    let raw = app.ok([
        "release",
        "preview",
        "releases/river-report.md",
        "--format",
        "eml",
    ]);
    assert_eq!(subject(&parse(&raw)), "Headline of the release");
    app.ok(["release", "check", "releases/river-report.md"]);

    // The press officer edits it; a second `new` does not touch it.
    std::fs::write(&path, "+++\nmine\n").unwrap();
    for name in ["river-report", "river-report.md"] {
        let (_, err) = app.fails(2, ["release", "new", name]);
        assert!(
            err.contains("releases/river-report.md exists already"),
            "{err}"
        );
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "+++\nmine\n");

    // A name is a file name, never a path.
    for bad in ["../escape", "sub/dir", ".hidden", ""] {
        let (_, err) = app.fails(2, ["release", "new", bad]);
        assert!(err.contains("is not a release name"), "{bad}: {err}");
    }
    assert!(!app.path().join("escape.md").exists());
}

// ---------------------------------------------------------------------------
// release preview

#[test]
fn preview_uses_a_sample_contact_when_the_database_is_empty() {
    each_backend(|app| {
        let text = app.ok(["release", "preview", example().as_str()]);
        assert!(
            text.starts_with(
                "Subject: Alex, for your desk: Lumo River dam permits must be frozen before the rains\n"
            ),
            "{text}"
        );
        assert!(text.contains("Dear Alex,"), "{text}");
        assert!(text.contains("at The Example Daily"), "{text}");
        let raw = app.ok(["release", "preview", example().as_str(), "--format", "eml"]);
        assert_eq!(
            to(&parse(&raw)),
            (Some("Alex Sample".into()), "alex.sample@example.org".into())
        );
    });
}

#[test]
fn preview_defaults_to_the_first_contact_of_the_audience() {
    each_backend(|app| {
        import(
            app,
            "Email,First Name,Language,Tags\n\
             zoe@x.example,Zoe,en,radio\n\
             anna@x.example,Anna,en,print\n\
             max@x.example,Max,de,print\n",
        );
        let preview = |extra: &[&str]| {
            let mut args: Vec<std::ffi::OsString> =
                vec!["release".into(), "preview".into(), example().into()];
            args.extend(extra.iter().map(Into::into));
            app.ok(args)
        };
        // The first by address.
        assert!(preview(&[]).contains("Dear Anna,"));
        // The first of the audience.
        assert!(preview(&["--tag", "radio"]).contains("Dear Zoe,"));
        assert!(preview(&["--language", "de"]).contains("Guten Tag Max,"));
        // --contact, without regard to case.
        assert!(preview(&["--contact", "ZOE@X.example"]).contains("Dear Zoe,"));

        // --format html: a whole document with inlined CSS and nothing
        // fetched from elsewhere.
        let html = preview(&["--format", "html"]);
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("<h1 style=\""), "CSS is inlined");
        assert!(html.contains("Dear Anna,"));
        for external in ["<script", "<link", "<img", "src=", "@import", "url("] {
            assert!(!html.contains(external), "{external} in\n{html}");
        }
        // --format text, and eml.
        assert!(preview(&["--format", "text"]).starts_with("Subject: Anna, for your desk:"));
        let raw = preview(&["--format", "eml"]);
        assert_eq!(to(&parse(&raw)).1, "anna@x.example");

        // -o FILE: the same bytes in the file, nothing on standard output.
        let out = app.run([
            "release",
            "preview",
            example().as_str(),
            "--format",
            "html",
            "-o",
            "anna.html",
        ]);
        assert_eq!(out.status.code(), Some(0));
        assert!(out.stdout.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            "wrote anna.html (for anna@x.example)"
        );
        assert_eq!(
            std::fs::read_to_string(app.path().join("anna.html")).unwrap(),
            html
        );
        let raw = app.ok([
            "release",
            "preview",
            example().as_str(),
            "--format",
            "eml",
            "--output",
            "anna.eml",
        ]);
        assert_eq!(raw, "");
        let saved = std::fs::read_to_string(app.path().join("anna.eml")).unwrap();
        assert_eq!(to(&parse(&saved)).1, "anna@x.example");

        // An unknown contact is named.
        let (_, err) = app.fails(
            2,
            [
                "release",
                "preview",
                example().as_str(),
                "--contact",
                "nobody@x.example",
            ],
        );
        assert!(
            err.contains("no contact has the address nobody@x.example"),
            "{err}"
        );
    });
}

// ---------------------------------------------------------------------------
// release check

#[test]
fn check_passes_with_warnings_for_missing_first_names_and_languages() {
    each_backend(|app| {
        import(
            app,
            "Email,First Name,Name,Language\n\
             a@x.example,Ann,Ann Archer,en\n\
             b@x.example,,Bo,en\n\
             c@x.example,Cleo,Cleo C,fr\n\
             d@x.example,,Dirk D,pt-BR\n",
        );
        let out = app.ok(["release", "check", example().as_str()]);
        assert!(
            out.contains(
                "warning: 2 contact(s) have no first name but the release uses contact.first_name: b@x.example, d@x.example"
            ),
            "{out}"
        );
        assert!(
            out.contains("warning: 1 contact(s) have language \"fr\" and the release has no fr variant; they get the en text: c@x.example"),
            "{out}"
        );
        assert!(out.contains("language \"pt-BR\""), "{out}");
        assert!(
            out.ends_with("4 of 4 messages rendered (4 in en); 0 error(s), 3 warning(s)\n"),
            "{out}"
        );

        let report = app.json(["release", "check", example().as_str(), "--format", "json"]);
        assert_eq!(report["contacts"], 4);
        assert_eq!(report["ok"], 4);
        assert_eq!(report["errors"], serde_json::json!([]));
        assert_eq!(report["warnings"].as_array().unwrap().len(), 3);
        assert!(report["release"].as_str().unwrap().ends_with("example.md"));
    });
}

#[test]
fn check_of_an_empty_audience_warns_that_nothing_was_rendered() {
    each_backend(|app| {
        import(app, "Email,Name,Tags\na@x.example,Ann,press\n");
        let out = app.ok(["release", "check", &example(), "--tag", "presss"]);
        assert!(
            out.contains("warning: the audience has no contacts, so no message was rendered"),
            "{out}"
        );
        assert!(
            out.ends_with("0 of 0 messages rendered; 0 error(s), 1 warning(s)\n"),
            "{out}"
        );
    });
}

// ---------------------------------------------------------------------------
// --templates

/// Copies the repository's templates/ into `dir` of the working directory.
fn copy_templates(app: &TestApp, dir: &str) -> PathBuf {
    let to = app.path().join(dir);
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"),
        &to,
    );
    to
}

fn edit(path: &Path, from: &str, to: &str) {
    let s = std::fs::read_to_string(path).unwrap();
    assert!(s.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, s.replacen(from, to, 1)).unwrap();
}

#[test]
fn an_edited_copy_of_the_layouts_is_used() {
    let app = TestApp::sqlite();
    let brand = copy_templates(&app, "brand");
    edit(
        &brand.join("release.html"),
        "<h1>",
        "<p class=\"brand\">Brand layout</p>\n<h1>",
    );
    edit(
        &brand.join("release.txt"),
        "{{ release.title | upper }}",
        "BRAND LAYOUT\n\n{{ release.title | upper }}",
    );
    let preview = |args: &[&str]| {
        let mut all: Vec<std::ffi::OsString> =
            vec!["release".into(), "preview".into(), example().into()];
        all.extend(args.iter().map(Into::into));
        app.ok(all)
    };
    assert!(preview(&["--templates", "brand", "--format", "html"]).contains(">Brand layout</p>"));
    assert!(preview(&["--templates", "brand"]).contains("\nBRAND LAYOUT\n"));
    assert!(!preview(&["--format", "html"]).contains("Brand layout"));
    let raw = preview(&["--templates", "brand", "--format", "eml"]);
    assert!(html(&parse(&raw)).contains(">Brand layout</p>"));

    // A templates/ folder in the working directory is used without the flag.
    let own = copy_templates(&app, "templates");
    edit(&own.join("release.txt"), "###", "### (own layout)");
    assert!(preview(&[]).contains("### (own layout)"));

    // A folder with one partial: that one replaces the built-in, the rest stay.
    std::fs::create_dir(app.path().join("footer-only")).unwrap();
    app.write("footer-only/_footer.txt", "-- \nOur own footer.\n");
    let text = preview(&["--templates", "footer-only"]);
    assert!(text.ends_with("###\n\n--\nOur own footer.\n"), "{text}");
    assert!(text.starts_with("Subject: Alex"), "{text}");
}

#[test]
fn a_missing_layout_or_folder_is_a_clear_error() {
    each_backend(|app| {
        app.write(
            "fancy.md",
            "+++\ntitle = \"T\"\nsubject = \"S\"\ntemplate = \"fancy\"\n\
             [from]\nemail = \"press@x.example\"\n+++\nHello.\n",
        );
        copy_templates(app, "brand");
        let (_, err) = app.fails(
            2,
            ["release", "preview", "fancy.md", "--templates", "brand"],
        );
        assert!(
            err.contains(
                "fancy.md: front matter `template = \"fancy\"`: there is no layout fancy.html (looked in brand and the built-in templates)"
            ),
            "{err}"
        );
        let (out, _) = app.fails(1, ["release", "check", "fancy.md", "--templates", "brand"]);
        assert!(out.contains("there is no layout fancy.html"), "{out}");

        let (_, err) = app.fails(
            2,
            ["release", "preview", "fancy.md", "--templates", "nowhere"],
        );
        assert!(err.contains("--templates nowhere: no such folder"), "{err}");
    });
}

#[test]
fn regression_layout_errors_name_the_file_in_the_templates_folder() {
    // They said "templates/release.txt" whatever the folder was.
    let app = TestApp::sqlite();
    import(&app, TWO_LANGUAGES);
    let brand = copy_templates(&app, "brand");
    edit(
        &brand.join("release.txt"),
        "{{ release.title | upper }}",
        "{{ release.organisation }}",
    );
    let line = std::fs::read_to_string(brand.join("release.txt"))
        .unwrap()
        .lines()
        .position(|l| l.contains("release.organisation"))
        .unwrap()
        + 1;
    let (out, _) = app.fails(
        1,
        [
            "release",
            "check",
            example().as_str(),
            "--templates",
            "brand",
        ],
    );
    let place = Path::new("brand").join("release.txt");
    assert!(
        out.contains(&format!(
            "error: {}:{line}: undefined value in `{{{{ release.organisation }}}}`",
            place.display()
        )),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// Bad front matter

#[test]
fn bad_front_matter_names_the_file_and_line() {
    let app = TestApp::sqlite();
    let from = "[from]\nemail = \"press@x.example\"\n";
    for (content, expected) in [
        (
            "Just a body.\n".to_string(),
            "bad.md:1: a release starts with TOML front matter between two `+++` lines",
        ),
        (
            "+++\ntitle = \"T\"\nsubject = \"S\n+++\nHi\n".into(),
            "bad.md:3: front matter: ",
        ),
        (
            format!("+++\ntitle = \"T\"\nsubject = \"S\"\ntitel = \"x\"\n{from}+++\nHi\n"),
            "bad.md:4: front matter: unknown field `titel`, expected one of `title`,",
        ),
        (
            format!("+++\ntitle = \"T\"\nsubject = 5\n{from}+++\nHi\n"),
            "bad.md:3: front matter: invalid type: integer `5`, expected a string",
        ),
        (
            format!("+++\ntitle = \"T\"\n{from}+++\nHi\n"),
            "bad.md:2: front matter: missing field `subject`",
        ),
        (
            format!("+++\ntitle = \"T\"\nsubject = \"S\"\nembargo = 2026-05-10\n{from}+++\nHi\n"),
            "bad.md:4: front matter: `embargo`: 2026-05-10 needs a date, a time and a UTC offset",
        ),
        (
            format!("+++\ntitle = \"T\"\nsubject = \"S\"\ntimezone = \"Mars/Base\"\n{from}+++\nHi\n"),
            "bad.md:4: front matter: `timezone`: \"Mars/Base\" is not an IANA time zone",
        ),
        (
            format!("+++\ntitle = \"T\"\nsubject = \"S\"\nlanguage = \"elvish\"\n{from}+++\nHi\n"),
            "bad.md:4: front matter: `language`: \"elvish\" is not a language",
        ),
        (
            format!("+++\ntitle = \"T\"\nsubject = \"S\"\n{from}[dateline]\nplace = \"X\"\ndate = \"soon\"\n+++\nHi\n"),
            "bad.md:8: front matter: invalid type: string \"soon\", expected a TOML datetime",
        ),
        (
            "+++\ntitle = \"\"\"Two\nlines\"\"\"\nsubject = \"S\"\n[from]\nemail = \"press@x.example\"\n+++\nHi\n".into(),
            "bad.md:2: front matter: `title` contains a line break; header values must be one line",
        ),
    ] {
        app.write("bad.md", &content);
        for command in ["preview", "check"] {
            let (_, err) = app.fails(2, ["release", command, "bad.md"]);
            assert!(
                err.starts_with(&format!("error: {expected}")),
                "{command} of\n{content}\nexpected {expected:?}, got {err:?}"
            );
        }
    }
}

#[test]
fn a_bad_variant_is_named_not_the_main_file() {
    let app = TestApp::sqlite();
    app.write(
        "main.md",
        "+++\ntitle = \"T\"\nsubject = \"S\"\nvariants = [\"main.de.md\"]\n\
         [from]\nemail = \"press@x.example\"\n+++\nHi\n",
    );
    let (_, err) = app.fails(2, ["release", "preview", "main.md"]);
    assert!(
        err.contains("main.de.md (a variant named in main.md): "),
        "{err}"
    );
    app.write(
        "main.de.md",
        "+++\nlanguage = \"de\"\n\ntitle = 5\n+++\nHallo\n",
    );
    let (_, err) = app.fails(2, ["release", "preview", "main.md"]);
    assert!(
        err.contains("error: main.de.md:4: front matter: invalid type: integer `5`"),
        "{err}"
    );
    app.write("main.de.md", "+++\nlanguage = \"en\"\n+++\nHallo\n");
    let (_, err) = app.fails(2, ["release", "check", "main.md"]);
    assert!(
        err.contains("main.de.md: language \"en\" is used by more than one file"),
        "{err}"
    );
}
