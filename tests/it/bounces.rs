//! `presswire bounces inspect`: the classifier measured on the labelled
//! corpus in tests/fixtures/bounces (real bounces of 37 MTAs), plus
//! auto-replies, complaints and delivery reports written for presswire.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::harness::{fixture, TestApp};

/// `bounces inspect PATH --format json`, one object per line.
fn inspect(app: &TestApp, path: &std::path::Path) -> Vec<Value> {
    let out = app.ok([
        "bounces".as_ref(),
        "inspect".as_ref(),
        path.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn text(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or("").to_string()
}

#[derive(Debug, serde::Deserialize)]
struct Label {
    file: String,
    index: usize,
    recipient: String,
    reason: String,
    hardbounce: bool,
}

#[test]
fn corpus_accuracy() {
    let app = TestApp::sqlite();
    let root = fixture("bounces");
    let results = inspect(&app, &root.join("emails"));
    assert!(
        !app.path().join("presswire.db").exists(),
        "inspect must not create a database"
    );
    // The results of each message, in order, keyed like labels.csv.
    let prefix = format!("{}/", root.display());
    let mut by_file: HashMap<String, Vec<&Value>> = HashMap::new();
    for r in &results {
        let file = text(r, "file");
        let rel = file.strip_prefix(&prefix).unwrap_or(&file);
        // An mbox of several messages names them FILE#1, FILE#2; the labels
        // count recipients across the whole file.
        let rel = rel.split('#').next().unwrap_or(rel).to_string();
        by_file.entry(rel).or_default().push(r);
    }
    let mut labels = csv::Reader::from_path(root.join("labels.csv")).unwrap();
    let (mut rows, mut reason_ok, mut hard_ok) = (0, 0, 0);
    let (mut with_recipient, mut recipient_ok) = (0, 0);
    let mut confusion: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut misses = Vec::new();
    for label in labels.deserialize::<Label>() {
        let label = label.unwrap();
        rows += 1;
        let got = by_file
            .get(&label.file)
            .and_then(|rs| rs.get(label.index - 1));
        let (reason, hard, recipient) = match got {
            Some(r) => (
                text(r, "reason"),
                r["hard"].as_bool().unwrap_or(false),
                text(r, "recipient"),
            ),
            None => ("(no result)".to_string(), false, String::new()),
        };
        if reason == label.reason {
            reason_ok += 1;
        } else {
            *confusion
                .entry((label.reason.clone(), reason.clone()))
                .or_default() += 1;
            let diag: String = got
                .map(|r| text(r, "diagnostic"))
                .unwrap_or_default()
                .chars()
                .take(160)
                .collect();
            misses.push(format!(
                "  {}#{}: {} → {reason} ({diag})",
                label.file, label.index, label.reason
            ));
        }
        if hard == label.hardbounce {
            hard_ok += 1;
        } else {
            misses.push(format!(
                "  {}#{}: hard expected {}, got {hard}",
                label.file, label.index, label.hardbounce
            ));
        }
        if !label.recipient.is_empty() {
            with_recipient += 1;
            if recipient.eq_ignore_ascii_case(&label.recipient) {
                recipient_ok += 1;
            } else {
                misses.push(format!(
                    "  {}#{}: recipient expected {}, got {recipient:?}",
                    label.file, label.index, label.recipient
                ));
            }
        }
    }
    let pct = |ok: usize, all: usize| 100.0 * ok as f64 / all as f64;
    let (reason_pct, hard_pct, recipient_pct) = (
        pct(reason_ok, rows),
        pct(hard_ok, rows),
        pct(recipient_ok, with_recipient),
    );
    println!(
        "bounce corpus: {rows} labelled results, {} printed",
        results.len()
    );
    println!("  reason     {reason_ok}/{rows} = {reason_pct:.1} %");
    println!("  hard/soft  {hard_ok}/{rows} = {hard_pct:.1} %");
    println!("  recipient  {recipient_ok}/{with_recipient} = {recipient_pct:.1} %");
    println!("confusion by reason (expected → got: count):");
    for ((expected, got), n) in &confusion {
        println!("  {expected} → {got}: {n}");
    }
    println!("misses:\n{}", misses.join("\n"));
    // The Done-when. The misses left are mostly rows whose labels
    // contradict others for the same text (Yahoo's "[TSS04] … user
    // complaints" is rejected in one, badreputation in another).
    for (name, got, goal) in [
        ("reason", reason_pct, 95.0),
        ("hard/soft", hard_pct, 99.0),
        ("recipient", recipient_pct, 99.0),
    ] {
        assert!(got >= goal, "{name} accuracy {got:.1} % is below {goal} %");
    }
}

/// Every result of `inspect` on tests/fixtures/`dir`, with its file name.
fn inspect_fixtures(dir: &str) -> Vec<(String, Value)> {
    let app = TestApp::sqlite();
    inspect(&app, &fixture(dir))
        .into_iter()
        .map(|r| {
            let file = text(&r, "file");
            let name = file.rsplit('/').next().unwrap_or(&file).to_string();
            (name, r)
        })
        .collect()
}

#[test]
fn auto_replies_are_no_bounces() {
    let results = inspect_fixtures("autoreplies");
    // RFC 3834 header, and subjects or first lines in English, German,
    // French, Spanish, Italian and Dutch.
    assert_eq!(results.len(), 7, "{results:#?}");
    for (name, r) in &results {
        assert_eq!(text(r, "kind"), "auto-reply", "{name}: {r}");
        assert_eq!(text(r, "reason"), "vacation", "{name}: {r}");
        assert_eq!(r["hard"], false, "{name}: {r}");
        assert!(text(r, "recipient").contains('@'), "{name}: {r}");
    }
    let (_, rfc) = results.iter().find(|(n, _)| n == "en-rfc3834.eml").unwrap();
    assert_eq!(text(rfc, "recipient"), "jane@news.example.org");
    assert_eq!(text(rfc, "verp_token"), "d42-0123456789abcdef");
    assert_eq!(
        text(rfc, "message_id"),
        "1.42.aaaaaaaaaaaaaaaa@press.example.net"
    );
}

#[test]
fn complaints_delays_and_delivery_reports() {
    let results = inspect_fixtures("dsn");
    let of = |file: &str| -> Vec<&Value> {
        results
            .iter()
            .filter(|(n, _)| n == file)
            .map(|(_, r)| r)
            .collect()
    };
    let complaint = of("complaint.eml");
    assert_eq!(complaint.len(), 1);
    assert_eq!(text(complaint[0], "kind"), "complaint");
    assert_eq!(text(complaint[0], "reason"), "feedback");
    assert_eq!(text(complaint[0], "feedback_type"), "abuse");
    assert_eq!(text(complaint[0], "recipient"), "reader@isp.example.com");
    assert_eq!(text(complaint[0], "verp_token"), "d9-aabbccddeeff0011");
    assert_eq!(
        text(complaint[0], "message_id"),
        "1.9.aabbccddeeff0011@press.example.net"
    );
    assert_eq!(complaint[0]["hard"], false);

    // A delay warning is no failure (yet): never hard, never a bounce.
    let delayed = of("delayed.eml");
    assert_eq!(delayed.len(), 1);
    assert_eq!(text(delayed[0], "kind"), "not-a-failure");
    assert_eq!(text(delayed[0], "action"), "delayed");
    assert_eq!(text(delayed[0], "recipient"), "desk@slow.example.com");
    assert_eq!(text(delayed[0], "status"), "4.4.1");
    assert_eq!(delayed[0]["hard"], false);
    assert_eq!(text(delayed[0], "verp_token"), "d7-00112233445566aa");
    assert_eq!(
        text(delayed[0], "message_id"),
        "1.7.00112233445566aa@press.example.net"
    );

    let delivered = of("delivered.eml");
    assert_eq!(delivered.len(), 2);
    for (r, action) in delivered.iter().zip(["delivered", "relayed"]) {
        assert_eq!(text(r, "kind"), "not-a-failure", "{r}");
        assert_eq!(text(r, "reason"), "delivered", "{r}");
        assert_eq!(text(r, "action"), action, "{r}");
        assert_eq!(r["hard"], false, "{r}");
    }
}

#[test]
fn a_message_that_is_no_bounce_is_accounted_for() {
    let app = TestApp::sqlite();
    let path = app.write(
        "reply.eml",
        "From: jane@news.example.org\nTo: press@ngo.example.org\nSubject: Re: dam\n\n\
         Thanks, we will run it tomorrow.\n",
    );
    let results = inspect(&app, &path);
    assert_eq!(results.len(), 1);
    assert_eq!(text(&results[0], "kind"), "not-a-failure");
    assert_eq!(text(&results[0], "reason"), "undefined");
    assert!(results[0]["recipient"].is_null());
}

#[test]
fn mbox_messages_are_numbered() {
    let app = TestApp::sqlite();
    let one = std::fs::read_to_string(fixture("dsn/delayed.eml")).unwrap();
    let two = std::fs::read_to_string(fixture("autoreplies/de.eml")).unwrap();
    let mbox = format!(
        "From MAILER-DAEMON Tue May 10 13:00:00 2022\n{one}\n\
         From anna@zeitung.example.de Tue May 10 09:00:00 2022\n{two}"
    );
    let path = app.write("bounces.mbox", mbox);
    let results = inspect(&app, &path);
    let files: Vec<String> = results.iter().map(|r| text(r, "file")).collect();
    assert_eq!(results.len(), 2, "{results:#?}");
    assert!(files[0].ends_with("bounces.mbox#1"), "{files:?}");
    assert!(files[1].ends_with("bounces.mbox#2"), "{files:?}");
    assert_eq!(text(&results[1], "kind"), "auto-reply");
}

#[test]
fn bad_input_names_the_file_and_exits_2() {
    let app = TestApp::sqlite();
    let (_, stderr) = app.fails(2, ["bounces", "inspect", "missing.eml"]);
    assert!(stderr.contains("missing.eml"), "{stderr}");
    app.write("notes.txt", "just some notes, no mail here\n");
    let (_, stderr) = app.fails(2, ["bounces", "inspect", "notes.txt", "--format", "json"]);
    assert!(
        stderr.contains("notes.txt") && stderr.contains("not a mail message"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !app.path().join("presswire.db").exists(),
        "inspect must not create a database"
    );
}

#[test]
fn table_format_is_readable() {
    let app = TestApp::sqlite();
    let out = app.ok([
        "bounces".as_ref(),
        "inspect".as_ref(),
        fixture("dsn/complaint.eml").as_os_str(),
    ]);
    assert!(out.contains("RECIPIENT") && out.contains("REASON"), "{out}");
    assert!(
        out.contains("reader@isp.example.com") && out.contains("feedback"),
        "{out}"
    );
}
