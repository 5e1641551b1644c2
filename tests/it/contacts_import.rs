//! contacts import: the export styles of real tools, encodings, delimiters,
//! every kind of bad row with its exact report line, and the import options.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use crate::harness::{each_backend, TestApp};

/// One contact as `contacts show --format json` prints it, without its
/// timestamps (which change from run to run).
fn show(app: &TestApp, email: &str) -> Value {
    let mut c = app.json(["contacts", "show", email, "--format", "json"]);
    let o = c.as_object_mut().unwrap();
    assert!(o.remove("created_at").is_some());
    assert!(o.remove("updated_at").is_some());
    // An imported contact has no deliveries or bounces yet.
    assert_eq!(o.remove("deliveries"), Some(json!([])));
    assert_eq!(o.remove("bounces"), Some(json!([])));
    c
}

/// The addresses of all contacts, in list order.
fn emails(app: &TestApp) -> Vec<String> {
    app.contacts()
        .iter()
        .map(|c| c["email"].as_str().unwrap().to_string())
        .collect()
}

/// The report line that says how a file was read.
fn file_line(out: &str) -> &str {
    out.lines().next().unwrap()
}

/// The last line of an import report: the counts.
fn counts_line(out: &str) -> &str {
    out.lines().last().unwrap()
}

/// Stdout's lines that describe a row.
fn problem_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| {
            l.ends_with("[error]")
                || l.ends_with("[warning]")
                || l.ends_with("[duplicate]")
                || l.ends_with("[skipped]")
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Export styles of real tools (fixtures under tests/fixtures/contacts).
// ---------------------------------------------------------------------------

#[test]
fn outlook_export() {
    each_backend(|app| {
        app.copy_fixture("outlook.csv");
        let out = app.ok(["contacts", "import", "outlook.csv"]);
        let head = file_line(&out);
        assert!(
            head.starts_with(
                "outlook.csv: 3 rows, UTF-8, comma-separated; columns: \"Title\" → extra, \
                 \"First Name\" → first_name, \"Middle Name\" → extra, \"Last Name\" → last_name, \
                 \"Suffix\" → extra, \"Company\" → outlet, \"Department\" → beat, \"Job Title\" → role, "
            ),
            "{head}"
        );
        for mapping in [
            "\"Business Country/Region\" → country",
            "\"Home Country/Region\" → extra",
            "\"Business Phone\" → phone",
            "\"Mobile Phone\" → extra",
            "\"Categories\" → tags",
            "\"E-mail Address\" → email",
            "\"E-mail 2 Address\" → extra",
            "\"Language\" → language",
            "\"Notes\" → notes",
        ] {
            assert!(head.contains(mapping), "{mapping} missing in {head}");
        }
        assert_eq!(
            counts_line(&out),
            "imported 3, updated 0, unchanged 0, skipped 0, duplicates merged 0, invalid 0"
        );
        assert_eq!(out.lines().count(), 2, "{out}");

        assert_eq!(
            show(app, "amara.okonkwo@nairobisignal.example"),
            json!({
                "email": "amara.okonkwo@nairobisignal.example",
                "name": "Amara Okonkwo",
                "first_name": "Amara",
                "last_name": "Okonkwo",
                "outlet": "Nairobi Daily Signal",
                "role": "Senior Environment Correspondent",
                "beat": "Environment",
                "country": "KE",
                "language": "en",
                "phone": "+254 20 555 0101",
                "notes": "Covers COP negotiations",
                "tags": ["climate", "press"],
                "status": "active",
                "suppressed": null,
                "extra": {
                    "Anniversary": "0/0/00",
                    "Birthday": "0/0/00",
                    "Business City": "Nairobi",
                    "E-mail Display Name": "Amara Okonkwo (amara.okonkwo@nairobisignal.example)",
                    "E-mail Type": "SMTP",
                    "Gender": "Unspecified",
                    "Initials": "A.O.",
                    "Priority": "Normal",
                    "Private": "False",
                    "Sensitivity": "Normal",
                    "Title": "Ms."
                },
                "source": "outlook.csv"
            })
        );
        // The display name includes the middle name; a mobile number is kept, not lost.
        let hnin = show(app, "hnin.ei.phyu@mandalayreview.example");
        assert_eq!(hnin["name"], "Hnin Ei Phyu");
        assert_eq!(hnin["phone"], Value::Null);
        assert_eq!(hnin["extra"]["Mobile Phone"], "+95 9 555 0155");
        assert_eq!(hnin["extra"]["Middle Name"], "Ei");
        assert_eq!(hnin["tags"], json!(["human rights", "press"]));
        assert_eq!(hnin["country"], "MM");
        assert_eq!(hnin["notes"], "Use Signal; do not call");
        let jonas = show(app, "j.weber@rheinkurier.example");
        assert_eq!(jonas["country"], "DE");
        assert_eq!(
            jonas["extra"]["E-mail 2 Address"],
            "jonas.weber@mail.example"
        );
        assert_eq!(jonas["extra"]["Business City"], "Köln");
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 3);
    });
}

#[test]
fn google_contacts_export_old_format() {
    each_backend(|app| {
        app.copy_fixture("google_old.csv");
        let out = app.ok(["contacts", "import", "google_old.csv"]);
        let head = file_line(&out);
        assert!(
            head.starts_with(
                "google_old.csv: 3 rows, UTF-8, comma-separated; columns: \"Name\" → name, \
                 \"Given Name\" → first_name, \"Additional Name\" → extra, \"Family Name\" → last_name, "
            ),
            "{head}"
        );
        for mapping in [
            "\"Group Membership\" → tags",
            "\"E-mail 1 - Type\" → extra",
            "\"E-mail 1 - Value\" → email",
            "\"E-mail 2 - Value\" → extra",
            "\"Phone 1 - Value\" → phone",
            "\"Address 1 - Country\" → country",
            "\"Organization 1 - Name\" → outlet",
            "\"Organization 1 - Title\" → role",
            "\"Organization 1 - Department\" → extra",
        ] {
            assert!(head.contains(mapping), "{mapping} missing in {head}");
        }
        assert_eq!(
            counts_line(&out),
            "imported 3, updated 0, unchanged 0, skipped 0, duplicates merged 0, invalid 0"
        );
        assert_eq!(
            show(app, "lena.fischer@spreeblatt.example"),
            json!({
                "email": "lena.fischer@spreeblatt.example",
                "name": "Lena Fischer",
                "first_name": "Lena",
                "last_name": "Fischer",
                "outlet": "Spreeblatt",
                "role": "Umweltreporterin",
                "beat": null,
                "country": "DE",
                "language": "de",
                "phone": "+49 30 555 0177",
                "notes": "Met at the climate summit press centre",
                // Google's built-in "myContacts" group is not a tag.
                "tags": ["climate", "press"],
                "status": "active",
                "suppressed": null,
                "extra": {
                    // A multi-line value in a column that is not a field is kept as it is.
                    "Address 1 - Formatted": "Spreeweg 1\n10557 Berlin\nDE",
                    "Address 1 - City": "Berlin",
                    "Address 1 - Postal Code": "10557",
                    "Address 1 - Street": "Spreeweg 1",
                    "Address 1 - Type": "Work",
                    "E-mail 1 - Type": "* Work",
                    "Organization 1 - Department": "Umwelt",
                    "Phone 1 - Type": "Work"
                },
                "source": "google_old.csv"
            })
        );
        let kwame = show(app, "kwame.mensah@accramirror.example");
        assert_eq!(kwame["tags"], json!(["politics", "press"]));
        assert_eq!(kwame["extra"]["E-mail 2 - Value"], "kwame.m@mail.example");
        assert_eq!(kwame["country"], "GH");
        // A language name becomes its BCP 47 tag.
        let mei = show(app, "mei.tanaka@pacificledger.example");
        assert_eq!(mei["language"], "ja");
        assert_eq!(mei["tags"], json!(["business", "press"]));
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 3);
    });
}

