//! The read-only dashboard (behind the login of [`auth`](super::auth)):
//! sends with their progress, a send's report, contact search, and
//! bounces with the raw message kept for each. Server-rendered HTML; no
//! scripts.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::App;
use crate::db::Db;
use crate::send::{queue, DeliveryState};

/// Deliveries still on their way.
const PENDING: [&str; 3] = ["queued", "sending", "deferred"];

/// One send as the list shows it.
#[derive(Serialize)]
struct SendRow {
    id: i64,
    release: String,
    title: Option<String>,
    state: String,
    created_at: String,
    total: i64,
    sent: i64,
    pending: i64,
    failed: i64,
    /// Share of deliveries that reached a final state, 0–100.
    done_percent: i64,
}

fn progress(counts: &BTreeMap<String, i64>, total: i64) -> (i64, i64) {
    let pending: i64 = PENDING
        .iter()
        .map(|k| counts.get(*k).copied().unwrap_or(0))
        .sum();
    let done = if total > 0 {
        (total - pending) * 100 / total
    } else {
        100
    };
    (pending, done)
}

/// `GET /dashboard/`: every send, newest first, with its progress.
pub async fn sends(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let session = match super::auth::require(&app, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let all = match queue::sends(&app.db, None).await {
        Ok(all) => all,
        Err(e) => return app.internal("dashboard: sends", e),
    };
    let rows: Vec<SendRow> = all
        .into_iter()
        .map(|s| {
            let (pending, done_percent) = progress(&s.counts, s.total);
            let n = |k: &str| s.counts.get(k).copied().unwrap_or(0);
            SendRow {
                id: s.id,
                sent: n("sent"),
                failed: n("failed") + n("bounced"),
                release: s.release,
                title: s.title,
                state: s.state,
                created_at: s.created_at,
                total: s.total,
                pending,
                done_percent,
            }
        })
        .collect();
    app.page(
        StatusCode::OK,
        "sends.html",
        minijinja::context! { csrf => session.csrf, section => "sends", sends => rows },
    )
}

/// What a send's report page shows.
#[derive(Debug, Serialize)]
pub struct SendReport {
    pub id: i64,
    pub release: String,
    pub title: Option<String>,
    pub state: String,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub total: i64,
    pub done_percent: i64,
    /// Every delivery state with its count, in the order of the flow.
    pub counts: Vec<(String, i64)>,
}

/// The data of a send's report page, gathered in this one function: it
/// reads the queue's counts per delivery state (`send::queue::counts`) for
/// now, and is the one place to change when the report module (issue 6)
/// lands. `None` when there is no such send.
pub async fn send_report_data(db: &Db, id: i64) -> Result<Option<SendReport>, crate::send::Error> {
    let info = match queue::sends(db, Some(id)).await {
        Ok(mut v) if !v.is_empty() => v.remove(0),
        Ok(_) | Err(crate::send::Error::NoSuchSend(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let counts = queue::counts(db, id).await?;
    let total: i64 = counts.values().sum();
    let by_name: BTreeMap<String, i64> = counts
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), *v))
        .collect();
    let (_, done_percent) = progress(&by_name, total);
    Ok(Some(SendReport {
        id,
        release: info.release,
        title: info.title,
        state: info.state,
        created_at: info.created_at,
        started_at: info.started_at,
        finished_at: info.finished_at,
        total,
        done_percent,
        counts: DeliveryState::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), counts.get(s).copied().unwrap_or(0)))
            .collect(),
    }))
}

/// `GET /dashboard/sends/ID`: one send's report.
pub async fn send(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let session = match super::auth::require(&app, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match send_report_data(&app.db, id).await {
        Ok(Some(report)) => app.page(
            StatusCode::OK,
            "send.html",
            minijinja::context! { csrf => session.csrf, section => "sends", send => report },
        ),
        Ok(None) => app.error(StatusCode::NOT_FOUND, &format!("There is no send {id}.")),
        Err(e) => app.internal("dashboard: send report", e),
    }
}

#[derive(Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
}

/// Contacts shown at most by one search.
const SEARCH_LIMIT: i64 = 100;

/// `GET /dashboard/contacts?q=TEXT`: contacts by address, name or outlet.
pub async fn contacts(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(search): Query<Search>,
) -> Response {
    let session = match super::auth::require(&app, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let q = search.q.chars().take(200).collect::<String>();
    match crate::contacts::search(&app.db, &q, SEARCH_LIMIT + 1).await {
        Ok(mut found) => {
            let more = found.len() as i64 > SEARCH_LIMIT;
            found.truncate(SEARCH_LIMIT as usize);
            app.page(
                StatusCode::OK,
                "contacts.html",
                minijinja::context! {
                    csrf => session.csrf, section => "contacts", q, contacts => found, more,
                    limit => SEARCH_LIMIT,
                },
            )
        }
        Err(e) => app.internal("dashboard: contact search", e),
    }
}

/// Bounces listed on one page.
const BOUNCES_SHOWN: usize = 200;

/// `GET /dashboard/bounces`: the latest bounces.
pub async fn bounces(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let session = match super::auth::require(&app, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match crate::bounce::list::list(&app.db, &Default::default()).await {
        Ok(mut all) => {
            let total = all.len();
            all.truncate(BOUNCES_SHOWN);
            app.page(
                StatusCode::OK,
                "bounces.html",
                minijinja::context! { csrf => session.csrf, section => "bounces", bounces => all, total },
            )
        }
        Err(e) => app.internal("dashboard: bounces", e),
    }
}

/// The raw message shown at most, in bytes.
const RAW_SHOWN: usize = 512 * 1024;

/// `GET /dashboard/bounces/ID`: one bounce with its raw message.
pub async fn bounce(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let session = match super::auth::require(&app, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match crate::bounce::list::show(&app.db, id).await {
        Ok(Some((bounce, raw))) => {
            let raw_len = raw.as_ref().map_or(0, Vec::len);
            let raw =
                raw.map(|r| String::from_utf8_lossy(&r[..r.len().min(RAW_SHOWN)]).into_owned());
            app.page(
                StatusCode::OK,
                "bounce.html",
                minijinja::context! {
                    csrf => session.csrf, section => "bounces", bounce, raw,
                    truncated => raw_len > RAW_SHOWN,
                },
            )
        }
        Ok(None) => app.error(StatusCode::NOT_FOUND, &format!("There is no bounce {id}.")),
        Err(e) => app.internal("dashboard: bounce", e),
    }
}
