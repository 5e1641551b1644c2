//! `presswire bounces inspect|import|poll|list|show`: read returned
//! messages (inspect needs no database), import them from files or an IMAP
//! mailbox, and list and show what was recorded.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use serde::Serialize;

use super::output::{print_json, table, Format, ReportFormat};
use super::sends::SendRef;
use super::Context;
use crate::bounce::imap::{self, ImapTarget, PollOptions, PollReport};
use crate::bounce::list::{self, Bounce, Filter};
use crate::bounce::store::{self, ImportReport, Incoming};
use crate::bounce::{self, BounceResult, Kind, Policy, Reason};
use crate::config::Interval;
use crate::send::tokens::Signer;
use crate::BadInput;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read bounce messages (.eml files, directories, mboxes) and print one
    /// line per affected recipient; needs no database
    Inspect {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// table for people; json prints one object per line
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
        /// Read as if the rules learnt from this MTA or provider (a
        /// `module` of the bounce corpus) did not exist: for measuring
        /// how the classifier generalises (repeatable)
        #[arg(long = "without-origin", value_name = "ORIGIN", hide = true)]
        without_origins: Vec<String>,
    },
    /// Measure the classifier on labelled folders of bounces (a labels.csv
    /// beside the messages): the plain fit, and each MTA's messages read
    /// with the rules learnt from it switched off (leave one origin out);
    /// needs no database
    Evaluate {
        #[arg(
            value_name = "DIR",
            default_values = ["tests/fixtures/bounces", "tests/fixtures/bounces-own"]
        )]
        dirs: Vec<PathBuf>,
        /// Also list every row read wrongly with its origin's rules off
        #[arg(long)]
        misses: bool,
        /// table for people; json prints one object per folder
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
    /// Import bounce messages (.eml files, directories, mboxes, Maildirs):
    /// match each to its delivery, record it and apply the bounce policy
    Import {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
    /// Read the bounce mailbox over IMAP ([imap] in presswire.toml), import
    /// what is there and move it to the processed folder; repeats at the
    /// interval until stopped, unless --once
    Poll {
        /// Poll once and exit
        #[arg(long)]
        once: bool,
        /// imaps://user:password@host:993/INBOX (default: [imap] url)
        #[arg(
            long,
            env = "PRESSWIRE_IMAP_URL",
            value_name = "URL",
            hide_env_values = true
        )]
        url: Option<String>,
        /// Folder handled messages go to (default: [imap] move_to, else presswire-processed)
        #[arg(long, value_name = "FOLDER")]
        move_to: Option<String>,
        /// Between polls: seconds or 30s, 5m, 1h (default: [imap] interval, else 5m)
        #[arg(long, value_name = "DURATION")]
        interval: Option<Interval>,
        /// table for people; json prints one object per poll
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
    /// List recorded bounces, newest first
    List {
        /// Only bounces of this send (an id, or `latest`)
        #[arg(long = "send", value_name = "ID")]
        send: Option<SendRef>,
        /// Only this kind: hard, soft, complaint, auto-reply, not-a-failure (repeatable)
        #[arg(long = "kind", value_name = "KIND", value_parser = parse_kind)]
        kinds: Vec<Kind>,
        /// Only this reason, e.g. userunknown, mailboxfull (repeatable)
        #[arg(long = "reason", value_name = "REASON", value_parser = parse_reason)]
        reasons: Vec<Reason>,
        /// Only bounces written on or after this date (YYYY-MM-DD, UTC) or time (RFC 3339)
        #[arg(long, value_name = "DATE", value_parser = parse_since)]
        since: Option<i64>,
        /// Only bounces that matched no delivery
        #[arg(long)]
        unmatched: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Show one bounce: what it says, what it matched and what it did
    Show {
        id: i64,
        /// Print the returned message as it was received, byte for byte
        #[arg(long, conflicts_with = "format")]
        raw: bool,
        #[arg(long, value_enum)]
        format: Option<ReportFormat>,
    },
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    Kind::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        format!(
            "{s:?} is not a kind of bounce; use one of {}",
            names.join(", ")
        )
    })
}

fn parse_reason(s: &str) -> Result<Reason, String> {
    Reason::from_name(s).ok_or_else(|| {
        format!("{s:?} is not a bounce reason; `presswire bounces list` shows the reasons recorded (userunknown, mailboxfull, filtered, blocked, …)")
    })
}

