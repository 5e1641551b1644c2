//! `presswire bounces inspect`: read returned messages and print what each
//! says, without a database.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use serde::Serialize;

use super::output::{table, ReportFormat};
use crate::bounce::{self, BounceResult};
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
    },
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
        }
    }
}

pub fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Inspect { paths, format } => inspect(&paths, format),
    }
}

fn inspect(paths: &[PathBuf], format: ReportFormat) -> anyhow::Result<()> {
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
    for item in bounce::inspect_paths(paths) {
        let item = match item {
            Ok(item) => item,
            Err(e) => {
                failures.push(e.to_string());
                continue;
            }
        };
        let label = item.label();
        let parsed = match bounce::parse(&item.bytes) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{label}: {e}"));
                continue;
            }
        };
        for r in &parsed.results {
            match format {
                ReportFormat::Json => {
                    serde_json::to_writer(&mut out, &Line::new(&label, r))?;
                    writeln!(out)?;
                }
                ReportFormat::Table => {
                    let diag: String = r
                        .diagnostic
                        .as_deref()
                        .unwrap_or("")
                        .chars()
                        .take(70)
                        .collect();
                    t.add_row([
                        label.as_str(),
                        r.recipient.as_deref().unwrap_or("-"),
                        r.kind.as_str(),
                        r.reason.as_str(),
                        r.status.as_deref().unwrap_or(""),
                        &r.reply_code.map(|c| c.to_string()).unwrap_or_default(),
                        &diag,
                    ]);
                }
            }
        }
    }
    if format == ReportFormat::Table && !t.is_empty() {
        writeln!(out, "{t}")?;
    }
    out.flush()?;
    if !failures.is_empty() {
        return Err(BadInput(failures.join("\n")).into());
    }
    Ok(())
}
