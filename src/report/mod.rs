//! Delivery reports: what became of one send — counts per outcome, bounces
//! by reason, breakdowns by recipient domain, outlet, country and
//! language, a timeline, and the contacts to fix — and the renderers that
//! write it as CSV, JSON and HTML; a comparison of recent sends.
//!
//! It only reads: it classifies no bounce and changes no contact. Terminal
//! tables are printed by `cli/report.rs`. What every number means, and the
//! CSV and JSON formats, are documented in docs/reports.md: keep the two in
//! step.

pub mod compare;
pub mod deliveries;
pub mod html;
pub mod names;
mod store;

use std::collections::{BTreeMap, HashMap, HashSet};

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::contacts::{format_time, Audience};
use crate::db::Db;
use crate::send::DeliveryState;

/// The version of the JSON report (and of the CSV columns): raised when a
/// field changes meaning or goes away, not when one is added.
pub const VERSION: u32 = 1;

/// An error of reporting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// No send with this id.
    #[error("there is no send {0}")]
    NoSuchSend(i64),
    /// The HTML template failed (a bug, or an edited template).
    #[error("the HTML report: {0}")]
    Template(String),
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl crate::error::HasKind for Error {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::NoSuchSend(_) => ErrorKind::BadInput,
            Error::Db(e) => crate::error::db_kind(e),
            Error::Template(_) | Error::Csv(_) | Error::Io(_) => ErrorKind::Failure,
        }
    }
}

/// What became of one delivery: every delivery has exactly one outcome, so
/// the outcomes of a send add up to its audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Accepted by the relay, and no bounce said otherwise.
    Delivered,
    /// A hard or soft bounce: refused at SMTP time, or returned later.
    Bounced,
    /// Failed without a bounce: given up after retries, or not accepted.
    Failed,
    /// Refused for now; retried later.
    Deferred,
    /// Not tried yet (queued) or being sent.
    Pending,
    /// Was being sent when its worker stopped: it may have arrived.
    Uncertain,
    /// The send was cancelled before it went.
    Cancelled,
    /// Left out when the send was planned (suppressed, inactive).
    Skipped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Bounced => "bounced",
            Outcome::Failed => "failed",
            Outcome::Deferred => "deferred",
            Outcome::Pending => "pending",
            Outcome::Uncertain => "uncertain",
            Outcome::Cancelled => "cancelled",
            Outcome::Skipped => "skipped",
        }
    }

    /// The outcome of a delivery in `state`, given whether a hard or soft
    /// bounce names it.
    pub fn of(state: &str, failure_bounce: bool) -> Outcome {
        let state: Option<DeliveryState> = state.parse().ok();
        match state {
            Some(DeliveryState::Skipped) => Outcome::Skipped,
            Some(DeliveryState::Bounced) => Outcome::Bounced,
            _ if failure_bounce => Outcome::Bounced,
            Some(DeliveryState::Sent) => Outcome::Delivered,
            Some(DeliveryState::Failed) => Outcome::Failed,
            Some(DeliveryState::Deferred) => Outcome::Deferred,
            Some(DeliveryState::Queued | DeliveryState::Sending) | None => Outcome::Pending,
            Some(DeliveryState::Uncertain) => Outcome::Uncertain,
            Some(DeliveryState::Cancelled) => Outcome::Cancelled,
        }
    }
}

/// Deliveries per outcome (and complaints) of a send or of one group of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Deliveries the send was meant to make: every outcome but skipped.
    pub targeted: i64,
    pub delivered: i64,
    pub bounced: i64,
    pub failed: i64,
    pub deferred: i64,
    pub pending: i64,
    pub uncertain: i64,
    pub cancelled: i64,
    pub skipped: i64,
    /// Deliveries a recipient reported as spam.
    pub complaints: i64,
}

impl Tally {
    fn slot(&mut self, o: Outcome) -> &mut i64 {
        match o {
            Outcome::Delivered => &mut self.delivered,
            Outcome::Bounced => &mut self.bounced,
            Outcome::Failed => &mut self.failed,
            Outcome::Deferred => &mut self.deferred,
            Outcome::Pending => &mut self.pending,
            Outcome::Uncertain => &mut self.uncertain,
            Outcome::Cancelled => &mut self.cancelled,
            Outcome::Skipped => &mut self.skipped,
        }
    }

