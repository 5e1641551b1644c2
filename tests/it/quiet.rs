//! `-q`: every command that does something prints nothing but errors;
//! what a command is run to show (a list, a report, JSON asked for) it
//! still shows.

use std::path::Path;

use crate::harness::{each_backend, fixture, TestApp};

const CONTACTS: &str = "Email,First Name,Country,Language\n\
    amara@nairobisignal.example,Amara,KE,en\n\
    jonas@rheinkurier.example,Jonas,DE,de\n";

/// `presswire -q ARGS…`: asserts exit 0 and returns (stdout, stderr).
fn quiet(app: &TestApp, args: &[&str]) -> (String, String) {
    let out = app.run(std::iter::once("-q").chain(args.iter().copied()));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "[{}] -q {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        app.backend
    );
    (stdout, stderr)
}

/// Regression: `-q` silenced only the progress bars and the log; imports,
/// sends, suppressions, pauses and the rest still printed their summaries.
#[test]
fn quiet_commands_that_do_something_print_nothing_and_lists_still_show() {
    each_backend(|app| {
        let ctx = app.backend;
        let release = Path::new(env!("CARGO_MANIFEST_DIR")).join("releases/example.md");
        let release = release.to_str().unwrap();
        app.write("contacts.csv", CONTACTS);
        let dsn = fixture("dsn");
        let dsn = dsn.to_str().unwrap();
        for args in [
            &["init"][..],
            &["contacts", "import", "contacts.csv"],
            &["suppress", "add", "press@blocked.example"],
            &["suppress", "remove", "press@blocked.example"],
            &["release", "new", "statement"],
            &["release", "check", release],
            &["release", "preview", release, "-o", "preview.html"],
            &["send", release, "--yes", "--rate", "unlimited", "--dry-run"],
            &["send", release, "--yes", "--rate", "unlimited"],
            &["send", release, "--yes", "--at", "2099-01-01T09:00:00Z"],
            &["sends", "pause", "latest"],
            &["sends", "cancel", "latest"],
            &["sends", "resume", "1"],
            &["bounces", "import", dsn],
            &["report", "--format", "html", "-o", "report.html"],
            &["contacts", "export", "--format", "csv", "-o", "export.csv"],
            &["contacts", "forget", "jonas@rheinkurier.example", "--yes"],
        ] {
            let (stdout, stderr) = quiet(app, args);
            assert!(
                stdout.is_empty() && stderr.is_empty(),
                "[{ctx}] -q {args:?} printed\nstdout:\n{stdout}\nstderr:\n{stderr}"
            );
        }
        // It all happened.
        assert!(app.path().join("releases/statement.md").exists(), "[{ctx}]");
        assert!(app.path().join("report.html").exists(), "[{ctx}]");
        assert_eq!(
            app.count("SELECT count(*) FROM contacts"),
            1,
            "[{ctx}] imported two, forgot one"
        );
        assert_eq!(app.count("SELECT count(*) FROM sends"), 2, "[{ctx}]");

        // What a command is run to show, it shows.
        let (list, _) = quiet(app, &["contacts", "list"]);
        assert!(
            list.contains("amara@nairobisignal.example"),
            "[{ctx}] {list}"
        );
        let (json, _) = quiet(app, &["sends", "list", "--format", "json"]);
        assert!(json.trim_start().starts_with('['), "[{ctx}] {json}");
        let (report, _) = quiet(app, &["report", "1"]);
        assert!(report.contains("delivered"), "[{ctx}] {report}");

        // Errors still print, with the rows that caused them.
        app.write("bad.csv", "Email\nnot-an-address\n");
        let out = app.run(["-q", "contacts", "import", "bad.csv"]);
        assert_eq!(out.status.code(), Some(2), "[{ctx}]");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stdout.contains("bad.csv:2"), "[{ctx}] {stdout}");
        assert!(
            !stdout.contains("columns:") && !stdout.contains("would import"),
            "[{ctx}] {stdout}"
        );
        assert!(stderr.contains("nothing imported"), "[{ctx}] {stderr}");
    });
}