fn parse_since(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .ok_or_else(|| format!("{s:?} is not a date; write YYYY-MM-DD or an RFC 3339 time"))
}

/// One printed line: the message's name, then the result.
#[derive(Serialize)]
struct Line<'a> {
    file: &'a str,
    recipient: &'a Option<String>,
    status: &'a Option<String>,
    reply_code: Option<u16>,
    reason: bounce::Reason,
    kind: bounce::Kind,
    hard: bool,
    action: &'a Option<String>,
    diagnostic: &'a Option<String>,
    smtp_command: Option<&'static str>,
    message_id: &'a Option<String>,
    verp_token: &'a Option<String>,
    reporting_mta: &'a Option<String>,
    remote_host: &'a Option<String>,
    feedback_type: &'a Option<String>,
    evidence: &'a Option<String>,
    rule_origin: Option<&'static str>,
}

impl<'a> Line<'a> {
    fn new(file: &'a str, r: &'a BounceResult) -> Line<'a> {
        Line {
            file,
            recipient: &r.recipient,
            status: &r.status,
            reply_code: r.reply_code,
            reason: r.reason,
            kind: r.kind,
            hard: r.hard,
            action: &r.action,
            diagnostic: &r.diagnostic,
            smtp_command: r.smtp_command,
            message_id: &r.message_id,
            verp_token: &r.verp_token,
            reporting_mta: &r.reporting_mta,
            remote_host: &r.remote_host,
            feedback_type: &r.feedback_type,
            evidence: &r.evidence,
            rule_origin: r.rule_origin,
        }
    }
}

pub async fn run(ctx: &Context, cmd: Command) -> anyhow::Result<()> {
    let policy = Policy::from_config(&ctx.config.bounces);
    match cmd {
        Command::Inspect {
            paths,
            format,
            without_origins,
        } => {
            bounce::reason::switch_off(without_origins);
            inspect(&paths, format)
        }
        Command::Evaluate {
            dirs,
            misses,
            format,
        } => evaluate(&dirs, misses, format),
        Command::Import { paths, format } => import(ctx, &policy, &paths, format).await,
        Command::Poll {
            once,
            url,
            move_to,
            interval,
            format,
        } => {
            let imap = &ctx.config.imap;
            let url = url.or_else(|| imap.url.clone()).ok_or_else(|| {
                BadInput(
                    "no bounce mailbox is configured: set url under [imap] in presswire.toml \
                     (or PRESSWIRE_IMAP_URL, or --url), e.g. imaps://user:password@host:993/INBOX"
                        .into(),
                )
            })?;
            let target = ImapTarget::parse(&url)?;
            let move_to = move_to
                .or_else(|| imap.move_to.clone())
                .unwrap_or_else(|| "presswire-processed".into());
            let opts = PollOptions::new(target, move_to)?;
            let interval = interval
                .or(imap.interval)
                .map_or(Duration::from_secs(300), |i| i.0);
            poll(ctx, &policy, &opts, once, interval, format).await
        }
        Command::List {
            send,
            kinds,
            reasons,
            since,
            unmatched,
            format,
        } => {
            let db = ctx.db().await?;
            let send_id = match send {
                Some(s) => Some(s.resolve(&db).await?),
                None => None,
            };
            let filter = Filter {
                send_id,
                kinds,
                reasons,
                since,
                unmatched,
                contact_id: None,
            };
            let bounces = list::list(&db, &filter).await?;
            db.close().await;
            print_list(&bounces, format)
        }
        Command::Show { id, raw, format } => {
            let db = ctx.db().await?;
            let found = list::show(&db, id).await?;
            db.close().await;
            let Some((bounce, bytes)) = found else {
                return Err(BadInput(format!(
                    "there is no bounce {id}; `presswire bounces list` lists them"
                ))
                .into());
            };
            if raw {
                let Some(bytes) = bytes else {
                    return Err(BadInput(format!(
                        "bounce {id} has no raw message: it was refused while sending ({}), \
                         not returned by mail",
                        bounce.diagnostic.as_deref().unwrap_or("no reply kept")
                    ))
                    .into());
                };
                let mut out = std::io::stdout().lock();
                out.write_all(&bytes)?;
                out.flush()?;
                return Ok(());
            }
            match format.unwrap_or(ReportFormat::Table) {
                ReportFormat::Json => print_json(&bounce)?,
                ReportFormat::Table => print_bounce(&bounce),
            }
            Ok(())
        }
    }
}

