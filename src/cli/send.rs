//! `presswire send FILE [AUDIENCE] [options]`: plan, confirm, create the
//! send, and deliver it in the foreground.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::output::{confirm, print_json, ReportFormat};
use super::{AudienceArgs, Context};
use crate::config::Config;
use crate::contacts::{Contact, Status};
use crate::db::Db;
use crate::release::message::AttachmentDirs;
use crate::release::{office_time, Release, Renderer, TemplateSource};
use crate::send::plan::{self, Plan};
use crate::send::test_send::TestSend;
use crate::send::transport::{self, SmtpTarget};
use crate::send::worker::{self, Destination, Options, Progress, RunSummary};
use crate::send::{Rate, Settings};
use crate::BadInput;

/// Transport and pace flags shared by `send`, `sends resume` and `worker`.
#[derive(Debug, Clone, Default, Args)]
pub struct TransportArgs {
    /// SMTP relay: smtp://user:pass@host:port?tls=none|starttls|tls (default: the outbox folder)
    #[arg(
        long,
        env = "PRESSWIRE_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub smtp: Option<String>,
    /// SMTP connections
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,
    /// Folder for .eml files when no SMTP relay is set (default outbox/)
    #[arg(long, value_name = "DIR")]
    pub outbox: Option<PathBuf>,
    /// How long to wait for the relay at each step, e.g. 30s (default: RFC 5321's, 2-10 min)
    #[arg(long, env = "PRESSWIRE_SMTP_TIMEOUT", value_name = "DURATION")]
    pub smtp_timeout: Option<crate::config::Interval>,
}

impl TransportArgs {
    pub fn target(&self, config: &Config) -> anyhow::Result<Destination> {
        match self.smtp.clone().or_else(|| config.smtp.url.clone()) {
            Some(url) => Ok(Destination::Smtp(SmtpTarget::parse(&url)?)),
            None => Ok(Destination::Outbox(
                self.outbox
                    .clone()
                    .or_else(|| config.send.outbox.clone().map(PathBuf::from))
                    .unwrap_or_else(|| PathBuf::from("outbox")),
            )),
        }
    }

    /// The SMTP limits: the flag's, the file's, or RFC 5321's.
    pub fn timeouts(&self, config: &Config) -> transport::Timeouts {
        transport::Timeouts::with_override(
            self.smtp_timeout
                .or(config.smtp.timeout)
                .map(|interval| interval.0),
        )
    }

    /// How a worker runs, with every setting loaded and checked: the SMTP
    /// URL, the DKIM key. Called before anything is written, so a setting
    /// that does not load stops a command before it creates or starts a
    /// send.
    pub fn options(
        &self,
        config: &Config,
        send_id: Option<i64>,
        concurrency: u32,
    ) -> anyhow::Result<Options> {
        Ok(Options {
            target: self.target(config)?,
            send_id,
            until_idle: send_id.is_some(),
            concurrency: self
                .concurrency
                .or(config.send.concurrency)
                .unwrap_or(concurrency),
            retry_delays: config
                .send
                .retry_delays
                .clone()
                .unwrap_or_else(|| vec![60, 300, 1800, 7200, 21600]),
            lease_ms: 60_000,
            timeouts: self.timeouts(config),
            bounce_policy: crate::bounce::Policy::from_config(&config.bounces),
            dkim: config
                .dkim
                .as_ref()
                .map(crate::send::dkim::Dkim::load)
                .transpose()?
                .map(Arc::new),
        })
    }
}

/// The folders of `[release] attachment_dirs`.
pub fn attachment_dirs(config: &Config) -> AttachmentDirs {
    AttachmentDirs(config.release.attachment_dirs.clone())
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The release file
    pub file: PathBuf,
    #[command(flatten)]
    pub audience: AudienceArgs,
    #[command(flatten)]
    pub transport: TransportArgs,
    /// Overall rate: N/s, N/m, N/h or unlimited (default 5/s)
    #[arg(long, value_name = "RATE")]
    pub rate: Option<Rate>,
    /// Rate per recipient domain, e.g. 30/m (default unlimited)
    #[arg(long, value_name = "RATE")]
    pub per_domain: Option<Rate>,
    /// At most this many messages per day
    #[arg(long, value_name = "N")]
    pub daily_cap: Option<u32>,
    /// Deferred deliveries fail after this many hours (default 24)
    #[arg(long, value_name = "HOURS")]
    pub max_age: Option<u64>,
    /// Start at this time (RFC 3339, e.g. 2026-05-10T09:00:00+03:00); a time already past starts
    /// at once. `presswire sends start ID` starts a scheduled send early. An embargo schedules
    /// nothing: the release goes out now, with the embargo banner
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// No longer needed: an embargo does not hold a send back
    #[arg(long, hide = true)]
    pub ignore_embargo: bool,
    /// Plan and render everything; send nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Send a test copy to this address (repeatable), marked [TEST]; no send or delivery is
    /// recorded
    #[arg(long, value_name = "EMAIL", conflicts_with_all = ["at", "dry_run"])]
    pub test: Vec<String>,
    /// Render the test copies exactly as this contact gets the release (variant, name, embargo)
    #[arg(long = "as", value_name = "CONTACT_EMAIL", requires = "test")]
    pub as_contact: Option<String>,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
    /// Folder of layouts (default: templates/ when it exists, else the built-in ones)
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: ReportFormat,
}

