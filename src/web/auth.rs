//! The dashboard's login: a user's address and password (the team's
//! accounts, `team::users`, Argon2id); until the first user exists, the
//! single password of `[serve] password_hash` logs in as the one admin. A
//! session cookie; CSRF tokens on the forms; the role checked on the
//! server for every page ([`Session`], [`Session::allow`]); and a limit on
//! failed logins per client address and overall.
//!
//! Cookies are HttpOnly, SameSite=Strict and Secure (unless `[serve]
//! insecure_http` on loopback). The session cookie is a random token whose
//! session lives in the database (`web::store`): logging out deletes it,
//! so the old cookie opens nothing, in this process or any other sharing
//! the database; a session also ends when it expires or the password
//! changes. Failed logins are counted there too, so a restart does not
//! clear the lockout.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::store as login;
use super::{client_ip, App};
use crate::db::now_ms;
use crate::team::{users, Role, User};

/// Failed logins allowed per client address within [`WINDOW_MS`].
pub const MAX_FAILURES: usize = 5;
/// Failed logins allowed from all addresses together within [`WINDOW_MS`].
pub const MAX_FAILURES_OVERALL: usize = 50;
/// How far back failed logins count.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;

pub use crate::team::random_bytes;

/// [`random_bytes`] as hex.
pub fn random_hex(n: usize) -> String {
    hex::encode(random_bytes(n))
}

pub const SESSION_COOKIE: &str = "presswire_session";
pub const CSRF_COOKIE: &str = "presswire_csrf";

/// A logged-in dashboard session. As a handler's argument it lets only a
/// logged-in request through ([`require`]): others get the login page (or
/// a 404 when the dashboard is off). Every role may read the dashboard;
/// a handler that does more asks [`Session::allow`].
pub struct Session {
    /// The session's key in the database (`login::find`).
    key: String,
    /// The token the session's forms carry (logout).
    pub csrf: String,
    /// The account logged in; none for the single `[serve] password_hash`
    /// login, which is the one admin while no user exists.
    pub user: Option<User>,
}

/// The audit log's name for the single-password admin.
pub const PASSWORD_ADMIN: &str = "dashboard:admin";

impl Session {
    pub fn role(&self) -> Role {
        self.user.as_ref().map_or(Role::Admin, |u| u.role)
    }

    /// Who the audit log says did what this session does.
    pub fn actor(&self) -> String {
        self.user
            .as_ref()
            .map_or_else(|| PASSWORD_ADMIN.to_string(), |u| u.email.clone())
    }

    /// `Ok` when the session's role includes `needed`, else the 403 page.
    pub fn allow(&self, app: &App, needed: Role) -> Result<(), Box<Response>> {
        if self.role().allows(needed) {
            return Ok(());
        }
        Err(Box::new(app.error(
            StatusCode::FORBIDDEN,
            &format!(
                "This needs the {needed} role; you are {}. An admin can change your role.",
                self.role()
            ),
        )))
    }
}

impl FromRequestParts<Arc<App>> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        require(app, &parts.headers).await.map_err(|r| *r)
    }
}

fn password_fingerprint(hash: &str) -> String {
    hex::encode(Sha256::digest(hash.as_bytes()))[..16].to_string()
}