/// `bounces import`: every path is read before anything is written; one
/// that cannot be read stops the import (exit 2) with nothing recorded.
async fn import(
    ctx: &Context,
    policy: &Policy,
    paths: &[PathBuf],
    format: ReportFormat,
) -> anyhow::Result<()> {
    let mut messages = Vec::new();
    let mut unreadable = Vec::new();
    for item in bounce::inspect_paths(paths) {
        match item {
            Ok(item) => messages.push(Incoming {
                origin: item.label(),
                bytes: item.bytes,
            }),
            Err(e) => unreadable.push(e.to_string()),
        }
    }
    if !unreadable.is_empty() {
        return Err(BadInput(format!(
            "{}\nnothing imported: fix the path{} above and run the import again",
            unreadable.join("\n"),
            if unreadable.len() > 1 { "s" } else { "" }
        ))
        .into());
    }
    let db = ctx.db().await?;
    let signer = Signer::load(&db).await?;
    let report = store::import(&db, &signer, policy, "file", &messages).await?;
    db.close().await;
    match format {
        ReportFormat::Json => print_json(&report)?,
        ReportFormat::Table if !ctx.quiet => print_import(&report, None),
        ReportFormat::Table => {}
    }
    Ok(())
}

/// `bounces poll`: once, or at the interval until Ctrl-C. In a loop, a
/// server that cannot be reached is retried at the next poll; a setting
/// that is wrong (login refused, no STARTTLS) stops it.
async fn poll(
    ctx: &Context,
    policy: &Policy,
    opts: &PollOptions,
    once: bool,
    interval: Duration,
    format: ReportFormat,
) -> anyhow::Result<()> {
    let db = ctx.db().await?;
    let signer = Signer::load(&db).await?;
    // Ctrl-C (SIGINT) stops the loop between two polls; a poll under way
    // finishes its batch first. The permit of `notify_one` is kept, so a
    // signal that comes during a poll is not lost.
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    if !once {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.notify_one();
            }
        });
    }
    loop {
        match imap::poll_once(&db, &signer, policy, opts).await {
            // Polling in a loop, an empty mailbox is not worth a line.
            Ok(report) if !once && report.import.messages == 0 => {}
            Ok(report) => match format {
                ReportFormat::Json if once => print_json(&report)?,
                ReportFormat::Json => {
                    let mut out = std::io::stdout().lock();
                    serde_json::to_writer(&mut out, &report)?;
                    writeln!(out)?;
                    out.flush()?;
                }
                ReportFormat::Table if !ctx.quiet => print_poll(&report),
                ReportFormat::Table => {}
            },
            Err(e) if once || e.is_bad_input() => {
                db.close().await;
                return Err(e.into());
            }
            Err(e) => tracing::warn!("{e}; trying again in {} s", interval.as_secs()),
        }
        if once {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.notified() => break,
        }
    }
    db.close().await;
    Ok(())
}

fn print_import(r: &ImportReport, moved: Option<(&PollReport, usize)>) {
    println!(
        "{} message{} read, {} result{}: {} recorded ({} matched, {} unmatched), {} duplicate{} skipped",
        r.messages,
        plural(r.messages),
        r.results,
        plural(r.results),
        r.counts.recorded,
        r.counts.matched,
        r.counts.unmatched,
        r.counts.duplicates,
        plural(r.counts.duplicates)
    );
    println!(
        "hard {}, soft {}, complaints {}, auto-replies {}, not failures {}, unsubscribed {}; contacts suppressed {}",
        r.hard, r.soft, r.complaints, r.auto_replies, r.not_failures, r.unsubscribed, r.counts.suppressed
    );
    if let Some((p, left)) = moved {
        println!(
            "moved {} to {}{}; {} left in {}",
            p.moved,
            p.moved_to,
            if p.created_folder { " (created)" } else { "" },
            left,
            p.mailbox
        );
    }
    if !r.unparseable.is_empty() {
        println!("not mail, left out ({}):", r.unparseable.len());
        for u in &r.unparseable {
            println!("  {}: {}", u.file, u.error);
        }
    }
}