fn settings(args: &SendArgs, config: &Config, release: &Release) -> anyhow::Result<Settings> {
    let parse = |v: &Option<String>, what: &str| -> anyhow::Result<Option<Rate>> {
        v.as_deref()
            .map(|r| {
                r.parse().map_err(|e: String| {
                    BadInput(format!("presswire.toml [send] {what}: {e}")).into()
                })
            })
            .transpose()
    };
    let from_domain = release.from_domain();
    Ok(Settings {
        rate: args
            .rate
            .or(parse(&config.send.rate, "rate")?)
            .unwrap_or(Rate {
                count: Some(5),
                per_ms: 1000,
            }),
        per_domain: args
            .per_domain
            .or(parse(&config.send.per_domain, "per_domain")?)
            .unwrap_or(Rate::UNLIMITED),
        daily_cap: args.daily_cap.or(config.send.daily_cap),
        concurrency: args
            .transport
            .concurrency
            .or(config.send.concurrency)
            .unwrap_or(2),
        max_age_secs: args.max_age.or(config.send.max_age_hours).unwrap_or(24) * 3600,
        pause_after_failures: 5,
        bounce_domain: config.send.bounce_domain.clone().unwrap_or(from_domain),
        unsubscribe_url: config.send.unsubscribe_url.clone(),
    })
}

fn parse_at(at: &str) -> anyhow::Result<i64> {
    chrono::DateTime::parse_from_rfc3339(at.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            BadInput(format!(
                "--at {at:?}: write a date, time and UTC offset, e.g. 2026-05-10T09:00:00+03:00"
            ))
            .into()
        })
}

pub async fn run(ctx: &Context, args: SendArgs) -> anyhow::Result<()> {
    // Every setting the send needs, loaded and checked before anything is
    // written: the SMTP URL and the DKIM key here, the templates and the
    // attachments while planning. A send is created only once all of them
    // load, so a setting that fails leaves no send for a worker to deliver.
    let templates = TemplateSource::resolve(args.templates.as_deref())?;
    let mut opts = args.transport.options(&ctx.config, None, 2)?;
    if args.ignore_embargo {
        ctx.note(format_args!(
            "note: --ignore-embargo is no longer needed: an embargo does not hold a send back (the \
             release goes out now, with the embargo banner until the embargo lifts)"
        ));
    }
    if !args.test.is_empty() {
        return send_test(ctx, &args, &templates, &opts).await;
    }
    let release = Release::load(&args.file)?;
    let settings = settings(&args, &ctx.config, &release)?;
    let at = args.at.as_deref().map(parse_at).transpose()?;
    let db = ctx.db().await?;
    let dirs = attachment_dirs(&ctx.config);
    let source = plan::Source {
        release: &args.file,
        templates: &templates,
        attachment_dirs: &dirs,
        at,
    };
    let plan = plan::plan(&db, source, args.audience.audience()?, settings).await?;
    let summary = plan.summary();
    if args.format == ReportFormat::Table && !ctx.quiet {
        print_plan(&plan, &opts.target);
    }
    if plan.recipients == 0 {
        return Err(BadInput("nobody to send to: the audience is empty once suppressed and inactive contacts are left out".into()).into());
    }
    if args.dry_run {
        if args.format == ReportFormat::Json {
            print_json(&summary)?;
        } else {
            ctx.say("dry run: every message rendered; nothing sent, nothing recorded");
        }
        return Ok(());
    }
    if !args.yes {
        let question = format!("Send to {} contacts?", plan.recipients);
        if !confirm(&question, "not sending without confirmation")? {
            ctx.say("not sent");
            return Ok(());
        }
    }
    let mut plan = plan;
    if let Some(why) = plan.start_if_due(crate::db::now_ms()) {
        let note = format!("{why}: sending now");
        if args.format == ReportFormat::Json {
            ctx.note(note);
        } else {
            ctx.say(note);
        }
    }
    let id = crate::send::store::create_send(&db, &plan).await?;
    if let Some(at) = plan.scheduled_at {
        ctx.say(format_args!(
            "send {id} is scheduled for {}; `presswire worker` starts it then \
             (`presswire sends start {id}` starts it now)",
            plan.office_time(at)
        ));
        return Ok(());
    }
    opts.send_id = Some(id);
    opts.until_idle = true;
    opts.concurrency = plan.settings.concurrency;
    let summary = deliver(&db, opts, plan.recipients, ctx.quiet).await?;
    print_summary(id, &summary, args.format, ctx.quiet)?;
    db.close().await;
    if summary.relay_down {
        anyhow::bail!("the send paused itself: the relay is not reachable");
    }
    Ok(())
}

