//! init, show, forget and suppressions.

use crate::harness::{each_backend, TestApp};

#[test]
fn init_is_idempotent_and_keeps_an_edited_config() {
    let app = TestApp::sqlite();
    let out = app.ok(["init"]);
    assert!(out.contains("wrote presswire.toml"), "{out}");
    let toml = std::fs::read_to_string(app.path().join("presswire.toml")).unwrap();
    assert!(toml.contains("# db = \"sqlite://presswire.db\""));
    std::fs::write(app.path().join("presswire.toml"), "# mine\n").unwrap();
    let out = app.ok(["init"]);
    assert!(out.contains("exists; kept"), "{out}");
    assert_eq!(
        std::fs::read_to_string(app.path().join("presswire.toml")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn database_is_created_on_both_backends() {
    each_backend(|app| {
        app.ok(["init"]);
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
        assert_eq!(app.count("SELECT count(*) FROM deliveries"), 0);
    });
}

/// Three contacts at two outlets, one of them tagged twice.
const PEOPLE: &str = "Email,Name,Outlet,Country,Language,Tags,Phone,Pronouns\n\
    Jane.Doe@X.example,Jane Doe,Daily Planet,GB,en-GB,press;climate,+44 20 5550 0100,she/her\n\
    max@wire.example,Max Mustermann,Wire Service,DE,de,press,,\n\
    eva@wire.example,Eva Example,Wire Service,AT,de-AT,radio,,\n";

fn people(app: &TestApp) {
    app.write("people.csv", PEOPLE);
    app.ok(["contacts", "import", "people.csv"]);
}

/// The SHA-256 of an address key, as `contacts forget` keeps it.
fn hash(key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

/// Each contact's address and suppression reason, from `contacts list --format json`.
fn suppressed(app: &TestApp) -> Vec<(String, Option<String>)> {
    app.contacts()
        .iter()
        .map(|c| {
            (
                c["email"].as_str().unwrap().to_string(),
                c["suppressed"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn show_prints_one_contact() {
    each_backend(|app| {
        people(app);
        let table = app.ok(["contacts", "show", "JANE.DOE@x.example"]);
        for (field, value) in [
            ("email", "Jane.Doe@x.example"),
            ("name", "Jane Doe"),
            ("outlet", "Daily Planet"),
            ("country", "GB"),
            ("language", "en-GB"),
            ("phone", "+44 20 5550 0100"),
            ("tags", "climate, press"),
            ("status", "active"),
            ("source", "people.csv"),
            // Extra columns are shown under their own names.
            ("Pronouns", "she/her"),
        ] {
            assert!(
                table
                    .lines()
                    .any(|l| l.contains(&format!(" {field} ")) && l.contains(&format!(" {value} "))),
                "{field} = {value} missing in\n{table}"
            );
        }
        let c = app.json(["contacts", "show", "jane.doe@x.example", "--format", "json"]);
        assert_eq!(c["email"], "Jane.Doe@x.example");
        assert_eq!(c["tags"], serde_json::json!(["climate", "press"]));
        assert_eq!(c["extra"], serde_json::json!({"Pronouns": "she/her"}));
        assert_eq!(c["suppressed"], serde_json::Value::Null);
        assert_eq!(c["created_at"], c["updated_at"]);

        let (out, err) = app.fails(2, ["contacts", "show", "nobody@x.example"]);
        assert_eq!(out, "");
        assert_eq!(err, "error: no contact has the address nobody@x.example\n");
        let (_, err) = app.fails(2, ["contacts", "show", "jane@"]);
        assert_eq!(
            err,
            "error: \"jane@\" is not an e-mail address (no domain after the @)\n"
        );
    });
}

#[test]
fn forget_erases_the_contact_and_keeps_only_a_hash() {
    each_backend(|app| {
        people(app);
        app.ok([
            "suppress",
            "add",
            "jane.doe@x.example",
            "--reason",
            "asked by phone",
        ]);
        let tags_before = app.count("SELECT count(*) FROM contact_tags");

        let out = app.ok(["contacts", "forget", "Jane.Doe@X.example", "--yes"]);
        assert_eq!(
            out,
            "forgot Jane.Doe@x.example: the contact, its tags, the address in 0 deliveries, 0 bounces \
             and 1 suppressions were erased\n\
             kept: a one-way hash of the address, so no later import or send brings it back \
             (`presswire suppress remove --forgotten Jane.Doe@x.example` lifts it)\n"
        );
        // The contact and its two tags are gone; the others are untouched.
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 2);
        assert_eq!(
            app.count("SELECT count(*) FROM contact_tags"),
            tags_before - 2
        );
        assert_eq!(
            app.count("SELECT count(*) FROM contacts WHERE email_key = 'jane.doe@x.example'"),
            0
        );
        app.fails(2, ["contacts", "show", "jane.doe@x.example"]);
        // Only the hash is left, nowhere the address.
        assert_eq!(
            app.texts("SELECT kind, value, reason FROM suppressions"),
            [[
                Some("forgotten".to_string()),
                Some(hash("jane.doe@x.example")),
                Some("forgotten".to_string())
            ]]
        );
        assert_eq!(
            app.count("SELECT count(*) FROM suppressions WHERE lower(value) LIKE '%jane%'"),
            0
        );

        // A later import skips the address, whatever its case, with a note.
        app.write(
            "again.csv",
            "Email,Name\nJANE.DOE@x.example,Jane Doe\nnew@x.example,New Person\n",
        );
        let out = app.ok(["contacts", "import", "again.csv"]);
        assert!(out.contains(
            "\nagain.csv:2: JANE.DOE@x.example was forgotten on request and is not imported again \
             (`presswire suppress remove --forgotten JANE.DOE@x.example` would allow it) [skipped]\n"
        ), "{out}");
        assert!(
            out.ends_with(
                "imported 1, updated 0, unchanged 0, skipped 1, duplicates merged 0, invalid 0\n"
            ),
            "{out}"
        );
        assert_eq!(
            app.count("SELECT count(*) FROM contacts WHERE email_key = 'jane.doe@x.example'"),
            0
        );

        // Lifting the hash lets the address back in.
        let out = app.ok(["suppress", "remove", "--forgotten", "jane.doe@X.example"]);
        assert_eq!(out, "jane.doe@x.example may be mailed again\n");
        assert_eq!(app.count("SELECT count(*) FROM suppressions"), 0);
        let out = app.ok(["contacts", "import", "again.csv"]);
        assert!(
            out.ends_with(
                "imported 1, updated 0, unchanged 1, skipped 0, duplicates merged 0, invalid 0\n"
            ),
            "{out}"
        );
        let c = app.json(["contacts", "show", "jane.doe@x.example", "--format", "json"]);
        assert_eq!(c["email"], "JANE.DOE@x.example");
        // It comes back as a new contact: nothing of the old one was kept.
        assert_eq!(c["tags"], serde_json::json!([]));
        assert_eq!(c["phone"], serde_json::Value::Null);
        let out = app.ok(["suppress", "remove", "--forgotten", "jane.doe@x.example"]);
        assert_eq!(out, "jane.doe@x.example was not suppressed\n");
    });
}

#[test]
fn forget_in_json_and_for_an_unknown_address() {
    each_backend(|app| {
        people(app);
        let f = app.json([
            "contacts",
            "forget",
            "max@wire.example",
            "--yes",
            "--format",
            "json",
        ]);
        assert_eq!(
            f,
            serde_json::json!({
                "email": "max@wire.example",
                "contact": true,
                "deliveries": 0,
                "bounces": 0,
                "suppressions": 0
            })
        );
        // An address that was never a contact is still kept out from now on.
        let out = app.ok(["contacts", "forget", "stranger@elsewhere.example", "--yes"]);
        assert!(
            out.starts_with(
                "no contact had the address stranger@elsewhere.example; nothing to erase\n"
            ),
            "{out}"
        );
        let f = app.json([
            "contacts",
            "forget",
            "stranger@elsewhere.example",
            "--yes",
            "--format",
            "json",
        ]);
        assert_eq!(f["contact"], false);
        assert_eq!(
            app.count("SELECT count(*) FROM suppressions WHERE kind = 'forgotten'"),
            2
        );
        let list = app.json(["suppress", "list", "--format", "json"]);
        let values: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["value"].as_str().unwrap())
            .collect();
        assert_eq!(values.len(), 2);
        assert!(values.contains(&hash("max@wire.example").as_str()));
        assert!(values.contains(&hash("stranger@elsewhere.example").as_str()));
        let (_, err) = app.fails(2, ["contacts", "forget", "not-an-address", "--yes"]);
        assert!(
            err.starts_with("error: \"not-an-address\" is not an e-mail address"),
            "{err}"
        );
        let (_, err) = app.fails(2, ["suppress", "remove", "--forgotten", "wire.example"]);
        assert_eq!(
            err,
            "error: --forgotten takes an e-mail address, not a domain\n"
        );
    });
}

#[test]
fn suppressed_addresses_and_domains_stay_and_are_marked() {
    each_backend(|app| {
        people(app);
        let out = app.ok([
            "suppress",
            "add",
            "JANE.DOE@x.example",
            "--reason",
            "asked by phone",
        ]);
        assert_eq!(out, "suppressed JANE.DOE@x.example (asked by phone)\n");
        let out = app.ok([
            "suppress",
            "add",
            "Wire.Example",
            "--reason",
            "publisher asked",
        ]);
        assert_eq!(
            out,
            "suppressed every address at wire.example (publisher asked)\n"
        );
        // Again: the reason is updated.
        let out = app.ok(["suppress", "add", "@wire.example", "--reason", "legal hold"]);
        assert_eq!(
            out,
            "every address at wire.example was already suppressed; reason now \"legal hold\"\n"
        );
        // A suppression without a contact, and the default reason.
        let out = app.ok(["suppress", "add", "someone@else.example"]);
        assert_eq!(out, "suppressed someone@else.example (manual)\n");

        assert_eq!(app.count("SELECT count(*) FROM contacts"), 3);
        assert_eq!(
            suppressed(app),
            [
                (
                    "eva@wire.example".to_string(),
                    Some("legal hold".to_string())
                ),
                (
                    "Jane.Doe@x.example".to_string(),
                    Some("asked by phone".to_string())
                ),
                (
                    "max@wire.example".to_string(),
                    Some("legal hold".to_string())
                ),
            ]
        );
        let table = app.ok(["contacts", "list"]);
        assert!(
            table.contains("active, suppressed (asked by phone)"),
            "{table}"
        );
        assert!(table.contains("active, suppressed (legal hold)"), "{table}");
        assert_eq!(
            app.json(["contacts", "show", "max@wire.example", "--format", "json"])["suppressed"],
            "legal hold"
        );

        let list = app.json(["suppress", "list", "--format", "json"]);
        let mut rows: Vec<(String, String, String, String)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let at = s["created_at"].as_str().unwrap();
                assert!(at.ends_with('Z'), "{at}");
                (
                    s["kind"].as_str().unwrap().to_string(),
                    s["value"].as_str().unwrap().to_string(),
                    s["reason"].as_str().unwrap().to_string(),
                    s["source"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        rows.sort();
        let row = |k: &str, v: &str, r: &str| {
            (
                k.to_string(),
                v.to_string(),
                r.to_string(),
                "suppress add".to_string(),
            )
        };
        assert_eq!(
            rows,
            [
                row("address", "jane.doe@x.example", "asked by phone"),
                row("address", "someone@else.example", "manual"),
                row("domain", "wire.example", "legal hold"),
            ]
        );
        let table = app.ok(["suppress", "list"]);
        assert!(table.contains("wire.example"), "{table}");
        assert!(table.ends_with("3 suppression(s)\n"), "{table}");

        // Lifting them.
        let out = app.ok(["suppress", "remove", "wire.example", "jane.doe@X.EXAMPLE"]);
        assert_eq!(
            out,
            "every address at wire.example may be mailed again\njane.doe@x.example may be mailed again\n"
        );
        let out = app.ok(["suppress", "remove", "wire.example"]);
        assert_eq!(out, "every address at wire.example was not suppressed\n");
        assert!(suppressed(app).iter().all(|(_, s)| s.is_none()));
        assert_eq!(app.count("SELECT count(*) FROM suppressions"), 1);
        // Bad targets are refused before anything changes.
        let (_, err) = app.fails(2, ["suppress", "add", "ok@x.example", "jane@"]);
        assert_eq!(
            err,
            "error: \"jane@\" is not an e-mail address (no domain after the @)\n"
        );
        assert_eq!(app.count("SELECT count(*) FROM suppressions"), 1);
    });
}

#[test]
fn suppressing_an_idn_domain_covers_its_punycode_contacts() {
    each_backend(|app| {
        app.write("idn.csv", "Email\nredaktion@zeitung-müller.example\n");
        app.ok(["contacts", "import", "idn.csv"]);
        let out = app.ok([
            "suppress",
            "add",
            "Zeitung-Müller.example",
            "--reason",
            "closed",
        ]);
        assert_eq!(
            out,
            "suppressed every address at xn--zeitung-mller-4ob.example (closed)\n"
        );
        assert_eq!(
            suppressed(app),
            [(
                "redaktion@xn--zeitung-mller-4ob.example".to_string(),
                Some("closed".to_string())
            )]
        );
    });
}