fn print_poll(p: &PollReport) {
    println!("{}:", p.mailbox);
    let left = p.import.messages - p.moved;
    print_import(&p.import, Some((p, left)));
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn print_list(bounces: &[Bounce], format: Format) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, bounces)?;
            writeln!(out)?;
        }
        Format::Csv => super::output::write_csv(bounces, &mut out)?,
        Format::Table => {
            let mut t = table(&[
                "ID",
                "RECEIVED",
                "EMAIL",
                "KIND",
                "REASON",
                "STATUS",
                "SEND",
                "MATCHED",
                "DIAGNOSTIC",
            ]);
            for b in bounces {
                let diag: String = b
                    .diagnostic
                    .as_deref()
                    .unwrap_or("")
                    .chars()
                    .take(60)
                    .collect();
                t.add_row([
                    b.id.to_string(),
                    crate::contacts::format_time(b.received_at),
                    b.email.clone().unwrap_or_default(),
                    b.kind.clone(),
                    crate::bounce::reason::with_words(&b.reason),
                    b.status_code.clone().unwrap_or_default(),
                    b.send_id.map(|s| s.to_string()).unwrap_or_default(),
                    b.matched_by.clone().unwrap_or_else(|| "unmatched".into()),
                    diag,
                ]);
            }
            writeln!(out, "{t}")?;
            writeln!(out, "{} bounce{}", bounces.len(), plural(bounces.len()))?;
        }
    }
    out.flush()?;
    Ok(())
}

fn print_bounce(b: &Bounce) {
    let mut t = table(&["FIELD", "VALUE"]);
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let n = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let rows: Vec<(&str, String)> = vec![
        ("id", b.id.to_string()),
        ("received", crate::contacts::format_time(b.received_at)),
        ("email", o(&b.email)),
        ("kind", b.kind.clone()),
        ("reason", crate::bounce::reason::with_words(&b.reason)),
        ("status", o(&b.status_code)),
        ("reply code", n(b.reply_code)),
        ("action", o(&b.action)),
        ("diagnostic", o(&b.diagnostic)),
        (
            "why",
            b.evidence
                .clone()
                .unwrap_or_else(|| "not recorded (bounce stored before evidence was kept)".into()),
        ),
        ("send", n(b.send_id)),
        ("delivery", n(b.delivery_id)),
        (
            "matched by",
            b.matched_by.clone().unwrap_or_else(|| "unmatched".into()),
        ),
        ("effect", o(&b.effect)),
        ("source", b.source.clone()),
        ("from", o(&b.origin)),
        ("subject", o(&b.subject)),
        ("message-id", o(&b.message_id)),
        ("verp token", o(&b.verp_token)),
        ("feedback type", o(&b.feedback_type)),
        ("reporting mta", o(&b.reporting_mta)),
        ("remote host", o(&b.remote_host)),
        (
            "raw message",
            match b.raw_size {
                Some(size) => format!("{size} bytes (`presswire bounces show {} --raw`)", b.id),
                None => "none".into(),
            },
        ),
    ];
    for (k, v) in rows {
        t.add_row([k, &v]);
    }
    println!("{t}");
}

