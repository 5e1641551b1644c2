//! Measuring the classifier on a labelled folder of bounces (`presswire
//! bounces evaluate`): a folder with `labels.csv` (the columns of
//! `tests/fixtures/bounces/README.md`) beside the messages it names.
//!
//! Two figures, side by side:
//!
//! - the plain fit: every message read with every rule, which is what the
//!   classifier does on the messages it was tuned on;
//! - leave one origin out: each origin's messages (the `module` column: the
//!   MTA or provider that wrote them) read with every rule that exists only
//!   because of that origin switched off (`reason::ONE_ORIGIN`,
//!   `mta::CONVENTIONS`), which is what it does on an MTA it has never
//!   seen. The standards' rules (RFC 3463, RFC 5321) and wording several
//!   origins share stay on.
//!
//! Each counts the right reasons, the right hard/soft verdicts and the
//! soft failures taken as hard ("wrongly suppressed": the costly mistake,
//! see `classify::caution`). Rows with `heldout` = true (hand-made
//! fixtures kept out of tuning) are also counted apart.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::reason::Reason;
use crate::BadInput;

/// One row of `labels.csv`.
#[derive(Debug, Clone)]
pub struct Label {
    pub file: String,
    /// 1-based position of the recipient among the message's results.
    pub index: usize,
    pub module: String,
    pub reason: Reason,
    pub hard: bool,
    pub heldout: bool,
}

/// Counts over some rows.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    pub rows: usize,
    pub reason_ok: usize,
    pub hard_ok: usize,
    /// Rows whose failure is soft (or no failure at all).
    pub soft_rows: usize,
    /// Soft rows taken as hard: addresses suppressed for good by mistake.
    pub wrongly_hard: usize,
}

impl Tally {
    fn add(&mut self, label: &Label, got: Option<(Reason, bool)>) -> Option<String> {
        self.rows += 1;
        let (reason, hard) = got.unwrap_or((Reason::Undefined, false));
        let reason_ok = got.is_some() && reason == label.reason;
        self.reason_ok += usize::from(reason_ok);
        self.hard_ok += usize::from(hard == label.hard);
        if !label.hard {
            self.soft_rows += 1;
            self.wrongly_hard += usize::from(hard);
        }
        let shown = if got.is_some() {
            reason.as_str()
        } else {
            "(no result)"
        };
        (!reason_ok || hard != label.hard).then(|| {
            format!(
                "{}#{}: {} {} → {shown} {}",
                label.file,
                label.index,
                label.reason,
                hardness(label.hard),
                hardness(hard)
            )
        })
    }

    fn merge(&mut self, other: &Tally) {
        self.rows += other.rows;
        self.reason_ok += other.reason_ok;
        self.hard_ok += other.hard_ok;
        self.soft_rows += other.soft_rows;
        self.wrongly_hard += other.wrongly_hard;
    }

    fn pct(ok: usize, all: usize) -> f64 {
        if all == 0 {
            100.0
        } else {
            100.0 * ok as f64 / all as f64
        }
    }

    /// Right reasons, in per cent of rows.
    pub fn reason_pct(&self) -> f64 {
        Tally::pct(self.reason_ok, self.rows)
    }

    /// Right hard/soft verdicts, in per cent of rows.
    pub fn hard_pct(&self) -> f64 {
        Tally::pct(self.hard_ok, self.rows)
    }

    /// Soft rows taken as hard, in per cent of soft rows.
    pub fn wrongly_hard_pct(&self) -> f64 {
        100.0 - Tally::pct(self.soft_rows - self.wrongly_hard, self.soft_rows)
    }
}

fn hardness(hard: bool) -> &'static str {
    if hard {
        "(hard)"
    } else {
        "(soft)"
    }
}

/// The figures for one origin, or for all.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub origin: String,
    /// Every rule on.
    pub plain: Tally,
    /// The origin's own rules off.
    pub left_out: Tally,
    /// The held-out rows only, with the origin's rules off.
    pub heldout: Tally,
    /// The rows read wrongly with every rule on.
    #[serde(skip)]
    pub plain_misses: Vec<String>,
    /// The rows read wrongly with the origin's rules off.
    #[serde(skip)]
    pub misses: Vec<String>,
}

