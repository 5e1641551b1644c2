//! The command line: clap definitions and one module per subcommand, each
//! with a `run()` that parses, calls the domain and prints. No SQL and no
//! business rules live here.

mod audit;
mod bounces;
mod contacts;
pub mod hints;
mod init;
mod output;
mod release;
mod report;
mod reports;
mod send;
mod sends;
mod serve;
mod suppress;
mod users;
mod worker;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::db::{Db, DEFAULT_URL};

/// presswire: send press releases personally to every journalist on your
/// list, through your own SMTP relay, and see who got them.
#[derive(Debug, Parser)]
#[command(name = "presswire", version, about, max_term_width = 100)]
pub struct Cli {
    /// Database URL: sqlite://FILE (default sqlite://presswire.db) or postgres://…
    #[arg(long, global = true, env = "PRESSWIRE_DB", value_name = "URL")]
    pub db: Option<String>,
    /// Settings file (default: presswire.toml in the working directory, if any)
    #[arg(long, global = true, env = "PRESSWIRE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print only errors: no summaries, confirmations, hints, warnings or
    /// progress. What a command is run to show (a list, a report, a
    /// preview, JSON asked for with --format json) is still shown
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more about what happens (-vv for debugging)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented presswire.toml and create the database (safe to repeat)
    Init,
    /// Import, list, export, show and forget contacts
    #[command(subcommand)]
    Contacts(contacts::Command),
    /// Addresses and domains that must never be mailed
    #[command(subcommand)]
    Suppress(suppress::Command),
    /// Write, preview and check releases
    #[command(subcommand)]
    Release(release::Command),
    /// Send a release to an audience (plan, confirm, deliver)
    Send(Box<send::SendArgs>),
    /// List sends; status, pause, resume, start or cancel one
    Sends {
        #[command(subcommand)]
        command: Option<sends::Command>,
    },
    /// Deliver every running send until stopped (several may share a PostgreSQL database)
    Worker {
        #[command(flatten)]
        transport: send::TransportArgs,
    },
    /// Read bounces, complaints and auto-replies; import, poll, list and show them
    #[command(subcommand)]
    Bounces(bounces::Command),
    /// Serve one-click unsubscribe, bounce webhooks and a read-only dashboard over HTTP
    Serve(serve::ServeArgs),
    /// What became of a send: outcomes, bounces, breakdowns, timeline, contacts to fix
    Report(report::ReportArgs),
    /// Recent sends side by side: size, delivered, bounces, complaints, unsubscribes
    Reports {
        /// How many sends, newest first
        #[arg(long, value_name = "N", default_value = "10")]
        last: i64,
        #[arg(long, value_enum, default_value = "table")]
        format: output::ReportFormat,
    },
    /// The team's accounts, roles and API tokens
    #[command(subcommand)]
    Users(users::Command),
    /// Who changed what, when: every write from the CLI, the dashboard and the API
    Audit(audit::AuditArgs),
}

/// The AUDIENCE flags: repeatable; OR within one kind, AND across kinds
/// (but every --require-tag must be there, and no --exclude-tag).
#[derive(Debug, Clone, Default, Args)]
pub struct AudienceArgs {
    /// Contacts with this tag (or any other --tag)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Contacts with this tag and every other --require-tag
    #[arg(long = "require-tag", value_name = "TAG")]
    pub require_tags: Vec<String>,
    /// Contacts without this tag (nor any other --exclude-tag)
    #[arg(long = "exclude-tag", value_name = "TAG")]
    pub exclude_tags: Vec<String>,
    /// Contacts in this country (ISO code or English name)
    #[arg(long = "country", value_name = "COUNTRY")]
    pub countries: Vec<String>,
    /// Contacts with this language (BCP 47; `de` includes `de-AT`)
    #[arg(long = "language", value_name = "LANG")]
    pub languages: Vec<String>,
    /// Contacts whose beat contains this word
    #[arg(long = "beat", value_name = "BEAT")]
    pub beats: Vec<String>,
    /// Contacts at this outlet
    #[arg(long = "outlet", value_name = "OUTLET")]
    pub outlets: Vec<String>,
}

impl AudienceArgs {
    pub fn audience(&self) -> Result<crate::contacts::Audience, crate::contacts::Error> {
        Ok(crate::contacts::Audience::new(
            &self.tags,
            &self.countries,
            &self.languages,
            &self.beats,
            &self.outlets,
        )?
        .with_tag_rules(&self.require_tags, &self.exclude_tags))
    }
}

/// Sets up logging on stderr from -q / -v (or `RUST_LOG`).
pub fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("presswire={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

/// What every subcommand gets: settings and a way to open the database.
pub struct Context {
    pub config: Config,
    pub db_url: String,
    pub quiet: bool,
}

impl Context {
    /// Prints a line on standard output that tells what a command did or
    /// will do (a summary, a confirmation, a hint, a warning), unless `-q`:
    /// with `-q` only errors are printed. What a command is run to show (a
    /// list, a report, JSON) is printed directly instead.
    pub fn say(&self, line: impl std::fmt::Display) {
        if !self.quiet {
            println!("{line}");
        }
    }

    /// [`Context::say`] on standard error, for commands whose standard
    /// output is data (an export, a preview) or a stream.
    pub fn note(&self, line: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// Opens (creating and migrating when needed) the database.
    pub async fn db(&self) -> anyhow::Result<Db> {
        Ok(Db::open(&self.db_url).await?)
    }
}

/// Runs one command line; an error comes back with the command line's
/// hint added ([`hints`]).
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    run_command(cli).await.map_err(hints::add)
}

async fn run_command(cli: Cli) -> anyhow::Result<()> {
    // Inspecting bounce files needs no settings and no database.
    let command = match cli.command {
        Command::Bounces(bounces::Command::Inspect {
            paths,
            format,
            without_origins,
        }) => {
            crate::bounce::reason::switch_off(without_origins);
            return bounces::inspect(&paths, format);
        }
        Command::Bounces(bounces::Command::Evaluate {
            dirs,
            misses,
            format,
        }) => return bounces::evaluate(&dirs, misses, format),
        other => other,
    };
    let config = Config::load(cli.config.as_deref())?;
    let db_url = cli
        .db
        .clone()
        .or_else(|| config.db.clone())
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    let ctx = Context {
        config,
        db_url,
        quiet: cli.quiet,
    };
    match command {
        Command::Init => init::run(&ctx, cli.config.as_deref()).await,
        Command::Contacts(cmd) => contacts::run(&ctx, cmd).await,
        Command::Suppress(cmd) => suppress::run(&ctx, cmd).await,
        Command::Release(cmd) => release::run(&ctx, cmd).await,
        Command::Send(args) => send::run(&ctx, *args).await,
        Command::Sends { command } => sends::run(&ctx, command).await,
        Command::Worker { transport } => worker::run(&ctx, transport).await,
        Command::Bounces(cmd) => bounces::run(&ctx, cmd).await,
        Command::Serve(args) => serve::run(&ctx, args).await,
        Command::Report(args) => report::run(&ctx, args).await,
        Command::Reports { last, format } => reports::run(&ctx, last, format).await,
        Command::Users(cmd) => users::run(&ctx, cmd).await,
        Command::Audit(args) => audit::run(&ctx, args).await,
    }
}