#[test]
fn google_contacts_export_2023_format() {
    each_backend(|app| {
        app.copy_fixture("google_2023.csv");
        let out = app.ok(["contacts", "import", "google_2023.csv"]);
        let head = file_line(&out);
        for mapping in [
            "\"First Name\" → first_name",
            "\"Middle Name\" → extra",
            "\"Last Name\" → last_name",
            "\"Organization Name\" → outlet",
            "\"Organization Title\" → role",
            "\"Organization Department\" → extra",
            "\"Labels\" → tags",
            "\"E-mail 1 - Label\" → extra",
            "\"E-mail 1 - Value\" → email",
            "\"Phone 1 - Value\" → phone",
            "\"Address 1 - Country\" → country",
        ] {
            assert!(head.contains(mapping), "{mapping} missing in {head}");
        }
        assert!(head.starts_with("google_2023.csv: 2 rows, UTF-8, comma-separated; "));
        assert_eq!(
            counts_line(&out),
            "imported 2, updated 0, unchanged 0, skipped 0, duplicates merged 0, invalid 0"
        );
        assert_eq!(
            show(app, "elif.demir@bosporustimes.example"),
            json!({
                "email": "elif.demir@bosporustimes.example",
                "name": "Elif Demir",
                "first_name": "Elif",
                "last_name": "Demir",
                "outlet": "Bosporus Times",
                "role": "Environment Editor",
                "beat": null,
                "country": "TR",
                "language": null,
                "phone": "+90 212 555 0155",
                "notes": null,
                "tags": ["climate", "press"],
                "status": "active",
                "suppressed": null,
                "extra": {
                    "Address 1 - City": "İstanbul",
                    "Address 1 - Label": "Work",
                    "E-mail 1 - Label": "* Work",
                    "File As": "Demir, Elif",
                    "Organization Department": "Environment",
                    "Phone 1 - Label": "Work",
                    "Website 1 - Label": "Work",
                    "Website 1 - Value": "https://bosporustimes.example/elif-demir"
                },
                "source": "google_2023.csv"
            })
        );
        let mateo = show(app, "mateo.silva@riodaily.example");
        assert_eq!(mateo["name"], "Mateo Luiz Silva");
        assert_eq!(mateo["country"], "BR");
        assert_eq!(mateo["notes"], "Travels to Manaus monthly");
        // Google's "* starred" is not a label the press officer chose.
        assert_eq!(mateo["tags"], json!(["climate", "press"]));
    });
}

#[test]
fn mailchimp_export() {
    each_backend(|app| {
        app.copy_fixture("mailchimp.csv");
        let out = app.ok(["contacts", "import", "mailchimp.csv"]);
        assert_eq!(
            file_line(&out),
            "mailchimp.csv: 3 rows, UTF-8, comma-separated; columns: \"Email Address\" → email, \
             \"First Name\" → first_name, \"Last Name\" → last_name, \"Address\" → extra, \
             \"Phone Number\" → phone, \"Birthday\" → extra, \"Company\" → outlet, \
             \"MEMBER_RATING\" → extra, \"OPTIN_TIME\" → extra, \"OPTIN_IP\" → extra, \
             \"CONFIRM_TIME\" → extra, \"CONFIRM_IP\" → extra, \"LATITUDE\" → extra, \
             \"LONGITUDE\" → extra, \"GMTOFF\" → extra, \"DSTOFF\" → extra, \"TIMEZONE\" → extra, \
             \"CC\" → country, \"REGION\" → extra, \"LAST_CHANGED\" → extra, \"LEID\" → extra, \
             \"EUID\" → extra, \"NOTES\" → notes, \"TAGS\" → tags"
        );
        assert_eq!(
            counts_line(&out),
            "imported 3, updated 0, unchanged 0, skipped 0, duplicates merged 0, invalid 0"
        );
        let grace = show(app, "grace.wanjiru@eastafricaradio.example");
        assert_eq!(grace["name"], "Grace Wanjiru");
        assert_eq!(grace["outlet"], "East Africa Radio");
        assert_eq!(grace["phone"], "+254 20 555 0199");
        // Mailchimp writes tags as "Press","Radio".
        assert_eq!(grace["tags"], json!(["press", "radio"]));
        // Mailchimp's "CC" is the country code.
        assert_eq!(grace["country"], "KE");
        assert_eq!(grace["extra"]["MEMBER_RATING"], "4");
        assert_eq!(grace["extra"]["TIMEZONE"], "Africa/Nairobi");
        assert_eq!(grace["source"], "mailchimp.csv");
        let felix = show(app, "felix.brandt@spreeblatt.example");
        assert_eq!(felix["notes"], "Science desk, prefers embargoed copies");
        assert_eq!(felix["tags"], json!(["press", "science"]));
        let sofia = show(app, "sofia.marquez@radiokestrel.example");
        assert_eq!(sofia["name"], "Sofía Márquez");
        assert_eq!(sofia["tags"], json!(["climate", "press", "radio"]));
    });
}

