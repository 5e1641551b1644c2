//! `--require-tag` (every one) and `--exclude-tag` (none of them) beside
//! `--tag` (any of them), in `contacts list`, `contacts export`, `release
//! check` and `send`: the send is seen where it arrives, at smtp-sink.

use crate::harness::{each_backend, SmtpSink, TestApp};

/// Five journalists with overlapping tags.
const CONTACTS: &str = "Email,Name,Tags\n\
    both@x.example,Both,\"press, climate\"\n\
    press@x.example,Press Only,press\n\
    climate@x.example,Climate Only,climate\n\
    embargoed@x.example,Press Climate Embargo,\"press, climate, embargo-breaker\"\n\
    radio@x.example,Radio,\"radio, press\"\n";

const RELEASE: &str = "+++\ntitle = \"T\"\nsubject = \"Report\"\n\
    [from]\nemail = \"press@ngo.example\"\n+++\nDear {{ contact.name }},\n\nThe report.\n";

fn emails(app: &TestApp, audience: &[&str]) -> Vec<String> {
    let mut args = vec!["contacts", "list", "--format", "json"];
    args.extend_from_slice(audience);
    let list = app.json(&args);
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["email"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn require_and_exclude_tags_pick_the_same_contacts_in_list_export_check_and_send() {
    each_backend(|app| {
        app.write("contacts.csv", CONTACTS);
        app.ok(["contacts", "import", "contacts.csv"]);
        let audience = [
            "--require-tag",
            "press",
            "--require-tag",
            "Climate",
            "--exclude-tag",
            "embargo-breaker",
        ];
        assert_eq!(
            emails(app, &audience),
            ["both@x.example"],
            "[{}]",
            app.backend
        );
        // Excluding alone, and --tag (any) with an exclusion.
        assert_eq!(
            emails(app, &["--exclude-tag", "climate", "--exclude-tag", "radio"]),
            ["press@x.example"]
        );
        assert_eq!(
            emails(
                app,
                &[
                    "--tag",
                    "radio",
                    "--tag",
                    "climate",
                    "--exclude-tag",
                    "press"
                ]
            ),
            ["climate@x.example"]
        );
        assert_eq!(
            emails(app, &["--require-tag", "press", "--exclude-tag", "climate"]),
            ["press@x.example", "radio@x.example"]
        );

        let mut export = vec!["contacts", "export"];
        export.extend_from_slice(&audience);
        let csv = app.ok(&export);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2, "{csv}");
        assert!(lines[1].starts_with("both@x.example,Both,"), "{csv}");

        app.write("r.md", RELEASE);
        let mut check = vec!["release", "check", "r.md"];
        check.extend_from_slice(&["--require-tag", "press", "--exclude-tag", "climate"]);
        let out = app.ok(&check);
        assert!(out.contains("2 messages"), "{out}");

        let sink = SmtpSink::start(&[]);
        let url = sink.url();
        let mut send = vec![
            "send",
            "r.md",
            "--yes",
            "--smtp",
            &url,
            "--rate",
            "unlimited",
        ];
        send.extend_from_slice(&audience);
        app.ok(&send);
        let mut to: Vec<String> = sink
            .messages()
            .into_iter()
            .flat_map(|m| m.rcpt_to)
            .collect();
        to.sort();
        assert_eq!(to, ["both@x.example"]);
        // The send remembers its audience in words.
        let report = app.ok(["report", "latest"]);
        assert!(
            report.contains("every tag of press, climate; no tag embargo-breaker"),
            "{report}"
        );
    });
}