    fn add(&mut self, o: Outcome, n: i64) {
        *self.slot(o) += n;
        if o != Outcome::Skipped {
            self.targeted += n;
        }
    }

    /// Moves one delivery from outcome `from` to `to`.
    fn change(&mut self, from: Outcome, to: Outcome) {
        if from != to {
            self.add(from, -1);
            self.add(to, 1);
        }
    }

    /// Delivered / targeted, if anything was targeted.
    pub fn delivery_rate(&self) -> Option<f64> {
        ratio(self.delivered, self.targeted)
    }
}

fn ratio(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| (a as f64 / b as f64 * 10_000.0).round() / 10_000.0)
}

/// The send as the report names it.
#[derive(Debug, Clone, Serialize)]
pub struct SendSummary {
    pub id: i64,
    pub release: String,
    pub title: Option<String>,
    /// The release's subject as a contact with no fields sees it.
    pub subject: Option<String>,
    pub state: String,
    /// The audience's filters, in words ("everyone" when none).
    pub audience: String,
    pub audience_filters: Audience,
    pub created_at: String,
    pub scheduled_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// The release's time zone (IANA name): the report shows the send's
    /// times in it.
    pub timezone: Option<String>,
    /// When the release's embargo lifted or lifts, if it has one.
    pub embargo_at: Option<String>,
}

/// The headline numbers (docs/reports.md defines each).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Every contact the audience matched: one delivery each.
    pub audience: i64,
    pub skipped: i64,
    /// audience − skipped.
    pub targeted: i64,
    /// Accepted by the relay (some of these bounced later).
    pub sent: i64,
    pub delivered: i64,
    pub bounced: i64,
    pub bounced_hard: i64,
    pub bounced_soft: i64,
    pub failed: i64,
    pub deferred: i64,
    pub pending: i64,
    pub uncertain: i64,
    pub cancelled: i64,
    pub complaints: i64,
    pub auto_replies: i64,
    pub unsubscribed: i64,
    pub needs_update: i64,
}

/// One line of the headline table (`report`'s table, the dashboard's send
/// page): what it counts, its key in the JSON's `counts`, the number, and
/// its share of the targeted deliveries ("97.3 %") where one makes sense.
#[derive(Debug, Clone, Serialize)]
pub struct HeadlineRow {
    pub label: &'static str,
    pub key: &'static str,
    pub n: i64,
    /// A part of the line above it (hard and soft of bounced).
    pub sub: bool,
    pub share: Option<String>,
}

impl Counts {
    /// Every count, in the order the headline table shows them.
    pub fn rows(&self) -> Vec<HeadlineRow> {
        let share = |n: i64| {
            Some(html::percent(
                (self.targeted > 0).then(|| n as f64 / self.targeted as f64),
            ))
        };
        let row = |label, key, n, share| HeadlineRow {
            label,
            key,
            n,
            sub: false,
            share,
        };
        let sub = |label, key, n| HeadlineRow {
            sub: true,
            ..row(label, key, n, None)
        };
        vec![
            row("audience", "audience", self.audience, None),
            row("skipped", "skipped", self.skipped, None),
            row("targeted", "targeted", self.targeted, None),
            row(
                "sent (accepted by the relay)",
                "sent",
                self.sent,
                share(self.sent),
            ),
            row(
                "delivered",
                "delivered",
                self.delivered,
                share(self.delivered),
            ),
            row("bounced", "bounced", self.bounced, share(self.bounced)),
            sub("hard", "bounced_hard", self.bounced_hard),
            sub("soft", "bounced_soft", self.bounced_soft),
            row("failed", "failed", self.failed, share(self.failed)),
            row("deferred", "deferred", self.deferred, share(self.deferred)),
            row("queued", "pending", self.pending, share(self.pending)),
            row(
                "uncertain",
                "uncertain",
                self.uncertain,
                share(self.uncertain),
            ),
            row(
                "cancelled",
                "cancelled",
                self.cancelled,
                share(self.cancelled),
            ),
            row("complaints", "complaints", self.complaints, None),
            row("auto-replies", "auto_replies", self.auto_replies, None),
            row(
                "unsubscribed since",
                "unsubscribed",
                self.unsubscribed,
                None,
            ),
            row("needs update", "needs_update", self.needs_update, None),
        ]
    }
}

