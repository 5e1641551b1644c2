//! `presswire worker`: deliver every running send until stopped. Several
//! workers on several machines can share one PostgreSQL database.

use super::send::{deliver, totals, TransportArgs};
use super::Context;
use crate::send::worker::RunSummary;

pub async fn run(ctx: &Context, transport: TransportArgs) -> anyhow::Result<()> {
    let db = ctx.db().await?;
    let concurrency = ctx.config.send.concurrency.unwrap_or(2);
    let opts = transport.options(&ctx.config, None, concurrency)?;
    ctx.note(format_args!(
        "worker started ({}); Ctrl-C stops it after the messages in flight",
        opts.target
    ));
    let summary = deliver(&db, opts, 0, true).await?;
    if !ctx.quiet {
        print_summary(&summary);
    }
    db.close().await;
    Ok(())
}

/// What the worker did: its totals, then each send it worked on, by id.
fn print_summary(s: &RunSummary) {
    println!("worker: {}", totals(s));
    for t in &s.sends {
        println!(
            "send {}: {} sent, {} deferred, {} failed, {} skipped",
            t.send, t.sent, t.deferred, t.failed, t.skipped
        );
    }
    if let Some(p) = &s.paused {
        println!("{}", super::hints::pause(p));
    }
}
