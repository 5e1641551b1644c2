//! The dashboard's login: one password, stored in presswire.toml as an
//! Argon2 hash; a signed session cookie; CSRF tokens on the forms; and a
//! limit on failed logins per client address and overall.
//!
//! Cookies are HttpOnly, SameSite=Strict and Secure (unless `[serve]
//! insecure_http` on loopback). The session cookie is
//! `EXPIRES.NONCE.SIGNATURE`, signed with the team's key
//! (`send::tokens::Signer`) over the expiry, the nonce and a fingerprint of
//! the password hash: changing the password ends every session.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{client_ip, App};
use crate::db::now_ms;

pub const SESSION_COOKIE: &str = "presswire_session";
pub const CSRF_COOKIE: &str = "presswire_csrf";

/// Failed logins allowed per client address within [`WINDOW_MS`].
pub const MAX_FAILURES: usize = 5;
/// Failed logins allowed from all addresses together within [`WINDOW_MS`].
pub const MAX_FAILURES_OVERALL: usize = 50;
pub const WINDOW_MS: i64 = 15 * 60 * 1000;

/// Counts failed logins (in memory: a restart forgets them).
#[derive(Default)]
pub struct Limiter {
    inner: Mutex<Failures>,
}

#[derive(Default)]
struct Failures {
    by_ip: HashMap<IpAddr, VecDeque<i64>>,
    all: VecDeque<i64>,
}

impl Limiter {
    /// `Err(seconds to wait)` when `ip` (or everyone) failed too often lately.
    pub fn check(&self, ip: IpAddr, now: i64) -> Result<(), i64> {
        let Ok(mut f) = self.inner.lock() else {
            return Err(60);
        };
        let since = now - WINDOW_MS;
        f.all.retain(|t| *t > since);
        f.by_ip.retain(|_, q| {
            q.retain(|t| *t > since);
            !q.is_empty()
        });
        let wait =
            |q: &VecDeque<i64>| (q.front().copied().unwrap_or(now) + WINDOW_MS - now) / 1000 + 1;
        if let Some(q) = f.by_ip.get(&ip).filter(|q| q.len() >= MAX_FAILURES) {
            return Err(wait(q));
        }
        if f.all.len() >= MAX_FAILURES_OVERALL {
            return Err(wait(&f.all));
        }
        Ok(())
    }

    /// Notes a failed login.
    pub fn fail(&self, ip: IpAddr, now: i64) {
        if let Ok(mut f) = self.inner.lock() {
            f.by_ip.entry(ip).or_default().push_back(now);
            f.all.push_back(now);
        }
    }

    /// Forgets an address's failures after it logged in.
    pub fn clear(&self, ip: IpAddr) {
        if let Ok(mut f) = self.inner.lock() {
            f.by_ip.remove(&ip);
        }
    }
}

/// A logged-in dashboard session. As a handler's argument it lets only a
/// logged-in request through ([`require`]): others get the login page (or
/// a 404 when the dashboard is off).
pub struct Session {
    /// The token the session's forms carry (logout).
    pub csrf: String,
}

impl FromRequestParts<Arc<App>> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        require(app, &parts.headers).map_err(|r| *r)
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    use ring::rand::SecureRandom;
    let mut buf = vec![0u8; n];
    // The system's randomness failing is not something to go on without.
    ring::rand::SystemRandom::new()
        .fill(&mut buf)
        .expect("the system's random number generator failed");
    buf
}

