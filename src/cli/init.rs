//! `presswire init`: a commented presswire.toml and the database, idempotently.

use std::path::Path;

use anyhow::Context as _;

use super::Context;
use crate::config::{DEFAULT_FILE, STARTER};

pub async fn run(ctx: &Context, config: Option<&Path>) -> anyhow::Result<()> {
    let path = config.unwrap_or(Path::new(DEFAULT_FILE));
    if path.exists() {
        ctx.say(format_args!("{} exists; kept as it is", path.display()));
    } else {
        std::fs::write(path, STARTER).with_context(|| format!("writing {}", path.display()))?;
        ctx.say(format_args!(
            "wrote {} (commented settings; edit to taste)",
            path.display()
        ));
    }
    let db = ctx.db().await?;
    ctx.say(format_args!("database {} is ready", db.display_url));
    db.close().await;
    Ok(())
}