#[test]
fn media_database_export() {
    each_backend(|app| {
        app.copy_fixture("media_database.csv");
        let out = app.ok(["contacts", "import", "media_database.csv"]);
        assert_eq!(
            file_line(&out),
            "media_database.csv: 4 rows, UTF-8, comma-separated; columns: \"Full Name\" → name, \
             \"First Name\" → first_name, \"Last Name\" → last_name, \"Title\" → role, \
             \"Outlet\" → outlet, \"Publication\" → extra, \"Beat\" → beat, \"Topics\" → extra, \
             \"Email\" → email, \"Phone\" → phone, \"Twitter\" → extra, \"City\" → extra, \
             \"Country\" → country, \"Language\" → language, \"Media Type\" → extra"
        );
        assert_eq!(
            problem_lines(&out),
            [
                "media_database.csv:4: column \"Language\": \"English, Thai\" lists several languages; \
                 kept the first, \"en\" [warning]"
            ]
        );
        assert_eq!(
            counts_line(&out),
            "imported 4, updated 0, unchanged 0, skipped 0, duplicates merged 0, invalid 0"
        );
        assert_eq!(
            show(app, "priya.raman@southasiawire.example"),
            json!({
                "email": "priya.raman@southasiawire.example",
                "name": "Priya Raman",
                "first_name": "Priya",
                "last_name": "Raman",
                "outlet": "South Asia Wire",
                "role": "Science Editor",
                "beat": "Science",
                "country": "IN",
                "language": "en",
                "phone": "+91 22 5550 0166",
                "notes": null,
                "tags": [],
                "status": "active",
                "suppressed": null,
                "extra": {
                    "City": "Mumbai",
                    "Media Type": "Newswire",
                    "Publication": "South Asia Wire Weekly",
                    "Topics": "Climate; Health; Space",
                    "Twitter": "@priya_raman_sci"
                },
                "source": "media_database.csv"
            })
        );
        let zoe = show(app, "zoe.hartmann@alpenblick.example");
        assert_eq!(zoe["name"], "Zoë Hartmann");
        assert_eq!(zoe["country"], "AT");
        assert_eq!(zoe["language"], "de-AT");
        assert_eq!(zoe["beat"], "Klima, Energie");
        assert_eq!(
            show(app, "niran.s@andamancourier.example")["language"],
            "en"
        );
        let karin = show(app, "karin@balticdispatch.example");
        assert_eq!(karin["language"], "sv");
        assert_eq!(karin["country"], "SE");
        assert_eq!(karin["phone"], Value::Null);
    });
}

// ---------------------------------------------------------------------------
// Encodings, delimiters, quoting, line ends.
// ---------------------------------------------------------------------------

/// `text` as UTF-16 with a byte-order mark.
fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        let bytes = if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        };
        out.extend_from_slice(&bytes);
    }
    out
}

#[test]
fn every_encoding_is_read() {
    // Windows-1252 has „ “ – € where Latin-1 has control codes.
    let text = |who: &str| {
        format!(
            "E-mail Address,Name,Outlet,Notes\r\n\
             {who}@encodings.example,Zoë Bäcker,Österreich Heute,„Grüße“ – 50 €\r\n"
        )
    };
    let files: [(&str, &str, Vec<u8>); 5] = [
        ("utf8.csv", "UTF-8", text("utf8").into_bytes()),
        (
            "utf8bom.csv",
            "UTF-8 with BOM",
            [&[0xEF, 0xBB, 0xBF][..], text("utf8bom").as_bytes()].concat(),
        ),
        ("utf16le.csv", "UTF-16LE", utf16(&text("utf16le"), false)),
        ("utf16be.csv", "UTF-16BE", utf16(&text("utf16be"), true)),
        (
            "cp1252.csv",
            "Windows-1252",
            encoding_rs::WINDOWS_1252
                .encode(&text("cp1252"))
                .0
                .into_owned(),
        ),
    ];
    each_backend(|app| {
        for (name, encoding, bytes) in &files {
            app.write(name, bytes);
            let out = app.ok(["contacts", "import", name]);
            // The byte-order mark is not part of the first column's name.
            assert_eq!(
                file_line(&out),
                format!(
                    "{name}: 1 rows, {encoding}, comma-separated; columns: \"E-mail Address\" → email, \
                     \"Name\" → name, \"Outlet\" → outlet, \"Notes\" → notes"
                )
            );
            assert_eq!(
                counts_line(&out),
                "imported 1, updated 0, unchanged 0, skipped 0, duplicates merged 0, invalid 0"
            );
            let who = name.trim_end_matches(".csv");
            let c = show(app, &format!("{who}@encodings.example"));
            assert_eq!(c["name"], "Zoë Bäcker", "{name}");
            assert_eq!(c["outlet"], "Österreich Heute", "{name}");
            assert_eq!(c["notes"], "„Grüße“ – 50 €", "{name}");
        }
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 5);
    });
}

#[test]
fn utf16_without_byte_order_mark_is_refused_with_advice() {
    each_backend(|app| {
        let bytes: Vec<u8> = "Email,Name\r\njane@x.example,Jane\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        app.write("nobom.csv", bytes);
        let (out, err) = app.fails(2, ["contacts", "import", "nobom.csv"]);
        assert_eq!(out, "");
        assert_eq!(
            err,
            "error: nobom.csv: the file contains NUL bytes: it looks like UTF-16 without a \
             byte-order mark. Save it as \"CSV UTF-8\" and import it again\n"
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
    });
}

#[test]
fn comma_semicolon_and_tab_delimiters() {
    each_backend(|app| {
        // Each file's values contain the other delimiters, unquoted.
        app.write(
            "comma.csv",
            "Email,Name,Beat\nc@delim.example,Comma Person,Energy; Climate\tnews\n",
        );
        app.write(
            "semicolon.csv",
            "Email;Name;Beat\ns@delim.example;Semicolon Person;Politik, Wirtschaft\n",
        );
        app.write(
            "tab.csv",
            "Email\tName\tBeat\nt@delim.example\tTab Person\tScience, Health; Space\n",
        );
        for (file, delimiter, who, beat) in [
            ("comma.csv", "comma", "c", "Energy; Climate\tnews"),
            ("semicolon.csv", "semicolon", "s", "Politik, Wirtschaft"),
            ("tab.csv", "tab", "t", "Science, Health; Space"),
        ] {
            let out = app.ok(["contacts", "import", file]);
            assert_eq!(
                file_line(&out),
                format!(
                    "{file}: 1 rows, UTF-8, {delimiter}-separated; columns: \"Email\" → email, \
                     \"Name\" → name, \"Beat\" → beat"
                )
            );
            let c = show(app, &format!("{who}@delim.example"));
            assert_eq!(c["beat"], beat, "{file}");
        }
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 3);
    });
}

#[test]
fn quoted_newlines_and_crlf_keep_line_numbers() {
    each_backend(|app| {
        app.write(
            "crlf.csv",
            "Email,Name,Notes\r\n\
             ann@quotes.example,Ann,\"Met at the summit.\r\nCall before noon.\r\nSpeaks French.\"\r\n\
             ben@quotes.example,Ben,\"He said \"\"no comment\"\", twice\"\r\n\
             jane@,Jane,\r\n\
             \r\n\
             cleo@quotes.example,\"Cleo, PhD\",\"one\ntwo\"\r\n",
        );
        let (out, err) = app.fails(2, ["contacts", "import", "crlf.csv"]);
        // The bad row is on line 6: the note of line 2 spans three lines.
        assert_eq!(
            problem_lines(&out),
            ["crlf.csv:6: column \"Email\": \"jane@\" is not an e-mail address (no domain after the @) [error]"]
        );
        assert_eq!(
            err,
            "error: nothing imported; fix these rows, or re-run with --skip-invalid to import the 3 valid rows\n"
        );
        let out = app.ok(["contacts", "import", "crlf.csv", "--skip-invalid"]);
        assert!(file_line(&out).starts_with("crlf.csv: 4 rows, UTF-8, comma-separated;"));
        assert_eq!(
            counts_line(&out),
            "imported 3, updated 0, unchanged 0, skipped 1, duplicates merged 0, invalid 1"
        );
        let ann = show(app, "ann@quotes.example");
        assert_eq!(ann["name"], "Ann");
        assert_eq!(
            ann["notes"].as_str().unwrap().lines().collect::<Vec<_>>(),
            ["Met at the summit.", "Call before noon.", "Speaks French."]
        );
        assert_eq!(
            show(app, "ben@quotes.example")["notes"],
            "He said \"no comment\", twice"
        );
        let cleo = show(app, "cleo@quotes.example");
        assert_eq!(cleo["name"], "Cleo, PhD");
        assert_eq!(cleo["notes"], "one\ntwo");
    });
}

