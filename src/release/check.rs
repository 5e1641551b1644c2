//! `release check`: render every contact's message of an audience and
//! collect every failure and the warnings a press officer should see before
//! sending.

use std::collections::BTreeMap;

use serde::Serialize;

use super::message::{self, AttachmentFile, Envelope, ATTACHMENT_WARN_BYTES};
use super::{Error, Release, Renderer};
use crate::contacts::Contact;

/// How many contacts a failure or warning lists by name; the rest are counted.
const NAMED: usize = 10;

/// One failure, with the contacts it hit.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// "releases/x.md:12: undefined value …", without the contact.
    pub message: String,
    /// The first contacts it hit (at most ten).
    pub contacts: Vec<String>,
    /// How many contacts it hit.
    pub count: u64,
}

/// The outcome of checking a release against an audience.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    pub release: String,
    pub contacts: u64,
    /// Messages rendered and built without error.
    pub ok: u64,
    /// Contacts per release language (main or variant) they would get.
    pub languages: BTreeMap<String, u64>,
    pub errors: Vec<Failure>,
    pub warnings: Vec<String>,
    /// Total attachment size per message, in bytes.
    pub attachment_bytes: u64,
}

impl CheckReport {
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// Checks `release` for every contact in `contacts`.
pub fn check(
    release: &Release,
    renderer: Option<&Renderer>,
    setup_error: Option<Error>,
    contacts: &[Contact],
) -> CheckReport {
    let mut checker = Checker::new(release, renderer, setup_error);
    for c in contacts {
        checker.add(c);
    }
    checker.finish()
}

/// A few names and a count.
#[derive(Default)]
struct Sample {
    names: Vec<String>,
    count: u64,
}

impl Sample {
    fn push(&mut self, name: &str) {
        if self.names.len() < NAMED {
            self.names.push(name.to_string());
        }
        self.count += 1;
    }

    /// "a, b, c and 7 more".
    fn describe(&self, shown: usize) -> String {
        let mut s = self
            .names
            .iter()
            .take(shown)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        let more = self
            .count
            .saturating_sub(shown.min(self.names.len()) as u64);
        if more > 0 {
            s.push_str(&format!(" and {more} more"));
        }
        s
    }
}

/// Checks contacts one at a time, keeping only counts and a few names, so
/// an audience of any size fits in memory (a send of a million contacts
/// checks every message before the first leaves).
pub struct Checker<'a> {
    release: &'a Release,
    renderer: Option<&'a Renderer>,
    report: CheckReport,
    failures: BTreeMap<String, Sample>,
    attachments: BTreeMap<String, Vec<AttachmentFile>>,
    greets_by_first_name: bool,
    no_first_name: Sample,
    unmatched: BTreeMap<String, Sample>,
}

impl<'a> Checker<'a> {
    pub fn new(
        release: &'a Release,
        renderer: Option<&'a Renderer>,
        setup_error: Option<Error>,
    ) -> Checker<'a> {
        let mut report = CheckReport {
            release: release.main.name(),
            ..CheckReport::default()
        };
        let mut failures: BTreeMap<String, Sample> = BTreeMap::new();
        if let Some(e) = setup_error {
            failures.entry(e.to_string()).or_default();
        }
        // Attachments: read once; missing files are errors, big ones a warning.
        let mut attachments = BTreeMap::new();
        for file in release.files() {
            match message::read_attachments(file) {
                Ok(a) => {
                    let total: u64 = a.iter().map(|a| a.bytes.len() as u64).sum();
                    report.attachment_bytes = report.attachment_bytes.max(total);
                    if total > ATTACHMENT_WARN_BYTES {
                        report.warnings.push(format!(
                            "{}: the attachments add up to {:.1} MB per message; many mail servers refuse more than 10 MB — link to large files instead",
                            file.name(),
                            total as f64 / 1_048_576.0
                        ));
                    }
                    attachments.insert(file.name(), a);
                }
                Err(e) => {
                    failures.entry(e.to_string()).or_default();
                }
            }
        }
        let greets_by_first_name = release.files().any(|f| {
            f.body.contains("contact.first_name") || f.front.subject.contains("contact.first_name")
        });
        Checker {
            release,
            renderer,
            report,
            failures,
            attachments,
            greets_by_first_name,
            no_first_name: Sample::default(),
            unmatched: BTreeMap::new(),
        }
    }

    /// Renders and builds one contact's message.
    pub fn add(&mut self, contact: &Contact) {
        let release = self.release;
        self.report.contacts += 1;
        if self.greets_by_first_name && contact.first_name.as_deref().is_none_or(str::is_empty) {
            self.no_first_name.push(&contact.email);
        }
        if let Some(lang) = contact.language.as_deref() {
            let file = release.file_for(Some(lang));
            let primary = |l: &str| l.split('-').next().unwrap_or(l).to_ascii_lowercase();
            if primary(&file.front.language) != primary(lang) {
                self.unmatched
                    .entry(lang.to_string())
                    .or_default()
                    .push(&contact.email);
            }
        }
        let Some(renderer) = self.renderer else {
            return;
        };
        let file = release.file_for(contact.language.as_deref());
        *self
            .report
            .languages
            .entry(file.front.language.clone())
            .or_default() += 1;
        let attachments = &self.attachments;
        let built = renderer.render(release, contact).and_then(|r| {
            let a = attachments
                .get(&file.name())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            message::build(file, &r, contact, a, &Envelope::new(release))
        });
        match built {
            Ok(_) => self.report.ok += 1,
            Err(e) => {
                let text = e.to_string();
                let suffix = format!(" (rendering for {})", contact.email);
                let key = text.strip_suffix(&suffix).unwrap_or(&text).to_string();
                self.failures.entry(key).or_default().push(&contact.email);
            }
        }
    }

    /// The report, with every failure and warning.
    pub fn finish(self) -> CheckReport {
        let mut report = self.report;
        report.errors = self
            .failures
            .into_iter()
            .map(|(message, s)| Failure {
                message,
                contacts: s.names,
                count: s.count,
            })
            .collect();
        // Nothing rendered proves nothing: say so rather than pass quietly
        // (a mistyped --tag selects nobody).
        if report.contacts == 0 {
            report.warnings.push(
                "the audience has no contacts, so no message was rendered; import contacts or check the audience flags".into(),
            );
        }
        if self.no_first_name.count > 0 {
            report.warnings.push(format!(
                "{} contact(s) have no first name but the release uses contact.first_name: {}",
                self.no_first_name.count,
                self.no_first_name.describe(5)
            ));
        }
        for (lang, who) in self.unmatched {
            report.warnings.push(format!(
                "{} contact(s) have language {lang:?} and the release has no {lang} variant; they get the {} text: {}",
                who.count,
                self.release.main.front.language,
                who.describe(5)
            ));
        }
        report
    }
}
