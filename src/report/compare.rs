//! `presswire reports`: recent sends side by side, with the headline
//! numbers of each one's report (the same definitions, docs/reports.md).

use serde::Serialize;

use super::{counts, store, Error, SendProgress};
use crate::db::Db;

/// One send's line of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub send_id: i64,
    pub release: String,
    pub title: Option<String>,
    pub state: String,
    pub audience: String,
    pub started_at: Option<String>,
    /// Journalists targeted (the audience without the skipped).
    pub targeted: i64,
    pub sent: i64,
    pub delivered: i64,
    /// delivered / targeted, a fraction.
    pub delivery_rate: Option<f64>,
    pub bounced: i64,
    pub bounced_hard: i64,
    pub bounced_soft: i64,
    pub failed: i64,
    pub complaints: i64,
    pub unsubscribed: i64,
    /// Deferred, queued or being sent: not decided yet (as `presswire
    /// sends` counts pending).
    pub pending: i64,
    /// Being sent when their worker stopped: they may have arrived.
    pub uncertain: i64,
}

/// The newest `limit` sends, newest first.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<Line>, Error> {
    let mut out = Vec::new();
    for id in store::recent_sends(db, limit).await? {
        let (s, c, r) = counts(db, id).await?;
        out.push(Line {
            send_id: s.id,
            release: s.release,
            title: s.title,
            state: s.state,
            audience: s.audience,
            started_at: s.started_at,
            targeted: c.targeted,
            sent: c.sent,
            delivered: c.delivered,
            delivery_rate: r.delivery_rate,
            bounced: c.bounced,
            bounced_hard: c.bounced_hard,
            bounced_soft: c.bounced_soft,
            failed: c.failed,
            complaints: c.complaints,
            unsubscribed: c.unsubscribed,
            pending: SendProgress::of(&c).pending,
            uncertain: c.uncertain,
        });
    }
    Ok(out)
}
