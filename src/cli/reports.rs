//! `presswire reports [--last N] [--format table|json]`: recent sends side by side.

use super::output::{print_json, table, ReportFormat};
use super::Context;
use crate::report::compare;
use crate::report::html::{percent, thousands};

pub async fn run(ctx: &Context, last: i64, format: ReportFormat) -> anyhow::Result<()> {
    let db = ctx.db().await?;
    let lines = compare::recent(&db, last).await?;
    db.close().await;
    match format {
        ReportFormat::Json => print_json(&lines)?,
        ReportFormat::Table => {
            if lines.is_empty() {
                println!("no sends yet");
                return Ok(());
            }
            let mut t = table(&[
                "SEND",
                "RELEASE",
                "STARTED",
                "TARGETED",
                "DELIVERED",
                "BOUNCED",
                "COMPLAINTS",
                "UNSUBSCRIBED",
                "PENDING",
                "UNCERTAIN",
            ]);
            for l in &lines {
                t.add_row([
                    l.send_id.to_string(),
                    l.release.clone(),
                    l.started_at.clone().unwrap_or_else(|| l.state.clone()),
                    thousands(l.targeted),
                    format!("{} ({})", thousands(l.delivered), percent(l.delivery_rate)),
                    format!(
                        "{} ({} hard, {} soft)",
                        thousands(l.bounced),
                        thousands(l.bounced_hard),
                        thousands(l.bounced_soft)
                    ),
                    thousands(l.complaints),
                    thousands(l.unsubscribed),
                    thousands(l.pending),
                    thousands(l.uncertain),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(())
}
