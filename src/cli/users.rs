//! `presswire users add|list|role|disable|password|token|tokens|revoke`:
//! the team's accounts and API tokens. Every change is audited as
//! `cli:UNIX_USER`.

use std::io::BufRead;

use anyhow::Context as _;
use clap::Subcommand;

use super::output::{print_json, table, ReportFormat};
use super::Context;
use crate::team::{cli_actor, tokens, users, Role};
use crate::BadInput;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add a user with a role (viewer, editor, sender, admin)
    Add {
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The person's name, as pages show it
        #[arg(long)]
        name: Option<String>,
        /// Read the dashboard password from standard input (at least 12
        /// characters); without it the user can only use API tokens until
        /// `users password` sets one
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
    /// Change a user's role
    Role {
        email: String,
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Disable a user: their sessions and API tokens stop working
    Disable { email: String },
    /// Set a user's dashboard password (ends their sessions)
    Password {
        email: String,
        /// Read the password from standard input
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Make an API token for a user (printed once; only its hash is kept)
    Token {
        email: String,
        /// What the token is for, e.g. "newsroom CRM sync"
        #[arg(long = "name", value_name = "LABEL")]
        label: Option<String>,
    },
    /// List API tokens (of one user, or everyone's)
    Tokens {
        email: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
    /// Revoke an API token by its id (see `users tokens`)
    Revoke {
        #[arg(value_name = "TOKEN_ID")]
        id: i64,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse().map_err(|e: crate::team::Error| e.to_string())
}

/// One line from standard input, without its line end.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(BadInput(
            "no password on standard input: give it there, e.g. `… --password-stdin < file`".into(),
        )
        .into());
    }
    Ok(password)
}

pub async fn run(ctx: &Context, cmd: Command) -> anyhow::Result<()> {
    let actor = cli_actor();
    let db = ctx.db().await?;
    match cmd {
        Command::Add {
            email,
            role,
            name,
            password_stdin,
        } => {
            let password = password_stdin.then(read_password).transpose()?;
            let user = users::add(
                &db,
                &actor,
                &email,
                role,
                name.as_deref(),
                password.as_deref(),
            )
            .await?;
            ctx.say(format_args!("added {} as {}", user.email, user.role));
            if !user.has_password {
                ctx.say(
                    "no password: the user can use API tokens; `users password` lets them log in",
                );
            }
        }
        Command::List { format } => {
            let all = users::list(&db).await?;
            match format {
                ReportFormat::Json => print_json(&all)?,
                ReportFormat::Table => {
                    let mut t = table(&["EMAIL", "NAME", "ROLE", "STATE", "LAST LOGIN", "CREATED"]);
                    for u in &all {
                        let state = match (&u.disabled_at, u.has_password) {
                            (Some(at), _) => format!("disabled {at}"),
                            (None, true) => "active".to_string(),
                            (None, false) => "active (no password)".to_string(),
                        };
                        t.add_row([
                            u.email.as_str(),
                            u.name.as_deref().unwrap_or(""),
                            u.role.as_str(),
                            &state,
                            u.last_login_at.as_deref().unwrap_or("never"),
                            &u.created_at,
                        ]);
                    }
                    println!("{t}");
                    println!("{} user(s)", all.len());
                }
            }
        }
        Command::Role { email, role } => {
            let before = users::set_role(&db, &actor, &email, role).await?;
            if before == role {
                ctx.say(format_args!("{email} was already {role}"));
            } else {
                ctx.say(format_args!("{email} is now {role} (was {before})"));
            }
        }
        Command::Disable { email } => {
            if users::disable(&db, &actor, &email).await? {
                ctx.say(format_args!(
                    "disabled {email}: their sessions and API tokens open nothing now"
                ));
            } else {
                ctx.say(format_args!("{email} was already disabled"));
            }
        }
        Command::Password { email, .. } => {
            let password = read_password()?;
            users::set_password(&db, &actor, &email, &password).await?;
            ctx.say(format_args!(
                "set the password of {email}; their open sessions have ended"
            ));
        }
        Command::Token { email, label } => {
            let (token, secret) = tokens::create(&db, &actor, &email, label.as_deref()).await?;
            // The token itself is what this command is run to show: printed
            // even with -q, on a line of its own.
            println!("{secret}");
            ctx.note(format_args!(
                "API token {} for {}: shown this once, only its hash is kept \
                 (send it as `Authorization: Bearer TOKEN`)",
                token.id, token.email
            ));
        }
        Command::Tokens { email, format } => {
            let all = tokens::list(&db, email.as_deref()).await?;
            match format {
                ReportFormat::Json => print_json(&all)?,
                ReportFormat::Table => {
                    let mut t = table(&["ID", "USER", "NAME", "CREATED", "LAST USED", "STATE"]);
                    for k in &all {
                        let state = match &k.revoked_at {
                            Some(at) => format!("revoked {at}"),
                            None => "valid".to_string(),
                        };
                        t.add_row([
                            k.id.to_string().as_str(),
                            &k.email,
                            k.label.as_deref().unwrap_or(""),
                            &k.created_at,
                            k.last_used_at.as_deref().unwrap_or("never"),
                            &state,
                        ]);
                    }
                    println!("{t}");
                    println!("{} token(s)", all.len());
                }
            }
        }
        Command::Revoke { id } => {
            let (token, was_valid) = tokens::revoke(&db, &actor, id).await?;
            if was_valid {
                ctx.say(format_args!("revoked API token {id} of {}", token.email));
            } else {
                ctx.say(format_args!("API token {id} was already revoked"));
            }
        }
    }
    db.close().await;
    Ok(())
}
