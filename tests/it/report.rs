//! Delivery reports: one send with known outcomes — delivered, refused at
//! SMTP time by postfix's smtp-sink (hard 5xx), deferred (4xx), uncertain,
//! skipped — plus bounces, complaints, auto-replies and unsubscribes
//! written into the database as bounce processing and the unsubscribe
//! endpoint would; then every count and list in every format: the table,
//! the CSV (parsed), the JSON (parsed) and the HTML (which headless
//! Chromium must render without a single network request). Also
//! `presswire reports` and the history in `contacts show`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::harness::{each_backend, SmtpSink, TestApp};
use crate::known_send::{example, known_send, REFUSED};

/// Runs `presswire ARGS…`, asserting success; returns stdout.
fn ok(app: &TestApp, args: &[&str]) -> String {
    app.ok(args)
}

/// The outcome expected of each delivery, by address.
fn outcomes() -> BTreeMap<&'static str, &'static str> {
    [
        ("ada@alpha.example", "delivered"),
        ("ben@alpha.example", "delivered"),
        ("cat@beta.example", "delivered"),
        ("dan@beta.example", "delivered"),
        ("eve@gamma.example", "bounced"),
        ("fay@gamma.example", "bounced"),
        ("gus@delta.example", "bounced"),
        ("hal@delta.example", "bounced"),
        ("ivy@epsilon.example", "deferred"),
        ("jon@epsilon.example", "uncertain"),
        ("kim@zeta.example", "skipped"),
        ("lea@zeta.example", "skipped"),
    ]
    .into_iter()
    .collect()
}

/// The counts every format must show.
const COUNTS: [(&str, i64); 17] = [
    ("audience", 12),
    ("skipped", 2),
    ("targeted", 10),
    ("sent", 6),
    ("delivered", 4),
    ("bounced", 4),
    ("bounced_hard", 3),
    ("bounced_soft", 1),
    ("failed", 0),
    ("deferred", 1),
    ("pending", 0),
    ("uncertain", 1),
    ("cancelled", 0),
    ("complaints", 2),
    ("auto_replies", 1),
    ("unsubscribed", 2),
    ("needs_update", 2),
];

/// A breakdown as (value → targeted, delivered, bounced, failed, deferred,
/// uncertain, skipped, complaints).
fn breakdown(rows: &Value) -> BTreeMap<String, [i64; 8]> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_i64().unwrap();
            (
                r["value"].as_str().unwrap_or("(none)").to_string(),
                [
                    n("targeted"),
                    n("delivered"),
                    n("bounced"),
                    n("failed"),
                    n("deferred"),
                    n("uncertain"),
                    n("skipped"),
                    n("complaints"),
                ],
            )
        })
        .collect()
}

