//! `presswire serve [--listen ADDR]`: the HTTP server (one-click
//! unsubscribe, bounce webhooks, dashboard) until Ctrl-C or SIGTERM; and
//! `presswire serve --hash-password`, which makes the dashboard's
//! password hash.

use std::io::BufRead;
use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Args;

use super::Context;
use crate::web;
use crate::BadInput;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, IP:PORT (default: [serve] listen, else 127.0.0.1:8025)
    #[arg(long, env = "PRESSWIRE_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Read a password from standard input, print its Argon2 hash for
    /// [serve] password_hash, and exit
    #[arg(long)]
    pub hash_password: bool,
}

pub async fn run(ctx: &Context, args: ServeArgs) -> anyhow::Result<()> {
    if args.hash_password {
        return hash_password();
    }
    let listen = args
        .listen
        .or_else(|| ctx.config.serve.listen.clone())
        .unwrap_or_else(|| web::DEFAULT_LISTEN.to_string());
    let addr: SocketAddr = listen.parse().map_err(|_| {
        BadInput(format!(
            "--listen {listen:?} is not an IP:PORT address, e.g. 127.0.0.1:8025 or [::1]:8025"
        ))
    })?;
    let db = ctx.db().await?;
    let app = web::App::new(db, &ctx.config, &addr).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    if !ctx.quiet {
        eprintln!("presswire serve: listening on http://{addr}");
    }
    web::serve(app, listener, shutdown()).await?;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

fn hash_password() -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.chars().count() < 12 {
        return Err(BadInput(
            "the password must have at least 12 characters (give it on standard input)".into(),
        )
        .into());
    }
    let hash = web::auth::hash_password(password).map_err(anyhow::Error::msg)?;
    println!("{hash}");
    Ok(())
}
