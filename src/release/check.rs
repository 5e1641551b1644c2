//! `release check`: render every contact's message of an audience and
//! collect every failure and the warnings a press officer should see before
//! sending.

use std::collections::BTreeMap;

use serde::Serialize;

use super::file::ReleaseFile;
use super::message::{self, AttachmentDirs, Envelope, ATTACHMENT_WARN_BYTES};
use super::{office_time, placeholders, Error, Release, Renderer};
use crate::contacts::Contact;

/// How many contacts a failure or warning lists by name; the rest are counted.
const NAMED: usize = 10;

/// Below this many contacts per thread, [`Checker::add_all`] does not
/// start another thread.
const PER_THREAD: usize = 200;

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
    /// Of those, the messages that failed, per language (only languages
    /// with a failure).
    pub failed_languages: BTreeMap<String, u64>,
    pub errors: Vec<Failure>,
    pub warnings: Vec<String>,
    /// Total attachment size per message, in bytes.
    pub attachment_bytes: u64,
}

impl CheckReport {
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }

    /// How many messages failed to render or build.
    pub fn failed_messages(&self) -> u64 {
        self.failed_languages.values().sum()
    }
}

/// Checks `release` for every contact in `contacts`, with attachments from
/// the release's folder and `dirs` only.
pub fn check(
    release: &Release,
    renderer: Option<&Renderer>,
    setup_error: Option<Error>,
    dirs: &AttachmentDirs,
    contacts: &[Contact],
) -> CheckReport {
    let mut checker = Checker::new(release, renderer, setup_error, dirs);
    checker.add_all(contacts);
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
    greets_by_first_name: bool,
    no_first_name: Sample,
    unmatched: BTreeMap<String, Sample>,
    /// The Message-ID and date every checked message gets: made once (a
    /// random Message-ID per message cost a system call each).
    envelope: Envelope,
}

