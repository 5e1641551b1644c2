//! Imports that do no silent damage (issue 14, 15): letters turned into
//! `?` by an "ANSI" export are refused, duplicate rows keep every note,
//! an import can be undone, exports are safe to open in a spreadsheet and
//! import back unchanged, bytes that are not UTF-8 and NUL bytes are
//! named, and huge values and headers are refused briefly. What the press
//! officer sees: the exit code, what is printed, what is in the database.

use serde_json::Value;

use crate::harness::{each_backend, TestApp};

fn lines_with<'a>(out: &'a str, tag: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.ends_with(tag)).collect()
}

/// The contacts without their timestamps.
fn without_times(app: &TestApp) -> Vec<Value> {
    crate::contacts_export::without_times(app.contacts())
}

#[test]
fn question_marks_in_place_of_letters_are_refused_naming_column_old_new_and_cause() {
    each_backend(|app| {
        app.write(
            "names.csv",
            "Email,Name,Outlet\n\
             somchai@thai.example,สมชาย ใจดี,Bangkok Post\n\
             aung@myanmar.example,အောင်ကျော်,Irrawaddy\n",
        );
        app.ok(["contacts", "import", "names.csv"]);
        // The same list saved as "ANSI" from a spreadsheet, one outlet changed.
        app.write(
            "ansi.csv",
            "Email,Name,Outlet\n\
             somchai@thai.example,????? ????,Bangkok Post\n\
             aung@myanmar.example,အောင်ကျော်,Mizzima\n",
        );
        let (out, err) = app.fails(2, ["contacts", "import", "ansi.csv"]);
        assert_eq!(
            lines_with(&out, "[error]"),
            [
                "ansi.csv:2: column \"Name\": would replace \"สมชาย ใจดี\" with \"????? ????\": \
              the letters became \"?\", as when a file is saved as ANSI (Windows-1252), which \
              cannot hold them. Export it as UTF-8 or Unicode text and import it again; the row \
              is not imported [error]"
            ],
            "[{}]",
            app.backend
        );
        assert!(err.contains("nothing imported"), "{err}");
        let names = app.texts("SELECT name, outlet FROM contacts ORDER BY email");
        assert_eq!(
            names,
            [
                [Some("အောင်ကျော်".into()), Some("Irrawaddy".into())],
                [Some("สมชาย ใจดี".into()), Some("Bangkok Post".into())]
            ]
        );
        // --skip-invalid imports the rest and leaves the name alone.
        let out = app.ok(["contacts", "import", "ansi.csv", "--skip-invalid"]);
        assert!(
            out.ends_with(
                "imported 0, updated 1, unchanged 0, skipped 1, duplicates merged 0, invalid 1\n"
            ),
            "{out}"
        );
        let names = app.texts("SELECT name, outlet FROM contacts ORDER BY email");
        assert_eq!(names[0][1].as_deref(), Some("Mizzima"));
        assert_eq!(names[1][0].as_deref(), Some("สมชาย ใจดี"));
    });
}

#[test]
fn duplicate_rows_keep_every_distinct_note_and_the_report_says_what_was_merged() {
    each_backend(|app| {
        app.write(
            "notes.csv",
            "Email,Name,Notes,Phone\n\
             jane@x.example,Jane,Met at COP28,\n\
             JANE@x.example,,Prefers Signal,+1 555 0100\n\
             jane@x.example,,Met at COP28,\n",
        );
        let out = app.ok(["contacts", "import", "notes.csv"]);
        assert_eq!(
            lines_with(&out, "[duplicate]"),
            [
                "notes.csv:3: JANE@x.example appears again (first at line 2); merged into one contact: \
                 phone \"+1 555 0100\", notes \"Prefers Signal\" added to \"Met at COP28\" [duplicate]",
                "notes.csv:4: jane@x.example appears again (first at line 2); merged into one contact [duplicate]",
            ]
        );
        assert_eq!(
            app.texts("SELECT notes FROM contacts"),
            [[Some("Met at COP28\nPrefers Signal".to_string())]]
        );
    });
}

