//! `presswire contacts import|list|export|show|forget`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Subcommand;

use super::output::{confirm, print_json, table, Format, ReportFormat};
use super::{AudienceArgs, Context};
use crate::contacts::history::{self, BounceEntry, DeliveryEntry};
use crate::contacts::import::undo::{self, UndoPlan};
use crate::contacts::import::{self, ColumnMap, ImportOptions, ImportReport, ProblemKind};
use crate::contacts::{self as domain, export, forget, Contact};
use crate::BadInput;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import contacts from CSV exports (Outlook, Google, Mailchimp, media databases)
    Import {
        #[arg(required_unless_present = "undo", value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Take an import back: remove the contacts it created, restore the ones it changed
        /// (SOURCE: one of its files' names, or its number)
        #[arg(long, value_name = "SOURCE", conflicts_with_all = ["files", "tags", "maps", "skip_existing", "skip_invalid", "encoding"])]
        undo: Option<String>,
        /// With --undo: do not ask for confirmation
        #[arg(long, requires = "undo")]
        yes: bool,
        /// The files' encoding when they have no byte-order mark, e.g. windows-1252
        /// (default: UTF-8, or Windows-1252 for a file with no UTF-8 letters)
        #[arg(long, value_name = "ENCODING")]
        encoding: Option<String>,
        /// Add this tag to every imported contact (repeatable)
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Map a column to a field, e.g. --map "Mail=email" (field, extra or ignore)
        #[arg(long = "map", value_name = "COLUMN=FIELD")]
        maps: Vec<ColumnMap>,
        /// Show what would happen; write nothing
        #[arg(long)]
        dry_run: bool,
        /// Leave contacts that already exist as they are
        #[arg(long)]
        skip_existing: bool,
        /// Import the valid rows even if some rows are invalid
        #[arg(long)]
        skip_invalid: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
    /// List contacts (suppressed ones are marked)
    List {
        #[command(flatten)]
        audience: AudienceArgs,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Export contacts as CSV (imports back unchanged)
    Export {
        #[command(flatten)]
        audience: AudienceArgs,
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Write to this file instead of standard output
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Show one contact
    Show {
        email: String,
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
    /// Erase a contact's personal data everywhere (a hash keeps them from coming back)
    Forget {
        email: String,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
}

pub async fn run(ctx: &Context, cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Import {
            undo: Some(source),
            yes,
            dry_run,
            format,
            ..
        } => undo_import(ctx, &source, yes, dry_run, format).await?,
        Command::Import {
            files,
            tags,
            maps,
            dry_run,
            skip_existing,
            skip_invalid,
            encoding,
            format,
            ..
        } => {
            let encoding = encoding
                .as_deref()
                .map(import::encoding_by_label)
                .transpose()?;
            let options = ImportOptions {
                tags,
                maps,
                dry_run,
                skip_existing,
                skip_invalid,
                encoding,
                actor: Some(crate::team::cli_actor()),
            };
            let db = ctx.db().await?;
            let report = with_progress(&files, ctx.quiet, |progress| {
                import::import(&db, &files, &options, progress)
            })
            .await?;
            db.close().await;
            match format {
                ReportFormat::Json => print_json(&report)?,
                ReportFormat::Table => print_import(&report, ctx.quiet),
            }
            if report.refused() {
                let what = if report.dry_run {
                    "dry run: this import would be refused"
                } else {
                    "nothing imported"
                };
                return Err(BadInput(format!(
                    "{what}; fix these rows, or re-run with --skip-invalid to import the {} valid rows",
                    report.valid_rows()
                ))
                .into());
            }
        }
        Command::List { audience, format } => {
            let db = ctx.db().await?;
            let contacts = domain::list(&db, &audience.audience()?).await?;
            print_contacts(&contacts, format, None)?;
        }
        Command::Export {
            audience,
            format,
            output,
        } => {
            let db = ctx.db().await?;
            let contacts = domain::list(&db, &audience.audience()?).await?;
            print_contacts(&contacts, format, output.as_ref())?;
            if let Some(path) = output {
                ctx.note(format_args!(
                    "exported {} contacts to {}",
                    contacts.len(),
                    path.display()
                ));
            }
        }
        Command::Show { email, format } => {
            let db = ctx.db().await?;
            let c = domain::get(&db, &email).await?;
            let deliveries = history::deliveries(&db, &c).await?;
            let bounces = history::bounces(&db, &c).await?;
            match format {
                ReportFormat::Json => {
                    let mut v = serde_json::to_value(&c)?;
                    v["deliveries"] = serde_json::to_value(&deliveries)?;
                    v["bounces"] = serde_json::to_value(&bounces)?;
                    print_json(&v)?
                }
                ReportFormat::Table => {
                    print_contact(&c);
                    print_history(&deliveries, &bounces);
                }
            }
        }
        Command::Forget { email, yes, format } => {
            if !yes {
                let question = format!(
                    "Forget {email}: erase the contact and the address everywhere, for good?"
                );
                if !confirm(&question, "not forgetting without confirmation")? {
                    ctx.say("nothing forgotten");
                    return Ok(());
                }
            }
            let db = ctx.db().await?;
            let f = forget::forget(&db, &crate::team::cli_actor(), &email).await?;
            match format {
                ReportFormat::Json => print_json(&f)?,
                ReportFormat::Table => {
                    if f.contact {
                        ctx.say(format_args!(
                            "forgot {}: the contact, its tags, the address in {} deliveries, {} bounces and {} suppressions were erased",
                            f.email, f.deliveries, f.bounces, f.suppressions
                        ));
                    } else {
                        ctx.say(format_args!(
                            "no contact had the address {}; nothing to erase",
                            f.email
                        ));
                    }
                    ctx.say(format_args!(
                        "kept: a one-way hash of the address, so no later import or send brings it back \
                         (`presswire suppress remove --forgotten {}` lifts it)",
                        f.email
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `contacts import --undo SOURCE`: shows what the undo will do, asks
/// (or needs `--yes`), then does it.
async fn undo_import(
    ctx: &Context,
    source: &str,
    yes: bool,
    dry_run: bool,
    format: ReportFormat,
) -> anyhow::Result<()> {
    let db = ctx.db().await?;
    let plan = undo::plan(&db, source).await?;
    match format {
        ReportFormat::Json => print_json(&plan)?,
        ReportFormat::Table => print_undo(&plan),
    }
    if plan.remove.is_empty() && plan.restore.is_empty() {
        ctx.say("nothing to undo");
        return Ok(());
    }
    if dry_run {
        ctx.say("dry run: nothing undone");
        return Ok(());
    }
    if !yes
        && !confirm(
            "Undo this import?",
            "not undoing the import without confirmation",
        )?
    {
        ctx.say("nothing undone");
        return Ok(());
    }
    let done = undo::apply(&db, &crate::team::cli_actor(), &plan).await?;
    db.close().await;
    ctx.say(format_args!(
        "undid import {}: removed {}, restored {}, kept {}",
        done.import, done.removed, done.restored, done.kept
    ));
    Ok(())
}

/// What an undo will do, contact by contact.
fn print_undo(plan: &UndoPlan) {
    println!(
        "import {} of {} ({}): {} contacts to remove, {} to restore",
        plan.import,
        plan.sources.join(", "),
        plan.imported_at,
        plan.remove.len(),
        plan.restore.len()
    );
    for email in &plan.remove {
        println!("remove {email} (created by the import)");
    }
    for r in &plan.restore {
        println!("restore {}: {}", r.email, r.changes.join(", "));
    }
    for k in &plan.kept {
        println!("keep {} ({})", k.email, k.why);
    }
}

/// Runs an import with a progress bar on stderr when stderr is a terminal
/// and the files are large; nothing on stderr otherwise.
async fn with_progress<F, Fut>(files: &[PathBuf], quiet: bool, f: F) -> anyhow::Result<ImportReport>
where
    F: FnOnce(Option<Arc<AtomicU64>>) -> Fut,
    Fut: std::future::Future<Output = Result<ImportReport, domain::Error>>,
{
    let total: u64 = files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    if quiet || !std::io::stderr().is_terminal() || total < (1 << 20) {
        return Ok(f(None).await?);
    }
    let counter = Arc::new(AtomicU64::new(0));
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} importing [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let ticker = {
        let bar = bar.clone();
        let counter = counter.clone();
        tokio::spawn(async move {
            loop {
                bar.set_position(counter.load(Ordering::Relaxed));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let result = f(Some(counter)).await;
    ticker.abort();
    bar.finish_and_clear();
    Ok(result?)
}

/// The import report; with `quiet` only its errors (the rows that refuse
/// the import).
fn print_import(r: &ImportReport, quiet: bool) {
    if quiet {
        for p in r.problems.iter().filter(|p| p.kind == ProblemKind::Error) {
            println!("{p} [error]");
        }
        return;
    }
    for f in &r.files {
        let columns: Vec<String> = f
            .columns
            .iter()
            .map(|(c, t)| format!("{c:?} → {t}"))
            .collect();
        println!(
            "{}: {} rows, {}, {}-separated; columns: {}",
            f.file,
            f.rows,
            f.encoding,
            f.delimiter,
            columns.join(", ")
        );
    }
    for p in &r.problems {
        let tag = match p.kind {
            ProblemKind::Error => "error",
            ProblemKind::Warning => "warning",
            ProblemKind::Duplicate => "duplicate",
            ProblemKind::Skipped => "skipped",
        };
        println!("{p} [{tag}]");
    }
    // A refused import wrote nothing either: "imported" would contradict
    // the "nothing imported" that follows.
    let verb = if r.committed {
        "imported"
    } else {
        "would import"
    };
    println!(
        "{verb} {}, updated {}, unchanged {}, skipped {}, duplicates merged {}, invalid {}{}",
        r.imported,
        r.updated,
        r.unchanged,
        r.skipped,
        r.duplicates,
        r.invalid,
        if r.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    );
}

fn print_contacts(
    contacts: &[Contact],
    format: Format,
    to: Option<&PathBuf>,
) -> anyhow::Result<()> {
    let out: Box<dyn std::io::Write> = match to {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match format {
        Format::Csv => export::write_csv(contacts, out)?,
        Format::Json => {
            let mut out = out;
            serde_json::to_writer_pretty(&mut out, contacts)?;
            writeln!(out)?;
        }
        Format::Table => {
            let mut out = out;
            let mut t = table(&[
                "EMAIL", "NAME", "OUTLET", "COUNTRY", "LANG", "TAGS", "STATUS",
            ]);
            for c in contacts {
                let status = match &c.suppressed {
                    Some(reason) => format!("{}, suppressed ({reason})", c.status),
                    None => c.status.to_string(),
                };
                t.add_row([
                    c.email.as_str(),
                    c.name.as_deref().unwrap_or(""),
                    c.outlet.as_deref().unwrap_or(""),
                    c.country.as_deref().unwrap_or(""),
                    c.language.as_deref().unwrap_or(""),
                    &c.tags.join(", "),
                    &status,
                ]);
            }
            writeln!(out, "{t}")?;
            writeln!(out, "{} contact(s)", contacts.len())?;
        }
    }
    Ok(())
}

fn print_contact(c: &Contact) {
    let mut t = table(&["FIELD", "VALUE"]);
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let rows: Vec<(&str, String)> = vec![
        ("email", c.email.clone()),
        ("name", o(&c.name)),
        ("first name", o(&c.first_name)),
        ("last name", o(&c.last_name)),
        ("outlet", o(&c.outlet)),
        ("role", o(&c.role)),
        ("beat", o(&c.beat)),
        ("country", o(&c.country)),
        ("language", o(&c.language)),
        ("phone", o(&c.phone)),
        ("notes", o(&c.notes)),
        ("tags", c.tags.join(", ")),
        ("status", c.status.to_string()),
        ("suppressed", o(&c.suppressed)),
        ("source", o(&c.source)),
        ("created", domain::format_time(c.created_at)),
        ("updated", domain::format_time(c.updated_at)),
    ];
    for (k, v) in rows {
        t.add_row([k, &v]);
    }
    for (k, v) in &c.extra {
        t.add_row([k.as_str(), v.as_str()]);
    }
    println!("{t}");
}

/// The contact's deliveries and bounces, under the contact itself.
fn print_history(deliveries: &[DeliveryEntry], bounces: &[BounceEntry]) {
    if deliveries.is_empty() {
        println!("deliveries: none");
    } else {
        let mut t = table(&["SEND", "RELEASE", "STATE", "WHEN", "RELAY ANSWER"]);
        for d in deliveries {
            let state = match &d.skip_reason {
                Some(why) => format!("{} ({why})", d.state),
                None => d.state.clone(),
            };
            t.add_row([
                d.send_id.to_string(),
                d.title.clone().unwrap_or_else(|| d.release.clone()),
                state,
                d.at.clone(),
                d.last_reply.clone().unwrap_or_default(),
            ]);
        }
        println!("deliveries ({}):\n{t}", deliveries.len());
    }
    if bounces.is_empty() {
        println!("bounces: none");
    } else {
        let mut t = table(&[
            "SEND",
            "KIND",
            "REASON",
            "STATUS",
            "RECEIVED",
            "THE SERVER SAID",
        ]);
        for b in bounces {
            t.add_row([
                b.send_id.map(|s| s.to_string()).unwrap_or_default(),
                b.kind.clone(),
                crate::bounce::reason::with_words(&b.reason),
                b.status_code.clone().unwrap_or_default(),
                b.received_at.clone(),
                b.diagnostic.clone().unwrap_or_default(),
            ]);
        }
        println!("bounces ({}):\n{t}", bounces.len());
    }
}
