//! Planning a send: the audience minus suppressed and inactive contacts,
//! every message rendered and checked before the first one leaves, then
//! the send and one delivery per contact written in one transaction.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use chrono::{DateTime, FixedOffset};

use super::bundle::Bundle;
use super::{Error, Settings};
use crate::contacts::{self, Audience, Contact, Status};
use crate::db::{now_ms, Db};
use crate::release::check::{CheckReport, Checker};
use crate::release::message::AttachmentDirs;
use crate::release::{office_time, Release, Renderer, TemplateSource};

/// A send ready to be created. It holds counts, not contacts: an audience
/// of a million is walked page by page, twice (check, then create).
pub struct Plan {
    pub release: Release,
    pub bundle: Bundle,
    pub audience: Audience,
    pub settings: Settings,
    /// Contacts who get the release.
    pub recipients: u64,
    /// Contacts left out, per reason.
    pub skipped: BTreeMap<String, u64>,
    pub check: CheckReport,
    /// When the send may start (epoch ms, from `--at`), if not now.
    pub scheduled_at: Option<i64>,
}

/// The summary printed before asking for confirmation.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub release: String,
    pub recipients: u64,
    pub skipped: BTreeMap<String, u64>,
    pub rate: String,
    pub per_domain: String,
    pub estimated_seconds: Option<f64>,
    /// When the send starts (RFC 3339); `None`: now.
    pub scheduled_at: Option<String>,
    /// The release's time zone (IANA name), in which times are shown.
    pub timezone: Option<String>,
    /// When the release's embargo lifts (RFC 3339, the latest of its
    /// files'): messages written before then carry the banner and prefix.
    pub embargo: Option<String>,
    pub languages: BTreeMap<String, u64>,
    pub warnings: Vec<String>,
}

impl Plan {
    /// When the `--at` time has come (one in the past, or one that passed
    /// while a large send was being planned), the send starts now: returns
    /// what it was waiting for, to say so.
    pub fn start_if_due(&mut self, now: i64) -> Option<String> {
        let t = self.scheduled_at.filter(|t| *t <= now)?;
        self.scheduled_at = None;
        Some(format!("the start time {} has passed", self.office_time(t)))
    }

    /// A time as the press office reads it: in the release's time zone,
    /// with UTC beside it.
    pub fn office_time(&self, ms: i64) -> String {
        office_time::format_ms(ms, self.release.main.timezone)
    }

    /// When the release's embargo lifts: the latest of its files'.
    pub fn embargo(&self) -> Option<DateTime<FixedOffset>> {
        self.release.files().filter_map(|f| f.embargo).max()
    }

    pub fn summary(&self) -> Summary {
        let per_second = self.settings.rate.per_second();
        let estimated_seconds = per_second
            .is_finite()
            .then(|| self.recipients as f64 / per_second);
        let mut warnings = self.check.warnings.clone();
        warnings.extend(self.embargo_warning(now_ms(), estimated_seconds));
        Summary {
            release: self.release.main.name(),
            recipients: self.recipients,
            skipped: self.skipped.clone(),
            rate: self.settings.rate.to_string(),
            per_domain: self.settings.per_domain.to_string(),
            estimated_seconds,
            scheduled_at: self.scheduled_at.map(crate::contacts::format_time),
            timezone: self.release.main.front.timezone.clone(),
            embargo: self.embargo().map(|e| e.to_rfc3339()),
            languages: self.check.languages.clone(),
            warnings,
        }
    }

    /// A send that starts, or at its pace ends, after the embargo lifts:
    /// the messages written from then on carry no banner, which the press
    /// officer should know before confirming. (An embargo already past is
    /// one of the check's warnings.)
    fn embargo_warning(&self, now: i64, estimated_seconds: Option<f64>) -> Option<String> {
        let lifts = self.embargo()?.timestamp_millis();
        let start = self.scheduled_at.unwrap_or(now).max(now);
        if lifts <= now {
            return None;
        }
        if start >= lifts {
            return Some(format!(
                "the send starts after the embargo lifts ({}): its messages carry no embargo banner or subject prefix",
                self.office_time(lifts)
            ));
        }
        let ends = start + (estimated_seconds? * 1000.0) as i64;
        (ends > lifts).then(|| {
            format!(
                "at {} the send takes until about {}, after the embargo lifts ({}): messages written from then on carry no embargo banner or subject prefix",
                self.settings.rate,
                self.office_time(ends),
                self.office_time(lifts)
            )
        })
    }
}

/// Contacts read per page when walking an audience.
const PAGE: i64 = 2_000;

/// Why a contact is left out of a send, if it is.
fn skip_reason(c: &Contact) -> Option<String> {
    if let Some(reason) = &c.suppressed {
        Some(format!("suppressed ({reason})"))
    } else if c.status != Status::Active {
        Some(format!("status {}", c.status))
    } else {
        None
    }
}

/// What a send is planned from, besides its audience and settings.
pub struct Source<'a> {
    pub release: &'a Path,
    pub templates: &'a TemplateSource,
    /// Folders attachments may come from besides the release's own.
    pub attachment_dirs: &'a AttachmentDirs,
    /// `--at`, epoch ms.
    pub at: Option<i64>,
}

/// Resolves the audience, leaves out whom a send must skip, and renders
/// every message. A release error stops the plan with every failure listed.
pub async fn plan(
    db: &Db,
    source: Source<'_>,
    audience: Audience,
    settings: Settings,
) -> Result<Plan, Error> {
    let release = Release::load(source.release)?;
    let renderer = Renderer::new(&release, source.templates)?;
    let mut checker = Checker::new(&release, Some(&renderer), None, source.attachment_dirs);
    let mut recipients = 0;
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    // Each page is read while the one before it is checked: the database
    // works on its own thread while checking keeps the cores busy.
    let read = |after: Option<String>| {
        let (db, audience) = (db.clone(), audience.clone());
        tokio::spawn(
            async move { contacts::list_page(&db, &audience, after.as_deref(), PAGE).await },
        )
    };
    let mut next = read(None);
    loop {
        let page = next
            .await
            .map_err(|e| Error::Input(format!("reading the audience: {e}")))??;
        let Some(last) = page.last() else { break };
        next = read(Some(last.email.to_lowercase()));
        let mut to_check = Vec::with_capacity(page.len());
        for c in page {
            match skip_reason(&c) {
                Some(why) => *skipped.entry(why).or_default() += 1,
                None => {
                    recipients += 1;
                    to_check.push(c);
                }
            }
        }
        checker.add_all(&to_check);
    }
    let report = checker.finish();
    if report.failed() {
        let lines: Vec<String> = report
            .errors
            .iter()
            .map(|f| {
                if f.contacts.is_empty() {
                    f.message.clone()
                } else {
                    let shown: Vec<&str> = f.contacts.iter().take(5).map(String::as_str).collect();
                    format!(
                        "{} (for {} contact(s): {})",
                        f.message,
                        f.count,
                        shown.join(", ")
                    )
                }
            })
            .collect();
        return Err(Error::Input(format!(
            "nothing was sent: the release does not render for every contact:\n  {}",
            lines.join("\n  ")
        )));
    }
    // After the check, which lists every problem with the attachments.
    let bundle = Bundle::collect(&release, source.templates, source.attachment_dirs)?;
    // A time already past is kept: `start_if_due` says so and starts now.
    // An embargo schedules nothing: the release goes out ahead of it, and
    // each message carries the banner if it is written before the lift.
    Ok(Plan {
        release,
        bundle,
        audience,
        settings,
        recipients,
        skipped,
        check: report,
        scheduled_at: source.at,
    })
}