fn random_hex(n: usize) -> String {
    hex::encode(random_bytes(n))
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

/// The session of a request, if its cookie is valid and current.
pub fn session(app: &App, headers: &HeaderMap) -> Option<Session> {
    let hash = app.password_hash.as_deref()?;
    let value = read_cookie(headers, SESSION_COOKIE)?;
    let mut parts = value.splitn(3, '.');
    let (expires, nonce, sig) = (parts.next()?, parts.next()?, parts.next()?);
    let data = format!("{expires}.{nonce}.{}", password_fingerprint(hash));
    if !app.signer.verify_for("dashboard-session", &data, sig) {
        return None;
    }
    if expires.parse::<i64>().ok()? <= now_ms() {
        return None;
    }
    Some(Session {
        csrf: app.signer.sign_for("dashboard-csrf", nonce),
    })
}

/// The session, or the response that sends the visitor to the login page
/// (404 when the dashboard is off).
pub fn require(app: &App, headers: &HeaderMap) -> Result<Session, Box<Response>> {
    if app.password_hash.is_none() {
        return Err(Box::new(app.error(
            StatusCode::NOT_FOUND,
            "The dashboard is off: set [serve] password_hash in presswire.toml.",
        )));
    }
    session(app, headers).ok_or_else(|| {
        Box::new(Redirect::to(&format!("{}/dashboard/login", app.prefix)).into_response())
    })
}

/// The login form with a fresh CSRF token (cookie + hidden field).
fn login_form(app: &App, status: StatusCode, message: Option<&str>) -> Response {
    let nonce = random_hex(16);
    let token = format!("{nonce}.{}", app.signer.sign_for("login-csrf", &nonce));
    let mut res = app.page(
        status,
        "login.html",
        minijinja::context! { csrf => token, message },
    );
    res.headers_mut()
        .append(header::SET_COOKIE, cookie(app, CSRF_COOKIE, &nonce, 3600));
    res
}

/// `GET /dashboard/login`.
pub async fn login_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if app.password_hash.is_none() {
        return require(&app, &headers)
            .err()
            .map(|r| *r)
            .unwrap_or_else(|| app.error(StatusCode::NOT_FOUND, ""));
    }
    if session(&app, &headers).is_some() {
        return Redirect::to(&format!("{}/dashboard/", app.prefix)).into_response();
    }
    login_form(&app, StatusCode::OK, None)
}

#[derive(Deserialize)]
pub struct LoginForm {
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
    let Some(hash) = app.password_hash.clone() else {
        return app.error(StatusCode::NOT_FOUND, "The dashboard is off.");
    };
    if !login_csrf_ok(&app, &headers, &form.csrf) {
        return app.error(
            StatusCode::FORBIDDEN,
            "The login form had expired or did not come from this site. Please open the login page again.",
        );
    }
    let ip = client_ip(&app, peer, &headers);
    let now = now_ms();
    if let Err(wait) = app.limiter.check(ip, now) {
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
    // Argon2 takes a while on purpose: off the async threads.
    let password = form.password;
    let ok = tokio::task::spawn_blocking(move || {
        use argon2::PasswordVerifier;
        argon2::PasswordHash::new(&hash).is_ok_and(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false);
    if !ok {
        app.limiter.fail(ip, now);
        tracing::warn!("dashboard: failed login from {ip}");
        return login_form(&app, StatusCode::UNAUTHORIZED, Some("Wrong password."));
    }
    app.limiter.clear(ip);
    let hash = app.password_hash.as_deref().unwrap_or("");
    let expires = now + app.session_ms;
    let nonce = random_hex(16);
    let sig = app.signer.sign_for(
        "dashboard-session",
        &format!("{expires}.{nonce}.{}", password_fingerprint(hash)),
    );
    let mut res = Redirect::to(&format!("{}/dashboard/", app.prefix)).into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookie(
            &app,
            SESSION_COOKIE,
            &format!("{expires}.{nonce}.{sig}"),
            app.session_ms / 1000,
        ),
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
    let session = match require(&app, &headers) {
        Ok(s) => s,
        Err(res) => return *res,
    };
    if !crate::bounce::webhook::constant_time_eq(session.csrf.as_bytes(), form.csrf.as_bytes()) {
        return app.error(
            StatusCode::FORBIDDEN,
            "The form did not come from this site.",
        );
    }
    let mut res = Redirect::to(&format!("{}/dashboard/login", app.prefix)).into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, cookie(&app, SESSION_COOKIE, "", 0));
    res
}

/// An Argon2id hash (PHC string) of `password`, for `[serve] password_hash`.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(&random_bytes(16)).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_overall() {
        let l = Limiter::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for i in 0..MAX_FAILURES as i64 {
            assert!(l.check(a, i).is_ok());
            l.fail(a, i);
        }
        assert!(l.check(a, 10).is_err());
        assert!(l.check(b, 10).is_ok());
        assert!(l.check(a, WINDOW_MS + 10).is_ok());
        l.clear(a);
        for i in 0..MAX_FAILURES_OVERALL {
            l.fail(format!("198.51.100.{}", i % 250).parse().unwrap(), 100);
        }
        assert!(l.check(b, 200).is_err());
    }

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