impl<'a> Checker<'a> {
    pub fn new(
        release: &'a Release,
        renderer: Option<&'a Renderer>,
        setup_error: Option<Error>,
        dirs: &AttachmentDirs,
    ) -> Checker<'a> {
        let mut report = CheckReport {
            release: release.main.name(),
            ..CheckReport::default()
        };
        let mut failures: BTreeMap<String, Sample> = BTreeMap::new();
        if let Some(e) = setup_error {
            failures.entry(e.to_string()).or_default();
        }
        // Attachments: read once; missing files and files from outside the
        // release's folders are errors, big ones a warning.
        for file in release.files() {
            match message::read_attachments(file, dirs) {
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
                }
                Err(e) => {
                    failures.entry(e.to_string()).or_default();
                }
            }
        }
        report
            .warnings
            .extend(embargo_warnings(release, chrono::Utc::now()));
        report
            .warnings
            .extend(placeholder_warnings(release, renderer));
        let greets_by_first_name = release.files().any(|f| {
            f.body.contains("contact.first_name") || f.front.subject.contains("contact.first_name")
        });
        Checker {
            release,
            renderer,
            report,
            failures,
            greets_by_first_name,
            no_first_name: Sample::default(),
            unmatched: BTreeMap::new(),
            envelope: Envelope::new(release),
        }
    }

    /// Renders and builds one contact's message.
    pub fn add(&mut self, contact: &Contact) {
        let built = self.build(contact);
        self.account(contact, built);
    }

    /// Renders and builds the messages of `contacts`, on every core (the
    /// work of a send's planning), and counts them in order, as [`add`]
    /// one by one would.
    ///
    /// [`add`]: Checker::add
    pub fn add_all(&mut self, contacts: &[Contact]) {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(contacts.len().div_ceil(PER_THREAD).max(1));
        let chunk = contacts.len().div_ceil(threads).max(1);
        let this = &*self;
        let built: Vec<Option<Result<(), Error>>> = std::thread::scope(|scope| {
            let mut parts = contacts.chunks(chunk);
            let first = parts.next().unwrap_or(&[]);
            let others: Vec<_> = parts
                .map(|part| {
                    scope.spawn(move || part.iter().map(|c| this.build(c)).collect::<Vec<_>>())
                })
                .collect();
            let mut all: Vec<_> = first.iter().map(|c| this.build(c)).collect();
            for h in others {
                all.extend(h.join().expect("a checking thread panicked"));
            }
            all
        });
        for (contact, built) in contacts.iter().zip(built) {
            self.account(contact, built);
        }
    }

    /// The message of one contact, rendered and built (`None` without a
    /// renderer). Touches nothing: threads share it.
    fn build(&self, contact: &Contact) -> Option<Result<(), Error>> {
        let renderer = self.renderer?;
        let release = self.release;
        let file = release.file_for(contact.language.as_deref());
        // Every header and address, as building the message would; the
        // body's encoding cannot fail and is left to the sending.
        Some(
            renderer
                .render(release, contact)
                .and_then(|r| message::check(file, &r, contact, &self.envelope)),
        )
    }

    /// Counts one contact and the outcome of building its message.
    fn account(&mut self, contact: &Contact, built: Option<Result<(), Error>>) {
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
        let Some(built) = built else {
            return;
        };
        let file = release.file_for(contact.language.as_deref());
        *self
            .report
            .languages
            .entry(file.front.language.clone())
            .or_default() += 1;
        match built {
            Ok(()) => self.report.ok += 1,
            Err(e) => {
                *self
                    .report
                    .failed_languages
                    .entry(file.front.language.clone())
                    .or_default() += 1;
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

/// The files of `release` that set their own value of `key` (from
/// `value`), or differ from the main file's: a variant that inherits a
/// value would repeat the main file's warning.
fn own<'r, T: PartialEq + 'r>(
    release: &'r Release,
    table: Option<&'r str>,
    key: &'r str,
    value: impl Fn(&ReleaseFile) -> T + 'r,
) -> impl Iterator<Item = &'r ReleaseFile> + 'r {
    let main = value(&release.main);
    release.files().enumerate().filter_map(move |(n, f)| {
        (n == 0 || f.key_line(table, key).is_some() || value(f) != main).then_some(f)
    })
}

/// "FILE:LINE" where `file` sets `key`, or "FILE".
fn place(file: &ReleaseFile, table: Option<&str>, key: &str) -> String {
    match file.key_line(table, key) {
        Some(line) => format!("{}:{line}", file.name()),
        None => file.name(),
    }
}

/// Warnings about the embargo as of `now`: one that has lifted already
/// (its messages carry no banner), and a subject that says "embargo" itself
/// (twice, with the prefix presswire adds; or, with no `embargo`, still
/// after the lift).
fn embargo_warnings(release: &Release, now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let mut warnings = Vec::new();
    for file in own(release, None, "embargo", |f| f.embargo) {
        let Some(embargo) = file.embargo.filter(|_| !file.embargo_holds(now)) else {
            continue;
        };
        warnings.push(format!(
            "{}: the embargo lifted at {}: messages written now carry no embargo banner or subject prefix; set a new `embargo` or take it out",
            place(file, None, "embargo"),
            office_time::format(embargo.to_utc(), file.timezone)
        ));
    }
    for file in own(release, None, "subject", |f| f.front.subject.clone()) {
        let subject = file.front.subject.to_lowercase();
        let label = file.strings.embargo_label().to_lowercase();
        let label_word = label.split_whitespace().next().unwrap_or(&label);
        let says = ["embargo", label_word]
            .into_iter()
            .find(|w| w.chars().count() >= 4 && subject.contains(w));
        let Some(word) = says else { continue };
        let at = place(file, None, "subject");
        warnings.push(if file.embargo.is_some() {
            format!(
                "{at}: the subject already says {word:?}, and presswire puts \"[{}]\" before it until the embargo lifts: take it out of `subject`",
                file.strings.embargo("…")
            )
        } else {
            format!(
                "{at}: the subject says {word:?} but the release sets no `embargo`: messages carry no embargo banner, and the subject still says it after the lift; set `embargo = …` and take it out of `subject`"
            )
        });
    }
    warnings
}

/// Warnings about links, addresses and phone numbers left from a template,
/// in the front matter and in the text of each file (as rendered for a
/// made-up contact, so that the layout's links count too).
fn placeholder_warnings(release: &Release, renderer: Option<&Renderer>) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut seen: Vec<placeholders::InFrontMatter> = Vec::new();
    for file in release.files() {
        let front = placeholders::in_front_matter(file);
        for p in &front {
            // A variant inheriting the main file's value repeats its warning.
            if p.line.is_none() && seen.iter().any(|s| s.key == p.key && s.value == p.value) {
                continue;
            }
            let at = match p.line {
                Some(line) => format!("{}:{line}", file.name()),
                None => file.name(),
            };
            warnings.push(format!(
                "{at}: `{}` is {:?}, a placeholder left from a template; put in the real one or take it out",
                p.key, p.value
            ));
        }
        seen.extend(front.iter().cloned());
        let Some(renderer) = renderer else { continue };
        let sample = Contact::sample(
            "alex.sample@presswire.invalid",
            "Alex",
            "Sample",
            Some(file.front.language.clone()),
        );
        let Ok(rendered) = renderer.render(release, &sample) else {
            // The check of each contact's message reports the error.
            continue;
        };
        let in_text: Vec<String> = placeholders::links_in_html(&rendered.html)
            .into_iter()
            .filter(|url| {
                let address = url.strip_prefix("mailto:").unwrap_or(url);
                !front.iter().any(|p| p.value == *url || p.value == address)
            })
            .map(|url| format!("{url:?}"))
            .collect();
        if !in_text.is_empty() {
            warnings.push(format!(
                "{}: the text links to {}, left from a template; put in the real address or take the link out",
                file.name(),
                in_text.join(", ")
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::TemplateSource;

    /// Checking on every core counts, names and orders exactly as checking
    /// one contact after another: failures list the same first contacts.
    #[test]
    fn add_all_reports_as_add_one_by_one() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let release = Release::load(&root.join("releases/example.md")).unwrap();
        let templates = TemplateSource {
            dir: Some(root.join("templates")),
        };
        let renderer = Renderer::new(&release, &templates).unwrap();
        let langs = [None, Some("de"), Some("fr")];
        let contacts: Vec<Contact> = (0..1500)
            .map(|i| {
                // Every 7th name has a line break (a header error), every
                // 5th contact no first name (a warning).
                let first = if i % 5 == 0 { "" } else { "Ana" };
                let mut c = Contact::sample(
                    &format!("c{i}@outlet{}.example", i % 13),
                    first,
                    &format!("Surname{i}"),
                    langs[i % 3].map(String::from),
                );
                if i % 7 == 0 {
                    c.name = Some("Bad\nName".into());
                }
                c
            })
            .collect();
        let dirs = AttachmentDirs::default();
        let mut one = Checker::new(&release, Some(&renderer), None, &dirs);
        for c in &contacts {
            one.add(c);
        }
        let mut all = Checker::new(&release, Some(&renderer), None, &dirs);
        all.add_all(&contacts);
        let (one, all) = (one.finish(), all.finish());
        assert!(one.failed());
        assert_eq!(
            serde_json::to_value(&all).unwrap(),
            serde_json::to_value(&one).unwrap()
        );
    }
}