/// Shares of the targeted deliveries, as fractions (0.9731, not 97.31).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rates {
    /// delivered / targeted.
    pub delivery_rate: Option<f64>,
    /// bounced / targeted.
    pub bounce_rate: Option<f64>,
    /// complaints / sent.
    pub complaint_rate: Option<f64>,
    /// unsubscribed / sent.
    pub unsubscribe_rate: Option<f64>,
}

/// When messages went out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timing {
    pub first_sent_at: Option<String>,
    pub last_sent_at: Option<String>,
    /// From the first to the last message accepted, in seconds.
    pub duration_seconds: Option<f64>,
    /// sent / duration, per minute.
    pub messages_per_minute: Option<f64>,
}

/// A number of deliveries with one reason.
#[derive(Debug, Clone, Serialize)]
pub struct ReasonCount {
    pub reason: String,
    pub count: i64,
}

/// Bounced deliveries with one kind and reason.
#[derive(Debug, Clone, Serialize)]
pub struct BounceReason {
    pub kind: String,
    pub reason: String,
    pub count: i64,
}

/// One value of a breakdown (an outlet, a domain…) and its tally.
#[derive(Debug, Clone, Serialize)]
pub struct GroupRow {
    /// The outlet, domain, country or language; null when the contact has none.
    pub value: Option<String>,
    /// The value as a reader sees it ([`names`]): "DE Germany" for a
    /// country, "fr (got en)" for a language the release had no variant
    /// in; "(none)" for no value.
    pub label: String,
    #[serde(flatten)]
    pub tally: Tally,
    pub delivery_rate: Option<f64>,
}

/// Messages accepted in one minute.
#[derive(Debug, Clone, Serialize)]
pub struct MinutePoint {
    pub at: String,
    #[serde(skip)]
    pub ms: i64,
    pub sent: i64,
}

/// Bounces, complaints and auto-replies received in one interval.
#[derive(Debug, Clone, Serialize)]
pub struct BouncePoint {
    pub at: String,
    #[serde(skip)]
    pub ms: i64,
    pub hard: i64,
    pub soft: i64,
    pub complaints: i64,
    pub auto_replies: i64,
}

/// The timeline of a send.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    /// Minutes in which messages were accepted (others are left out).
    pub sent_per_minute: Vec<MinutePoint>,
    /// The length of one interval of `bounces`.
    pub bounce_interval_minutes: i64,
    /// Intervals in which anything came back (others are left out).
    pub bounces: Vec<BouncePoint>,
}

/// A contact whose record needs attention after this send.
#[derive(Debug, Clone, Serialize)]
pub struct ToFix {
    pub delivery_id: i64,
    pub email: String,
    pub name: Option<String>,
    pub outlet: Option<String>,
    pub contact_status: Option<String>,
    /// `hard-bounce`, `soft-bounce` or `needs-update`.
    pub problem: String,
    pub reason: Option<String>,
    pub status_code: Option<String>,
    /// The receiving server's own words.
    pub diagnostic: Option<String>,
    pub at: Option<String>,
}

/// A delivery whose fate is unknown.
#[derive(Debug, Clone, Serialize)]
pub struct Uncertain {
    pub delivery_id: i64,
    pub email: String,
    pub name: Option<String>,
    pub outlet: Option<String>,
    pub attempts: i64,
    pub since: String,
    pub last_reply: Option<String>,
}

