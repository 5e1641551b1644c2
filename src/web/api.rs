//! The JSON API under `/api/v1` (docs/api.md): the same domain functions
//! as the command line, for programs. A request carries `Authorization:
//! Bearer TOKEN` (a token of `presswire users token`); a missing, forged or
//! revoked token, or one of a disabled user, gets 401; a role too low for
//! the endpoint 403. Errors are `{"error": {"code", "message",
//! "problems"}}`. Every write is audited under the token's user.
//!
//! The import's body (the CSV bytes) is streamed to a temporary file
//! while its size is counted, never held in memory whole; past
//! `[serve] max_upload_mb` the answer is 413 and nothing is imported.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::App;
use crate::contacts::import::{self, ImportOptions};
use crate::contacts::suppress::{self, AddressOrDomain};
use crate::contacts::{self, history, Address, Audience};
use crate::team::audit::{self, Filter};
use crate::team::{tokens, Role, User};

/// Contacts per page when the request does not say; and the most.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

/// An API error: its status and the JSON body of docs/api.md.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    problems: Vec<Value>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            problems: Vec::new(),
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a valid API token as `Authorization: Bearer TOKEN`",
        )
    }

    fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
        tracing::error!("api: {what}: {e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; try again later",
        )
    }

    /// 503 when the database stayed busy (nothing was written), else 500.
    fn db(what: &str, e: &sqlx::Error) -> ApiError {
        if crate::db::is_busy(e) {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the database is busy; nothing was written: try again in a minute",
            );
        }
        ApiError::internal(what, e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {
            "code": self.code,
            "message": self.message,
            "problems": self.problems,
        }});
        let mut res = (self.status, Json(body)).into_response();
        match self.status {
            StatusCode::UNAUTHORIZED => {
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"presswire\""),
                );
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                res.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(super::RETRY_AFTER),
                );
            }
            _ => {}
        }
        res
    }
}

impl From<contacts::Error> for ApiError {
    fn from(e: contacts::Error) -> ApiError {
        match e {
            contacts::Error::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            contacts::Error::Db(ref db) => ApiError::db("contacts", db),
            ref e if e.is_bad_input() => ApiError::bad_request(e.to_string()),
            e => ApiError::internal("contacts", e),
        }
    }
}

impl From<crate::team::Error> for ApiError {
    fn from(e: crate::team::Error) -> ApiError {
        match e {
            crate::team::Error::Db(ref db) => ApiError::db("team", db),
            e => ApiError::bad_request(e.to_string()),
        }
    }
}

/// The user of a request's API token. As a handler's argument it lets
/// only requests with a valid token through (401 otherwise).
pub struct ApiUser(pub User);

impl FromRequestParts<Arc<App>> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(ApiError::unauthorized)?;
        match tokens::authenticate(&app.db, token).await? {
            Some(user) => Ok(ApiUser(user)),
            None => {
                tracing::warn!("api: a request with an unknown or revoked token");
                Err(ApiError::unauthorized())
            }
        }
    }
}

impl ApiUser {
    /// `Ok` when the user's role includes `needed`, else 403.
    fn allow(&self, needed: Role) -> Result<(), ApiError> {
        if self.0.role.allows(needed) {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this needs the {needed} role; {} is {}",
                self.0.email, self.0.role
            ),
        ))
    }
}

/// Query parameters as pairs, for the repeatable ones (`tag=a&tag=b`).
type Pairs = Query<Vec<(String, String)>>;

fn all_of(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

fn one_of(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// A `true`/`false` (or `1`/`0`, or empty: true) query parameter.
fn flag(pairs: &[(String, String)], name: &str) -> Result<bool, ApiError> {
    match one_of(pairs, name).as_deref() {
        None | Some("false" | "0") => Ok(false),
        Some("" | "true" | "1") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "{name}={other:?}: use true or false"
        ))),
    }
}

