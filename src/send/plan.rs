//! Planning a send: the audience minus suppressed and inactive contacts,
//! every message rendered and checked before the first one leaves, then
//! the send and one delivery per contact written in one transaction.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::bundle::Bundle;
use super::{Error, SendState, Settings};
use crate::contacts::{self, Audience, Contact, Status};
use crate::db::{now_ms, Db, Params};
use crate::release::check::{CheckReport, Checker};
use crate::release::{Release, Renderer, TemplateSource};

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
    /// When the send may start (epoch ms), if not now.
    pub scheduled_at: Option<i64>,
    /// Why it is scheduled ("embargo until …"), for the summary.
    pub schedule_reason: Option<String>,
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
    pub scheduled_at: Option<String>,
    pub languages: BTreeMap<String, u64>,
    pub warnings: Vec<String>,
}

impl Plan {
    /// When the time the send was to wait for has come (an `--at` in the
    /// past, or one that passed while a large send was being planned, or an
    /// embargo that lifted meanwhile), the send starts now: returns what it
    /// was waiting for, to say so.
    pub fn start_if_due(&mut self, now: i64) -> Option<String> {
        let t = self.scheduled_at.filter(|t| *t <= now)?;
        self.scheduled_at = None;
        self.schedule_reason = None;
        Some(format!(
            "the start time {} has passed",
            crate::contacts::format_time(t)
        ))
    }

    pub fn summary(&self) -> Summary {
        let per_second = self.settings.rate.per_second();
        Summary {
            release: self.release.main.name(),
            recipients: self.recipients,
            skipped: self.skipped.clone(),
            rate: self.settings.rate.to_string(),
            per_domain: self.settings.per_domain.to_string(),
            estimated_seconds: per_second
                .is_finite()
                .then(|| self.recipients as f64 / per_second),
            scheduled_at: self.scheduled_at.map(crate::contacts::format_time),
            languages: self.check.languages.clone(),
            warnings: self.check.warnings.clone(),
        }
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

/// Resolves the audience, leaves out whom a send must skip, and renders
/// every message. A release error stops the plan with every failure listed.
pub async fn plan(
    db: &Db,
    release_path: &Path,
    templates: &TemplateSource,
    audience: Audience,
    settings: Settings,
    at: Option<i64>,
) -> Result<Plan, Error> {
    let release = Release::load(release_path)?;
    let renderer = Renderer::new(&release, templates)?;
    let bundle = Bundle::collect(&release, templates)?;
    let mut checker = Checker::new(&release, Some(&renderer), None);
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
    // A time already past is kept: `start_if_due` says so and starts now.
    let mut scheduled_at = at;
    let mut schedule_reason =
        scheduled_at.map(|t| format!("--at {}", crate::contacts::format_time(t)));
    if !settings.ignore_embargo {
        if let Some(embargo) = release.files().filter_map(|f| f.embargo).max() {
            let lifts = embargo.timestamp_millis();
            if lifts > now_ms() && scheduled_at.is_none_or(|t| t < lifts) {
                scheduled_at = Some(lifts);
                schedule_reason = Some(format!(
                    "the embargo lifts at {} (--ignore-embargo sends now)",
                    embargo.to_rfc3339()
                ));
            }
        }
    }
    Ok(Plan {
        release,
        bundle,
        audience,
        settings,
        recipients,
        skipped,
        check: report,
        scheduled_at,
        schedule_reason,
    })
}

/// Creates the send and its deliveries in one transaction; returns the send's id.
pub async fn create(db: &Db, plan: &Plan) -> Result<i64, Error> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let main = &plan.release.main.front;
    let bundle = serde_json::to_string(&plan.bundle).map_err(|e| Error::Input(e.to_string()))?;
    // The release as sent; the same file sent twice shares one row.
    let (release_id,): (i64,) = sqlx::query_as(
        "INSERT INTO releases (slug, title, subject, source_path, source_hash, bundle, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (slug, source_hash) DO UPDATE SET bundle = excluded.bundle \
         RETURNING id",
    )
    .bind(&plan.release.slug)
    .bind(&main.title)
    .bind(&main.subject)
    .bind(plan.release.main.name())
    .bind(&plan.release.source_hash)
    .bind(bundle)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let state = if plan.scheduled_at.is_some() {
        SendState::Scheduled
    } else {
        SendState::Running
    };
    // The send, with its audience and settings for every worker to read.
    let (send_id,): (i64,) = sqlx::query_as(
        "INSERT INTO sends (release_id, audience, settings, state, scheduled_at, created_at, started_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(release_id)
    .bind(serde_json::to_string(&plan.audience).unwrap_or_else(|_| "{}".into()))
    .bind(serde_json::to_string(&plan.settings).unwrap_or_else(|_| "{}".into()))
    .bind(state.as_str())
    .bind(plan.scheduled_at)
    .bind(now)
    .bind(plan.scheduled_at.is_none().then_some(now))
    .fetch_one(&mut *tx)
    .await?;
    // One delivery per contact, in address order (which spreads domains
    // evenly); the skipped ones too, with why (as `skip_reason` words it),
    // so the report can say who was left out. One statement: the rows
    // never leave the database.
    let mut params = Params::new();
    let send_p = params.push(send_id);
    let now_p = params.push(now);
    let audience = contacts::audience_sql(&plan.audience, &mut params);
    let why = "CASE WHEN a.suppressed IS NOT NULL THEN 'suppressed (' || a.suppressed || ')' \
               WHEN a.status <> 'active' THEN 'status ' || a.status END";
    let sql = format!(
        "INSERT INTO deliveries (send_id, contact_id, email, state, skip_reason, created_at, updated_at) \
         SELECT {send_p}, a.id, a.email, CASE WHEN ({why}) IS NULL THEN 'queued' ELSE 'skipped' END, \
                {why}, {now_p}, {now_p} \
         FROM ({audience}) a ORDER BY a.email_key"
    );
    params.query(&sql).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(send_id)
}
