//! The read-only dashboard (behind the login of [`auth`](super::auth)):
//! sends with their progress, a send's delivery report (the report
//! module's, shown as a page and offered as CSV, JSON and HTML), contact
//! search, and bounces with the raw message kept for each. Server-rendered HTML; no
//! scripts.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::{Deserialize, Serialize};

use super::auth::Session;
use super::App;
use crate::db::Db;
use crate::report::{self, GroupRow, Report};
use crate::send::store::queue;
use crate::send::DeliveryState;

/// One send as the list shows it: its deliveries counted as `presswire
/// sends` and the report count them ([`report::SendProgress`]).
#[derive(Serialize)]
struct SendRow {
    id: i64,
    release: String,
    title: Option<String>,
    state: String,
    created_at: String,
    #[serde(flatten)]
    progress: report::SendProgress,
    /// Share of deliveries that reached a final state, 0–100.
    done_percent: i64,
}

/// `GET /dashboard/`: every send, newest first, with its progress.
pub async fn sends(State(app): State<Arc<App>>, session: Session) -> Response {
    let all = match queue::sends(&app.db, None).await {
        Ok(all) => all,
        Err(e) => return app.internal("dashboard: sends", e),
    };
    let mut rows = Vec::with_capacity(all.len());
    for s in all {
        let progress = match report::progress(&app.db, s.id).await {
            Ok(p) => p,
            Err(e) => return app.internal("dashboard: sends", e),
        };
        rows.push(SendRow {
            id: s.id,
            release: s.release,
            title: s.title,
            state: s.state,
            created_at: s.created_at,
            done_percent: progress.done_percent(),
            progress,
        });
    }
    app.page(
        StatusCode::OK,
        "sends.html",
        minijinja::context! { csrf => session.csrf, section => "sends", sends => rows },
    )
}

/// Rows of each breakdown the send page shows; the downloads have them all.
const GROUPS_SHOWN: usize = 10;
/// Contacts to fix and uncertain deliveries the send page lists.
const LIST_SHOWN: usize = 50;

/// The data of a send's page: its delivery report, the very one
/// `presswire report ID --format json` prints (`report::build`). `None`
/// when there is no such send.
pub async fn send_report_data(db: &Db, id: i64) -> Result<Option<Report>, report::Error> {
    match report::build(db, id).await {
        Ok(r) => Ok(Some(r)),
        Err(report::Error::NoSuchSend(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `GET /dashboard/sends/ID`: one send's report.
pub async fn send(State(app): State<Arc<App>>, session: Session, Path(id): Path<i64>) -> Response {
    let r = match send_report_data(&app.db, id).await {
        Ok(Some(r)) => r,
        Ok(None) => return app.error(StatusCode::NOT_FOUND, &format!("There is no send {id}.")),
        Err(e) => return app.internal("dashboard: send report", e),
    };
    let total: i64 = r.states.values().sum();
    let done_percent = report::SendProgress::of(&r.counts).done_percent();
    // Every state, in the order of the flow, with none where there are none.
    let states: Vec<(&str, i64)> = DeliveryState::ALL
        .iter()
        .map(|s| (s.as_str(), r.states.get(s.as_str()).copied().unwrap_or(0)))
        .collect();
    let first = |rows: &[GroupRow]| rows[..rows.len().min(GROUPS_SHOWN)].to_vec();
    let breakdowns = [
        ("Outlet", "outlet", first(&r.by_outlet), r.by_outlet.len()),
        ("Domain", "domain", first(&r.by_domain), r.by_domain.len()),
        (
            "Country",
            "country",
            first(&r.by_country),
            r.by_country.len(),
        ),
        (
            "Language",
            "language",
            first(&r.by_language),
            r.by_language.len(),
        ),
    ];
    app.page(
        StatusCode::OK,
        "send.html",
        minijinja::context! {
            csrf => session.csrf, section => "sends",
            r => &r,
            done_percent,
            total,
            states,
            cards => report::html::cards(&r),
            counts => r.counts.rows(),
            breakdowns,
            to_fix => &r.to_fix[..r.to_fix.len().min(LIST_SHOWN)],
            uncertain => &r.uncertain[..r.uncertain.len().min(LIST_SHOWN)],
        },
    )
}

/// `GET /dashboard/sends/ID/report.csv|json|html`: the report as
/// `presswire report ID --format csv|json|html` writes it, to download.
pub async fn send_report_file(
    State(app): State<Arc<App>>,
    _logged_in: Session,
    Path((id, file)): Path<(i64, String)>,
) -> Response {
    let content_type = match file.as_str() {
        "report.csv" => "text/csv; charset=utf-8",
        "report.json" => "application/json",
        "report.html" => "text/html; charset=utf-8",
        _ => return app.error(StatusCode::NOT_FOUND, "There is no page at this address."),
    };
    let body = match file.as_str() {
        // One row per delivery, sent page by page as it is read: a send of
        // a million deliveries makes a CSV of some 200 MB.
        "report.csv" => report::deliveries::CsvPages::open(&app.db, id)
            .await
            .map(|pages| {
                Body::from_stream(stream::try_unfold(pages, |mut pages| async move {
                    Ok::<_, report::Error>(pages.next().await?.map(|(bytes, _)| (bytes, pages)))
                }))
            }),
        _ => report::build(&app.db, id).await.and_then(|r| {
            if file == "report.json" {
                let mut out = serde_json::to_vec_pretty(&r).map_err(std::io::Error::from)?;
                out.push(b'\n');
                Ok(Body::from(out))
            } else {
                report::html::render(&r).map(Body::from)
            }
        }),
    };
    match body {
        // An attachment: saved, not shown (the HTML file carries its own
        // inline styles, which this server's policy would block).
        Ok(body) => (
            [
                (header::CONTENT_TYPE, content_type.to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"presswire-send-{id}-{file}\""),
                ),
            ],
            body,
        )
            .into_response(),
        Err(report::Error::NoSuchSend(_)) => {
            app.error(StatusCode::NOT_FOUND, &format!("There is no send {id}."))
        }
        Err(e) => app.internal("dashboard: report file", e),
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
    session: Session,
    Query(search): Query<Search>,
) -> Response {
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
pub async fn bounces(State(app): State<Arc<App>>, session: Session) -> Response {
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
    session: Session,
    Path(id): Path<i64>,
) -> Response {
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
