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
        let rel = file.strip_prefix(&prefix).unwrap_or(&file).to_string();
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
    assert!(
        reason_pct >= 95.0,
        "reason accuracy {reason_pct:.1} % < 95 %"
    );
    assert!(
        hard_pct >= 99.0,
        "hard/soft accuracy {hard_pct:.1} % < 99 %"
    );
    assert!(
        recipient_pct >= 99.0,
        "recipient accuracy {recipient_pct:.1} % < 99 %"
    );
}