/// A whole delivery report: the JSON format (docs/reports.md).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    pub generated_at: String,
    pub send: SendSummary,
    pub counts: Counts,
    pub rates: Rates,
    pub timing: Timing,
    /// Deliveries per state as stored (`presswire sends status` shows the same).
    pub states: BTreeMap<String, i64>,
    pub skipped: Vec<ReasonCount>,
    pub bounce_reasons: Vec<BounceReason>,
    pub by_domain: Vec<GroupRow>,
    pub by_outlet: Vec<GroupRow>,
    pub by_country: Vec<GroupRow>,
    pub by_language: Vec<GroupRow>,
    pub timeline: Timeline,
    pub to_fix: Vec<ToFix>,
    pub uncertain: Vec<Uncertain>,
}

/// What the bounces table says about one delivery of the send.
#[derive(Debug, Clone, Default)]
pub struct DeliveryBounces {
    /// The delivery's state.
    pub state: String,
    /// The delivery's contact's outlet, country, language and domain.
    pub key: store::GroupKey,
    /// The bounce that decides: the latest hard one, else the latest soft one.
    pub failure: Option<store::BounceRow>,
    pub complaint: bool,
    pub auto_reply: bool,
}

impl DeliveryBounces {
    fn add(&mut self, b: store::BounceRow) {
        if self.state.is_empty() {
            self.state = b.state.clone();
            self.key = store::GroupKey {
                outlet: b.outlet.clone().unwrap_or_default(),
                country: b.country.clone().unwrap_or_default(),
                language: b.language.clone().unwrap_or_default(),
                domain: b.domain.clone().unwrap_or_default(),
            };
        }
        match b.kind.as_str() {
            "complaint" => self.complaint = true,
            "auto-reply" => self.auto_reply = true,
            "hard" | "soft" => {
                let rank = |r: &store::BounceRow| (r.kind == "hard", r.received_at);
                if self.failure.as_ref().is_none_or(|f| rank(&b) > rank(f)) {
                    self.failure = Some(b);
                }
            }
            _ => {}
        }
    }

    /// Whether the delivery was skipped (a bounce can only be attributed
    /// to it by mistake: nothing was sent).
    fn skipped(&self) -> bool {
        self.state == "skipped"
    }
}

/// The per-delivery facts a report and the CSV share: bounces by delivery,
/// and the deliveries whose contact unsubscribed.
pub struct Facts {
    pub send: store::SendRow,
    pub states: Vec<store::StateRow>,
    pub bounces: HashMap<i64, DeliveryBounces>,
    /// Every bounce row, for the timeline.
    pub bounce_rows: Vec<(String, i64)>,
    pub unsubscribed: HashSet<i64>,
}

impl Facts {
    /// Reads the facts of send `id`.
    pub async fn load(db: &Db, id: i64) -> Result<Facts, Error> {
        let send = store::send(db, id).await?.ok_or(Error::NoSuchSend(id))?;
        let states = timed("states", store::states(db, id)).await?;
        let ids = (
            states.iter().map(|s| s.first_id).min().unwrap_or(0),
            states.iter().map(|s| s.last_id).max().unwrap_or(-1),
        );
        let since = send.started_at.unwrap_or(send.created_at);
        let (rows, unsubscribed) = tokio::try_join!(
            timed("bounces", store::bounces(db, id, ids)),
            timed("unsubscribes", store::unsubscribed(db, id, since))
        )?;
        let mut bounces: HashMap<i64, DeliveryBounces> = HashMap::with_capacity(rows.len());
        let mut bounce_rows = Vec::with_capacity(rows.len());
        for b in rows {
            bounce_rows.push((b.kind.clone(), b.received_at));
            bounces.entry(b.delivery_id).or_default().add(b);
        }
        Ok(Facts {
            send,
            states,
            bounces,
            bounce_rows,
            unsubscribed: unsubscribed.into_iter().collect(),
        })
    }

    /// The outcome of delivery `id` in `state`.
    pub fn outcome(&self, id: i64, state: &str) -> Outcome {
        let failure = self.bounces.get(&id).is_some_and(|b| b.failure.is_some());
        Outcome::of(state, failure)
    }

