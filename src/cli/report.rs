//! `presswire report [SEND_ID|latest] [--format table|csv|json|html] [-o FILE]`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::output::table;
use super::sends::SendRef;
use super::Context;
use crate::report::html::{duration, percent, thousands};
use crate::report::{self, GroupRow, Report};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A send id, or `latest` (the default)
    #[arg(default_value = "latest")]
    pub id: SendRef,
    /// table for reading, csv (one row per delivery) and json for programs,
    /// html for forwarding (one self-contained file)
    #[arg(long, value_enum, default_value = "table")]
    pub format: Output,
    /// Write to this file instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `--format` of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Csv,
    Json,
    Html,
}

/// Rows of each list a table shows; the other formats have them all.
const SHOWN: usize = 20;

pub async fn run(ctx: &Context, args: ReportArgs) -> anyhow::Result<()> {
    let db = ctx.db().await?;
    let id = args.id.resolve(&db).await?;
    // A report reads every delivery of the send and its contact: mapped,
    // the database's pages are shared by the connections and cost no
    // system call once read (see `Db::map_for_reading`).
    db.map_for_reading().await?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let what = match args.format {
        Output::Csv => {
            let n = report::deliveries::write_csv(&db, id, &mut out).await?;
            format!("{n} deliveries")
        }
        format => {
            let r = report::build(&db, id).await?;
            match format {
                Output::Json => {
                    serde_json::to_writer_pretty(&mut out, &r)?;
                    writeln!(out)?;
                }
                Output::Html => out.write_all(report::html::render(&r)?.as_bytes())?,
                _ => print_table(&mut out, &r)?,
            }
            format!("the report of send {id}")
        }
    };
    out.flush()?;
    db.close().await;
    if let Some(path) = &args.output {
        if !ctx.quiet {
            eprintln!("wrote {what} to {}", path.display());
        }
    }
    Ok(())
}