#[test]
fn line_numbers_count_blank_lines_and_every_kind_of_line_end() {
    each_backend(|app| {
        for (file, end) in [("lf.csv", "\n"), ("crlf.csv", "\r\n"), ("cr.csv", "\r")] {
            let text = [
                "Email,Name",
                "",
                "bad1@,A",
                "bad2@,B",
                "",
                "",
                "bad3@,C",
                "",
            ]
            .join(end);
            app.write(file, text);
            let (out, _) = app.fails(2, ["contacts", "import", file]);
            let lines: Vec<&str> = problem_lines(&out)
                .iter()
                .map(|l| l.split(": column").next().unwrap())
                .collect();
            assert_eq!(
                lines,
                [
                    format!("{file}:3"),
                    format!("{file}:4"),
                    format!("{file}:7")
                ],
                "{out}"
            );
        }
    });
}

// ---------------------------------------------------------------------------
// Bad input.
// ---------------------------------------------------------------------------

/// One row of every kind of error, and two good rows.
const BAD_ROWS: &str = "Email,Name,Outlet,Country,Language,Status\n\
    ok1@rows.example,Ok One,Daily Planet,DE,de,active\n\
    ,No Address,Daily Planet,DE,de,\n\
    jane@,Jane,Daily Planet,,,\n\
    bad.country@rows.example,Bad Country,Daily Planet,Atlantis,,\n\
    bad.language@rows.example,Bad Language,Daily Planet,,Klingonish,\n\
    bad.status@rows.example,Bad Status,Daily Planet,,,maybe\n\
    line.break@rows.example,Line Break,\"Daily\nPlanet\",,,\n\
    too.many@rows.example,Too Many,Daily Planet,DE,de,active,surplus\n\
    ok2@rows.example,Ok Two,,,,,,\n";

const BAD_ROW_LINES: [&str; 7] = [
    "bad.csv:3: column \"Email\": no e-mail address; every contact needs one [error]",
    "bad.csv:4: column \"Email\": \"jane@\" is not an e-mail address (no domain after the @) [error]",
    "bad.csv:5: column \"Country\": \"Atlantis\" is not a country; use a two-letter ISO 3166 code \
     such as \"DE\" or an English country name [error]",
    "bad.csv:6: column \"Language\": \"Klingonish\" is not a language; use a BCP 47 tag such as \
     \"en\", \"fr\" or \"pt-BR\" [error]",
    "bad.csv:7: column \"Status\": \"maybe\" is not a status; use one of active, unsubscribed, \
     bounced, complained, needs-update [error]",
    "bad.csv:8: column \"Outlet\": \"Daily\\nPlanet\" contains a line break; this field must be one line [error]",
    "bad.csv:10: the row has 7 fields but the header has 6; quote values that contain the delimiter [error]",
];