    /// The send's tally: the states, corrected by the bounces.
    fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for s in &self.states {
            t.add(Outcome::of(&s.state, false), s.n);
        }
        for b in self.bounces.values() {
            if b.failure.is_some() {
                t.change(Outcome::of(&b.state, false), Outcome::of(&b.state, true));
            }
        }
        t.complaints = self
            .bounces
            .values()
            .filter(|b| b.complaint && !b.skipped())
            .count() as i64;
        t
    }
}

/// The headline counts of send `id` (`presswire reports` shows them for
/// several sends).
pub async fn counts(db: &Db, id: i64) -> Result<(SendSummary, Counts, Rates), Error> {
    let facts = Facts::load(db, id).await?;
    let counts = headline(&facts, facts.tally(), 0);
    Ok((summary(&facts.send), counts.clone(), rates(&counts)))
}

/// A send's deliveries as the lists of sends count them (`presswire
/// sends`, the dashboard's list of sends): the report's outcomes
/// ([`counts`]), with those not decided yet (deferred, queued, being sent)
/// together as pending, and uncertain, cancelled and skipped together as
/// other. One definition, so that every list says "delivered" as the
/// report does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SendProgress {
    pub total: i64,
    pub delivered: i64,
    pub bounced: i64,
    pub failed: i64,
    pub pending: i64,
    pub other: i64,
}

impl SendProgress {
    /// The progress of a send with these headline counts.
    pub fn of(c: &Counts) -> SendProgress {
        SendProgress {
            total: c.audience,
            delivered: c.delivered,
            bounced: c.bounced,
            failed: c.failed,
            pending: c.deferred + c.pending,
            other: c.uncertain + c.cancelled + c.skipped,
        }
    }

    /// The share of deliveries no longer pending, 0–100.
    pub fn done_percent(&self) -> i64 {
        if self.total > 0 {
            (self.total - self.pending) * 100 / self.total
        } else {
            100
        }
    }
}

/// [`SendProgress`] of send `id`.
pub async fn progress(db: &Db, id: i64) -> Result<SendProgress, Error> {
    let (_, c, _) = counts(db, id).await?;
    Ok(SendProgress::of(&c))
}

fn headline(facts: &Facts, t: Tally, needs_update: i64) -> Counts {
    let state = |s: &str| {
        facts
            .states
            .iter()
            .filter(|r| r.state == s)
            .map(|r| r.n)
            .sum::<i64>()
    };
    let failures = || {
        facts
            .bounces
            .values()
            .filter(|b| !b.skipped())
            .filter_map(|b| b.failure.as_ref())
    };
    // Bounced deliveries whose record says which kind (one erased by
    // `contacts forget` does not).
    let kind = |k: &str| failures().filter(|f| f.kind == k).count() as i64;
    Counts {
        audience: t.targeted + t.skipped,
        skipped: t.skipped,
        targeted: t.targeted,
        sent: state("sent") + state("bounced"),
        delivered: t.delivered,
        bounced: t.bounced,
        bounced_hard: kind("hard"),
        bounced_soft: kind("soft"),
        failed: t.failed,
        deferred: t.deferred,
        pending: t.pending,
        uncertain: t.uncertain,
        cancelled: t.cancelled,
        complaints: t.complaints,
        auto_replies: facts
            .bounces
            .values()
            .filter(|b| b.auto_reply && !b.skipped())
            .count() as i64,
        unsubscribed: facts.unsubscribed.len() as i64,
        needs_update,
    }
}

fn rates(c: &Counts) -> Rates {
    Rates {
        delivery_rate: ratio(c.delivered, c.targeted),
        bounce_rate: ratio(c.bounced, c.targeted),
        complaint_rate: ratio(c.complaints, c.sent),
        unsubscribe_rate: ratio(c.unsubscribed, c.sent),
    }
}

