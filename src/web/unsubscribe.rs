//! The List-Unsubscribe URL of every message, `/u/TOKEN` (the worker
//! writes `<unsubscribe_url>/u/<token>`). The token names the contact and
//! the send and carries an HMAC signature (`send::tokens`), so it is its
//! own authorisation: a forged or altered token gets an error page and
//! changes nothing.
//!
//! - `GET` shows a page with one button; it never unsubscribes, since mail
//!   scanners and link previews fetch links on their own.
//! - `POST` unsubscribes at once: the button's form, or a mail client's
//!   RFC 8058 one-click request (body `List-Unsubscribe=One-Click`). Any
//!   body is accepted: the signed token is what counts.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::App;
use crate::contacts::unsubscribe::{unsubscribe, Unsubscribed};

const INVALID: &str = "This unsubscribe link is not valid. It may have been cut or changed \
     on its way; please use the complete link from the message, or reply to it and ask to be removed.";

/// `GET /u/TOKEN`: the confirmation page.
pub async fn page(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    if app.signer.verify_unsubscribe(&token).is_none() {
        return app.error(StatusCode::BAD_REQUEST, INVALID);
    }
    app.page(StatusCode::OK, "unsubscribe.html", minijinja::context! {})
}

/// `POST /u/TOKEN`: unsubscribes (idempotent).
pub async fn confirm(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    let Some((contact, send)) = app.signer.verify_unsubscribe(&token) else {
        tracing::warn!("unsubscribe: refused a token whose signature does not hold");
        return app.error(StatusCode::BAD_REQUEST, INVALID);
    };
    match unsubscribe(&app.db, contact, send).await {
        Ok(done) => {
            let already = matches!(done, Unsubscribed::Already { .. });
            if let Unsubscribed::Done { .. } = done {
                tracing::info!("unsubscribe: contact {contact} (send {send})");
            }
            app.page(
                StatusCode::OK,
                "unsubscribed.html",
                minijinja::context! { already },
            )
        }
        Err(crate::contacts::Error::Db(e)) => app.db_failure("unsubscribe", &e),
        Err(e) => app.internal("unsubscribe", e),
    }
}