/// `bounces inspect`: no settings and no database.
/// `bounces evaluate`: per folder, a table of origins with the plain fit
/// and the leave-one-origin-out figures, the overall line last.
pub fn evaluate(dirs: &[PathBuf], misses: bool, format: ReportFormat) -> anyhow::Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    for dir in dirs {
        let figures = bounce::evaluate::evaluate(dir, workers)?;
        if format == ReportFormat::Json {
            let mut out = std::io::stdout().lock();
            serde_json::to_writer(
                &mut out,
                &serde_json::json!({ "dir": dir, "origins": figures }),
            )?;
            writeln!(out)?;
            continue;
        }
        let mut t = table(&[
            "ORIGIN",
            "ROWS",
            "REASON (FIT)",
            "HARD/SOFT (FIT)",
            "WRONGLY HARD (FIT)",
            "REASON (LEFT OUT)",
            "HARD/SOFT (LEFT OUT)",
            "WRONGLY HARD (LEFT OUT)",
        ]);
        let cells = |f: &bounce::evaluate::Tally| {
            [
                format!("{:.1} %", f.reason_pct()),
                format!("{:.1} %", f.hard_pct()),
                format!("{}/{}", f.wrongly_hard, f.soft_rows),
            ]
        };
        for f in &figures {
            let [a, b, c] = cells(&f.plain);
            let [d, e, g] = cells(&f.left_out);
            t.add_row([f.origin.clone(), f.plain.rows.to_string(), a, b, c, d, e, g]);
        }
        println!("{}\n{t}", dir.display());
        let Some(all) = figures.last() else { continue };
        let line = |name: &str, f: &bounce::evaluate::Tally| {
            println!(
                "{name}: reason {}/{} = {:.1} %, hard/soft {}/{} = {:.1} %, wrongly hard {}/{} = {:.1} %",
                f.reason_ok,
                f.rows,
                f.reason_pct(),
                f.hard_ok,
                f.rows,
                f.hard_pct(),
                f.wrongly_hard,
                f.soft_rows,
                f.wrongly_hard_pct()
            )
        };
        line("plain fit", &all.plain);
        line("leave one origin out", &all.left_out);
        if all.heldout.rows > 0 {
            line("held out (origin's rules off)", &all.heldout);
        }
        if misses {
            println!("read wrongly with every rule on:");
            for m in &all.plain_misses {
                println!("  {m}");
            }
            println!("read wrongly with the origin's rules off:");
            for m in &all.misses {
                println!("  {m}");
            }
        }
        println!();
    }
    Ok(())
}

pub fn inspect(paths: &[PathBuf], format: ReportFormat) -> anyhow::Result<()> {
    let mut failures = Vec::new();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut t = table(&[
        "FILE",
        "RECIPIENT",
        "KIND",
        "REASON",
        "STATUS",
        "CODE",
        "DIAGNOSTIC",
    ]);
    // Each message is read and written out (its JSON lines, or its table
    // rows) on the pool; this thread prints them in the messages' order.
    let read = |item: Result<bounce::Item, bounce::source::Error>| -> Inspected {
        let item = match item {
            Ok(item) => item,
            Err(e) => return Inspected::Failed(e.to_string()),
        };
        let label = item.label();
        let parsed = match bounce::parse(&item.bytes) {
            Ok(p) => p,
            Err(e) => return Inspected::Failed(format!("{label}: {e}")),
        };
        match format {
            ReportFormat::Json => {
                let mut bytes = Vec::new();
                for r in &parsed.results {
                    // Writing into a Vec fails only on a value serde cannot
                    // write, which BounceResult has none of.
                    if let Err(e) = serde_json::to_writer(&mut bytes, &Line::new(&label, r)) {
                        return Inspected::Failed(format!("{label}: {e}"));
                    }
                    bytes.push(b'\n');
                }
                Inspected::Json(bytes)
            }
            ReportFormat::Table => Inspected::Rows(
                parsed
                    .results
                    .iter()
                    .map(|r| {
                        [
                            label.clone(),
                            r.recipient.clone().unwrap_or_else(|| "-".into()),
                            r.kind.as_str().to_string(),
                            r.reason.as_str().to_string(),
                            r.status.clone().unwrap_or_default(),
                            r.reply_code.map(|c| c.to_string()).unwrap_or_default(),
                            r.diagnostic
                                .as_deref()
                                .unwrap_or("")
                                .chars()
                                .take(70)
                                .collect(),
                        ]
                    })
                    .collect(),
            ),
        }
    };
    bounce::pool::in_order(
        bounce::inspect_paths(paths),
        bounce::pool::workers(),
        read,
        |done| -> std::io::Result<()> {
            match done {
                Inspected::Failed(f) => failures.push(f),
                Inspected::Json(bytes) => out.write_all(&bytes)?,
                Inspected::Rows(rows) => rows.into_iter().for_each(|row| {
                    t.add_row(row);
                }),
            }
            Ok(())
        },
    )?;
    if format == ReportFormat::Table && !t.is_empty() {
        writeln!(out, "{t}")?;
    }
    out.flush()?;
    if !failures.is_empty() {
        return Err(BadInput(failures.join("\n")).into());
    }
    Ok(())
}

/// One message of `bounces inspect`, read and written out.
enum Inspected {
    Failed(String),
    Json(Vec<u8>),
    Rows(Vec<[String; 7]>),
}