fn check_json(app: &TestApp, r: &Value, id: i64) {
    let ctx = app.backend;
    assert_eq!(r["version"], 1, "[{ctx}]");
    assert_eq!(r["send"]["id"], id, "[{ctx}]");
    assert_eq!(r["send"]["release"], "example", "[{ctx}]");
    assert_eq!(
        r["send"]["title"],
        "Lumo River dam permits must be frozen before the rains, say 40 communities",
        "[{ctx}]"
    );
    // The subject template as a contact without fields sees it.
    assert_eq!(
        r["send"]["subject"], "Lumo River dam permits must be frozen before the rains",
        "[{ctx}]"
    );
    assert_eq!(r["send"]["audience"], "everyone", "[{ctx}]");
    assert!(r["send"]["started_at"].is_string(), "[{ctx}] {}", r["send"]);
    for (k, n) in COUNTS {
        assert_eq!(r["counts"][k], n, "[{ctx}] counts.{k} in {}", r["counts"]);
    }
    assert_eq!(r["rates"]["delivery_rate"], 0.4, "[{ctx}]");
    assert_eq!(r["rates"]["bounce_rate"], 0.4, "[{ctx}]");
    assert_eq!(r["rates"]["complaint_rate"], 0.3333, "[{ctx}]");
    let states: BTreeMap<String, i64> = serde_json::from_value(r["states"].clone()).unwrap();
    assert_eq!(
        states,
        [
            ("bounced", 1),
            ("deferred", 1),
            ("failed", 2),
            ("sent", 5),
            ("skipped", 2),
            ("uncertain", 1)
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        "[{ctx}]"
    );
    assert_eq!(
        r["skipped"],
        serde_json::json!([
            {"reason": "status needs-update", "count": 1},
            {"reason": "suppressed (unsubscribed)", "count": 1},
        ]),
        "[{ctx}]"
    );
    assert_eq!(
        r["bounce_reasons"],
        serde_json::json!([
            {"kind": "hard", "reason": "userunknown", "count": 3},
            {"kind": "soft", "reason": "mailboxfull", "count": 1},
        ]),
        "[{ctx}]"
    );
    //                       targeted delivered bounced failed deferred uncertain skipped complaints
    let outlets: BTreeMap<String, [i64; 8]> = [
        ("Alpha Times", [2, 2, 0, 0, 0, 0, 0, 0]),
        ("Beta Radio", [2, 2, 0, 0, 0, 0, 0, 2]),
        ("Gamma Post", [2, 0, 2, 0, 0, 0, 0, 0]),
        ("Delta Daily", [2, 0, 2, 0, 0, 0, 0, 0]),
        ("Epsilon Wire", [2, 0, 0, 0, 1, 1, 0, 0]),
        ("Zeta Nieuws", [0, 0, 0, 0, 0, 0, 2, 0]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(breakdown(&r["by_outlet"]), outlets, "[{ctx}] by outlet");
    let domains: BTreeMap<String, [i64; 8]> = [
        ("alpha.example", [2, 2, 0, 0, 0, 0, 0, 0]),
        ("beta.example", [2, 2, 0, 0, 0, 0, 0, 2]),
        ("gamma.example", [2, 0, 2, 0, 0, 0, 0, 0]),
        ("delta.example", [2, 0, 2, 0, 0, 0, 0, 0]),
        ("epsilon.example", [2, 0, 0, 0, 1, 1, 0, 0]),
        ("zeta.example", [0, 0, 0, 0, 0, 0, 2, 0]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(breakdown(&r["by_domain"]), domains, "[{ctx}] by domain");
    let countries: BTreeMap<String, [i64; 8]> = [
        ("DE", [2, 2, 0, 0, 0, 0, 0, 0]),
        ("GB", [2, 2, 0, 0, 0, 0, 0, 2]),
        ("KE", [2, 0, 2, 0, 0, 0, 0, 0]),
        ("FR", [2, 0, 2, 0, 0, 0, 0, 0]),
        ("US", [2, 0, 0, 0, 1, 1, 0, 0]),
        ("NL", [0, 0, 0, 0, 0, 0, 2, 0]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(breakdown(&r["by_country"]), countries, "[{ctx}] by country");
    let languages: BTreeMap<String, [i64; 8]> = [
        ("de", [2, 2, 0, 0, 0, 0, 0, 0]),
        ("en", [5, 2, 1, 0, 1, 1, 0, 2]),
        ("sw", [1, 0, 1, 0, 0, 0, 0, 0]),
        ("fr", [2, 0, 2, 0, 0, 0, 0, 0]),
        ("nl", [0, 0, 0, 0, 0, 0, 2, 0]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(
        breakdown(&r["by_language"]),
        languages,
        "[{ctx}] by language"
    );
    // Most targeted first.
    assert_eq!(r["by_language"][0]["value"], "en", "[{ctx}]");
    assert_eq!(r["by_language"][0]["delivery_rate"], 0.4, "[{ctx}]");

    // The timeline: the six accepted messages, and what came back.
    let sent: i64 = r["timeline"]["sent_per_minute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sent"].as_i64().unwrap())
        .sum();
    assert_eq!(sent, 6, "[{ctx}] {}", r["timeline"]);
    let back = |k: &str| -> i64 {
        r["timeline"]["bounces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[k].as_i64().unwrap())
            .sum()
    };
    assert_eq!(
        (
            back("hard"),
            back("soft"),
            back("complaints"),
            back("auto_replies")
        ),
        (3, 1, 2, 1),
        "[{ctx}] {}",
        r["timeline"]
    );
    assert!(r["timeline"]["bounce_interval_minutes"].as_i64().unwrap() >= 1);
    assert!(r["timing"]["first_sent_at"].is_string(), "[{ctx}]");
    assert!(r["timing"]["duration_seconds"].as_f64().unwrap() >= 0.0);

    // Contacts to fix: hard bounces by address, the soft one, then the
    // records that need an update (lea, skipped, included).
    let fix: Vec<(String, String, String)> = r["to_fix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["email"].as_str().unwrap().to_string(),
                f["problem"].as_str().unwrap().to_string(),
                f["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("eve@gamma.example", "hard-bounce", "userunknown"),
        ("gus@delta.example", "hard-bounce", "userunknown"),
        ("hal@delta.example", "hard-bounce", "userunknown"),
        ("fay@gamma.example", "soft-bounce", "mailboxfull"),
        ("dan@beta.example", "needs-update", ""),
        ("lea@zeta.example", "needs-update", ""),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.into(), b.into(), c.into()))
    .collect();
    assert_eq!(fix, want, "[{ctx}]");
    let f = &r["to_fix"];
    assert_eq!(
        f[0]["diagnostic"],
        "smtp; 550 5.1.1 <eve@gamma.example>: Recipient address rejected: User unknown",
        "[{ctx}]"
    );
    assert_eq!(f[0]["status_code"], "5.1.1", "[{ctx}]");
    assert_eq!(f[0]["name"], "Eve Wanjiru", "[{ctx}]");
    assert_eq!(f[0]["outlet"], "Gamma Post", "[{ctx}]");
    assert!(
        f[1]["diagnostic"].as_str().unwrap().contains(REFUSED),
        "[{ctx}] {}",
        f[1]
    );
    assert_eq!(f[1]["name"], "Gus <script>alert('x')</script>", "[{ctx}]");
    assert_eq!(
        f[3]["diagnostic"],
        "smtp; 452 4.2.2 Mailbox full & over quota"
    );
    assert_eq!(f[5]["contact_status"], "needs-update", "[{ctx}]");

    let uncertain = r["uncertain"].as_array().unwrap();
    assert_eq!(uncertain.len(), 1, "[{ctx}]");
    assert_eq!(uncertain[0]["email"], "jon@epsilon.example");
    assert_eq!(uncertain[0]["name"], "Jon Park");
    assert_eq!(uncertain[0]["outlet"], "Epsilon Wire");
}

fn check_table(app: &TestApp, out: &str) {
    let ctx = app.backend;
    // One labelled line per count: the label and the number in it.
    let line = |label: &str| -> String {
        out.lines()
            .find(|l| l.contains(&format!(" {label} ")))
            .unwrap_or_else(|| panic!("[{ctx}] no line {label:?} in\n{out}"))
            .to_string()
    };
    for (label, n) in [
        ("audience", 12),
        ("skipped", 2),
        ("targeted", 10),
        ("sent (accepted by the relay)", 6),
        ("delivered", 4),
        ("bounced", 4),
        ("hard", 3),
        ("soft", 1),
        ("failed", 0),
        ("deferred", 1),
        ("queued", 0),
        ("uncertain", 1),
        ("cancelled", 0),
        ("complaints", 2),
        ("auto-replies", 1),
        ("unsubscribed since", 2),
        ("needs update", 2),
    ] {
        let l = line(label);
        let cells: Vec<&str> = l
            .split(['│', '┆'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(cells.get(1), Some(&n.to_string().as_str()), "[{ctx}] {l}");
    }
    assert!(out.contains("delivery rate: 40.0 %"), "[{ctx}]\n{out}");
    assert!(out.contains("suppressed (unsubscribed)"), "[{ctx}]\n{out}");
    assert!(out.contains("userunknown"), "[{ctx}]\n{out}");
    for outlet in [
        "Alpha Times",
        "Beta Radio",
        "Gamma Post",
        "Delta Daily",
        "Epsilon Wire",
    ] {
        assert!(out.contains(outlet), "[{ctx}] {outlet}\n{out}");
    }
    assert!(out.contains("contacts to fix: 6"), "[{ctx}]\n{out}");
    for who in [
        "eve@gamma.example",
        "gus@delta.example",
        "hal@delta.example",
        "fay@gamma.example",
    ] {
        assert!(out.contains(who), "[{ctx}] {who}\n{out}");
    }
    assert!(out.contains("Recipient address rejected"), "[{ctx}]\n{out}");
    assert!(out.contains("uncertain deliveries: 1"), "[{ctx}]\n{out}");
    assert!(out.contains("jon@epsilon.example"), "[{ctx}]\n{out}");
    assert!(out.contains("--resend-uncertain"), "[{ctx}]\n{out}");
}

fn check_csv(app: &TestApp, csv_text: &str, id: i64) {
    let ctx = app.backend;
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        presswire::report::deliveries::COLUMNS
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>(),
        "[{ctx}]"
    );
    let rows: Vec<BTreeMap<String, String>> = reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(String::from))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 12, "[{ctx}]");
    let by: BTreeMap<&str, &BTreeMap<String, String>> =
        rows.iter().map(|r| (r["email"].as_str(), r)).collect();
    let got: BTreeMap<&str, &str> = by
        .iter()
        .map(|(k, r)| (*k, r["outcome"].as_str()))
        .collect();
    assert_eq!(got, outcomes(), "[{ctx}]");
    for r in &rows {
        assert_eq!(r["send_id"], id.to_string(), "[{ctx}]");
        assert!(r["delivery_id"].parse::<i64>().is_ok(), "[{ctx}]");
    }
    let flags = |email: &str| {
        let r = by[email];
        (
            r["complaint"].as_str(),
            r["auto_reply"].as_str(),
            r["unsubscribed"].as_str(),
        )
    };
    assert_eq!(flags("ada@alpha.example"), ("no", "no", "yes"), "[{ctx}]");
    assert_eq!(flags("ben@alpha.example"), ("no", "yes", "yes"), "[{ctx}]");
    assert_eq!(flags("cat@beta.example"), ("yes", "no", "no"), "[{ctx}]");
    assert_eq!(flags("dan@beta.example"), ("yes", "no", "no"), "[{ctx}]");
    assert_eq!(flags("kim@zeta.example"), ("no", "no", "no"), "[{ctx}]");
    let eve = by["eve@gamma.example"];
    assert_eq!(
        (
            eve["state"].as_str(),
            eve["bounce_kind"].as_str(),
            eve["bounce_reason"].as_str()
        ),
        ("bounced", "hard", "userunknown"),
        "[{ctx}]"
    );
    assert!(eve["bounced_at"].ends_with('Z'), "[{ctx}] {eve:?}");
    let fay = by["fay@gamma.example"];
    assert_eq!(
        (
            fay["state"].as_str(),
            fay["bounce_kind"].as_str(),
            fay["bounce_status"].as_str()
        ),
        ("sent", "soft", "4.2.2"),
        "[{ctx}]"
    );
    let gus = by["gus@delta.example"];
    assert_eq!(
        (gus["state"].as_str(), gus["bounce_kind"].as_str()),
        ("failed", "hard")
    );
    assert!(
        gus["bounce_diagnostic"].contains(REFUSED),
        "[{ctx}] {gus:?}"
    );
    assert!(gus["last_reply"].contains("5.1.1"), "[{ctx}] {gus:?}");
    assert_eq!(gus["name"], "Gus <script>alert('x')</script>");
    assert_eq!(gus["outlet"], "Delta Daily");
    assert_eq!(gus["domain"], "delta.example");
    assert_eq!(
        (gus["country"].as_str(), gus["language"].as_str()),
        ("FR", "fr")
    );
    let ivy = by["ivy@epsilon.example"];
    assert!(ivy["last_reply"].contains("Greylisted"), "[{ctx}] {ivy:?}");
    assert_eq!(ivy["sent_at"], "", "[{ctx}]");
    assert!(by["ada@alpha.example"]["sent_at"].ends_with('Z'), "[{ctx}]");
    assert_eq!(
        by["kim@zeta.example"]["skip_reason"],
        "suppressed (unsubscribed)"
    );
    assert_eq!(by["lea@zeta.example"]["skip_reason"], "status needs-update");
    assert_eq!(by["lea@zeta.example"]["contact_status"], "needs-update");
    assert_eq!(by["jon@epsilon.example"]["state"], "uncertain");
}

fn check_html(app: &TestApp, html: &str) {
    let ctx = app.backend;
    assert!(
        html.starts_with("<!DOCTYPE html>"),
        "[{ctx}] {}",
        &html[..80]
    );
    assert!(
        html.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        ),
        "[{ctx}]"
    );
    // Contact data is escaped: gus's name is text, not a script.
    assert!(!html.to_lowercase().contains("<script"), "[{ctx}]");
    assert!(html.contains("Gus &lt;script&gt;"), "[{ctx}]");
    assert!(html.contains("Mailbox full &amp; over quota"), "[{ctx}]");
    // Nothing to fetch: no URL in a src, href or url().
    for needle in ["src=", "href=", "url(", "@import", "http://", "https://"] {
        assert!(!html.contains(needle), "[{ctx}] {needle} in the HTML");
    }
    // The numbers, as the cards and the outcome line print them.
    for (label, value) in [
        ("Targeted", "10"),
        ("Delivered", "4"),
        ("Bounced", "4"),
        ("Failed", "0"),
        ("Complaints", "2"),
        ("Unsubscribed", "2"),
        ("Auto-replies", "1"),
        ("Pending", "1"),
    ] {
        let card = format!("<div class=\"label\">{label}</div><div class=\"value\">{value}</div>");
        assert!(html.contains(&card), "[{ctx}] {card}");
    }
    assert!(html.contains("40.0 % of targeted"), "[{ctx}]");
    assert!(html.contains("3 hard, 1 soft"), "[{ctx}]");
    assert!(html.contains("12 in the audience, 2 skipped"), "[{ctx}]");
    assert!(
        html.contains("1 deferred (tried again later), 0 queued; uncertain: 1"),
        "[{ctx}]"
    );
    for text in [
        "Alpha Times",
        "Epsilon Wire",
        "delta.example",
        "userunknown",
        "mailboxfull",
        "suppressed (unsubscribed)",
        "status needs-update",
        "eve@gamma.example",
        "Recipient address rejected",
        "jon@epsilon.example",
        "Messages per minute",
        "Bounces over time",
        "<svg class=\"chart\"",
        "@media print",
    ] {
        assert!(html.contains(text), "[{ctx}] {text} missing");
    }
    // Six rows to fix, one uncertain.
    assert_eq!(html.matches("<span class=\"badge ").count(), 6, "[{ctx}]");
}

#[test]
fn a_send_with_known_outcomes_is_reported_alike_in_every_format() {
    each_backend(|app| {
        let id = known_send(app);

        let json = app.json(["report", "latest", "--format", "json"]);
        check_json(app, &json, id);
        // By id, and into a file: the same report.
        app.ok([
            "report",
            &id.to_string(),
            "--format",
            "json",
            "-o",
            "report.json",
        ]);
        let from_file: Value =
            serde_json::from_slice(&std::fs::read(app.path().join("report.json")).unwrap())
                .unwrap();
        check_json(app, &from_file, id);

        check_table(app, &app.ok(["report"]));

        let csv_text = app.ok(["report", &id.to_string(), "--format", "csv"]);
        check_csv(app, &csv_text, id);

        app.ok(["report", "--format", "html", "-o", "report.html"]);
        let html = std::fs::read_to_string(app.path().join("report.html")).unwrap();
        check_html(app, &html);
    });
}

#[test]
fn a_report_of_a_send_that_does_not_exist_or_of_no_send_is_refused() {
    each_backend(|app| {
        let (_, err) = app.fails(2, ["report"]);
        assert!(err.contains("there are no sends yet"), "{err}");
        let (_, err) = app.fails(2, ["report", "42"]);
        assert!(err.contains("there is no send 42"), "{err}");
        let (_, err) = app.fails(2, ["report", "first"]);
        assert!(err.contains("neither a send id nor `latest`"), "{err}");
        let out = app.ok(["reports"]);
        assert!(out.contains("no sends yet"), "{out}");
        assert_eq!(
            app.json(["reports", "--format", "json"]),
            serde_json::json!([])
        );
    });
}

#[test]
fn reports_compares_recent_sends_and_contacts_show_their_history() {
    each_backend(|app| {
        let first = known_send(app);
        // A second send through an accepting relay, to the five contacts
        // still active: not ada and ben (unsubscribed), dan and lea (need
        // an update), gus and hal (refused, suppressed) or kim. Eve's bounce
        // was written straight into the table, so no policy suppressed her.
        let sink = SmtpSink::start(&[]);
        ok(
            app,
            &[
                "send",
                &example(),
                "--yes",
                "--rate",
                "unlimited",
                "--smtp",
                &sink.url(),
            ],
        );
        drop(sink);
        let second = app.count("SELECT max(id) FROM sends");
        let active = app.count(&format!(
            "SELECT count(*) FROM deliveries WHERE send_id = {second} AND state = 'sent'"
        ));

        let lines = app.json(["reports", "--format", "json"]);
        let lines = lines.as_array().unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0]["send_id"], second);
        assert_eq!(lines[1]["send_id"], first);
        let l = &lines[1];
        for (k, v) in [
            ("targeted", 10),
            ("sent", 6),
            ("delivered", 4),
            ("bounced", 4),
            ("bounced_hard", 3),
            ("bounced_soft", 1),
            ("failed", 0),
            ("complaints", 2),
            ("unsubscribed", 2),
            ("pending", 1),
            ("uncertain", 1),
        ] {
            assert_eq!(l[k], v, "[{}] {k} in {l}", app.backend);
        }
        assert!(l.get("open").is_none(), "{l}");
        assert_eq!(l["delivery_rate"], 0.4);
        assert_eq!(lines[0]["delivered"], active);
        assert_eq!(lines[0]["targeted"], active);
        assert_eq!(lines[0]["delivery_rate"], 1.0);

        let last = app.json(["reports", "--last", "1", "--format", "json"]);
        assert_eq!(last.as_array().unwrap().len(), 1, "{last}");
        assert_eq!(last[0]["send_id"], second);
        let table = app.ok(["reports"]);
        assert!(table.contains("4 (40.0 %)"), "{table}");
        // Unfinished deliveries are pending, as `sends` calls them.
        let header = table.lines().find(|l| l.contains("SEND")).unwrap();
        assert!(
            header.contains("PENDING") && header.contains("UNCERTAIN") && !header.contains("OPEN"),
            "{table}"
        );
        assert!(table.contains("4 (3 hard, 1 soft)"), "{table}");

        // eve's history: two deliveries (bounced, then sent again) and the DSN.
        let eve = app.json(["contacts", "show", "eve@gamma.example", "--format", "json"]);
        let deliveries = eve["deliveries"].as_array().unwrap();
        assert_eq!(deliveries.len(), 2, "{eve}");
        assert_eq!(deliveries[0]["send_id"], second);
        assert_eq!(deliveries[0]["state"], "sent");
        assert_eq!(deliveries[1]["send_id"], first);
        assert_eq!(deliveries[1]["state"], "bounced");
        assert_eq!(deliveries[1]["release"], "example");
        assert!(deliveries[1]["last_reply"]
            .as_str()
            .unwrap()
            .starts_with("250"));
        let bounces = eve["bounces"].as_array().unwrap();
        assert_eq!(bounces.len(), 1, "{eve}");
        assert_eq!(bounces[0]["send_id"], first);
        assert_eq!(
            (bounces[0]["kind"].as_str(), bounces[0]["reason"].as_str()),
            (Some("hard"), Some("userunknown"))
        );
        // The contact's own fields are still there.
        assert_eq!(eve["outlet"], "Gamma Post");

        // cat's complaint names only the contact; gus was refused at SMTP time.
        let cat = app.json(["contacts", "show", "cat@beta.example", "--format", "json"]);
        assert_eq!(cat["bounces"][0]["kind"], "complaint", "{cat}");
        assert_eq!(cat["bounces"][0]["send_id"], Value::Null, "{cat}");
        let table = app.ok(["contacts", "show", "gus@delta.example"]);
        assert!(table.contains("deliveries (2):"), "{table}");
        assert!(table.contains("failed"), "{table}");
        assert!(table.contains("skipped (suppressed (bounced))"), "{table}");
        assert!(table.contains("userunknown"), "{table}");
        assert!(table.contains(REFUSED), "{table}");
        // kim was never sent anything.
        let table = app.ok(["contacts", "show", "kim@zeta.example"]);
        assert!(table.contains("bounces: none"), "{table}");
    });
}

/// Headless Chromium loads the HTML report with a network log; the page
/// asks for nothing. A page that does fetch something is caught the same
/// way, so the check itself is checked.
#[test]
fn the_html_report_renders_in_chromium_without_a_network_request() {
    let app = TestApp::sqlite();
    known_send(&app);
    app.ok(["report", "--format", "html", "-o", "report.html"]);
    let report = app.path().join("report.html");
    let (dom, requests) = chromium(&app, &report);
    assert!(dom.contains("Delivery report"), "{dom}");
    assert!(
        dom.contains("eve@gamma.example"),
        "Chromium did not render the report"
    );
    assert_eq!(requests, Vec::<String>::new(), "the report made requests");

    let control = app.write(
        "control.html",
        "<!DOCTYPE html><html><body><p>control</p><img src=\"http://127.0.0.1:9/pixel.png\"></body></html>",
    );
    let (_, requests) = chromium(&app, &control);
    assert_eq!(requests, vec!["http://127.0.0.1:9/pixel.png".to_string()]);
}

/// Loads `page` in headless Chromium; returns the DOM it rendered and the
/// URLs the page itself requested (Chromium's own background requests
/// are told apart by their network isolation key, which for a page's
/// requests names the page's site, here `file://`).
fn chromium(app: &TestApp, page: &Path) -> (String, Vec<String>) {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chromium must be installed (.ci/run installs it)");
    let netlog = app.path().join(format!(
        "{}.netlog.json",
        page.file_name().unwrap().to_string_lossy()
    ));
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log: Value = serde_json::from_slice(&std::fs::read(&netlog).unwrap()).unwrap();
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    let mut urls: Vec<String> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == start_job)
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|k| k.starts_with("file://"))
        })
        .filter_map(|e| e["params"]["url"].as_str().map(String::from))
        .collect();
    urls.dedup();
    (String::from_utf8_lossy(&out.stdout).into_owned(), urls)
}

/// On a SQLite file the breakdowns are read through a SQLite connection of
/// their own; a read-only file takes the JSON path PostgreSQL takes. Both
/// give the same report, to the last row.
#[test]
fn a_sqlite_file_and_a_read_only_one_give_the_same_report() {
    let app = TestApp::sqlite();
    let id = known_send(&app).to_string();
    let report = |url: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_presswire"))
            .current_dir(app.path())
            .env_remove("PRESSWIRE_DB")
            .env_remove("PRESSWIRE_CONFIG")
            .args(["--db", url, "report", &id, "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let mut json: Value = serde_json::from_slice(&out.stdout).unwrap();
        json.as_object_mut().unwrap().remove("generated_at");
        json
    };
    let writable = report(&app.db_url);
    let read_only = report(&format!("{}?mode=ro", app.db_url));
    assert_eq!(writable, read_only);
    // The breakdowns are there to compare: every contact of the send.
    let outlets = writable["by_outlet"].as_array().unwrap();
    let targeted: i64 = outlets
        .iter()
        .map(|r| r["targeted"].as_i64().unwrap())
        .sum();
    assert_eq!(targeted, writable["counts"]["targeted"].as_i64().unwrap());
}

/// Regression: breakdowns printed bare country codes, and a language the
/// release had no variant in looked as if it had been served. The example
/// release is English with a German variant: French, Swahili and Dutch
/// readers got the English text.
#[test]
fn a_report_names_countries_and_the_language_each_contact_got() {
    each_backend(|app| {
        let ctx = app.backend;
        let id = known_send(app);
        let table = app.ok(["report", &id.to_string()]);
        // A breakdown's first cell, by its start.
        let row = |start: &str| -> String {
            table
                .lines()
                .find(|l| {
                    l.split(['│', '┆'])
                        .map(str::trim)
                        .find(|c| !c.is_empty())
                        .is_some_and(|c| c == start)
                })
                .unwrap_or_else(|| panic!("[{ctx}] no row {start:?} in\n{table}"))
                .to_string()
        };
        for name in [
            "DE Germany",
            "GB United Kingdom",
            "KE Kenya",
            "FR France",
            "US United States",
            "NL Netherlands",
            "fr (got en)",
            "sw (got en)",
            "nl (got en)",
            "de",
            "en",
        ] {
            row(name);
        }
        assert!(!table.contains("de (got"), "[{ctx}]\n{table}");

        // JSON: the value as stored, the label beside it.
        let json = app.json(["report", &id.to_string(), "--format", "json"]);
        let label = |breakdown: &str, value: &str| -> String {
            json[breakdown]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["value"] == value)
                .unwrap_or_else(|| panic!("[{ctx}] no {value} in {breakdown}"))["label"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(label("by_country", "DE"), "DE Germany", "[{ctx}]");
        assert_eq!(label("by_language", "fr"), "fr (got en)", "[{ctx}]");
        assert_eq!(label("by_language", "de"), "de", "[{ctx}]");
        assert_eq!(label("by_outlet", "Beta Radio"), "Beta Radio", "[{ctx}]");

        // The HTML for a director says the same.
        app.ok(["report", "--format", "html", "-o", "report.html"]);
        let html = std::fs::read_to_string(app.path().join("report.html")).unwrap();
        for name in ["KE Kenya", "fr (got en)", "sw (got en)"] {
            assert!(html.contains(name), "[{ctx}] {name} not in the HTML");
        }
    });
}