#[test]
fn bad_rows_refuse_the_whole_import() {
    each_backend(|app| {
        app.write("bad.csv", BAD_ROWS);
        let (out, err) = app.fails(2, ["contacts", "import", "bad.csv"]);
        assert_eq!(
            out,
            format!(
                "bad.csv: 9 rows, UTF-8, comma-separated; columns: \"Email\" → email, \"Name\" → name, \
                 \"Outlet\" → outlet, \"Country\" → country, \"Language\" → language, \"Status\" → status\n\
                 {}\n\
                 would import 2, updated 0, unchanged 0, skipped 0, duplicates merged 0, invalid 7\n",
                BAD_ROW_LINES.join("\n")
            )
        );
        assert_eq!(
            err,
            "error: nothing imported; fix these rows, or re-run with --skip-invalid to import the 2 valid rows\n"
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
        assert_eq!(app.count("SELECT count(*) FROM contact_tags"), 0);
    });
}

#[test]
fn bad_rows_in_json() {
    each_backend(|app| {
        app.write("bad.csv", BAD_ROWS);
        let out = app.run(["contacts", "import", "bad.csv", "--format", "json"]);
        assert_eq!(out.status.code(), Some(2));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["rows"], 9);
        assert_eq!(report["invalid"], 7);
        assert_eq!(report["imported"], 2);
        assert_eq!(report["committed"], false);
        assert_eq!(report["dry_run"], false);
        assert_eq!(report["files"][0]["file"], "bad.csv");
        assert_eq!(report["files"][0]["encoding"], "UTF-8");
        assert_eq!(report["files"][0]["delimiter"], "comma");
        assert_eq!(report["files"][0]["rows"], 9);
        assert_eq!(report["files"][0]["columns"][0], json!(["Email", "email"]));
        let problems = report["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 7);
        assert_eq!(
            problems[1],
            json!({
                "file": "bad.csv",
                "line": 4,
                "column": "Email",
                "kind": "error",
                "message": "\"jane@\" is not an e-mail address (no domain after the @)"
            })
        );
        assert_eq!(problems[6]["line"], 10);
        assert_eq!(problems[6]["column"], Value::Null);
        assert!(String::from_utf8_lossy(&out.stderr).contains("import the 2 valid rows"));
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
    });
}

#[test]
fn skip_invalid_imports_the_valid_rows() {
    each_backend(|app| {
        app.write("bad.csv", BAD_ROWS);
        let out = app.ok(["contacts", "import", "bad.csv", "--skip-invalid"]);
        assert_eq!(problem_lines(&out), BAD_ROW_LINES);
        assert_eq!(
            counts_line(&out),
            "imported 2, updated 0, unchanged 0, skipped 7, duplicates merged 0, invalid 7"
        );
        assert_eq!(emails(app), ["ok1@rows.example", "ok2@rows.example"]);
        let ok1 = show(app, "ok1@rows.example");
        assert_eq!(ok1["country"], "DE");
        assert_eq!(ok1["status"], "active");
    });
}

#[test]
fn a_file_without_an_email_column_is_refused() {
    each_backend(|app| {
        app.write("nocol.csv", "Name,Outlet\nJane Doe,Daily Planet\n");
        let (out, err) = app.fails(2, ["contacts", "import", "nocol.csv"]);
        assert_eq!(out, "");
        assert_eq!(
            err,
            "error: nocol.csv:1: no column holds e-mail addresses (the columns are \"Name\", \"Outlet\"); \
             name it with --map \"Column=email\"\n"
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
    });
}

#[test]
fn an_unknown_map_column_is_refused() {
    each_backend(|app| {
        app.write("jane.csv", "Email,Name\njane@x.example,Jane Doe\n");
        let (out, err) = app.fails(2, ["contacts", "import", "jane.csv", "--map", "Mail=email"]);
        assert_eq!(out, "");
        assert_eq!(
            err,
            "error: jane.csv:1: --map \"Mail\": the file has no such column (its columns are \"Email\", \"Name\")\n"
        );
        // A --map that names no field is refused before anything is read.
        let (_, err) = app.fails(
            2,
            ["contacts", "import", "jane.csv", "--map", "Name=nickname"],
        );
        assert!(
            err.contains("\"nickname\" is not a contact field; use one of email, name, first_name"),
            "{err}"
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
    });
}

#[test]
fn an_empty_file_is_refused() {
    each_backend(|app| {
        app.write("empty.csv", "");
        app.write("good.csv", "Email\njane@x.example\n");
        let (out, err) = app.fails(2, ["contacts", "import", "empty.csv"]);
        assert_eq!(out, "");
        assert_eq!(
            err,
            "error: empty.csv: the file is empty; a contacts file starts with a header row such as \
             \"Email,First Name,Last Name\"\n"
        );
        // One bad file stops the whole import: the good one is not half-written.
        app.fails(2, ["contacts", "import", "good.csv", "empty.csv"]);
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
    });
}

#[test]
fn a_missing_file_is_named_once() {
    each_backend(|app| {
        // A file the press officer named that is not there is bad input: exit 2.
        let (_, err) = app.fails(2, ["contacts", "import", "missing.csv"]);
        assert!(err.starts_with("error: missing.csv: "), "{err}");
        assert_eq!(err.matches("missing.csv").count(), 1, "{err}");
        assert_eq!(err.matches("os error").count(), 1, "{err}");
    });
}

#[test]
fn nul_characters_are_bad_rows_not_database_failures() {
    each_backend(|app| {
        // UTF-16 can spell U+0000; PostgreSQL cannot store it in text.
        app.write(
            "nul.csv",
            utf16(
                "Email,Name,Tags\r\nok@nul.example,Ok,press\r\nnul@nul.example,Jane\u{0}Doe,a\u{0}b\r\n",
                false,
            ),
        );
        let (out, _) = app.fails(2, ["contacts", "import", "nul.csv"]);
        assert_eq!(
            problem_lines(&out),
            [
                "nul.csv:3: column \"Name\": the value contains a NUL character; \
                 the file may be damaged [error]",
                "nul.csv:3: column \"Tags\": the value contains a NUL character; \
                 the file may be damaged [error]"
            ]
        );
        let out = app.ok(["contacts", "import", "nul.csv", "--skip-invalid"]);
        assert_eq!(
            counts_line(&out),
            "imported 1, updated 0, unchanged 0, skipped 1, duplicates merged 0, invalid 1"
        );
        assert_eq!(emails(app), ["ok@nul.example"]);
    });
}

// ---------------------------------------------------------------------------
// Options.
// ---------------------------------------------------------------------------

/// A database with two contacts, and a file that adds one, changes one,
/// repeats one unchanged, duplicates a row and has an invalid row.
fn mixed_import(app: &TestApp) {
    app.write(
        "base.csv",
        "Email,Name,Outlet\nsame@mixed.example,Same,Daily Planet\nchanged@mixed.example,Changed,Old Outlet\n",
    );
    app.ok(["contacts", "import", "base.csv"]);
    app.write(
        "mixed.csv",
        "Email,Name,Outlet\n\
         same@mixed.example,Same,Daily Planet\n\
         changed@mixed.example,Changed,New Outlet\n\
         new@mixed.example,New,Evening Post\n\
         NEW@mixed.example,,\n\
         broken@,Broken,\n",
    );
}

#[test]
fn dry_run_writes_nothing_but_reports_the_same_counts() {
    each_backend(|app| {
        mixed_import(app);
        let before = app.contacts();
        let out = app.ok([
            "contacts",
            "import",
            "mixed.csv",
            "--skip-invalid",
            "--dry-run",
        ]);
        assert_eq!(
            counts_line(&out),
            "would import 1, updated 1, unchanged 1, skipped 1, duplicates merged 1, invalid 1 \
             (dry run: nothing written)"
        );
        assert_eq!(app.contacts(), before);
        let dry = app.json([
            "contacts",
            "import",
            "mixed.csv",
            "--skip-invalid",
            "--dry-run",
            "--format",
            "json",
        ]);
        assert_eq!(app.contacts(), before);
        assert_eq!(dry["dry_run"], true);
        assert_eq!(dry["committed"], false);

        let real = app.json([
            "contacts",
            "import",
            "mixed.csv",
            "--skip-invalid",
            "--format",
            "json",
        ]);
        assert_eq!(real["dry_run"], false);
        assert_eq!(real["committed"], true);
        for key in [
            "files",
            "rows",
            "imported",
            "updated",
            "unchanged",
            "skipped",
            "duplicates",
            "invalid",
            "problems",
        ] {
            assert_eq!(dry[key], real[key], "{key}");
        }
        assert_eq!(real["rows"], 5);
        assert_eq!(real["imported"], 1);
        assert_eq!(real["updated"], 1);
        assert_eq!(real["unchanged"], 1);
        assert_eq!(real["duplicates"], 1);
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 3);
        assert_eq!(show(app, "changed@mixed.example")["outlet"], "New Outlet");
    });
}

#[test]
fn dry_run_of_a_file_with_bad_rows_writes_nothing() {
    each_backend(|app| {
        app.write("bad.csv", BAD_ROWS);
        // The dry run answers "would this import go through?": no, so exit 2.
        let (out, err) = app.fails(2, ["contacts", "import", "bad.csv", "--dry-run"]);
        assert_eq!(problem_lines(&out), BAD_ROW_LINES);
        assert_eq!(
            counts_line(&out),
            "would import 2, updated 0, unchanged 0, skipped 0, duplicates merged 0, invalid 7 \
             (dry run: nothing written)"
        );
        assert_eq!(
            err.trim_end(),
            "error: dry run: this import would be refused; fix these rows, \
             or re-run with --skip-invalid to import the 2 valid rows"
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
    });
}

#[test]
fn skip_existing_leaves_contacts_as_they_are() {
    each_backend(|app| {
        mixed_import(app);
        let out = app.ok([
            "contacts",
            "import",
            "mixed.csv",
            "--skip-existing",
            "--skip-invalid",
        ]);
        assert_eq!(
            problem_lines(&out),
            [
                "mixed.csv:2: same@mixed.example is already a contact; kept as it is (--skip-existing) [skipped]",
                "mixed.csv:3: changed@mixed.example is already a contact; kept as it is (--skip-existing) [skipped]",
                "mixed.csv:5: NEW@mixed.example appears again (first at line 4); merged into one contact [duplicate]",
                "mixed.csv:6: column \"Email\": \"broken@\" is not an e-mail address (no domain after the @) [error]",
            ]
        );
        assert_eq!(
            counts_line(&out),
            "imported 1, updated 0, unchanged 0, skipped 3, duplicates merged 1, invalid 1"
        );
        assert_eq!(show(app, "changed@mixed.example")["outlet"], "Old Outlet");
        assert_eq!(show(app, "new@mixed.example")["outlet"], "Evening Post");
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 3);
    });
}

#[test]
fn tag_adds_tags_to_every_imported_contact() {
    each_backend(|app| {
        app.write(
            "tagged.csv",
            "Email,Name,Tags\na@tags.example,A,Radio\nb@tags.example,B,\n",
        );
        let out = app.ok([
            "contacts",
            "import",
            "tagged.csv",
            "--tag",
            "Climate  Desk",
            "--tag",
            "COP30",
        ]);
        assert_eq!(
            counts_line(&out),
            "imported 2, updated 0, unchanged 0, skipped 0, duplicates merged 0, invalid 0"
        );
        assert_eq!(
            show(app, "a@tags.example")["tags"],
            json!(["climate desk", "cop30", "radio"])
        );
        assert_eq!(
            show(app, "b@tags.example")["tags"],
            json!(["climate desk", "cop30"])
        );
        // Tagging existing contacts again adds the tag and keeps the others.
        let out = app.ok(["contacts", "import", "tagged.csv", "--tag", "vip"]);
        assert_eq!(
            counts_line(&out),
            "imported 0, updated 2, unchanged 0, skipped 0, duplicates merged 0, invalid 0"
        );
        assert_eq!(
            show(app, "a@tags.example")["tags"],
            json!(["climate desk", "cop30", "radio", "vip"])
        );
        assert_eq!(app.count("SELECT count(*) FROM contact_tags"), 7);
    });
}

#[test]
fn map_overrides_the_column_guess() {
    each_backend(|app| {
        app.write(
            "spanish.csv",
            "Correo;Nombre;Medio;Sección;Company;ID interno\n\
             ana@prensa.example;Ana Ruiz;Diario del Sur;Clima;Grupo Editorial Sur;4711\n",
        );
        // Without --map, no column holds addresses.
        app.fails(2, ["contacts", "import", "spanish.csv"]);
        let out = app.ok([
            "contacts",
            "import",
            "spanish.csv",
            "--map",
            "correo=Email",
            "--map",
            "Nombre=name",
            "--map",
            "Medio=outlet",
            "--map",
            "Sección=beat",
            "--map",
            "Company=extra",
            "--map",
            "ID interno=ignore",
        ]);
        assert_eq!(
            file_line(&out),
            "spanish.csv: 1 rows, UTF-8, semicolon-separated; columns: \"Correo\" → email, \
             \"Nombre\" → name, \"Medio\" → outlet, \"Sección\" → beat, \"Company\" → extra, \
             \"ID interno\" → ignore"
        );
        let ana = show(app, "ana@prensa.example");
        assert_eq!(ana["name"], "Ana Ruiz");
        assert_eq!(ana["outlet"], "Diario del Sur");
        assert_eq!(ana["beat"], "Clima");
        assert_eq!(ana["extra"], json!({"Company": "Grupo Editorial Sur"}));
    });
}

#[test]
fn unknown_columns_are_kept_in_extra() {
    each_backend(|app| {
        app.write(
            "extra.csv",
            "Email,Name,Pronouns,Signal,Embargo OK\n\
             kim@extra.example,Kim Lee,they/them,+1 555 0100,yes\n\
             lou@extra.example,Lou Park,,,\n",
        );
        let out = app.ok(["contacts", "import", "extra.csv"]);
        assert!(file_line(&out)
            .ends_with("\"Pronouns\" → extra, \"Signal\" → extra, \"Embargo OK\" → extra"));
        assert_eq!(
            show(app, "kim@extra.example")["extra"],
            json!({"Embargo OK": "yes", "Pronouns": "they/them", "Signal": "+1 555 0100"})
        );
        // Empty cells are not stored.
        assert_eq!(show(app, "lou@extra.example")["extra"], json!({}));
        // A later file adds to extra and replaces changed values.
        app.write(
            "more.csv",
            "Email,Signal,Desk Phone\nkim@extra.example,+1 555 0199,+1 555 0111\n",
        );
        app.ok(["contacts", "import", "more.csv"]);
        assert_eq!(
            show(app, "kim@extra.example")["extra"],
            json!({
                "Desk Phone": "+1 555 0111",
                "Embargo OK": "yes",
                "Pronouns": "they/them",
                "Signal": "+1 555 0199"
            })
        );
    });
}

#[test]
fn duplicates_in_a_file_are_merged_and_reported() {
    each_backend(|app| {
        app.write(
            "dup.csv",
            "Email,Name,Outlet,Phone,Tags\n\
             jane.doe@dup.example,Jane Doe,Daily Planet,,press\n\
             JANE.DOE@DUP.EXAMPLE,,,+1 555 0100,radio\n\
             Jane.Doe@dup.example,Jane Doe,Evening Post,,\n\
             max@dup.example,Max,,,\n",
        );
        app.write(
            "dup2.csv",
            "Email,Notes\njane.doe@dup.example,Second file\n",
        );
        let out = app.ok(["contacts", "import", "dup.csv", "dup2.csv"]);
        assert_eq!(
            problem_lines(&out),
            [
                "dup.csv:3: JANE.DOE@dup.example appears again (first at line 2); merged into one contact: \
                 phone \"+1 555 0100\", tag radio added [duplicate]",
                "dup.csv:4: Jane.Doe@dup.example appears again (first at line 2); merged into one contact: \
                 outlet \"Daily Planet\" → \"Evening Post\" [duplicate]",
                "dup2.csv:2: jane.doe@dup.example appears again (first at dup.csv:2); merged into one contact: \
                 notes \"Second file\" [duplicate]",
            ]
        );
        assert_eq!(
            counts_line(&out),
            "imported 2, updated 0, unchanged 0, skipped 0, duplicates merged 3, invalid 0"
        );
        let jane = show(app, "jane.doe@dup.example");
        // The address as first written; later non-empty values win; tags add up.
        assert_eq!(jane["email"], "jane.doe@dup.example");
        assert_eq!(jane["outlet"], "Evening Post");
        assert_eq!(jane["phone"], "+1 555 0100");
        assert_eq!(jane["notes"], "Second file");
        assert_eq!(jane["tags"], json!(["press", "radio"]));
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 2);
    });
}

#[test]
fn duplicates_far_apart_in_a_large_file_are_merged() {
    // Far enough apart that the rows are written in different chunks.
    let mut csv = String::from("Email,Name,Tags\n");
    for i in 0..1500 {
        csv.push_str(&format!("j{i}@bulk.example,Journalist {i},press\n"));
    }
    csv.push_str("J0@bulk.example,,late\n");
    each_backend(|app| {
        app.write("bulk.csv", &csv);
        let out = app.ok(["contacts", "import", "bulk.csv"]);
        assert_eq!(
            problem_lines(&out),
            ["bulk.csv:1502: J0@bulk.example appears again (first at line 2); merged into one contact: \
              tag late added [duplicate]"]
        );
        assert_eq!(
            counts_line(&out),
            "imported 1500, updated 0, unchanged 0, skipped 0, duplicates merged 1, invalid 0"
        );
        assert_eq!(
            show(app, "j0@bulk.example")["tags"],
            json!(["late", "press"])
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 1500);
        let out = app.ok(["contacts", "import", "bulk.csv"]);
        assert_eq!(
            counts_line(&out),
            "imported 0, updated 0, unchanged 1500, skipped 0, duplicates merged 1, invalid 0"
        );
    });
}

/// On SQLite a first import builds the index that keeps addresses unique
/// at its end, or in its middle when an address comes back far apart. The
/// database refuses a second contact with the same address afterwards
/// however the import ended: written, dry run, or refused.
#[test]
fn the_database_keeps_addresses_unique_after_any_first_import() {
    let second = "INSERT INTO contacts (email, email_key, domain, created_at, updated_at) \
                  VALUES ($1, $2, 'x.example', 0, 0)";
    let refused = |app: &TestApp, key: &str| {
        let err = app
            .try_execute(second, &[key, key])
            .expect_err("a second contact with the same address");
        assert!(
            err.to_lowercase().contains("unique"),
            "{}: {err}",
            app.backend
        );
    };
    let mut far_apart = String::from("Email,Name\n");
    for i in 0..1200 {
        far_apart.push_str(&format!("j{i}@bulk.example,Journalist {i}\n"));
    }
    far_apart.push_str("J7@bulk.example,Late\n");
    for i in 1200..2400 {
        far_apart.push_str(&format!("j{i}@bulk.example,Journalist {i}\n"));
    }
    each_backend(|app| {
        app.write("one.csv", "Email,Name\nJane.Doe@X.example,Jane Doe\n");
        app.write(
            "bad.csv",
            "Email,Name\nJane.Doe@X.example,Jane Doe\nnobody,Nobody\n",
        );
        app.write("far.csv", &far_apart);

        app.ok(["contacts", "import", "--dry-run", "one.csv"]);
        app.fails(2, ["contacts", "import", "bad.csv"]);
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
        app.execute(second, &["a@x.example", "a@x.example"]);
        refused(app, "a@x.example");
        app.execute("DELETE FROM contacts", &[]);

        app.ok(["contacts", "import", "one.csv"]);
        refused(app, "jane.doe@x.example");
        app.execute("DELETE FROM contacts", &[]);

        let out = app.ok(["contacts", "import", "far.csv"]);
        assert_eq!(
            counts_line(&out),
            "imported 2400, updated 0, unchanged 0, skipped 0, duplicates merged 1, invalid 0"
        );
        assert_eq!(show(app, "j7@bulk.example")["name"], "Late");
        refused(app, "j2399@bulk.example");
    });
}

#[test]
fn addresses_are_unique_without_regard_to_case() {
    each_backend(|app| {
        app.write(
            "first.csv",
            "Email,Name,Outlet\nJane.Doe@X.example,Jane Doe,Daily Planet\n",
        );
        app.ok(["contacts", "import", "first.csv"]);
        app.write(
            "second.csv",
            "Email,Name,Outlet\njane.doe@x.example,Jane Doe,Daily Planet\n",
        );
        let out = app.ok(["contacts", "import", "second.csv"]);
        assert_eq!(
            counts_line(&out),
            "imported 0, updated 0, unchanged 1, skipped 0, duplicates merged 0, invalid 0"
        );
        app.write(
            "third.csv",
            "Email,Outlet\nJANE.DOE@x.EXAMPLE,Evening Post\n",
        );
        let out = app.ok(["contacts", "import", "third.csv"]);
        assert_eq!(
            counts_line(&out),
            "imported 0, updated 1, unchanged 0, skipped 0, duplicates merged 0, invalid 0"
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 1);
        // The address keeps the case it was first written in (the domain is lower-cased).
        assert_eq!(emails(app), ["Jane.Doe@x.example"]);
        let c = show(app, "jane.doe@X.EXAMPLE");
        assert_eq!(c["email"], "Jane.Doe@x.example");
        assert_eq!(c["outlet"], "Evening Post");
        assert_eq!(c["source"], "first.csv");
    });
}

#[test]
fn idn_domains_are_stored_as_punycode() {
    each_backend(|app| {
        app.write(
            "idn.csv",
            "Email,Name\nredaktion@Zeitung-Müller.example,Redaktion Müller\n",
        );
        app.ok(["contacts", "import", "idn.csv"]);
        assert_eq!(emails(app), ["redaktion@xn--zeitung-mller-4ob.example"]);
        // Found by either spelling.
        assert_eq!(
            show(app, "redaktion@zeitung-müller.example")["name"],
            "Redaktion Müller"
        );
        // The Unicode and the punycode spelling are one contact.
        app.write(
            "puny.csv",
            "Email,Outlet\nREDAKTION@xn--zeitung-mller-4ob.example,Zeitung Müller\n",
        );
        let out = app.ok(["contacts", "import", "puny.csv"]);
        assert_eq!(
            counts_line(&out),
            "imported 0, updated 1, unchanged 0, skipped 0, duplicates merged 0, invalid 0"
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 1);
        assert_eq!(
            app.texts("SELECT domain FROM contacts"),
            [[Some("xn--zeitung-mller-4ob.example".to_string())]]
        );
    });
}

/// Each contact's address and updated_at, as text.
fn updated_at(app: &TestApp) -> Vec<Vec<Option<String>>> {
    app.texts("SELECT email_key, CAST(updated_at AS TEXT) FROM contacts ORDER BY email_key")
}

#[test]
fn importing_the_same_files_again_changes_nothing() {
    let files = [
        "outlook.csv",
        "google_old.csv",
        "google_2023.csv",
        "mailchimp.csv",
        "media_database.csv",
    ];
    each_backend(|app| {
        for f in files {
            app.copy_fixture(f);
        }
        let mut args = vec!["contacts", "import"];
        args.extend(files);
        let out = app.ok(&args);
        assert_eq!(
            counts_line(&out),
            "imported 15, updated 0, unchanged 0, skipped 0, duplicates merged 0, invalid 0"
        );
        let contacts = app.contacts();
        let times = updated_at(app);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let out = app.ok(&args);
        assert_eq!(
            counts_line(&out),
            "imported 0, updated 0, unchanged 15, skipped 0, duplicates merged 0, invalid 0"
        );
        assert_eq!(app.contacts(), contacts);
        assert_eq!(updated_at(app), times, "updated_at was touched");
    });
}

// ---------------------------------------------------------------------------
// Whatever the bytes, an import ends with exit code 0 or 2, never a panic.
// ---------------------------------------------------------------------------

/// Bits of CSV, text and broken encodings that random files are made of.
const PIECES: [&[u8]; 29] = [
    b",",
    b";",
    b"\t",
    b"\"",
    b"\n",
    b"\r\n",
    b"\r",
    b" ",
    b"@",
    b".",
    b"x",
    b"jane",
    b"@x.example",
    b"de",
    b"DE",
    b"active",
    b"maybe",
    b"\xc3\xa9",
    b"\xe2\x82\xac",
    b"\xff",
    b"\x80",
    b"\x00",
    b"<",
    b">",
    b"mailto:",
    b"xn--",
    b"\xd0",
    b"\x00\x00",
    b"\xfe\xff",
];

/// Bytes that look a little like a contacts file: a byte-order mark or not,
/// a header with an address column or not, then random cells.
fn csv_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop_oneof![
        Just(Vec::new()),
        Just(vec![0xEF, 0xBB, 0xBF]),
        Just(vec![0xFF, 0xFE]),
        Just(vec![0xFE, 0xFF]),
    ];
    let header = prop_oneof![
        Just(b"Email,Name,Country,Language,Status,Tags,Notes\n".to_vec()),
        Just(b"E-mail Address;Outlet;Beat\r\n".to_vec()),
        Just(b"Email\tLanguage\n".to_vec()),
        Just(Vec::new()),
    ];
    let piece = prop_oneof![
        4 => proptest::sample::select(PIECES.to_vec()).prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 0..8),
    ];
    (prefix, header, proptest::collection::vec(piece, 0..60)).prop_map(|(p, h, pieces)| {
        let mut bytes = p;
        bytes.extend(h);
        bytes.extend(pieces.concat());
        bytes
    })
}