fn known_params(pairs: &[(String, String)], known: &[&str]) -> Result<(), ApiError> {
    match pairs.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        Some((k, _)) => Err(ApiError::bad_request(format!(
            "unknown parameter {k:?}: this endpoint takes {}",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

#[derive(Serialize)]
struct ContactsPage {
    contacts: Vec<contacts::Contact>,
    /// The `after` of the next page; null on the last.
    next: Option<String>,
}

/// `GET /api/v1/contacts`: one page of the contacts matching the audience
/// filters, in address order; `after` is the previous page's `next`.
pub async fn list_contacts(
    State(app): State<Arc<App>>,
    user: ApiUser,
    Query(pairs): Pairs,
) -> Result<Response, ApiError> {
    user.allow(Role::Viewer)?;
    known_params(
        &pairs,
        &[
            "tag",
            "require_tag",
            "exclude_tag",
            "country",
            "language",
            "beat",
            "outlet",
            "q",
            "limit",
            "after",
        ],
    )?;
    let mut audience = Audience::new(
        &all_of(&pairs, "tag"),
        &all_of(&pairs, "country"),
        &all_of(&pairs, "language"),
        &all_of(&pairs, "beat"),
        &all_of(&pairs, "outlet"),
    )?
    .with_tag_rules(
        &all_of(&pairs, "require_tag"),
        &all_of(&pairs, "exclude_tag"),
    );
    audience.text = one_of(&pairs, "q");
    let limit = match one_of(&pairs, "limit") {
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!("limit={l:?}: give a number from 1 to {MAX_LIMIT}"))
            })?,
        None => DEFAULT_LIMIT,
    };
    let after = one_of(&pairs, "after");
    let page = contacts::list_page(&app.db, &audience, after.as_deref(), limit).await?;
    let next = (page.len() as i64 == limit)
        .then(|| page.last().and_then(|c| Address::parse(&c.email).ok()))
        .flatten()
        .map(|a| a.key());
    Ok(Json(ContactsPage {
        contacts: page,
        next,
    })
    .into_response())
}

/// `GET /api/v1/contacts/{email}`: the contact with its deliveries and
/// bounces, as `contacts show --format json`.
pub async fn get_contact(
    State(app): State<Arc<App>>,
    user: ApiUser,
    Path(email): Path<String>,
) -> Result<Response, ApiError> {
    user.allow(Role::Viewer)?;
    let c = contacts::get(&app.db, &email).await?;
    let deliveries = history::deliveries(&app.db, &c).await?;
    let bounces = history::bounces(&app.db, &c).await?;
    let mut v = serde_json::to_value(&c).map_err(|e| ApiError::internal("contact", e))?;
    v["deliveries"] = serde_json::to_value(&deliveries).unwrap_or_default();
    v["bounces"] = serde_json::to_value(&bounces).unwrap_or_default();
    Ok(Json(v).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSuppression {
    /// An address (`jane@x.org`) or a domain (`x.org`).
    value: String,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/v1/suppressions` with `{"value": "jane@x.org", "reason": "…"}`:
/// 201 when new, 200 when it was suppressed already (the reason updated).
pub async fn add_suppression(
    State(app): State<Arc<App>>,
    user: ApiUser,
    body: Result<Json<NewSuppression>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    user.allow(Role::Sender)?;
    let Json(s) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be JSON {{\"value\": \"ADDRESS OR DOMAIN\", \"reason\": \"…\"}}: {}",
            e.body_text()
        ))
    })?;
    let target = AddressOrDomain::parse(&s.value)?;
    let reason = s.reason.unwrap_or_else(|| "manual".into());
    let new = suppress::add(&app.db, &user.0.email, &target, &reason, "api").await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"value": target_value(&target), "reason": reason, "new": new})),
    )
        .into_response())
}

fn target_value(t: &AddressOrDomain) -> String {
    match t {
        AddressOrDomain::Address(a) => a.key(),
        AddressOrDomain::Domain(d) => d.clone(),
    }
}

/// `DELETE /api/v1/suppressions/{value}` (`?forgotten=true` lifts the
/// hash of a forgotten address, an admin's right): 200, or 404 when it was
/// not suppressed.
pub async fn remove_suppression(
    State(app): State<Arc<App>>,
    user: ApiUser,
    Path(value): Path<String>,
    Query(pairs): Pairs,
) -> Result<Response, ApiError> {
    known_params(&pairs, &["forgotten"])?;
    let forgotten = flag(&pairs, "forgotten")?;
    user.allow(if forgotten { Role::Admin } else { Role::Sender })?;
    let target = AddressOrDomain::parse(&value)?;
    if suppress::remove(&app.db, &user.0.email, &target, forgotten).await? {
        Ok(Json(json!({"value": target_value(&target), "removed": true})).into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{} is not suppressed", target_value(&target)),
        ))
    }
}

/// `GET /api/v1/audit?since=&user=&limit=&before=`: the audit log, newest
/// first, `{"entries": [...], "next": ID_OR_NULL}` (`before` = `next`
/// pages back).
pub async fn audit_log(
    State(app): State<Arc<App>>,
    user: ApiUser,
    Query(pairs): Pairs,
) -> Result<Response, ApiError> {
    user.allow(Role::Admin)?;
    known_params(&pairs, &["since", "user", "limit", "before"])?;
    let number = |name: &str| -> Result<Option<i64>, ApiError> {
        one_of(&pairs, name)
            .map(|v| {
                v.parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ApiError::bad_request(format!("{name}={v:?}: give a number")))
            })
            .transpose()
    };
    let limit = number("limit")?.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let filter = Filter {
        since: one_of(&pairs, "since")
            .map(|s| audit::parse_since(&s))
            .transpose()?,
        actor: one_of(&pairs, "user"),
        before: number("before")?,
        limit,
    };
    let entries = audit::list(&app.db, &filter).await?;
    let next = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(json!({"entries": entries, "next": next})).into_response())
}

/// `POST /api/v1/contacts/import?dry_run=&skip_invalid=&skip_existing=&tag=&map=&filename=`,
/// the body the CSV bytes: 200 with the report of `contacts import
/// --format json`; 422 with the problems when refused (nothing written);
/// 413 past the size limit.
pub async fn import_contacts(
    State(app): State<Arc<App>>,
    user: ApiUser,
    Query(pairs): Pairs,
    body: Body,
) -> Result<Response, ApiError> {
    user.allow(Role::Editor)?;
    known_params(
        &pairs,
        &[
            "dry_run",
            "skip_invalid",
            "skip_existing",
            "tag",
            "map",
            "filename",
            "encoding",
        ],
    )?;
    let maps = all_of(&pairs, "map")
        .iter()
        .map(|m| m.parse())
        .collect::<Result<Vec<_>, String>>()
        .map_err(|e| ApiError::bad_request(format!("map: {e}")))?;
    let encoding = one_of(&pairs, "encoding")
        .as_deref()
        .map(import::encoding_by_label)
        .transpose()?;
    // The name reports and `--undo` know the import by: a bare file name.
    let filename = one_of(&pairs, "filename").unwrap_or_else(|| "upload.csv".into());
    let bare = std::path::Path::new(&filename)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && n != "." && n != "..")
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "filename={filename:?}: give a file name such as outlook.csv"
            ))
        })?;
    let options = ImportOptions {
        tags: all_of(&pairs, "tag"),
        maps,
        dry_run: flag(&pairs, "dry_run")?,
        skip_existing: flag(&pairs, "skip_existing")?,
        skip_invalid: flag(&pairs, "skip_invalid")?,
        encoding,
        actor: Some(user.0.email.clone()),
    };
    let dir = tempfile::tempdir().map_err(|e| ApiError::internal("import: temporary folder", e))?;
    let path = dir.path().join(&bare);
    save_body(body, &path, app.max_upload).await?;
    let report = import::import(&app.db, std::slice::from_ref(&path), &options, None).await;
    let mut report = match report {
        Ok(r) => r,
        // A header that maps to no address, a file that is not text…
        Err(e) if e.is_bad_input() => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_file",
                e.to_string(),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    // The report names the file as the client named it, not by the
    // temporary folder it was written to.
    let full = path.display().to_string();
    for f in &mut report.files {
        if f.file == full {
            f.file.clone_from(&bare);
        }
    }
    for p in &mut report.problems {
        if p.file == full {
            p.file.clone_from(&bare);
        }
    }
    if report.refused() {
        let mut err = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_rows",
            format!(
                "{} of {} rows are invalid; nothing imported: fix them, or send skip_invalid=true \
                 to import the {} valid rows",
                report.invalid,
                report.rows,
                report.valid_rows()
            ),
        );
        err.problems = report
            .problems
            .iter()
            .map(|p| serde_json::to_value(p).unwrap_or_default())
            .collect();
        return Err(err);
    }
    Ok(Json(report).into_response())
}

/// Writes a request body to `path`, refusing it (413) past `limit` bytes.
async fn save_body(body: Body, path: &std::path::Path, limit: u64) -> Result<(), ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the file is larger than the limit of {} MB ([serve] max_upload_mb); nothing imported",
                limit / 1_000_000
            ),
        )
    };
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| ApiError::internal("import: temporary file", e))?;
    let mut written: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        written += chunk.len() as u64;
        if written > limit {
            return Err(too_large());
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::internal("import: temporary file", e))?;
    }
    file.flush()
        .await
        .map_err(|e| ApiError::internal("import: temporary file", e))?;
    Ok(())
}

/// Any other path under `/api/v1`: a JSON 404.
pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; docs/api.md lists them",
    )
}
