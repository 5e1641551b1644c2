//! How the bounce classifier generalises, not how well it fits: the
//! corpus in tests/fixtures/bounces scored leave-one-origin-out. For each
//! origin (the `module` of labels.csv: an MTA or provider), its messages
//! are read by `bounces inspect --without-origin ORIGIN`, which switches
//! off every rule, phrase and convention tagged with that origin
//! (`reason::ONE_ORIGIN`, `mta::CONVENTIONS`), so each origin is scored
//! as an MTA the classifier was never taught. The plain fit is printed
//! beside it, and the hand-made fixtures of tests/fixtures/bounces-own
//! (RFC and vendor-documentation texts) with their held-out part.
//!
//! `cargo test --locked --test it bounce_generalisation -- --nocapture`

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;

use crate::harness::{fixture, TestApp};

#[derive(Debug, Clone, serde::Deserialize)]
struct Label {
    file: String,
    index: usize,
    module: String,
    reason: String,
    hardbounce: bool,
    #[serde(default)]
    heldout: Option<bool>,
}

/// Reason right, hard/soft right, wrongly taken as hard, of all.
#[derive(Debug, Default, Clone, Copy)]
struct Score {
    reason: usize,
    hard: usize,
    wrongly_hard: usize,
    all: usize,
}

impl Score {
    fn add(&mut self, o: Score) {
        self.reason += o.reason;
        self.hard += o.hard;
        self.wrongly_hard += o.wrongly_hard;
        self.all += o.all;
    }
    fn pct(n: usize, all: usize) -> f64 {
        100.0 * n as f64 / all.max(1) as f64
    }
    fn line(&self, name: &str) -> String {
        format!(
            "{name:<22} {:>4}  reason {:5.1} %  hard/soft {:5.1} %  wrongly hard {} ({:.1} %)",
            self.all,
            Score::pct(self.reason, self.all),
            Score::pct(self.hard, self.all),
            self.wrongly_hard,
            Score::pct(self.wrongly_hard, self.all)
        )
    }
}

/// `bounces inspect` of `paths` with `off` switched off, grouped by file
/// relative to `root` (labels count recipients across one file).
fn inspect(app: &TestApp, root: &Path, paths: &[String], off: &[&str]) -> HashMap<String, Vec<Value>> {
    let mut args: Vec<String> = vec!["bounces".into(), "inspect".into()];
    args.extend(paths.iter().map(|p| root.join(p).display().to_string()));
    args.extend(["--format".into(), "json".into()]);
    for o in off {
        args.extend(["--without-origin".into(), o.to_string()]);
    }
    let out = app.ok(&args);
    let prefix = format!("{}/", root.display());
    let mut by_file: HashMap<String, Vec<Value>> = HashMap::new();
    for line in out.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let file = v["file"].as_str().unwrap_or("").to_string();
        let rel = file.strip_prefix(&prefix).unwrap_or(&file);
        let rel = rel.split('#').next().unwrap_or(rel).to_string();
        by_file.entry(rel).or_default().push(v);
    }
    by_file
}

fn score(labels: &[&Label], got: &HashMap<String, Vec<Value>>, misses: &mut Vec<String>) -> Score {
    let mut s = Score::default();
    for l in labels {
        let r = got.get(&l.file).and_then(|rs| rs.get(l.index - 1));
        let reason = r.and_then(|r| r["reason"].as_str()).unwrap_or("(none)");
        let hard = r.and_then(|r| r["hard"].as_bool()).unwrap_or(false);
        s.all += 1;
        s.reason += usize::from(reason == l.reason);
        s.hard += usize::from(hard == l.hardbounce);
        s.wrongly_hard += usize::from(hard && !l.hardbounce);
        if reason != l.reason || hard != l.hardbounce {
            let why = r.and_then(|r| r["evidence"].as_str()).unwrap_or("");
            misses.push(format!(
                "  [{}] {}#{}: {}/{} → {reason}/{hard} ({why})",
                l.module,
                l.file,
                l.index,
                l.reason,
                if l.hardbounce { "hard" } else { "soft" }
            ));
        }
    }
    s
}

