//! How the classifier does on MTAs it was not tuned on: `presswire bounces
//! evaluate` (leave one origin out) on the corpus and on the hand-made
//! fixtures, and the honesty of the origin tags that measurement relies on.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::harness::{fixture, TestApp};

/// `bounces evaluate DIR --format json`: the line `all` of the folder.
fn overall(app: &TestApp, dir: &str) -> Value {
    let out = app.ok([
        "bounces".as_ref(),
        "evaluate".as_ref(),
        fixture(dir).as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let v: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    let origins = v["origins"].as_array().expect("origins");
    let all = origins.last().expect("an overall line").clone();
    assert_eq!(all["origin"], "all");
    all
}

fn pct(t: &Value, ok: &str, of: &str) -> f64 {
    let (ok, of) = (t[ok].as_f64().unwrap(), t[of].as_f64().unwrap());
    if of == 0.0 {
        100.0
    } else {
        100.0 * ok / of
    }
}

/// The figures the README reports. The goal for leave one origin
/// out is 93 % reason and 98 % hard/soft; the floors below are what the
/// classifier reaches today and may only rise. Wrongly hard meets the goal
/// (≤ 1 % of the soft failures).
#[test]
fn leave_one_origin_out_figures() {
    let app = TestApp::sqlite();
    let all = overall(&app, "bounces");
    let (plain, out) = (&all["plain"], &all["left_out"]);
    println!(
        "plain fit: reason {:.1} %, hard/soft {:.1} %, wrongly hard {}/{}",
        pct(plain, "reason_ok", "rows"),
        pct(plain, "hard_ok", "rows"),
        plain["wrongly_hard"],
        plain["soft_rows"]
    );
    println!(
        "leave one origin out: reason {:.1} %, hard/soft {:.1} %, wrongly hard {}/{}",
        pct(out, "reason_ok", "rows"),
        pct(out, "hard_ok", "rows"),
        out["wrongly_hard"],
        out["soft_rows"]
    );
    assert!(pct(plain, "reason_ok", "rows") >= 97.5);
    assert!(pct(plain, "hard_ok", "rows") >= 99.3);
    assert!(pct(out, "reason_ok", "rows") >= 84.0);
    assert!(pct(out, "hard_ok", "rows") >= 95.8);
    let wrongly =
        100.0 * out["wrongly_hard"].as_f64().unwrap() / out["soft_rows"].as_f64().unwrap();
    assert!(
        wrongly <= 1.0,
        "{wrongly:.1} % of soft failures taken as hard"
    );

    // The hand-made fixtures, the held-out ones on their own.
    let own = overall(&app, "bounces-own");
    let (out, held) = (&own["left_out"], &own["heldout"]);
    let n = |t: &Value, f: &str| t[f].as_u64().unwrap();
    assert!(n(held, "rows") >= 30, "too few held-out fixtures: {held}");
    // Every fixture used for tuning is read right; of the held-out ones,
    // every hard/soft verdict and at least 90 % of the reasons.
    assert_eq!(
        n(out, "reason_ok") - n(held, "reason_ok"),
        n(out, "rows") - n(held, "rows"),
        "own fixtures: {out}"
    );
    assert_eq!(n(out, "hard_ok"), n(out, "rows"), "own fixtures: {out}");
    assert_eq!(n(out, "wrongly_hard"), 0, "own fixtures: {out}");
    assert!(
        pct(held, "reason_ok", "rows") >= 90.0,
        "held-out fixtures: {held}"
    );
}

/// `bounces inspect DIR --format json`, one object per result.
fn inspect(app: &TestApp, dir: &str) -> Vec<Value> {
    let out = app.ok([
        "bounces".as_ref(),
        "inspect".as_ref(),
        fixture(dir).join("emails").as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The quoted pattern that decided, from the evidence ("phrase \"…\"").
fn deciding_phrase(v: &Value) -> Option<String> {
    let evidence = v["evidence"].as_str()?;
    let at = evidence.find('"')?;
    let rest = &evidence[at + 1..];
    Some(rest[..rest.find('"')?].to_string())
}

/// A pattern tagged common (`reason::ONE_ORIGIN` does not list it) that
/// decides for the messages of one origin of the corpus only, and for none
/// of the hand-made fixtures, exists because of that origin: it must be
/// tagged, or the leave-one-origin-out figure flatters the classifier.
#[test]
fn common_patterns_decide_for_more_than_one_origin() {
    let app = TestApp::sqlite();
    let prefix = format!("{}/", fixture("bounces").join("emails").display());
    let mut origins: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in inspect(&app, "bounces") {
        if v["rule_origin"] != "common" {
            continue;
        }
        let Some(p) = deciding_phrase(&v) else {
            continue;
        };
        let file = v["file"].as_str().unwrap();
        let module = file
            .strip_prefix(&prefix)
            .and_then(|f| f.split('/').next())
            .unwrap_or("")
            .to_string();
        origins.entry(p).or_default().insert(module);
    }
    // A hand-made fixture (written from RFCs and vendors' documented
    // replies, not copied from the corpus) whose words the pattern matches
    // shows it is wording of more than one source.
    let own: Vec<String> = inspect(&app, "bounces-own")
        .iter()
        .map(|v| v["diagnostic"].as_str().unwrap_or("").to_lowercase())
        .collect();
    for (p, o) in origins.iter_mut() {
        if own.iter().any(|d| presswire::bounce::reason::matches(d, p)) {
            o.insert("own".into());
        }
    }
    let single: Vec<String> = origins
        .iter()
        .filter(|(_, o)| o.len() == 1 && !o.contains("own"))
        .map(|(p, o)| format!("({p:?}, {:?})", o.iter().next().unwrap()))
        .collect();
    assert!(
        single.is_empty(),
        "patterns tagged common that decide for one origin only: add them to reason::ONE_ORIGIN \
         (or show with a hand-made fixture from another source that they are common):\n{}",
        single.join("\n")
    );
}

/// Every reason the corpus holds has a hand-made fixture of its own.
#[test]
fn every_corpus_reason_has_a_hand_made_fixture() {
    let reasons = |dir: &str| -> BTreeSet<String> {
        let mut r = csv::Reader::from_path(fixture(dir).join("labels.csv")).unwrap();
        r.records()
            .map(|rec| rec.unwrap().get(5).unwrap().to_string())
            .collect()
    };
    let missing: Vec<String> = reasons("bounces")
        .difference(&reasons("bounces-own"))
        .cloned()
        .collect();
    assert!(missing.is_empty(), "no hand-made fixture for {missing:?}");
}
