//! `presswire sends [list] | status ID | pause ID | resume ID | start ID | cancel ID`.

use clap::Subcommand;

use super::output::{print_json, table, ReportFormat};
use super::send::{deliver, print_summary, TransportArgs};
use super::Context;
use crate::db::now_ms;
use crate::release::office_time;
use crate::send::store::queue::{self, SendInfo};
use crate::send::SendState;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List sends, newest first
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
    /// Counts per state, current rate, ETA and uncertain deliveries of a send
    Status {
        /// A send id, or `latest`
        id: SendRef,
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
    /// Stop a send; `resume` continues it
    Pause { id: SendRef },
    /// Continue a paused or interrupted send in the foreground
    Resume {
        id: SendRef,
        /// Also resend deliveries whose outcome is unknown (the worker died while sending them)
        #[arg(long)]
        resend_uncertain: bool,
        #[command(flatten)]
        transport: TransportArgs,
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
    /// Start a scheduled send now, in the foreground, without waiting for its time
    Start {
        id: SendRef,
        /// No longer needed: an embargo does not hold a send back
        #[arg(long, hide = true)]
        ignore_embargo: bool,
        #[command(flatten)]
        transport: TransportArgs,
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
    /// Cancel a send: what has not left yet never will
    Cancel { id: SendRef },
}

/// A send id or `latest`.
#[derive(Debug, Clone, Copy)]
pub enum SendRef {
    Id(i64),
    Latest,
}

impl std::str::FromStr for SendRef {
    type Err = String;
    fn from_str(s: &str) -> Result<SendRef, String> {
        if s == "latest" {
            return Ok(SendRef::Latest);
        }
        s.parse()
            .map(SendRef::Id)
            .map_err(|_| format!("{s:?} is neither a send id nor `latest`"))
    }
}

impl SendRef {
    pub(super) async fn resolve(self, db: &crate::db::Db) -> anyhow::Result<i64> {
        match self {
            SendRef::Id(id) => Ok(id),
            SendRef::Latest => queue::sends(db, None)
                .await?
                .first()
                .map(|s| s.id)
                .ok_or_else(|| crate::BadInput("there are no sends yet".into()).into()),
        }
    }
}

/// A time of send `s` in its release's time zone, with UTC beside it.
fn when(s: &SendInfo, ms: i64) -> String {
    office_time::format_ms(ms, office_time::zone(s.timezone.as_deref()))
}

/// Runs send `id` in the foreground to the end (or a pause): `resume` and
/// `start`.
async fn foreground(
    ctx: &Context,
    db: &crate::db::Db,
    id: i64,
    transport: TransportArgs,
    format: ReportFormat,
) -> anyhow::Result<()> {
    let info = queue::sends(db, Some(id)).await?.remove(0);
    // The settings first (the SMTP URL, the DKIM key): one that does not
    // load leaves the send as it was, not running for any worker to take.
    let concurrency = info.settings.as_ref().map(|s| s.concurrency).unwrap_or(2);
    let opts = transport.options(&ctx.config, Some(id), concurrency)?;
    if info.state != "running" {
        queue::set_state(db, id, SendState::Running).await?;
    }
    // Resuming means "the relay is fine now": retry what was deferred.
    queue::retry_now(db, id).await?;
    let summary = deliver(db, opts, info.total as u64, ctx.quiet).await?;
    print_summary(id, &summary, format, ctx.quiet)?;
    let uncertain = queue::uncertain(db, id).await?;
    if !uncertain.is_empty() && format == ReportFormat::Table {
        ctx.say(format_args!(
            "{} uncertain deliveries were not resent; `presswire sends resume {id} --resend-uncertain` resends them",
            uncertain.len()
        ));
    }
    Ok(())
}

pub async fn run(ctx: &Context, cmd: Option<Command>) -> anyhow::Result<()> {
    let db = ctx.db().await?;
    match cmd.unwrap_or(Command::List {
        format: ReportFormat::Table,
    }) {
        Command::List { format } => {
            queue::recover(&db, None).await?;
            let all = queue::sends(&db, None).await?;
            match format {
                ReportFormat::Json => print_json(&all)?,
                ReportFormat::Table => {
                    // The outcomes as `presswire report` counts them: a
                    // delivery a bounce names is bounced, whether the relay
                    // refused it (failed) or a bounce came back after it
                    // left (sent); failed is refused with no bounce.
                    let mut t = table(&[
                        "ID",
                        "RELEASE",
                        "STATE",
                        "WHEN",
                        "TOTAL",
                        "DELIVERED",
                        "BOUNCED",
                        "FAILED",
                        "PENDING",
                        "OTHER",
                    ]);
                    for s in &all {
                        let c = crate::report::progress(&db, s.id).await?;
                        // A scheduled send's start, else when it started
                        // (or was created, if it never started).
                        let at = match (s.ms.scheduled, s.ms.started) {
                            (_, Some(t)) => when(s, t),
                            (Some(t), None) => format!("starts {}", when(s, t)),
                            (None, None) => format!("created {}", when(s, s.ms.created)),
                        };
                        t.add_row([
                            s.id.to_string(),
                            s.release.clone(),
                            s.state.clone(),
                            at,
                            s.total.to_string(),
                            c.delivered.to_string(),
                            c.bounced.to_string(),
                            c.failed.to_string(),
                            c.pending.to_string(),
                            c.other.to_string(),
                        ]);
                    }
                    println!("{t}");
                }
            }
        }
        Command::Status { id, format } => {
            let id = id.resolve(&db).await?;
            queue::recover(&db, Some(id)).await?;
            let s = queue::sends(&db, Some(id)).await?.remove(0);
            let recent = queue::sent_since(&db, id, now_ms() - 60_000).await?;
            let pending: i64 = ["queued", "sending", "deferred"]
                .iter()
                .map(|k| s.counts.get(*k).copied().unwrap_or(0))
                .sum();
            let rate_per_min = recent as f64;
            let eta_min = (rate_per_min > 0.0).then(|| pending as f64 / rate_per_min);
            let uncertain = queue::uncertain(&db, id).await?;
            match format {
                ReportFormat::Json => {
                    let mut v = serde_json::to_value(&s)?;
                    v["sent_last_minute"] = recent.into();
                    v["eta_minutes"] = eta_min.into();
                    v["uncertain"] = serde_json::to_value(&uncertain)?;
                    print_json(&v)?;
                }
                ReportFormat::Table => {
                    println!(
                        "send {} of {} ({}): {}",
                        s.id,
                        s.release,
                        s.title.as_deref().unwrap_or(""),
                        s.state
                    );
                    if let Some(t) = s.ms.scheduled.filter(|_| s.ms.started.is_none()) {
                        println!("scheduled for {}", when(&s, t));
                    }
                    if let Some(t) = s.ms.started {
                        let finished =
                            s.ms.finished
                                .map(|f| format!("; finished {}", when(&s, f)))
                                .unwrap_or_default();
                        println!("started {}{finished}", when(&s, t));
                    }
                    if let Some(e) = s.ms.embargo {
                        let what = if e > now_ms() {
                            "messages written before then carry the embargo banner"
                        } else {
                            "messages written since carry no embargo banner"
                        };
                        println!("embargo until {}: {what}", when(&s, e));
                    }
                    let mut t = table(&["STATE", "DELIVERIES"]);
                    for (k, n) in &s.counts {
                        t.add_row([k.clone(), n.to_string()]);
                    }
                    t.add_row(["total".to_string(), s.total.to_string()]);
                    println!("{t}");
                    println!(
                        "rate: {recent} sent in the last minute{}",
                        eta_min
                            .map(|m| format!("; about {m:.0} min to go"))
                            .unwrap_or_default()
                    );
                    if !uncertain.is_empty() {
                        println!(
                            "{} uncertain (the worker stopped while sending; they may have arrived): {}",
                            uncertain.len(),
                            uncertain.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
                        );
                        println!(
                            "resend them with `presswire sends resume {id} --resend-uncertain`"
                        );
                    }
                }
            }
        }
        Command::Pause { id } => {
            let id = id.resolve(&db).await?;
            queue::set_state(&db, id, SendState::Paused).await?;
            ctx.say(format_args!("send {id} paused; messages in flight finish. `presswire sends resume {id}` continues it"));
        }
        Command::Cancel { id } => {
            let id = id.resolve(&db).await?;
            queue::set_state(&db, id, SendState::Cancelled).await?;
            ctx.say(format_args!(
                "send {id} cancelled: deliveries not yet sent are cancelled"
            ));
        }
        Command::Resume {
            id,
            resend_uncertain,
            transport,
            format,
        } => {
            let id = id.resolve(&db).await?;
            let info = queue::sends(&db, Some(id)).await?.remove(0);
            let waiting = info.ms.scheduled.filter(|t| *t > now_ms());
            if let Some(t) = waiting {
                // Scheduled, or paused before its time came: it waits for
                // its time again; starting it early is `sends start`.
                if info.state == "scheduled"
                    || (info.state == "paused" && info.started_at.is_none())
                {
                    queue::reschedule(&db, id).await?;
                    ctx.say(format_args!(
                        "send {id} is scheduled for {}; `presswire worker` starts it then, \
                         `presswire sends start {id}` now",
                        when(&info, t)
                    ));
                    db.close().await;
                    return Ok(());
                }
            }
            let recovered = queue::recover(&db, Some(id)).await?;
            if recovered > 0 {
                ctx.say(format_args!("{recovered} deliveries were being sent when their worker stopped: now uncertain"));
            }
            if resend_uncertain {
                let n = queue::requeue_uncertain(&db, id).await?;
                ctx.say(format_args!("{n} uncertain deliveries queued again"));
            }
            foreground(ctx, &db, id, transport, format).await?;
        }
        Command::Start {
            id,
            ignore_embargo,
            transport,
            format,
        } => {
            let id = id.resolve(&db).await?;
            let info = queue::sends(&db, Some(id)).await?.remove(0);
            if info.state != "scheduled" {
                return Err(crate::BadInput(format!(
                    "send {id} is {}, not scheduled: `presswire sends start` starts a scheduled send \
                     (`presswire sends resume {id}` continues a paused or interrupted one)",
                    info.state
                ))
                .into());
            }
            if ignore_embargo {
                ctx.note(format_args!(
                    "note: --ignore-embargo is no longer needed: an embargo does not hold a send back"
                ));
            }
            let embargo = info
                .ms
                .embargo
                .filter(|t| *t > now_ms())
                .map(|t| {
                    format!(
                        " (the embargo lifts {}: its messages carry the banner until then)",
                        when(&info, t)
                    )
                })
                .unwrap_or_default();
            ctx.say(format_args!("send {id} starts now{embargo}"));
            foreground(ctx, &db, id, transport, format).await?;
        }
    }
    db.close().await;
    Ok(())
}