fn labels(root: &Path) -> Vec<Label> {
    csv::Reader::from_path(root.join("labels.csv"))
        .unwrap()
        .deserialize()
        .map(Result::unwrap)
        .collect()
}

fn files(labels: &[&Label]) -> Vec<String> {
    let mut f: Vec<String> = labels.iter().map(|l| l.file.clone()).collect();
    f.sort();
    f.dedup();
    f
}

#[test]
fn bounce_generalisation() {
    let app = TestApp::sqlite();
    let root = fixture("bounces");
    let all = labels(&root);
    let refs: Vec<&Label> = all.iter().collect();

    let mut fit_misses = Vec::new();
    let fit = score(&refs, &inspect(&app, &root, &["emails".into()], &[]), &mut fit_misses);

    let mut by_origin: BTreeMap<&str, Vec<&Label>> = BTreeMap::new();
    for l in &all {
        by_origin.entry(l.module.as_str()).or_default().push(l);
    }
    let mut loocv = Score::default();
    let mut misses = Vec::new();
    let mut lines = Vec::new();
    for (origin, ls) in &by_origin {
        let got = inspect(&app, &root, &files(ls), &[origin]);
        let s = score(ls, &got, &mut misses);
        lines.push(s.line(origin));
        loocv.add(s);
    }

    let own_root = fixture("bounces-own");
    let own = labels(&own_root);
    let got = inspect(&app, &own_root, &["emails".into()], &[]);
    let mut own_misses = Vec::new();
    let (held, dev): (Vec<&Label>, Vec<&Label>) =
        own.iter().partition(|l| l.heldout.unwrap_or(false));
    let own_dev = score(&dev, &got, &mut own_misses);
    let own_held = score(&held, &got, &mut own_misses);

    println!("bounce classifier, leave-one-origin-out on tests/fixtures/bounces:");
    for l in &lines {
        println!("  {l}");
    }
    println!("{}", fit.line("plain fit (all rules)"));
    println!("{}", loocv.line("leave-one-origin-out"));
    println!("{}", own_dev.line("own fixtures (dev)"));
    println!("{}", own_held.line("own fixtures (held out)"));
    println!("misses, leave-one-origin-out:\n{}", misses.join("\n"));
    println!("misses, own fixtures:\n{}", own_misses.join("\n"));

    // Floors at today's figures, so that no change makes the classifier
    // generalise worse unnoticed. Issue 16 asks for 93 % reason, 98 %
    // hard/soft and at most 1 % wrongly hard; the reason figure is not
    // there yet (see README, "How well bounces are classified").
    let pct = Score::pct;
    assert!(pct(loocv.reason, loocv.all) >= 78.0, "{}", loocv.line("loocv"));
    assert!(pct(loocv.hard, loocv.all) >= 94.5, "{}", loocv.line("loocv"));
    assert!(pct(loocv.wrongly_hard, loocv.all) <= 1.0, "{}", loocv.line("loocv"));
    assert_eq!(own_dev.wrongly_hard + own_held.wrongly_hard, 0, "{}", own_misses.join("\n"));
    assert!(pct(own_dev.reason + own_held.reason, own.len()) >= 95.0, "{}", own_misses.join("\n"));
}

/// Every reason of the Sisimai vocabulary the corpus contains has at least
/// one hand-made fixture of its own.
#[test]
fn every_corpus_reason_has_an_own_fixture() {
    let corpus = labels(&fixture("bounces"));
    let own = labels(&fixture("bounces-own"));
    let mut missing: Vec<&str> = corpus
        .iter()
        .map(|l| l.reason.as_str())
        .filter(|r| !own.iter().any(|o| o.reason == *r))
        .collect();
    missing.sort();
    missing.dedup();
    // Complaints (ARF, RFC 5965) have their own fixtures in tests/fixtures/dsn.
    missing.retain(|r| *r != "feedback");
    assert!(missing.is_empty(), "no own fixture for: {missing:?}");
}