#[test]
fn any_bytes_import_without_a_panic() {
    each_backend(|app| {
        let mut runner = TestRunner::new(Config {
            cases: 48,
            failure_persistence: None,
            ..Config::default()
        });
        let flags = prop_oneof![
            Just(Vec::<&str>::new()),
            Just(vec!["--skip-invalid"]),
            Just(vec!["--dry-run"])
        ];
        runner
            .run(&(csv_like_bytes(), flags), |(bytes, flags)| {
                app.write("fuzz.csv", &bytes);
                let mut args = vec!["contacts", "import", "fuzz.csv"];
                args.extend(flags);
                let out = app.run(&args);
                let stderr = String::from_utf8_lossy(&out.stderr);
                prop_assert!(
                    matches!(out.status.code(), Some(0 | 2)),
                    "[{}] exit {:?} for {:?}\n{}",
                    app.backend,
                    out.status.code(),
                    String::from_utf8_lossy(&bytes),
                    stderr
                );
                prop_assert!(!stderr.contains("panicked"), "{}", stderr);
                Ok(())
            })
            .unwrap();
        // The database is still usable after whatever was imported.
        app.contacts();
    });
}

#[test]
fn several_addresses_in_one_google_cell_keep_the_first_and_the_rest_as_extra() {
    each_backend(|app| {
        app.write(
            "google.csv",
            "Name,E-mail 1 - Value,CC\nAna Lima,ana@folha.example ::: ana.home@mail.example,br\n",
        );
        let out = app.ok(["contacts", "import", "google.csv"]);
        assert_eq!(
            problem_lines(&out),
            [
                "google.csv:2: column \"E-mail 1 - Value\": several addresses in one cell; \
              ana@folha.example is the contact's, \"ana.home@mail.example\" is kept as \
              \"E-mail 1 - Value (more)\" [warning]"
            ]
        );
        let c = show(app, "ana@folha.example");
        assert_eq!(
            c["extra"]["E-mail 1 - Value (more)"],
            "ana.home@mail.example"
        );
        // Mailchimp's "CC" column is the country code.
        assert_eq!(c["country"], "BR");
    });
}