fn summary(s: &store::SendRow) -> SendSummary {
    let filters: Audience = serde_json::from_str(&s.audience).unwrap_or_default();
    SendSummary {
        id: s.id,
        release: s.slug.clone(),
        title: s.title.clone(),
        subject: s.subject.as_deref().map(plain_subject),
        state: s.state.clone(),
        audience: describe_audience(&filters),
        audience_filters: filters,
        created_at: format_time(s.created_at),
        scheduled_at: s.scheduled_at.map(format_time),
        started_at: s.started_at.map(format_time),
        finished_at: s.finished_at.map(format_time),
        timezone: s.timezone.clone(),
        embargo_at: s.embargo_at.map(format_time),
    }
}

/// The release's subject (a template) as a contact with no fields sees it;
/// the template text itself if it does not render.
fn plain_subject(template: &str) -> String {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env.render_str(
        template,
        minijinja::context! { contact => minijinja::context! {} },
    )
    .map(|s| s.trim().to_string())
    .unwrap_or_else(|_| template.to_string())
}

/// The audience's filters in words: "tag press or radio; country DE".
pub fn describe_audience(a: &Audience) -> String {
    let mut parts = Vec::new();
    for (what, values) in [
        ("tag", &a.tags),
        ("country", &a.countries),
        ("language", &a.languages),
        ("beat", &a.beats),
        ("outlet", &a.outlets),
    ] {
        if !values.is_empty() {
            parts.push(format!("{what} {}", values.join(" or ")));
        }
        if what == "tag" && !a.require_tags.is_empty() {
            parts.push(format!("every tag of {}", a.require_tags.join(", ")));
        }
        if what == "tag" && !a.exclude_tags.is_empty() {
            parts.push(format!("no tag {}", a.exclude_tags.join(" or ")));
        }
    }
    if parts.is_empty() {
        "everyone".to_string()
    } else {
        parts.join("; ")
    }
}

/// Builds the report of send `id`.
///
/// A command that reads a large send should first map the database
/// ([`Db::map_for_reading`]); `presswire report` does.
pub async fn build(db: &Db, id: i64) -> Result<Report, Error> {
    // Everything at once: SQLite readers work side by side in WAL mode.
    let minutes = async {
        match store::sent_span(db, id).await? {
            (Some(first), Some(last)) => Ok((
                Some((first, last)),
                store::sent_per_minute(db, id, first, last).await?,
            )),
            _ => Ok::<_, sqlx::Error>((None, Vec::new())),
        }
    };
    let ((span, minutes), facts, groups, uncertain, skipped, needs_update, release) = tokio::try_join!(
        timed("timeline", minutes),
        timed("facts", Facts::load(db, id)),
        timed("breakdowns", store::groups(db, id)),
        timed("uncertain", store::uncertain(db, id)),
        timed("skipped", store::skip_reasons(db, id)),
        timed("needs update", store::needs_update(db, id)),
        timed("release", sent_release(db, id)),
    )?;
    let needs_update_n = needs_update.len() as i64;

    let tally = facts.tally();
    let counts = headline(&facts, tally, needs_update_n);
    let mut breakdowns = Breakdowns::new(&groups, &facts);
    for g in &mut breakdowns.country {
        if let Some(v) = &g.value {
            g.label = names::country(v);
        }
    }
    for g in &mut breakdowns.language {
        if let Some(v) = &g.value {
            g.label = names::language(v, release.as_ref());
        }
    }

    let mut reasons: BTreeMap<(String, String), i64> = BTreeMap::new();
    for f in facts
        .bounces
        .values()
        .filter(|b| !b.skipped())
        .filter_map(|b| b.failure.as_ref())
    {
        *reasons
            .entry((f.kind.clone(), f.reason.clone()))
            .or_default() += 1;
    }
    let mut bounce_reasons: Vec<BounceReason> = reasons
        .into_iter()
        .map(|((kind, reason), count)| BounceReason {
            kind,
            reason,
            count,
        })
        .collect();
    bounce_reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    let mut skipped: Vec<ReasonCount> = skipped
        .into_iter()
        .map(|(reason, count)| ReasonCount { reason, count })
        .collect();
    skipped.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));

    let sent = counts.sent;
    let timing = match span {
        Some((first, last)) => {
            let secs = (last - first) as f64 / 1000.0;
            Timing {
                first_sent_at: Some(format_time(first)),
                last_sent_at: Some(format_time(last)),
                duration_seconds: Some(secs),
                messages_per_minute: (secs > 0.0)
                    .then(|| ((sent as f64 / (secs / 60.0)) * 10.0).round() / 10.0),
            }
        }
        _ => Timing::default(),
    };

    Ok(Report {
        version: VERSION,
        generated_at: format_time(crate::db::now_ms()),
        send: summary(&facts.send),
        rates: rates(&counts),
        timing,
        states: facts
            .states
            .iter()
            .map(|s| (s.state.clone(), s.n))
            .collect(),
        skipped,
        bounce_reasons,
        by_domain: breakdowns.domain,
        by_outlet: breakdowns.outlet,
        by_country: breakdowns.country,
        by_language: breakdowns.language,
        timeline: timeline(&minutes, &facts.bounce_rows),
        to_fix: to_fix(&facts, needs_update),
        uncertain: uncertain
            .into_iter()
            .map(|u| Uncertain {
                delivery_id: u.delivery_id,
                email: u.email,
                name: u.name,
                outlet: u.outlet,
                attempts: u.attempts,
                since: format_time(u.updated_at),
                last_reply: u.last_reply,
            })
            .collect(),
        counts,
    })
}