#[test]
fn an_import_is_undone_exactly_after_it_is_listed_and_confirmed() {
    each_backend(|app| {
        app.write(
            "base.csv",
            "Email,Name,Outlet,Notes,Tags\n\
             jane@x.example,Jane Doe,Daily Planet,Met at COP28,press\n\
             max@x.example,Max,Radio Nord,,radio\n",
        );
        app.ok(["contacts", "import", "base.csv"]);
        let before = without_times(app);
        app.write(
            "update.csv",
            "Email,Name,Outlet,Notes,Tags,Status\n\
             jane@x.example,Jane Doe,Evening Post,Now freelance,climate,\n\
             max@x.example,Max,Radio Nord,,,\n\
             anna@x.example,Anna,Wire,,press,\n\
             bob@x.example,Bob,,,,unsubscribed\n",
        );
        let out = app.ok(["contacts", "import", "update.csv"]);
        assert!(out.contains("imported 2, updated 1, unchanged 1"), "{out}");
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 4);

        // Without a terminal it lists what it would do and needs --yes.
        let (out, err) = app.fails(2, ["contacts", "import", "--undo", "update.csv"]);
        assert!(
            out.starts_with("import 2 of update.csv ("),
            "[{}] {out}",
            app.backend
        );
        let listed: Vec<&str> = out.lines().skip(1).collect();
        assert_eq!(
            listed,
            [
                "remove anna@x.example (created by the import)",
                "remove bob@x.example (created by the import)",
                "restore jane@x.example: outlet \"Evening Post\" → \"Daily Planet\", \
                 notes \"Now freelance\" → \"Met at COP28\", tags \"climate, press\" → \"press\"",
            ]
        );
        assert_eq!(
            err,
            "error: not undoing the import without confirmation: add --yes (no terminal to ask on)\n"
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 4);

        let out = app.ok(["contacts", "import", "--undo", "update.csv", "--yes"]);
        assert!(
            out.ends_with("undid import 2: removed 2, restored 1, kept 0\n"),
            "{out}"
        );
        assert_eq!(without_times(app), before);
        assert_eq!(app.count("SELECT count(*) FROM contact_tags"), 2);

        // Once only; and the first import can still be undone.
        let (_, err) = app.fails(2, ["contacts", "import", "--undo", "update.csv", "--yes"]);
        assert!(
            err.contains("import 2 of update.csv was undone already"),
            "{err}"
        );
        app.ok(["contacts", "import", "--undo", "base.csv", "--yes"]);
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
    });
}

#[test]
fn an_undo_keeps_contacts_changed_since_the_import() {
    each_backend(|app| {
        app.write(
            "a.csv",
            "Email,Name\nnew@x.example,New\nother@x.example,Other\n",
        );
        app.ok(["contacts", "import", "a.csv"]);
        app.write("b.csv", "Email,Outlet\nnew@x.example,Later Outlet\n");
        app.ok(["contacts", "import", "b.csv"]);
        let out = app.ok(["contacts", "import", "--undo", "a.csv", "--yes"]);
        assert!(
            out.contains("remove other@x.example (created by the import)"),
            "{out}"
        );
        assert!(
            out.contains("keep new@x.example (created by the import, changed since ("),
            "{out}"
        );
        assert_eq!(
            app.texts("SELECT email, outlet FROM contacts"),
            [[Some("new@x.example".into()), Some("Later Outlet".into())]]
        );
    });
}

