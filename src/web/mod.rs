//! `presswire serve`: the HTTP server. It owns the routes, the pages and
//! the HTTP side of security (headers, cookies, CSRF, login rate limits);
//! what a request does is the domain's business:
//!
//! - [`unsubscribe`]: the List-Unsubscribe URL of every message
//!   (`/u/TOKEN`): `GET` shows a confirmation page, `POST` (RFC 8058
//!   one-click, or the page's button) unsubscribes through
//!   `contacts::unsubscribe`;
//! - [`webhooks`]: `POST /webhooks/{generic,ses,sendgrid,postmark,mailgun}`,
//!   handed to `bounce::webhook`;
//! - [`dashboard`]: a read-only dashboard behind a login (`/dashboard/`);
//! - [`api`]: the JSON API under `/api/v1`, behind API tokens.
//!
//! TLS is the reverse proxy's job (docs/serving.md, "Running it behind a reverse proxy"); the
//! server speaks plain HTTP/1.1 and listens on loopback by default.

pub mod api;
pub mod auth;
pub mod dashboard;
pub mod store;
pub mod unsubscribe;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::bounce::webhook::ses;
use crate::bounce::Policy;
use crate::config::Config;
use crate::db::Db;
use crate::send::tokens::Signer;

/// The address `presswire serve` listens on when neither `--listen` nor
/// `[serve] listen` says.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8025";

/// Largest request body: a SendGrid batch of events stays well below.
const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Seconds a client is asked to wait (`Retry-After`) when the database
/// stayed busy.
pub const RETRY_AFTER: &str = "10";

/// A setting of `[serve]` or `[webhooks]` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("presswire.toml: {0}")]
pub struct ConfigError(pub String);

/// The webhooks that are configured, ready to check requests.
#[derive(Default)]
pub struct Webhooks {
    pub generic: Option<String>,
    pub ses: Option<ses::Verifier>,
    /// The EC point of SendGrid's public key.
    pub sendgrid: Option<Vec<u8>>,
    pub postmark: Option<(String, String)>,
    pub mailgun: Option<String>,
}

/// Everything a request handler needs.
pub struct App {
    pub db: Db,
    pub signer: Signer,
    pub policy: Policy,
    pub templates: minijinja::Environment<'static>,
    /// The path the proxy publishes the server under ("" or "/presswire").
    pub prefix: String,
    pub secure_cookies: bool,
    pub trust_forwarded: bool,
    pub password_hash: Option<String>,
    pub session_ms: i64,
    pub webhooks: Webhooks,
    /// The largest CSV the API imports, in bytes (`[serve] max_upload_mb`).
    pub max_upload: u64,
}

impl App {
    /// The server's state from presswire.toml; `listen` decides whether
    /// cookies may go without the Secure flag (loopback only).
    pub async fn new(db: Db, config: &Config, listen: &SocketAddr) -> Result<App, anyhow::Error> {
        let serve = &config.serve;
        let insecure = serve.insecure_http.unwrap_or(false);
        if insecure && !listen.ip().is_loopback() {
            return Err(ConfigError(format!(
                "[serve] insecure_http is only allowed on a loopback address, not {listen}: \
                 serve over https through a reverse proxy instead"
            ))
            .into());
        }
        let prefix = serve.prefix.clone().unwrap_or_default();
        let prefix = prefix.trim_end_matches('/').to_string();
        if !prefix.is_empty()
            && (!prefix.starts_with('/') || prefix.contains(['"', '<', '>', ' ', '\'']))
        {
            return Err(ConfigError(format!(
                "[serve] prefix {prefix:?} must be a path such as \"/presswire\""
            ))
            .into());
        }
        if let Some(h) = &serve.password_hash {
            argon2::PasswordHash::new(h).map_err(|e| {
                ConfigError(format!(
                    "[serve] password_hash is not an Argon2 PHC string ({e}); make one with \
                     `presswire serve --hash-password`"
                ))
            })?;
        }
        let w = &config.webhooks;
        let webhooks = Webhooks {
            generic: match &w.generic {
                Some(g) if g.secret.len() < 16 => {
                    return Err(ConfigError(
                        "[webhooks.generic] secret must be at least 16 characters".into(),
                    )
                    .into())
                }
                Some(g) => Some(g.secret.clone()),
                None => None,
            },
            ses: w
                .ses
                .as_ref()
                .map(ses::Verifier::new)
                .transpose()
                .map_err(ConfigError)?,
            sendgrid: w
                .sendgrid
                .as_ref()
                .map(|s| crate::bounce::webhook::sendgrid::public_key_point(&s.public_key))
                .transpose()
                .map_err(|e| ConfigError(format!("[webhooks.sendgrid] public_key: {e}")))?,
            postmark: w
                .postmark
                .as_ref()
                .map(|p| (p.username.clone(), p.password.clone())),
            mailgun: w.mailgun.as_ref().map(|m| m.signing_key.clone()),
        };
        let signer = Signer::load(&db).await?;
        Ok(App {
            db,
            signer,
            policy: Policy::from_config(&config.bounces),
            templates: templates(),
            prefix,
            secure_cookies: !insecure,
            trust_forwarded: serve.trust_forwarded.unwrap_or(false),
            password_hash: serve.password_hash.clone(),
            session_ms: serve.session_hours.unwrap_or(12).clamp(1, 24 * 30) as i64 * 3_600_000,
            webhooks,
            max_upload: serve.max_upload_mb.unwrap_or(200).max(1) * 1_000_000,
        })
    }

