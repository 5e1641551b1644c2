//! contacts list and export: formats, the export → import round trip, and
//! audience filters.

use serde_json::Value;

use crate::harness::{each_backend, TestApp};

const FIXTURES: [&str; 5] = [
    "outlook.csv",
    "google_old.csv",
    "google_2023.csv",
    "mailchimp.csv",
    "media_database.csv",
];

/// Values that are hard to write as CSV, statuses, IDN, case.
const VARIED: &str = "Email,Name,Outlet,Role,Notes,Status,Tags,Language,Country,Desk Phone,Embargo\n\
    Jane.Doe@X.example,\"Doe, Jane\",Daily Planet,Editor,\"She said \"\"no\"\", then; left\nSecond line\",,Climate Desk;VIP,zh-hant-tw,United Kingdom,\"+44 20 5550 0100, ext. 12\",\"yes; \"\"strict\"\"\"\n\
    redaktion@Zeitung-Müller.example,Redaktion Müller,Zeitung Müller,,,unsubscribed,,de,Deutschland,,\n\
    bounced@old-outlet.example,Bounced Person,Old Outlet,,,bounced,press,,,,\n\
    moved@old-outlet.example,Moved Person,Old Outlet,,Now at the Evening Post,needs-update,press,,,,\n\
    quiet@old-outlet.example,,,,,complained,,,,,\n";

/// A database with contacts of every export style and the varied rows.
fn varied_database(app: &TestApp) -> usize {
    for f in FIXTURES {
        app.copy_fixture(f);
    }
    app.write("varied.csv", VARIED);
    let mut args = vec!["contacts", "import"];
    args.extend(FIXTURES);
    args.extend(["varied.csv", "--tag", "round trip"]);
    let out = app.ok(&args);
    assert!(
        out.ends_with(
            "imported 20, updated 0, unchanged 0, skipped 0, duplicates merged 0, invalid 0\n"
        ),
        "{out}"
    );
    20
}

/// The contacts without their timestamps.
pub(crate) fn without_times(contacts: Vec<Value>) -> Vec<Value> {
    contacts
        .into_iter()
        .map(|mut c| {
            let o = c.as_object_mut().unwrap();
            o.remove("created_at");
            o.remove("updated_at");
            c
        })
        .collect()
}