/// A file of `n` journalists with tags, for the tests of a first import.
fn journalists(n: usize) -> String {
    let mut csv = String::from("Email,Name,Outlet,Tags\n");
    for i in 0..n {
        csv.push_str(&format!(
            "j{i}@wire.example,Journalist {i},Wire {},press;climate\n",
            i % 7
        ));
    }
    csv
}

/// The journal mode the SQLite file itself records, read without
/// presswire (whose connections ask for WAL mode).
fn journal_mode(db: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap()
}

/// A first import into a SQLite file that nothing else has open writes
/// with a rollback journal (see contacts::import::store::sqlite); the database is
/// in WAL mode again afterwards, and a reader that had the file open during
/// another first import (which then keeps the log) sees every contact.
#[test]
fn a_first_import_leaves_sqlite_in_wal_mode_alone_or_beside_a_reader() {
    let app = TestApp::sqlite();
    let db = app.path().join("presswire.db");
    app.write("many.csv", journalists(3000));
    let out = app.ok(["contacts", "import", "many.csv"]);
    assert_eq!(
        counts_line(&out),
        "imported 3000, updated 0, unchanged 0, skipped 0, duplicates merged 0, invalid 0"
    );
    assert_eq!(journal_mode(&db), "wal");
    assert!(!app.path().join("presswire.db-journal").exists());
    assert_eq!(app.count("SELECT count(*) FROM contact_tags"), 6000);
    assert_eq!(show(&app, "j2999@wire.example")["outlet"], "Wire 3");

    let app = TestApp::sqlite();
    let db = app.path().join("presswire.db");
    app.ok(["init"]);
    let reader = rusqlite::Connection::open(&db).unwrap();
    let count = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row("SELECT count(*) FROM contacts", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&reader), 0);
    app.write("many.csv", journalists(3000));
    app.ok(["contacts", "import", "many.csv"]);
    assert_eq!(count(&reader), 3000);
    drop(reader);
    assert_eq!(journal_mode(&db), "wal");
}

/// A first import killed while it writes with a rollback journal leaves
/// nothing half-written: the next command finds the contact list as it
/// was (SQLite rolls the journal back), in WAL mode, and imports again.
#[test]
fn a_first_import_killed_half_way_leaves_nothing_behind() {
    let app = TestApp::sqlite();
    let db = app.path().join("presswire.db");
    let journal = app.path().join("presswire.db-journal");
    app.ok(["init"]);
    app.write("many.csv", journalists(300_000));
    let mut child = app
        .command()
        .args(["-q", "contacts", "import", "many.csv"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once its journal exists: it is writing the contacts then.
    let start = std::time::Instant::now();
    while !journal.exists() && start.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(
        journal.exists(),
        "the import never wrote a rollback journal"
    );
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the import ended before it was killed");

    assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
    assert_eq!(app.count("SELECT count(*) FROM contact_tags"), 0);
    assert_eq!(journal_mode(&db), "wal");
    let check = app.texts("PRAGMA integrity_check");
    assert_eq!(check, vec![vec![Some("ok".to_string())]]);
    app.write("few.csv", journalists(10));
    app.ok(["contacts", "import", "few.csv"]);
    assert_eq!(app.count("SELECT count(*) FROM contacts"), 10);
}
