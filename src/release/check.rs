//! `release check`: render every contact's message of an audience and
//! collect every failure and the warnings a press officer should see before
//! sending.

use std::collections::BTreeMap;

use serde::Serialize;

use super::message::{self, AttachmentFile, Envelope, ATTACHMENT_WARN_BYTES};
use super::{Error, Release, Renderer};
use crate::contacts::Contact;

/// One failure, with the contacts it hit.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// "releases/x.md:12: undefined value …", without the contact.
    pub message: String,
    pub contacts: Vec<String>,
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
    let mut report = CheckReport {
        release: release.main.name(),
        contacts: contacts.len() as u64,
        ..CheckReport::default()
    };
    let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(e) = setup_error {
        failures.entry(e.to_string()).or_default();
    }

    // Attachments: read once; missing files are errors, big ones a warning.
    let mut attachments: BTreeMap<String, Vec<AttachmentFile>> = BTreeMap::new();
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

    if let Some(renderer) = renderer {
        for contact in contacts {
            let file = release.file_for(contact.language.as_deref());
            *report
                .languages
                .entry(file.front.language.clone())
                .or_default() += 1;
            let built = renderer.render(release, contact).and_then(|r| {
                let a = attachments
                    .get(&file.name())
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                message::build(file, &r, contact, a, &Envelope::new(release))
            });
            match built {
                Ok(_) => report.ok += 1,
                Err(e) => {
                    let text = e.to_string();
                    let suffix = format!(" (rendering for {})", contact.email);
                    let key = text.strip_suffix(&suffix).unwrap_or(&text).to_string();
                    failures.entry(key).or_default().push(contact.email.clone());
                }
            }
        }
    }
    report.errors = failures
        .into_iter()
        .map(|(message, contacts)| Failure { message, contacts })
        .collect();

    // Greeting by first name without one.
    if release.files().any(|f| {
        f.body.contains("contact.first_name") || f.front.subject.contains("contact.first_name")
    }) {
        let missing: Vec<&str> = contacts
            .iter()
            .filter(|c| c.first_name.as_deref().is_none_or(str::is_empty))
            .map(|c| c.email.as_str())
            .collect();
        if !missing.is_empty() {
            report.warnings.push(format!(
                "{} contact(s) have no first name but the release uses contact.first_name: {}",
                missing.len(),
                sample(&missing)
            ));
        }
    }
    // Languages with no variant.
    let mut unmatched: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for c in contacts {
        if let Some(lang) = c.language.as_deref() {
            let file = release.file_for(Some(lang));
            let primary = |l: &str| l.split('-').next().unwrap_or(l).to_ascii_lowercase();
            if primary(&file.front.language) != primary(lang) {
                unmatched
                    .entry(lang.to_string())
                    .or_default()
                    .push(&c.email);
            }
        }
    }
    for (lang, who) in unmatched {
        report.warnings.push(format!(
            "{} contact(s) have language {lang:?} and the release has no {lang} variant; they get the {} text: {}",
            who.len(),
            release.main.front.language,
            sample(&who)
        ));
    }
    report
}

/// The first few items and how many more.
fn sample(items: &[&str]) -> String {
    const SHOWN: usize = 5;
    let mut s = items
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}