/// A cookie header value with the attributes every presswire cookie has.
fn cookie(app: &App, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let path = if app.prefix.is_empty() {
        "/".to_string()
    } else {
        format!("{}/", app.prefix)
    };
    let secure = if app.secure_cookies { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A cookie of the request by name.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// How the dashboard logs in now: with the team's accounts once one
/// exists, else with `[serve] password_hash` if set, else not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMode {
    Users,
    Password,
    Off,
}

/// The [`LoginMode`] of the database and settings as they are now (a
/// user added by the CLI switches a running server over).
pub async fn login_mode(app: &App) -> Result<LoginMode, sqlx::Error> {
    Ok(match users::any(&app.db).await {
        Ok(true) => LoginMode::Users,
        Ok(false) if app.password_hash.is_some() => LoginMode::Password,
        Ok(false) => LoginMode::Off,
        Err(crate::team::Error::Db(e)) => return Err(e),
        Err(_) => LoginMode::Off,
    })
}

/// The session of a request, if its cookie names one that is open: a
/// user's, whose account is active and whose password is the one the
/// session was opened with; or, while no user exists, a session of the
/// single password, which must still be `[serve] password_hash`.
pub async fn session(app: &App, headers: &HeaderMap) -> Result<Option<Session>, sqlx::Error> {
    let Some(token) = read_cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(found) = login::find(&app.db, &token).await? else {
        return Ok(None);
    };
    let user = match found.user {
        Some(id) => match users::by_id(&app.db, id).await {
            Ok(Some(u))
                if u.is_active()
                    && u.password_hash.as_deref().map(password_fingerprint)
                        == Some(found.password.clone()) =>
            {
                Some(u)
            }
            Ok(_) => return Ok(None),
            Err(crate::team::Error::Db(e)) => return Err(e),
            Err(_) => return Ok(None),
        },
        None => {
            let same = app
                .password_hash
                .as_deref()
                .is_some_and(|h| password_fingerprint(h) == found.password);
            if !same || login_mode(app).await? != LoginMode::Password {
                return Ok(None);
            }
            None
        }
    };
    Ok(Some(Session {
        csrf: app.signer.sign_for("dashboard-csrf", &found.key),
        key: found.key,
        user,
    }))
}

/// The session, or the response that sends the visitor to the login page
/// (404 when the dashboard is off).
pub async fn require(app: &App, headers: &HeaderMap) -> Result<Session, Box<Response>> {
    match login_mode(app).await {
        Ok(LoginMode::Off) => {
            return Err(Box::new(app.error(
                StatusCode::NOT_FOUND,
                "The dashboard is off: add a user (presswire users add) or set [serve] password_hash in presswire.toml.",
            )))
        }
        Ok(_) => {}
        Err(e) => return Err(Box::new(app.db_failure("dashboard: session", &e))),
    }
    match session(app, headers).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(Box::new(
            Redirect::to(&format!("{}/dashboard/login", app.prefix)).into_response(),
        )),
        Err(e) => Err(Box::new(app.db_failure("dashboard: session", &e))),
    }
}

/// The login form with a fresh CSRF token (cookie + hidden field); it
/// asks for an address when users log in.
fn login_form(app: &App, mode: LoginMode, status: StatusCode, message: Option<&str>) -> Response {
    let nonce = random_hex(16);
    let token = format!("{nonce}.{}", app.signer.sign_for("login-csrf", &nonce));
    let mut res = app.page(
        status,
        "login.html",
        minijinja::context! { csrf => token, message, users => mode == LoginMode::Users },
    );
    res.headers_mut()
        .append(header::SET_COOKIE, cookie(app, CSRF_COOKIE, &nonce, 3600));
    res
}