fn emails_of(contacts: &[Value]) -> Vec<String> {
    contacts
        .iter()
        .map(|c| c["email"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn export_import_export_is_byte_identical() {
    each_backend(|app| {
        let n = varied_database(app);
        let out = app.run(["contacts", "export", "-o", "first.csv"]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(out.stdout, b"");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("exported {n} contacts to first.csv\n")
        );
        let first = std::fs::read(app.path().join("first.csv")).unwrap();
        // Standard output gets the same bytes.
        assert_eq!(app.ok(["contacts", "export"]).as_bytes(), first);
        let text = String::from_utf8(first.clone()).unwrap();
        assert!(text.starts_with(
            "email,name,first_name,last_name,outlet,role,beat,country,language,phone,notes,tags,status,source,"
        ));
        assert_eq!(
            text.lines()
                .next()
                .unwrap()
                .split(',')
                .filter(|h| *h == "Desk Phone")
                .count(),
            1
        );

        // Into a fresh database, and out again.
        let other = app.fresh();
        other.write("first.csv", &first);
        let out = other.ok(["contacts", "import", "first.csv"]);
        assert!(
            out.ends_with(&format!(
                "imported {n}, updated 0, unchanged 0, skipped 0, duplicates merged 0, invalid 0\n"
            )),
            "{out}"
        );
        assert!(
            !out.contains("[warning]") && !out.contains("[error]"),
            "{out}"
        );
        let out = other.run(["contacts", "export", "-o", "second.csv"]);
        assert_eq!(out.status.code(), Some(0));
        let second = std::fs::read(other.path().join("second.csv")).unwrap();
        assert!(
            first == second,
            "[{}] the second export differs:\n{}\n---\n{}",
            app.backend,
            String::from_utf8_lossy(&first),
            String::from_utf8_lossy(&second)
        );
        // Everything, source included, came across.
        assert_eq!(
            without_times(other.contacts()),
            without_times(app.contacts())
        );

        // Importing the export again, here or there, changes nothing.
        let unchanged = format!(
            "imported 0, updated 0, unchanged {n}, skipped 0, duplicates merged 0, invalid 0\n"
        );
        let out = other.ok(["contacts", "import", "first.csv"]);
        assert!(out.ends_with(&unchanged), "{out}");
        app.ok(["contacts", "import", "first.csv"]);
        let out = app.ok(["contacts", "import", "first.csv"]);
        assert!(out.ends_with(&unchanged), "{out}");
    });
}

#[test]
fn hard_values_survive_the_round_trip() {
    each_backend(|app| {
        varied_database(app);
        let other = app.fresh();
        other.write("export.csv", app.ok(["contacts", "export"]));
        other.ok(["contacts", "import", "export.csv"]);
        let jane = other.json(["contacts", "show", "jane.doe@x.example", "--format", "json"]);
        assert_eq!(jane["email"], "Jane.Doe@x.example");
        assert_eq!(jane["name"], "Doe, Jane");
        assert_eq!(jane["notes"], "She said \"no\", then; left\nSecond line");
        assert_eq!(jane["language"], "zh-Hant-TW");
        assert_eq!(jane["country"], "GB");
        assert_eq!(
            jane["tags"],
            serde_json::json!(["climate desk", "round trip", "vip"])
        );
        assert_eq!(jane["extra"]["Desk Phone"], "+44 20 5550 0100, ext. 12");
        assert_eq!(jane["extra"]["Embargo"], "yes; \"strict\"");
        assert_eq!(jane["source"], "varied.csv");
        let idn = other.json([
            "contacts",
            "show",
            "redaktion@zeitung-müller.example",
            "--format",
            "json",
        ]);
        assert_eq!(idn["email"], "redaktion@xn--zeitung-mller-4ob.example");
        assert_eq!(idn["status"], "unsubscribed");
        assert_eq!(idn["country"], "DE");
        let statuses =
            other.texts("SELECT status FROM contacts WHERE status <> 'active' ORDER BY status");
        assert_eq!(
            statuses,
            [
                [Some("bounced".to_string())],
                [Some("complained".to_string())],
                [Some("needs-update".to_string())],
                [Some("unsubscribed".to_string())]
            ]
        );
    });
}

#[test]
fn list_and_export_formats() {
    each_backend(|app| {
        let n = varied_database(app);
        let json = app.json(["contacts", "list", "--format", "json"]);
        let list = json.as_array().unwrap();
        assert_eq!(list.len(), n);
        // Ordered by address, without regard to case.
        let emails = emails_of(list);
        let mut sorted = emails.clone();
        sorted.sort_by_key(|e| e.to_lowercase());
        assert_eq!(emails, sorted);
        for c in list {
            for key in [
                "email",
                "name",
                "first_name",
                "last_name",
                "outlet",
                "role",
                "beat",
                "country",
                "language",
                "phone",
                "notes",
                "tags",
                "status",
                "suppressed",
                "extra",
                "source",
                "created_at",
                "updated_at",
            ] {
                assert!(c.get(key).is_some(), "{key} missing in {c}");
            }
            assert!(c.get("id").is_none(), "internal ids are not shown");
            let at = c["created_at"].as_str().unwrap();
            assert!(at.ends_with('Z') && at.len() == 20, "{at}");
        }
        assert_eq!(app.json(["contacts", "export", "--format", "json"]), json);
        assert_eq!(
            app.ok(["contacts", "list", "--format", "csv"]),
            app.ok(["contacts", "export"])
        );
        let table = app.ok(["contacts", "list"]);
        assert!(table.contains("EMAIL"), "{table}");
        assert!(table.contains("Jane.Doe@x.example"), "{table}");
        assert!(table.contains("unsubscribed"), "{table}");
        assert!(table.ends_with(&format!("{n} contact(s)\n")), "{table}");
        // An empty database exports just the header.
        let empty = app.fresh();
        assert_eq!(
            empty.ok(["contacts", "export"]),
            "email,name,first_name,last_name,outlet,role,beat,country,language,phone,notes,tags,status,source\n"
        );
        assert_eq!(
            empty.json(["contacts", "list", "--format", "json"]),
            serde_json::json!([])
        );
    });
}

// ---------------------------------------------------------------------------
// Audience filters.
// ---------------------------------------------------------------------------

const AUDIENCE: &str = "Email,Name,Outlet,Beat,Country,Language,Tags\n\
    anna@alpen.example,Anna,Alpenblick Zeitung,Politik,AT,de-AT,press;politics\n\
    felix@spree.example,Felix,Spreeblatt,Wissenschaft,DE,de,science\n\
    grace@radio.example,Grace,East Africa Radio,News,KE,en,press;radio\n\
    lena@spree.example,Lena,Spreeblatt,\"Umwelt, Klima\",DE,de,press;climate\n\
    liam@harbour.example,Liam,Harbourtown Gazette,Climate,GB,en-GB,climate;radio\n\
    marie@lyon.example,Marie,Le Progrès Lyonnais,Climat,FR,fr,press\n\
    zoe@alpen.example,Zoë,Österreich Heute,\"Ökologie, Energie\",AT,de-AT,climate\n";

/// The addresses `contacts list FILTERS` prints, as local parts.
fn audience(app: &TestApp, filters: &[&str]) -> Vec<String> {
    let mut args = vec!["contacts", "list", "--format", "json"];
    args.extend(filters);
    app.json(&args)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let email = c["email"].as_str().unwrap();
            email.split('@').next().unwrap().to_string()
        })
        .collect()
}

#[test]
fn audience_filters() {
    each_backend(|app| {
        app.write("audience.csv", AUDIENCE);
        app.ok(["contacts", "import", "audience.csv"]);
        let cases: &[(&[&str], &[&str])] = &[
            (
                &[],
                &["anna", "felix", "grace", "lena", "liam", "marie", "zoe"],
            ),
            // Tags.
            (&["--tag", "press"], &["anna", "grace", "lena", "marie"]),
            (&["--tag", "PRESS"], &["anna", "grace", "lena", "marie"]),
            (
                &["--tag", "press", "--tag", "radio"],
                &["anna", "grace", "lena", "liam", "marie"],
            ),
            (&["--tag", "nobody"], &[]),
            // Countries, by code or name.
            (&["--country", "DE"], &["felix", "lena"]),
            (
                &["--country", "germany", "--country", "at"],
                &["anna", "felix", "lena", "zoe"],
            ),
            // Languages: `de` includes its regional forms, not the reverse.
            (&["--language", "de"], &["anna", "felix", "lena", "zoe"]),
            (&["--language", "de-at"], &["anna", "zoe"]),
            (&["--language", "English"], &["grace", "liam"]),
            (&["--language", "en-GB"], &["liam"]),
            (
                &["--language", "fr", "--language", "en-gb"],
                &["liam", "marie"],
            ),
            // Beats: a word anywhere in the beat, ignoring case.
            (&["--beat", "climate"], &["liam"]),
            (&["--beat", "KLIMA"], &["lena"]),
            (&["--beat", "clim"], &["liam", "marie"]),
            (&["--beat", "Ökologie"], &["zoe"]),
            (
                &["--beat", "energie", "--beat", "politik"],
                &["anna", "zoe"],
            ),
            // Outlets: the whole name, ignoring case.
            (&["--outlet", "spreeblatt"], &["felix", "lena"]),
            (&["--outlet", "Spree"], &[]),
            (&["--outlet", "Österreich Heute"], &["zoe"]),
            (&["--outlet", "le progrès lyonnais"], &["marie"]),
            (
                &["--outlet", "Spreeblatt", "--outlet", "East Africa Radio"],
                &["felix", "grace", "lena"],
            ),
            // AND across kinds.
            (&["--tag", "climate", "--country", "DE"], &["lena"]),
            (&["--outlet", "Spreeblatt", "--tag", "science"], &["felix"]),
            (
                &["--tag", "press", "--country", "KE", "--language", "en"],
                &["grace"],
            ),
            (
                &[
                    "--tag",
                    "climate",
                    "--tag",
                    "press",
                    "--language",
                    "de",
                    "--country",
                    "AT",
                ],
                &["anna", "zoe"],
            ),
            (&["--tag", "radio", "--country", "DE"], &[]),
        ];
        for (filters, expected) in cases {
            assert_eq!(
                audience(app, filters),
                *expected,
                "[{}] contacts list {}",
                app.backend,
                filters.join(" ")
            );
        }
        // Export takes the same filters.
        let csv = app.ok(["contacts", "export", "--tag", "radio", "--language", "en"]);
        let rows: Vec<&str> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(rows, ["grace@radio.example", "liam@harbour.example"]);
    });
}

#[test]
fn a_filter_that_names_no_country_or_language_is_refused() {
    each_backend(|app| {
        let (out, err) = app.fails(2, ["contacts", "list", "--country", "Atlantis"]);
        assert_eq!(out, "");
        assert_eq!(
            err,
            "error: --country: \"Atlantis\" is not a country; use a two-letter ISO 3166 code such as \
             \"DE\" or an English country name\n"
        );
        let (_, err) = app.fails(2, ["contacts", "export", "--language", "Klingonish"]);
        assert_eq!(
            err,
            "error: --language: \"Klingonish\" is not a language; use a BCP 47 tag such as \"en\", \
             \"fr\" or \"pt-BR\"\n"
        );
    });
}
