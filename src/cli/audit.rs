//! `presswire audit [--since DATE] [--user EMAIL]`: the audit log, newest
//! first.

use clap::Args;

use super::output::{print_json, table, ReportFormat};
use super::Context;
use crate::team::audit::{self, Filter};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// From this date on: YYYY-MM-DD (UTC) or RFC 3339
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only what this user did (their address, or cli:NAME)
    #[arg(long, value_name = "EMAIL")]
    user: Option<String>,
    /// At most this many entries
    #[arg(long, value_name = "N", default_value = "1000")]
    limit: i64,
    #[arg(long, value_enum, default_value = "table")]
    format: ReportFormat,
}

pub async fn run(ctx: &Context, args: AuditArgs) -> anyhow::Result<()> {
    let filter = Filter {
        since: args.since.as_deref().map(audit::parse_since).transpose()?,
        actor: args.user,
        before: None,
        limit: args.limit.max(1),
    };
    let db = ctx.db().await?;
    let entries = audit::list(&db, &filter).await?;
    db.close().await;
    match args.format {
        ReportFormat::Json => print_json(&entries)?,
        ReportFormat::Table => {
            let mut t = table(&["WHEN", "WHO", "WHAT", "OBJECT", "SUMMARY"]);
            for e in &entries {
                let object = match &e.object_id {
                    Some(id) => format!("{} {id}", e.object_kind),
                    None => e.object_kind.clone(),
                };
                t.add_row([e.at.as_str(), &e.actor, &e.action, &object, &e.summary]);
            }
            println!("{t}");
            println!(
                "{} entr{}",
                entries.len(),
                if entries.len() == 1 { "y" } else { "ies" }
            );
        }
    }
    Ok(())
}
