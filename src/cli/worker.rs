//! `presswire worker`: deliver every running send until stopped. Several
//! workers on several machines can share one PostgreSQL database.

use super::output::ReportFormat;
use super::send::{deliver, print_summary, TransportArgs};
use super::Context;

pub async fn run(ctx: &Context, transport: TransportArgs) -> anyhow::Result<()> {
    let db = ctx.db().await?;
    let concurrency = ctx.config.send.concurrency.unwrap_or(2);
    let opts = transport.options(&ctx.config, None, concurrency)?;
    ctx.note(format_args!(
        "worker started ({}); Ctrl-C stops it after the messages in flight",
        opts.target
    ));
    let summary = deliver(&db, opts, 0, true).await?;
    print_summary(0, &summary, ReportFormat::Table, ctx.quiet)?;
    db.close().await;
    Ok(())
}