/// The release as send `id` stored it (its main file and variants), to
/// tell which file each language got; `None` when it cannot be read back
/// (a send made before releases were stored whole, or a file this version
/// no longer reads): the languages are then shown without.
async fn sent_release(db: &Db, id: i64) -> Result<Option<crate::release::Release>, Error> {
    let Some(json) = store::release_bundle(db, id).await? else {
        return Ok(None);
    };
    let unpacked = tokio::task::spawn_blocking(move || {
        let bundle: crate::send::bundle::Bundle = serde_json::from_str(&json).ok()?;
        let dir = tempfile::tempdir().ok()?;
        bundle.unpack(dir.path()).ok().map(|u| u.release)
    })
    .await;
    Ok(unpacked.ok().flatten())
}

/// Awaits `f`, logging how long it took (`-vv`).
async fn timed<T, E: Into<Error>>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, Error> {
    let start = std::time::Instant::now();
    let r = f.await.map_err(Into::into);
    tracing::debug!("report: {what} in {:.0?}", start.elapsed());
    r
}

/// The four breakdowns.
struct Breakdowns {
    domain: Vec<GroupRow>,
    outlet: Vec<GroupRow>,
    country: Vec<GroupRow>,
    language: Vec<GroupRow>,
}

impl Breakdowns {
    fn new(groups: &store::Groups, facts: &Facts) -> Breakdowns {
        // Borrowed values: a million deliveries come down to some ten
        // thousand groups, each counted into four breakdowns.
        type Dim<'a> = FxHashMap<&'a str, Tally>;
        let mut dims: [Dim<'_>; 4] = Default::default();
        fn values(k: &store::GroupKey) -> [&str; 4] {
            [&k.domain, &k.outlet, &k.country, &k.language].map(String::as_str)
        }
        for (key, states) in groups {
            for (dim, value) in dims.iter_mut().zip(values(key)) {
                let t = dim.entry(value).or_default();
                for (state, n) in DeliveryState::ALL.iter().zip(states) {
                    if *n != 0 {
                        t.add(Outcome::of(state.as_str(), false), *n);
                    }
                }
            }
        }
        // What the bounces change: a delivery accepted and returned is
        // bounced, not delivered; a complaint counts where it came from.
        for b in facts.bounces.values().filter(|b| !b.skipped()) {
            for (dim, value) in dims.iter_mut().zip(values(&b.key)) {
                let t = dim.entry(value).or_default();
                if b.failure.is_some() {
                    t.change(Outcome::of(&b.state, false), Outcome::Bounced);
                }
                if b.complaint {
                    t.complaints += 1;
                }
            }
        }
        let [domain, outlet, country, language] = dims.map(rows);
        Breakdowns {
            domain,
            outlet,
            country,
            language,
        }
    }
}

/// The label of a breakdown's row for contacts without the value.
const NO_VALUE: &str = "(none)";

/// A breakdown's rows, most targeted first.
fn rows(dim: FxHashMap<&str, Tally>) -> Vec<GroupRow> {
    let mut rows: Vec<GroupRow> = dim
        .into_iter()
        .filter(|(_, t)| t.targeted + t.skipped > 0 || t.complaints > 0)
        .map(|(value, tally)| GroupRow {
            value: (!value.is_empty()).then(|| value.to_string()),
            label: if value.is_empty() {
                NO_VALUE.to_string()
            } else {
                value.to_string()
            },
            delivery_rate: tally.delivery_rate(),
            tally,
        })
        .collect();
    rows.sort_by(|a, b| {
        (b.tally.targeted, b.tally.skipped)
            .cmp(&(a.tally.targeted, a.tally.skipped))
            .then_with(|| a.value.cmp(&b.value))
    });
    rows
}

/// The timeline: messages per minute, and what came back per interval (an
/// interval long enough that there are at most about 60 of them).
fn timeline(minutes: &[(i64, i64)], bounces: &[(String, i64)]) -> Timeline {
    let sent_per_minute = minutes
        .iter()
        .map(|(t, n)| MinutePoint {
            at: format_time(*t),
            ms: *t,
            sent: *n,
        })
        .collect();
    let (lo, hi) = bounces
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), (_, t)| {
            (lo.min(*t), hi.max(*t))
        });
    let span_min = if bounces.is_empty() {
        0
    } else {
        (hi - lo) / 60_000
    };
    let interval = [1, 5, 15, 60, 360, 1440, 10080]
        .into_iter()
        .find(|m| span_min / m < 60)
        .unwrap_or(10080);
    let mut points: BTreeMap<i64, BouncePoint> = BTreeMap::new();
    for (kind, t) in bounces {
        let ms = t - t.rem_euclid(interval * 60_000);
        let p = points.entry(ms).or_insert_with(|| BouncePoint {
            at: format_time(ms),
            ms,
            hard: 0,
            soft: 0,
            complaints: 0,
            auto_replies: 0,
        });
        match kind.as_str() {
            "hard" => p.hard += 1,
            "soft" => p.soft += 1,
            "complaint" => p.complaints += 1,
            "auto-reply" => p.auto_replies += 1,
            _ => {}
        }
    }
    Timeline {
        sent_per_minute,
        bounce_interval_minutes: interval,
        bounces: points.into_values().collect(),
    }
}

