//! `POST /webhooks/{provider}`: bounce webhooks. The provider modules of
//! `bounce::webhook` check the signature or secret and read the body; the
//! events go through the same classification, matching and policy as a
//! bounce that came back by mail. A webhook that is not configured is a
//! 404; a refused request changes nothing.
//!
//! Status codes: 200 recorded (or already recorded: providers retry until
//! they get a 2xx, so a repeat must succeed); 400 a malformed body; 401 a
//! missing or wrong signature, or a signed timestamp outside the replay
//! window; 502 the SNS certificate could not be fetched (SNS retries); 503
//! with `Retry-After` when the database stayed busy (`db::WRITE_WAIT`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::App;
use crate::bounce::webhook::{self, ses, Error, Event};

/// Receives one webhook request.
pub async fn receive(
    State(app): State<Arc<App>>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let w = &app.webhooks;
    let parsed: Result<(Vec<Event>, usize), Error> = match provider.as_str() {
        "generic" => match &w.generic {
            Some(secret) => webhook::generic::parse(secret, &get, &body).map(|e| (e, 0)),
            None => return not_configured(&provider),
        },
        "sendgrid" => match &w.sendgrid {
            Some(key) => webhook::sendgrid::parse(key, &get, &body),
            None => return not_configured(&provider),
        },
        "postmark" => match &w.postmark {
            Some((user, password)) => webhook::postmark::parse(user, password, &get, &body),
            None => return not_configured(&provider),
        },
        "mailgun" => match &w.mailgun {
            Some(key) => webhook::mailgun::parse(key, &body),
            None => return not_configured(&provider),
        },
        "ses" => match &w.ses {
            Some(verifier) => match verifier.handle(&body).await {
                Ok(ses::Outcome::Events(events, ignored)) => Ok((events, ignored)),
                Ok(ses::Outcome::Subscription { confirmed, .. }) => {
                    let what = if confirmed {
                        "subscription confirmed"
                    } else {
                        "subscription noted; confirm it with the SubscribeURL in presswire's log"
                    };
                    return json(StatusCode::OK, serde_json::json!({ "status": what }));
                }
                Ok(ses::Outcome::Unsubscribed { .. }) => {
                    return json(
                        StatusCode::OK,
                        serde_json::json!({ "status": "unsubscribed" }),
                    )
                }
                Err(e) => Err(e),
            },
            None => return not_configured(&provider),
        },
        _ => return not_configured(&provider),
    };
    let (events, ignored) = match parsed {
        Ok(p) => p,
        Err(e) => return refused(&provider, e),
    };
    match webhook::record(&app.db, &app.signer, &app.policy, &events, ignored).await {
        Ok(report) => {
            tracing::info!("webhook {provider}: {report:?}");
            json(
                StatusCode::OK,
                serde_json::to_value(&report).unwrap_or_default(),
            )
        }
        Err(e) => refused(&provider, Error::Db(e)),
    }
}

fn refused(provider: &str, e: Error) -> Response {
    let status = match &e {
        Error::Unauthorized(_) | Error::Stale(_) => StatusCode::UNAUTHORIZED,
        Error::Malformed(_) => StatusCode::BAD_REQUEST,
        Error::Unavailable(_) => StatusCode::BAD_GATEWAY,
        // Nothing was recorded; the provider sends it again later.
        Error::Db(e) if crate::db::is_busy(e) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    tracing::warn!("webhook {provider}: refused ({status}): {e}");
    let message = match e {
        Error::Db(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
            "busy; nothing was recorded, send it again later".to_string()
        }
        Error::Db(_) => "internal error".to_string(),
        e => e.to_string(),
    };
    let mut res = json(status, serde_json::json!({ "error": message }));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from_static(super::RETRY_AFTER),
        );
    }
    res
}

fn not_configured(provider: &str) -> Response {
    json(
        StatusCode::NOT_FOUND,
        serde_json::json!({ "error": format!("no webhook {provider:?} is configured") }),
    )
}

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}