/// `GET /dashboard/login`.
pub async fn login_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let mode = match login_mode(&app).await {
        Ok(LoginMode::Off) => {
            return require(&app, &headers)
                .await
                .err()
                .map(|r| *r)
                .unwrap_or_else(|| app.error(StatusCode::NOT_FOUND, ""))
        }
        Ok(mode) => mode,
        Err(e) => return app.db_failure("dashboard: session", &e),
    };
    match session(&app, &headers).await {
        Ok(Some(_)) => Redirect::to(&format!("{}/dashboard/", app.prefix)).into_response(),
        Ok(None) => login_form(&app, mode, StatusCode::OK, None),
        Err(e) => app.db_failure("dashboard: session", &e),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// Whether a login form's CSRF token is ours and matches its cookie.
fn login_csrf_ok(app: &App, headers: &HeaderMap, token: &str) -> bool {
    let Some((nonce, sig)) = token.split_once('.') else {
        return false;
    };
    app.signer.verify_for("login-csrf", nonce, sig)
        && read_cookie(headers, CSRF_COOKIE).is_some_and(|c| {
            crate::bounce::webhook::constant_time_eq(c.as_bytes(), nonce.as_bytes())
        })
}

/// `POST /dashboard/login`.
pub async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let mode = match login_mode(&app).await {
        Ok(LoginMode::Off) => return app.error(StatusCode::NOT_FOUND, "The dashboard is off."),
        Ok(mode) => mode,
        Err(e) => return app.db_failure("dashboard: login", &e),
    };
    if !login_csrf_ok(&app, &headers, &form.csrf) {
        return app.error(
            StatusCode::FORBIDDEN,
            "The login form had expired or did not come from this site. Please open the login page again.",
        );
    }
    let ip = client_ip(&app, peer, &headers).to_string();
    let now = now_ms();
    // Counted as a failure now, taken back below if the password is right.
    match login::attempt(&app.db, &ip, now).await {
        Ok(Ok(_)) => {}
        Ok(Err(wait)) => {
            tracing::warn!("dashboard: too many failed logins from {ip}");
            let mut res = app.error(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Too many failed logins. Try again in {} minutes.",
                    (wait + 59) / 60
                ),
            );
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&wait.to_string()).unwrap_or(HeaderValue::from_static("900")),
            );
            return res;
        }
        Err(e) => return app.db_failure("dashboard: login", &e),
    }
    let opened = match mode {
        LoginMode::Users => match users::authenticate(&app.db, &form.email, &form.password).await {
            Ok(Some(user)) => user
                .password_hash
                .as_deref()
                .map(|h| (password_fingerprint(h), Some(user.id))),
            Ok(None) => None,
            Err(crate::team::Error::Db(e)) => return app.db_failure("dashboard: login", &e),
            Err(e) => return app.internal("dashboard: login", e),
        },
        _ => {
            let hash = app.password_hash.clone().unwrap_or_default();
            let password = form.password;
            let checked = hash.clone();
            // Argon2 takes a while on purpose: off the async threads.
            let ok =
                tokio::task::spawn_blocking(move || users::verify_password(&password, &checked))
                    .await
                    .unwrap_or(false);
            ok.then(|| (password_fingerprint(&hash), None))
        }
    };
    let Some((fingerprint, user)) = opened else {
        tracing::warn!("dashboard: failed login from {ip}");
        let message = match mode {
            LoginMode::Users => "Wrong address or password.",
            _ => "Wrong password.",
        };
        return login_form(&app, mode, StatusCode::UNAUTHORIZED, Some(message));
    };
    let token = match login::open(&app.db, &ip, &fingerprint, user, now + app.session_ms).await {
        Ok(token) => token,
        Err(e) => return app.db_failure("dashboard: login", &e),
    };
    let mut res = Redirect::to(&format!("{}/dashboard/", app.prefix)).into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookie(&app, SESSION_COOKIE, &token, app.session_ms / 1000),
    );
    h.append(header::SET_COOKIE, cookie(&app, CSRF_COOKIE, "", 0));
    res
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /dashboard/logout`.
pub async fn logout(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let session = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return *res,
    };
    if !crate::bounce::webhook::constant_time_eq(session.csrf.as_bytes(), form.csrf.as_bytes()) {
        return app.error(
            StatusCode::FORBIDDEN,
            "The form did not come from this site.",
        );
    }
    // Gone from the database: the cookie opens nothing any more, even if
    // the browser (or someone who copied it) keeps it.
    if let Err(e) = login::close(&app.db, &session.key).await {
        return app.db_failure("dashboard: logout", &e);
    }
    let mut res = Redirect::to(&format!("{}/dashboard/login", app.prefix)).into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, cookie(&app, SESSION_COOKIE, "", 0));
    res
}

/// An Argon2id hash (PHC string) of `password`, for `[serve] password_hash`
/// (at least 12 characters, as a user's).
pub fn hash_password(password: &str) -> Result<String, String> {
    users::hash_password(password).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_verify() {
        use argon2::PasswordVerifier;
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        let parsed = argon2::PasswordHash::new(&h).unwrap();
        assert!(argon2::Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        assert!(argon2::Argon2::default()
            .verify_password(b"wrong", &parsed)
            .is_err());
    }
}
