//! `presswire release new|preview|check`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;

use super::output::{print_json, ReportFormat};
use super::{AudienceArgs, Context};
use crate::contacts::{self, Contact};
use crate::release::check::check;
use crate::release::message::{self, Envelope};
use crate::release::{office_time, templates, Release, Renderer, TemplateSource};
use crate::BadInput;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write releases/NAME.md from a starter
    New { name: String },
    /// Render one contact's message
    Preview {
        file: PathBuf,
        /// The contact to render for (default: the first of the audience, or a sample contact)
        #[arg(long, value_name = "EMAIL")]
        contact: Option<String>,
        #[command(flatten)]
        audience: AudienceArgs,
        #[arg(long, value_enum, default_value = "text")]
        format: PreviewFormat,
        /// Write to this file instead of standard output
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Folder of layouts (default: templates/ when it exists, else the built-in ones)
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
    },
    /// Render every contact's message of an audience and report every problem
    Check {
        file: PathBuf,
        #[command(flatten)]
        audience: AudienceArgs,
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PreviewFormat {
    Html,
    Text,
    Eml,
}

pub async fn run(ctx: &Context, cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::New { name } => new(&name),
        Command::Preview {
            file,
            contact,
            audience,
            format,
            output,
            templates,
        } => {
            let release = Release::load(&file)?;
            let renderer =
                Renderer::new(&release, &TemplateSource::resolve(templates.as_deref())?)?;
            let db = ctx.db().await?;
            let contact = match contact {
                Some(email) => contacts::get(&db, &email).await?,
                None => contacts::list(&db, &audience.audience()?)
                    .await?
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| sample_contact(&release)),
            };
            db.close().await;
            let now = chrono::Utc::now();
            let rendered = renderer.render_at(&release, &contact, now)?;
            let rfile = release.file_for(contact.language.as_deref());
            if let Some(lifted) = rfile.embargo.filter(|_| !rfile.embargo_holds(now)) {
                eprintln!(
                    "the embargo lifted at {}: this message carries no embargo banner or subject prefix",
                    office_time::format(lifted.to_utc(), rfile.timezone)
                );
            }
            let bytes = match format {
                PreviewFormat::Html => rendered.html.into_bytes(),
                PreviewFormat::Text => {
                    format!("Subject: {}\n\n{}", rendered.subject, rendered.text).into_bytes()
                }
                PreviewFormat::Eml => {
                    let dirs = super::send::attachment_dirs(&ctx.config);
                    let attachments = message::read_attachments(rfile, &dirs)?;
                    message::build(
                        rfile,
                        &rendered,
                        &contact,
                        &attachments,
                        &Envelope::new(&release),
                    )?
                    .formatted()
                }
            };
            match output {
                Some(path) => {
                    std::fs::write(&path, &bytes)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("wrote {} (for {})", path.display(), contact.email);
                }
                None => std::io::stdout().lock().write_all(&bytes)?,
            }
            Ok(())
        }
        Command::Check {
            file,
            audience,
            templates,
            format,
        } => {
            let release = Release::load(&file)?;
            let (renderer, setup_error) =
                match Renderer::new(&release, &TemplateSource::resolve(templates.as_deref())?) {
                    Ok(r) => (Some(r), None),
                    Err(e) => (None, Some(e)),
                };
            let db = ctx.db().await?;
            let contacts = contacts::list(&db, &audience.audience()?).await?;
            db.close().await;
            let dirs = super::send::attachment_dirs(&ctx.config);
            let report = check(&release, renderer.as_ref(), setup_error, &dirs, &contacts);
            match format {
                ReportFormat::Json => print_json(&report)?,
                ReportFormat::Table => {
                    for e in &report.errors {
                        if e.contacts.is_empty() {
                            println!("error: {}", e.message);
                        } else {
                            let n = e.count;
                            let shown: Vec<&str> =
                                e.contacts.iter().take(5).map(String::as_str).collect();
                            let more = if n > 5 {
                                format!(" and {} more", n - 5)
                            } else {
                                String::new()
                            };
                            println!(
                                "error: {} — for {n} contact(s): {}{more}",
                                e.message,
                                shown.join(", ")
                            );
                        }
                    }
                    for w in &report.warnings {
                        println!("warning: {w}");
                    }
                    // Per language, how many rendered of how many, when
                    // any failed: "(en: 37 of 38, my: 1 of 2)".
                    let langs: Vec<String> = report
                        .languages
                        .iter()
                        .map(|(l, n)| match report.failed_languages.get(l) {
                            _ if report.failed_languages.is_empty() => format!("{n} in {l}"),
                            failed => format!("{l}: {} of {n}", n - failed.copied().unwrap_or(0)),
                        })
                        .collect();
                    let failed = match report.failed_messages() {
                        0 => String::new(),
                        n => format!("; {n} failed"),
                    };
                    println!(
                        "{}: {} of {} messages rendered{}{failed}; {} error(s), {} warning(s)",
                        report.release,
                        report.ok,
                        report.contacts,
                        if langs.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", langs.join(", "))
                        },
                        report.errors.len(),
                        report.warnings.len()
                    );
                }
            }
            if report.failed() {
                anyhow::bail!("the release has errors; fix them before sending");
            }
            Ok(())
        }
    }
}

fn new(name: &str) -> anyhow::Result<()> {
    let clean = name.trim().trim_end_matches(".md");
    if clean.is_empty() || clean.contains(['/', '\\']) || clean.starts_with('.') {
        return Err(BadInput(format!(
            "{name:?} is not a release name; use a plain name such as river-report"
        ))
        .into());
    }
    let path = Path::new("releases").join(format!("{clean}.md"));
    if path.exists() {
        return Err(BadInput(format!(
            "{} exists already; choose another name",
            path.display()
        ))
        .into());
    }
    std::fs::create_dir_all("releases").context("creating releases/")?;
    std::fs::write(&path, templates::STARTER)
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "wrote {}; edit it, then `presswire release preview {}`",
        path.display(),
        path.display()
    );
    Ok(())
}

/// A made-up contact for previews when the database is empty.
fn sample_contact(release: &Release) -> Contact {
    Contact {
        outlet: Some("The Example Daily".into()),
        role: Some("Reporter".into()),
        ..Contact::sample(
            "alex.sample@example.org",
            "Alex",
            "Sample",
            Some(release.main.front.language.clone()),
        )
    }
}