fn print_plan(plan: &Plan, target: &Destination) {
    let s = plan.summary();
    println!("release:    {}", s.release);
    if let Some(line) = embargo_line(plan) {
        println!("embargo:    {line}");
    }
    println!(
        "start:      {}",
        plan.scheduled_at
            .filter(|t| *t > crate::db::now_ms())
            .map(|t| plan.office_time(t))
            .unwrap_or_else(|| "now".into())
    );
    let langs: Vec<String> = s
        .languages
        .iter()
        .map(|(l, n)| format!("{n} in {l}"))
        .collect();
    println!("recipients: {} ({})", s.recipients, langs.join(", "));
    for (why, n) in &s.skipped {
        println!("skipped:    {n} ({why})");
    }
    let eta = s
        .estimated_seconds
        .map(|secs| format!(", about {}", human_duration(secs)))
        .unwrap_or_default();
    println!(
        "pace:       {} overall, {} per domain{eta}",
        s.rate, s.per_domain
    );
    println!("via:        {target}");
    for w in &s.warnings {
        println!("warning:    {w}");
    }
}

/// The embargo of the release in the confirmation: when it lifts (per
/// language when the files differ) and what it does to the messages.
fn embargo_line(plan: &Plan) -> Option<String> {
    let mut lifts: Vec<(String, chrono::DateTime<chrono::FixedOffset>)> = plan
        .release
        .files()
        .filter_map(|f| Some((f.front.language.clone(), f.embargo?)))
        .collect();
    let latest = lifts.iter().map(|(_, e)| *e).max()?;
    let shown = |e: &chrono::DateTime<chrono::FixedOffset>| {
        office_time::format(e.to_utc(), plan.release.main.timezone)
    };
    let when = if lifts.iter().all(|(_, e)| *e == latest) {
        shown(&latest)
    } else {
        lifts.sort_by_key(|(_, e)| *e);
        lifts
            .iter()
            .map(|(lang, e)| format!("{} ({lang})", shown(e)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(if latest.to_utc() > chrono::Utc::now() {
        format!(
            "until {when}; messages written before then carry the embargo banner and subject prefix"
        )
    } else {
        format!("lifted {when}; the messages carry no embargo banner or subject prefix")
    })
}

fn human_duration(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else if secs < 5400.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

/// Runs the worker for one send with a progress bar on a terminal and
/// Ctrl-C handling: stop claiming, finish what is in flight, exit cleanly.
pub async fn deliver(
    db: &Db,
    opts: Options,
    total: u64,
    quiet: bool,
) -> anyhow::Result<RunSummary> {
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Progress::default());
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                if !quiet {
                    eprintln!(
                        "stopping: letting the messages in flight finish (Ctrl-C again to kill)"
                    );
                }
                stop.store(true, Ordering::Relaxed);
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
    }
    let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} sending [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    });
    let ticker = bar.clone().map(|bar| {
        let progress = progress.clone();
        tokio::spawn(async move {
            loop {
                let done = progress.sent.load(Ordering::Relaxed)
                    + progress.failed.load(Ordering::Relaxed)
                    + progress.skipped.load(Ordering::Relaxed);
                bar.set_position(done);
                let deferred = progress.deferred.load(Ordering::Relaxed);
                if deferred > 0 {
                    bar.set_message(format!("({deferred} deferred)"));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    let result = worker::run(db, opts, stop, progress).await;
    if let Some(t) = ticker {
        t.abort();
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(result?)
}

/// The summary of a run of the worker: JSON when asked for; a table's
/// lines unless `quiet`.
pub fn print_summary(
    id: i64,
    s: &RunSummary,
    format: ReportFormat,
    quiet: bool,
) -> anyhow::Result<()> {
    if format == ReportFormat::Json {
        let mut v = serde_json::to_value(s)?;
        v["send"] = id.into();
        if let Some(p) = &s.paused {
            v["paused"] = super::hints::pause(p).into();
        }
        return print_json(&v);
    }
    if quiet {
        return Ok(());
    }
    println!("send {id}: {}", totals(s));
    if let Some(p) = &s.paused {
        println!("{}", super::hints::pause(p));
    } else if let Some(t) = &s.next_retry {
        println!(
            "deferred deliveries retry from {t}: keep `presswire worker` running, or run `presswire sends resume {id}` then"
        );
    }
    Ok(())
}

/// A run's totals: "N sent, N deferred, N failed, N skipped in T s (R/s)",
/// deferred being the deliveries left deferred.
pub fn totals(s: &RunSummary) -> String {
    let rate = if s.seconds > 0.0 {
        s.sent as f64 / s.seconds
    } else {
        0.0
    };
    format!(
        "{} sent, {} deferred, {} failed, {} skipped in {:.1} s ({rate:.0}/s)",
        s.sent, s.deferred, s.failed, s.skipped, s.seconds
    )
}

/// `--test EMAIL… [--as CONTACT]`: the release as the contact gets it, to
/// each test address; nothing is recorded.
async fn send_test(
    ctx: &Context,
    args: &SendArgs,
    templates: &TemplateSource,
    opts: &Options,
) -> anyhow::Result<()> {
    let release = Release::load(&args.file)?;
    let renderer = Renderer::new(&release, templates)?;
    let db = ctx.db().await?;
    // Whose message each test copy is: the --as contact's; without --as,
    // the test address's own when it is a contact, else a made-up one.
    let as_contact = match &args.as_contact {
        Some(email) => Some(match crate::contacts::get(&db, email).await {
            Ok(c) => c,
            Err(crate::contacts::Error::NotFound(_)) => {
                return Err(BadInput(format!(
                "--as {email}: no contact has this address; `presswire contacts list` shows them"
            ))
                .into())
            }
            Err(e) => return Err(e.into()),
        }),
        None => None,
    };
    for email in &args.test {
        crate::contacts::Address::parse(email).map_err(|e| {
            BadInput(format!(
                "--test {:?}: {e}",
                email.chars().take(200).collect::<String>()
            ))
        })?;
    }
    let mut to = Vec::new();
    for email in &args.test {
        let contact = match &as_contact {
            Some(c) => c.clone(),
            None => match crate::contacts::get(&db, email).await {
                Ok(c) => c,
                Err(crate::contacts::Error::NotFound(_)) => test_contact(email, &release)?,
                Err(e) => return Err(e.into()),
            },
        };
        to.push((email.clone(), contact));
    }
    db.close().await;
    if let Some(c) = as_contact
        .as_ref()
        .filter(|c| c.suppressed.is_some() || c.status != Status::Active)
    {
        ctx.note(format_args!(
            "note: a send skips {} ({}); the test shows the message they would have got",
            c.email,
            c.suppressed
                .as_deref()
                .map(|r| format!("suppressed: {r}"))
                .unwrap_or_else(|| format!("status {}", c.status))
        ));
    }
    let test = TestSend {
        release: &release,
        renderer: &renderer,
        attachment_dirs: &attachment_dirs(&ctx.config),
        target: &opts.target,
        timeouts: &opts.timeouts,
        dkim: opts.dkim.as_deref(),
    };
    let sent = test.send(&to).await?;
    if args.format == ReportFormat::Json {
        print_json(&sent)?;
    }
    let mut refused = 0;
    for m in &sent {
        match &m.result {
            Ok(reply) => {
                if args.format == ReportFormat::Table {
                    ctx.say(format_args!(
                        "test message for {} sent to {}: {reply}\n  subject: {}",
                        m.as_contact, m.to, m.subject
                    ));
                }
            }
            Err(reply) => {
                refused += 1;
                eprintln!("the test message to {} was not accepted: {reply}", m.to);
            }
        }
    }
    if refused > 0 {
        anyhow::bail!(
            "{refused} of {} test messages were not accepted",
            sent.len()
        );
    }
    Ok(())
}

fn test_contact(email: &str, release: &Release) -> anyhow::Result<Contact> {
    let address =
        crate::contacts::Address::parse(email).map_err(|e| BadInput(format!("--test: {e}")))?;
    Ok(Contact::sample(
        address.as_str(),
        "Test",
        "Recipient",
        Some(release.main.front.language.clone()),
    ))
}