/// The action list: bounced contacts (hard first) with the server's words,
/// then contacts whose record needs updating.
fn to_fix(facts: &Facts, needs_update: Vec<store::DeliveryRow>) -> Vec<ToFix> {
    let mut out: Vec<ToFix> = facts
        .bounces
        .iter()
        .filter(|(_, b)| !b.skipped())
        .filter_map(|(id, b)| b.failure.as_ref().map(|f| (*id, f)))
        .map(|(id, f)| ToFix {
            delivery_id: id,
            email: f.email.clone(),
            name: f.name.clone(),
            outlet: f.outlet.clone(),
            contact_status: f.contact_status.clone(),
            problem: format!("{}-bounce", f.kind),
            reason: Some(f.reason.clone()),
            status_code: f.status_code.clone(),
            diagnostic: f.diagnostic.clone(),
            at: Some(format_time(f.received_at)),
        })
        .collect();
    out.sort_by(|a, b| {
        (a.problem != "hard-bounce", &a.email).cmp(&(b.problem != "hard-bounce", &b.email))
    });
    let listed: HashSet<i64> = out.iter().map(|t| t.delivery_id).collect();
    out.extend(
        needs_update
            .into_iter()
            .filter(|d| !listed.contains(&d.delivery_id))
            .map(|d| ToFix {
                delivery_id: d.delivery_id,
                email: d.email,
                name: d.name,
                outlet: d.outlet,
                contact_status: Some("needs-update".into()),
                problem: "needs-update".into(),
                reason: None,
                status_code: None,
                diagnostic: None,
                at: Some(format_time(d.updated_at)),
            }),
    );
    out
}
