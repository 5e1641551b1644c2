//! `presswire suppress add|remove|list`.

use clap::Subcommand;

use super::output::{print_json, table, ReportFormat};
use super::Context;
use crate::contacts::suppress::{self, AddressOrDomain};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Never mail these addresses or domains (`jane@x.org`, `x.org`)
    Add {
        #[arg(required = true, value_name = "EMAIL|DOMAIN")]
        targets: Vec<String>,
        /// Why, for the record (e.g. "asked by phone")
        #[arg(long, default_value = "manual")]
        reason: String,
    },
    /// Allow these addresses or domains again
    Remove {
        #[arg(required = true, value_name = "EMAIL|DOMAIN")]
        targets: Vec<String>,
        /// Lift the hash kept by `contacts forget` for this address
        #[arg(long)]
        forgotten: bool,
    },
    /// List suppressions, newest first
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
}

pub async fn run(ctx: &Context, cmd: Command) -> anyhow::Result<()> {
    let actor = crate::team::cli_actor();
    match cmd {
        Command::Add { targets, reason } => {
            let parsed = targets
                .iter()
                .map(|t| AddressOrDomain::parse(t))
                .collect::<Result<Vec<_>, _>>()?;
            let db = ctx.db().await?;
            for target in &parsed {
                let new = suppress::add(&db, &actor, target, &reason, "suppress add").await?;
                let what = describe(target);
                if new {
                    ctx.say(format_args!("suppressed {what} ({reason})"));
                } else {
                    ctx.say(format_args!(
                        "{what} was already suppressed; reason now {reason:?}"
                    ));
                }
            }
        }
        Command::Remove { targets, forgotten } => {
            let parsed = targets
                .iter()
                .map(|t| AddressOrDomain::parse(t))
                .collect::<Result<Vec<_>, _>>()?;
            let db = ctx.db().await?;
            for target in &parsed {
                let what = describe(target);
                if suppress::remove(&db, &actor, target, forgotten).await? {
                    ctx.say(format_args!("{what} may be mailed again"));
                } else {
                    ctx.say(format_args!("{what} was not suppressed"));
                }
            }
        }
        Command::List { format } => {
            let db = ctx.db().await?;
            let all = suppress::list(&db).await?;
            match format {
                ReportFormat::Json => print_json(&all)?,
                ReportFormat::Table => {
                    let mut t = table(&["KIND", "ADDRESS OR DOMAIN", "REASON", "SOURCE", "SINCE"]);
                    for s in &all {
                        t.add_row([
                            s.kind.as_str(),
                            &s.value,
                            &s.reason,
                            s.source.as_deref().unwrap_or(""),
                            &s.created_at,
                        ]);
                    }
                    println!("{t}");
                    println!("{} suppression(s)", all.len());
                }
            }
        }
    }
    Ok(())
}

fn describe(target: &AddressOrDomain) -> String {
    match target {
        AddressOrDomain::Address(a) => a.to_string(),
        AddressOrDomain::Domain(d) => format!("every address at {d}"),
    }
}