    /// Renders a template into a page with `status`.
    pub fn page(&self, status: StatusCode, name: &str, ctx: minijinja::Value) -> Response {
        let base = minijinja::context! { prefix => &self.prefix };
        let ctx = minijinja::context! { ..ctx, ..base };
        match self
            .templates
            .get_template(name)
            .and_then(|t| t.render(ctx))
        {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!("template {name}: {e:#}");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }

    /// A plain error page.
    pub fn error(&self, status: StatusCode, message: &str) -> Response {
        self.page(
            status,
            "error.html",
            minijinja::context! { status => status.as_u16(), title => status.canonical_reason(), message },
        )
    }

    /// The answer to a database error: 503 with `Retry-After` when the
    /// database stayed busy past [`crate::db::WRITE_WAIT`] (the request may
    /// be repeated: nothing was written), else [`App::internal`].
    pub fn db_failure(&self, what: &str, e: &sqlx::Error) -> Response {
        if crate::db::is_busy(e) {
            tracing::warn!("{what}: the database stayed busy: {e}");
            let mut res = self.error(
                StatusCode::SERVICE_UNAVAILABLE,
                "We are very busy at the moment and could not record this. Please try again in a minute.",
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
            return res;
        }
        self.internal(what, e)
    }

    /// The error page of a failure inside (logged; the details are not shown).
    pub fn internal(&self, what: &str, e: impl std::fmt::Display) -> Response {
        tracing::error!("{what}: {e}");
        self.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side. Please try again later.",
        )
    }
}

/// The pages, embedded in the binary.
fn templates() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    crate::report::html::add_filters(&mut env);
    for (name, source) in [
        ("base.html", include_str!("templates/base.html")),
        ("error.html", include_str!("templates/error.html")),
        (
            "unsubscribe.html",
            include_str!("templates/unsubscribe.html"),
        ),
        (
            "unsubscribed.html",
            include_str!("templates/unsubscribed.html"),
        ),
        ("login.html", include_str!("templates/login.html")),
        ("sends.html", include_str!("templates/sends.html")),
        ("send.html", include_str!("templates/send.html")),
        ("contacts.html", include_str!("templates/contacts.html")),
        ("bounces.html", include_str!("templates/bounces.html")),
        ("bounce.html", include_str!("templates/bounce.html")),
    ] {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("built-in template {name}: {e}"));
    }
    env
}

/// The routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/u/{token}",
            get(unsubscribe::page).post(unsubscribe::confirm),
        )
        .route("/webhooks/{provider}", post(webhooks::receive))
        .route("/static/style.css", get(style))
        .route("/healthz", get(|| async { "ok" }))
        .route("/", get(root))
        .route("/dashboard", get(root))
        .route("/dashboard/", get(dashboard::sends))
        .route("/dashboard/login", get(auth::login_page).post(auth::login))
        .route("/dashboard/logout", post(auth::logout))
        .route("/dashboard/sends/{id}", get(dashboard::send))
        .route(
            "/dashboard/sends/{id}/{file}",
            get(dashboard::send_report_file),
        )
        .route("/dashboard/contacts", get(dashboard::contacts))
        .route("/dashboard/bounces", get(dashboard::bounces))
        .route("/dashboard/bounces/{id}", get(dashboard::bounce))
        .route("/api/v1/contacts", get(api::list_contacts))
        .route(
            "/api/v1/contacts/import",
            // The import streams its body to a file under a limit of its own.
            post(api::import_contacts).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/v1/contacts/{email}", get(api::get_contact))
        .route("/api/v1/suppressions", post(api::add_suppression))
        .route(
            "/api/v1/suppressions/{value}",
            axum::routing::delete(api::remove_suppression),
        )
        .route("/api/v1/audit", get(api::audit_log))
        .route("/api/v1/{*rest}", axum::routing::any(api::not_found))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(security_headers))
        .with_state(app)
}

/// Serves until `shutdown` completes.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router(Arc::new(app));
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn root(State(app): State<Arc<App>>) -> Redirect {
    Redirect::to(&format!("{}/dashboard/", app.prefix))
}

async fn not_found(State(app): State<Arc<App>>) -> Response {
    app.error(StatusCode::NOT_FOUND, "There is no page at this address.")
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("templates/style.css"),
    )
        .into_response()
}

/// The Content-Security-Policy of every response: nothing but our own
/// stylesheet and forms posting back to us; no scripts at all.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// Headers every response gets: no framing, no referrer, no sniffing, no
/// caching of pages that show contact data.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// The client's address: the connection's peer, or with `trust_forwarded`
/// the last X-Forwarded-For entry (the one our own proxy appended; earlier
/// entries are the client's to forge).
pub fn client_ip(app: &App, peer: SocketAddr, headers: &HeaderMap) -> std::net::IpAddr {
    if app.trust_forwarded {
        // Only the very last entry: if it is not an address, the proxy did
        // not write it, and nothing before it can be trusted either.
        let last = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|s| s.trim().parse().ok());
        if let Some(ip) = last {
            return ip;
        }
    }
    peer.ip()
}