/// Reads `dir/labels.csv`. Bad rows are bad input naming the line and
/// field.
pub fn read_labels(dir: &Path) -> Result<Vec<Label>, BadInput> {
    let path = dir.join("labels.csv");
    let mut reader = csv::Reader::from_path(&path).map_err(|e| {
        BadInput(format!(
            "{}: {e}; give a folder with a labels.csv (see tests/fixtures/bounces/README.md)",
            path.display()
        ))
    })?;
    let headers = reader
        .headers()
        .map_err(|e| BadInput(format!("{}: {e}", path.display())))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let need = |name: &str| {
        column(name).ok_or_else(|| {
            BadInput(format!(
                "{}: line 1: no column {name:?}; labels.csv needs file, index, module, reason and hardbounce",
                path.display()
            ))
        })
    };
    let (file, index, module, reason, hard) = (
        need("file")?,
        need("index")?,
        need("module")?,
        need("reason")?,
        need("hardbounce")?,
    );
    let heldout = column("heldout");
    let mut labels = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record =
            record.map_err(|e| BadInput(format!("{}: line {line}: {e}", path.display())))?;
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let bad = |name: &str, what: &str| {
            BadInput(format!(
                "{}: line {line}: field {name}: {:?} {what}",
                path.display(),
                field(headers.iter().position(|h| h == name).unwrap_or(0))
            ))
        };
        let flag = |i: usize, name: &str| match field(i) {
            "true" => Ok(true),
            "false" | "" => Ok(false),
            _ => Err(bad(name, "is not true or false")),
        };
        labels.push(Label {
            file: field(file).to_string(),
            index: field(index)
                .parse()
                .ok()
                .filter(|&i| i >= 1)
                .ok_or_else(|| bad("index", "is not a position 1, 2, …"))?,
            module: field(module).to_string(),
            reason: Reason::from_name(field(reason))
                .ok_or_else(|| bad("reason", "is not a reason presswire knows"))?,
            hard: flag(hard, "hardbounce")?,
            heldout: heldout
                .map(|i| flag(i, "heldout"))
                .transpose()?
                .unwrap_or(false),
        });
    }
    Ok(labels)
}

/// The (reason, hard) of each result of one labelled file, in order (an
/// mbox's messages one after the other, as the labels count them).
fn results_of(path: &Path) -> Result<Vec<(Reason, bool)>, BadInput> {
    let mut out = Vec::new();
    for item in super::inspect_paths(&[path.to_path_buf()]) {
        let item = item.map_err(|e| BadInput(format!("{e}; labels.csv names it")))?;
        let parsed =
            super::parse(&item.bytes).map_err(|e| BadInput(format!("{}: {e}", item.label())))?;
        out.extend(parsed.results.iter().map(|r| (r.reason, r.hard)));
    }
    Ok(out)
}

/// Scores `labels` (all of one origin's rows, or all rows) read from
/// files under `dir`, on this thread.
fn score(dir: &Path, labels: &[&Label], misses: &mut Vec<String>) -> Result<Tally, BadInput> {
    let mut tally = Tally::default();
    let mut cache: BTreeMap<&str, Vec<(Reason, bool)>> = BTreeMap::new();
    for label in labels {
        if !cache.contains_key(label.file.as_str()) {
            cache.insert(&label.file, results_of(&dir.join(&label.file))?);
        }
        let got = cache[label.file.as_str()].get(label.index - 1).copied();
        if let Some(miss) = tally.add(label, got) {
            misses.push(miss);
        }
    }
    Ok(tally)
}

/// The figures of each origin of `dir`'s labels, in name order, and the
/// overall ones (origin `all`) last. The origins are scored on `workers`
/// threads, each with that origin's rules off on its own thread.
pub fn evaluate(dir: &Path, workers: usize) -> Result<Vec<Figures>, BadInput> {
    let labels = read_labels(dir)?;
    let mut by_origin: BTreeMap<&str, Vec<&Label>> = BTreeMap::new();
    for l in &labels {
        by_origin.entry(l.module.as_str()).or_default().push(l);
    }
    let origins: Vec<(&str, Vec<&Label>)> = by_origin.into_iter().collect();
    let next = AtomicUsize::new(0);
    let one = |(origin, rows): &(&str, Vec<&Label>)| -> Result<Figures, BadInput> {
        let mut plain_misses = Vec::new();
        let plain = score(dir, rows, &mut plain_misses)?;
        let mut misses = Vec::new();
        let left_out = super::reason::without(origin, || score(dir, rows, &mut misses))?;
        let held: Vec<&Label> = rows.iter().copied().filter(|l| l.heldout).collect();
        let heldout = super::reason::without(origin, || score(dir, &held, &mut Vec::new()))?;
        Ok(Figures {
            origin: origin.to_string(),
            plain,
            left_out,
            heldout,
            plain_misses,
            misses,
        })
    };
    let results: Vec<Result<Figures, BadInput>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(o) = origins.get(i) else { break };
                        mine.push((i, one(o)));
                    }
                    mine
                })
            })
            .collect();
        let mut all: Vec<(usize, Result<Figures, BadInput>)> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, r)| r).collect()
    });
    let mut figures = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut all = Figures {
        origin: "all".into(),
        plain: Tally::default(),
        left_out: Tally::default(),
        heldout: Tally::default(),
        plain_misses: Vec::new(),
        misses: Vec::new(),
    };
    for f in &figures {
        all.plain.merge(&f.plain);
        all.left_out.merge(&f.left_out);
        all.heldout.merge(&f.heldout);
        all.plain_misses.extend(f.plain_misses.iter().cloned());
        all.misses.extend(f.misses.iter().cloned());
    }
    figures.push(all);
    Ok(figures)
}