#[test]
fn formula_cells_are_exported_with_a_quote_and_imported_back_without_it() {
    each_backend(|app| {
        // A cell guarded already (`'=quoted`) is read without its guard.
        app.write(
            "f.csv",
            "Email,Name,Notes,Phone,Outlet\n\
             evil@x.example,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",@SUM(A1),+49 30 1234,'=quoted\n",
        );
        app.ok(["contacts", "import", "f.csv"]);
        let stored = without_times(app);
        assert_eq!(
            stored[0]["name"],
            "=HYPERLINK(\"http://evil.example\",\"x\")"
        );
        assert_eq!(stored[0]["outlet"], "=quoted");
        let csv = app.ok(["contacts", "export"]);
        let row = csv.lines().nth(1).unwrap();
        assert!(
            row.starts_with(
                "evil@x.example,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",,,'=quoted,"
            ),
            "{row}"
        );
        assert!(row.contains(",'+49 30 1234,'@SUM(A1),"), "{row}");
        // Back into a fresh database: the same contact.
        let fresh = app.fresh();
        fresh.write("export.csv", &csv);
        fresh.ok(["contacts", "import", "export.csv"]);
        let mut back = without_times(&fresh);
        back[0]["source"] = stored[0]["source"].clone();
        assert_eq!(back, stored);

        // The delivery report's CSV escapes every such cell too.
        app.write(
            "r.md",
            "+++\ntitle = \"T\"\nsubject = \"S\"\n[from]\nemail = \"press@ngo.example\"\n+++\nHello.\n",
        );
        app.ok(["send", "r.md", "--yes"]);
        let report = app.ok(["report", "latest", "--format", "csv"]);
        let row = report.lines().nth(1).unwrap();
        assert!(
            row.contains(",evil@x.example,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","),
            "{row}"
        );
    });
}

#[test]
fn bytes_that_are_not_utf8_are_named_by_line_and_column_unless_an_encoding_is_given() {
    each_backend(|app| {
        // A UTF-8 mark, then a Windows-1252 é.
        let mut bom = b"\xEF\xBB\xBFEmail,Name\njane@x.example,Jos".to_vec();
        bom.extend(b"\xE9\n");
        app.write("bom.csv", &bom);
        let (out, err) = app.fails(2, ["contacts", "import", "bom.csv"]);
        assert_eq!(out, "");
        assert_eq!(
            err,
            "error: bom.csv:2:19: byte 0xE9 is not UTF-8, but the file says it is UTF-8 (it \
             starts with a UTF-8 byte-order mark): the file is damaged or mixes encodings. \
             Nothing imported; save it again as \"CSV UTF-8\", or name its encoding with \
             --encoding (e.g. --encoding windows-1252)\n"
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
        app.ok([
            "contacts",
            "import",
            "bom.csv",
            "--encoding",
            "windows-1252",
        ]);
        assert_eq!(
            app.texts("SELECT name FROM contacts"),
            [[Some("José".to_string())]]
        );

        // UTF-8 letters, then a byte that is not UTF-8, without a mark.
        let mut mixed = "Email,Name\nzoe@x.example,Zoë\nmax@x.example,M"
            .as_bytes()
            .to_vec();
        mixed.extend(b"\xFCller\n");
        app.write("mixed.csv", &mixed);
        let (_, err) = app.fails(2, ["contacts", "import", "mixed.csv"]);
        assert!(
            err.starts_with(
                "error: mixed.csv:3:16: byte 0xFC is not UTF-8, but the file is UTF-8 elsewhere"
            ),
            "{err}"
        );
        let (_, err) = app.fails(
            2,
            ["contacts", "import", "mixed.csv", "--encoding", "klingon"],
        );
        assert!(
            err.contains("--encoding \"klingon\": not an encoding"),
            "{err}"
        );
    });
}

#[test]
fn a_nul_byte_is_reported_as_nul_not_as_utf16() {
    each_backend(|app| {
        app.write(
            "nul.csv",
            b"Email,Name\njane@x.example,Ja\0ne\nmax@x.example,Max\n",
        );
        let (out, err) = app.fails(2, ["contacts", "import", "nul.csv"]);
        assert_eq!(
            lines_with(&out, "[error]"),
            ["nul.csv:2: column \"Name\": the value contains a NUL character; the file may be damaged [error]"]
        );
        assert!(
            !out.contains("UTF-16") && !err.contains("UTF-16"),
            "{out}{err}"
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
    });
}

#[test]
fn a_10_mb_value_is_quoted_in_a_few_hundred_characters() {
    each_backend(|app| {
        let huge = "x".repeat(10 << 20);
        app.write(
            "huge.csv",
            format!("Email,Name,Country\n{huge},Jane,DE\njane@x.example,Jane,{huge}\n"),
        );
        let out = app.run(["contacts", "import", "huge.csv"]);
        assert_eq!(out.status.code(), Some(2));
        let printed = out.stdout.len() + out.stderr.len();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(printed < 1500, "{printed} bytes printed");
        let errors = lines_with(&stdout, "[error]");
        assert_eq!(errors.len(), 2, "{stdout}");
        assert!(
            errors[0].starts_with("huge.csv:2: column \"Email\": \"xxx"),
            "{}",
            errors[0]
        );
        assert!(
            errors[0].contains("… (10485760 characters) is not an e-mail address"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].contains("… (10485760 characters) is not a country"),
            "{}",
            errors[1]
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
    });
}

#[test]
fn a_header_of_more_than_1000_columns_is_refused() {
    let app = TestApp::sqlite();
    let header: Vec<String> = std::iter::once("Email".to_string())
        .chain((1..=1000).map(|i| format!("c{i}")))
        .collect();
    app.write(
        "wide.csv",
        format!("{}\njane@x.example\n", header.join(",")),
    );
    let (out, err) = app.fails(2, ["contacts", "import", "wide.csv"]);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "error: wide.csv:1: the header row has 1001 columns; a contacts file has at most 1000. \
         Check that this is a contacts export with one header row, or keep only the columns \
         you need\n"
    );
    // A million columns: refused from the first 64 KB, without reading them all.
    app.write("million.csv", ",".repeat(1_000_000));
    let (_, err) = app.fails(2, ["contacts", "import", "million.csv"]);
    assert!(
        err.starts_with(
            "error: million.csv:1: the header row has 65537 columns and more in its first 64 KB"
        ),
        "{err}"
    );
    assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
}

#[test]
fn forget_asks_and_without_a_terminal_needs_yes() {
    each_backend(|app| {
        app.write("c.csv", "Email\njane@x.example\n");
        app.ok(["contacts", "import", "c.csv"]);
        let (_, err) = app.fails(2, ["contacts", "forget", "jane@x.example"]);
        assert_eq!(
            err,
            "error: not forgetting without confirmation: add --yes (no terminal to ask on)\n"
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 1);
        app.ok(["contacts", "forget", "jane@x.example", "--yes"]);
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
        assert_eq!(app.count("SELECT count(*) FROM import_changes"), 0);
    });
}