fn print_table(out: &mut dyn Write, r: &Report) -> anyhow::Result<()> {
    let s = &r.send;
    let c = &r.counts;
    writeln!(
        out,
        "send {} of {}{} ({})",
        s.id,
        s.release,
        s.title
            .as_deref()
            .map(|t| format!(": {t}"))
            .unwrap_or_default(),
        s.state
    )?;
    if let Some(subject) = &s.subject {
        writeln!(out, "subject:  {subject}")?;
    }
    writeln!(out, "audience: {}", s.audience)?;
    // In the release's time zone, with UTC beside it.
    let when = |t: &Option<String>| crate::report::html::when(t.as_deref(), s.timezone.as_deref());
    if s.embargo_at.is_some() {
        writeln!(out, "embargo:  until {}", when(&s.embargo_at))?;
    }
    writeln!(
        out,
        "started:  {}   finished: {}",
        when(&s.started_at),
        when(&s.finished_at)
    )?;
    writeln!(
        out,
        "sending time: {}, {}",
        duration(r.timing.duration_seconds),
        r.timing
            .messages_per_minute
            .map(|m| format!("{m} messages a minute"))
            .unwrap_or_else(|| "no pace yet".into())
    )?;

    let mut t = table(&["", "CONTACTS", "SHARE"]);
    for row in c.rows() {
        let indent = if row.sub { "  " } else { "" };
        t.add_row([
            format!("{indent}{}", row.label),
            thousands(row.n),
            row.share.unwrap_or_default(),
        ]);
    }
    writeln!(out, "{t}")?;
    writeln!(
        out,
        "delivery rate: {} (delivered / targeted)",
        percent(r.rates.delivery_rate)
    )?;

    if !r.skipped.is_empty() {
        let mut t = table(&["SKIPPED BECAUSE", "CONTACTS"]);
        for s in &r.skipped {
            t.add_row([s.reason.clone(), thousands(s.count)]);
        }
        writeln!(out, "{t}")?;
    }
    if !r.bounce_reasons.is_empty() {
        let mut t = table(&["BOUNCE REASON", "KIND", "CONTACTS"]);
        for b in &r.bounce_reasons {
            t.add_row([
                crate::bounce::reason::with_words(&b.reason),
                b.kind.clone(),
                thousands(b.count),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    for (title, rows) in [
        ("OUTLET", &r.by_outlet),
        ("DOMAIN", &r.by_domain),
        ("COUNTRY", &r.by_country),
        ("LANGUAGE", &r.by_language),
    ] {
        breakdown(out, title, rows)?;
    }
    if let Some(peak) = r.timeline.sent_per_minute.iter().max_by_key(|p| p.sent) {
        writeln!(
            out,
            "busiest minute: {} messages at {}",
            thousands(peak.sent),
            peak.at
        )?;
    }
    if !r.timeline.bounces.is_empty() {
        let back: i64 = r
            .timeline
            .bounces
            .iter()
            .map(|p| p.hard + p.soft + p.complaints + p.auto_replies)
            .sum();
        writeln!(
            out,
            "came back: {} messages from {} to {}",
            thousands(back),
            r.timeline.bounces[0].at,
            r.timeline.bounces[r.timeline.bounces.len() - 1].at
        )?;
    }

    if r.to_fix.is_empty() {
        writeln!(out, "contacts to fix: none")?;
    } else {
        writeln!(out, "contacts to fix: {}", r.to_fix.len())?;
        let mut t = table(&[
            "EMAIL",
            "NAME",
            "OUTLET",
            "PROBLEM",
            "REASON",
            "THE SERVER SAID",
        ]);
        for f in r.to_fix.iter().take(SHOWN) {
            t.add_row([
                f.email.clone(),
                f.name.clone().unwrap_or_default(),
                f.outlet.clone().unwrap_or_default(),
                f.problem.clone(),
                f.reason.clone().unwrap_or_default(),
                f.diagnostic.clone().unwrap_or_default(),
            ]);
        }
        writeln!(out, "{t}")?;
        more(out, r.to_fix.len(), r.send.id)?;
    }
    if r.uncertain.is_empty() {
        writeln!(out, "uncertain deliveries: none")?;
    } else {
        writeln!(
            out,
            "uncertain deliveries: {} (the worker stopped while sending them; they may have arrived)",
            r.uncertain.len()
        )?;
        let mut t = table(&["EMAIL", "NAME", "OUTLET", "SINCE"]);
        for u in r.uncertain.iter().take(SHOWN) {
            t.add_row([
                u.email.clone(),
                u.name.clone().unwrap_or_default(),
                u.outlet.clone().unwrap_or_default(),
                u.since.clone(),
            ]);
        }
        writeln!(out, "{t}")?;
        more(out, r.uncertain.len(), r.send.id)?;
        writeln!(
            out,
            "`presswire sends resume {} --resend-uncertain` sends them again",
            r.send.id
        )?;
    }
    Ok(())
}

fn breakdown(out: &mut dyn Write, title: &str, rows: &[GroupRow]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut t = table(&[
        title,
        "TARGETED",
        "DELIVERED",
        "BOUNCED",
        "FAILED",
        "COMPLAINTS",
        "RATE",
    ]);
    for g in rows.iter().take(10) {
        t.add_row([
            g.label.clone(),
            thousands(g.tally.targeted),
            thousands(g.tally.delivered),
            thousands(g.tally.bounced),
            thousands(g.tally.failed),
            thousands(g.tally.complaints),
            percent(g.delivery_rate),
        ]);
    }
    if rows.len() > 10 {
        t.add_row([
            format!("… {} more", rows.len() - 10),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    writeln!(out, "{t}")?;
    Ok(())
}

fn more(out: &mut dyn Write, n: usize, id: i64) -> anyhow::Result<()> {
    if n > SHOWN {
        writeln!(
            out,
            "… and {} more: `presswire report {id} --format csv` lists every delivery",
            n - SHOWN
        )?;
    }
    Ok(())
}
