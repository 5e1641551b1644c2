//! API tokens: made for an account and shown once (`pw_` and 64 hex
//! digits), kept only as their SHA-256; listed, revoked, and checked for
//! each API request ([`authenticate`]). A revoked token, or a token of a
//! disabled account, opens nothing.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::audit::{self, Action};
use super::store::{self, TokenRow};
use super::users::User;
use super::{Error, Role};
use crate::contacts::{format_time, Address};
use crate::db::{now_ms, Db};

/// What every token starts with, so that one found in a file or a log is
/// recognised for what it is.
pub const PREFIX: &str = "pw_";

/// A token as listed (never the token itself).
#[derive(Debug, Clone, Serialize)]
pub struct Token {
    pub id: i64,
    /// The owner's address.
    pub email: String,
    pub label: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<TokenRow> for Token {
    fn from(r: TokenRow) -> Token {
        Token {
            id: r.id,
            email: r.email,
            label: r.label,
            created_at: format_time(r.created_at),
            last_used_at: r.last_used_at.map(format_time),
            revoked_at: r.revoked_at.map(format_time),
        }
    }
}

/// What the database keeps of a token.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Makes a token for `email`; returns it as listed and the token itself,
/// which is shown this once.
pub async fn create(
    db: &Db,
    actor: &str,
    email: &str,
    label: Option<&str>,
) -> Result<(Token, String), Error> {
    let address = Address::parse(email).map_err(|e| Error::BadInput(e.to_string()))?;
    let secret = format!("{PREFIX}{}", hex::encode(super::random_bytes(32)));
    let label = label.map(str::trim).filter(|l| !l.is_empty());
    let mut tx = db.begin_write().await?;
    let user = store::user_by_key(&mut tx, &address.key())
        .await?
        .ok_or_else(|| Error::NoSuchUser(address.to_string()))?;
    if user.disabled_at.is_some() {
        return Err(Error::BadInput(format!(
            "{} is disabled: a disabled user gets no API token",
            user.email
        )));
    }
    let id = store::insert_token(&mut tx, user.id, label, &token_hash(&secret), now_ms()).await?;
    let summary = match label {
        Some(l) => format!("made API token {id} ({l}) for {}", user.email),
        None => format!("made API token {id} for {}", user.email),
    };
    audit::record(
        &mut tx,
        actor,
        Action::TokenCreate,
        Some(&id.to_string()),
        &summary,
    )
    .await?;
    let token = store::token(&mut tx, id).await?.map(Token::from);
    tx.commit().await?;
    Ok((token.ok_or(Error::NoSuchToken(id))?, secret))
}

/// Tokens of `email` (or everyone's), oldest first.
pub async fn list(db: &Db, email: Option<&str>) -> Result<Vec<Token>, Error> {
    let mut conn = db.pool.acquire().await?;
    let user = match email {
        Some(e) => {
            let address = Address::parse(e).map_err(|e| Error::BadInput(e.to_string()))?;
            let user = store::user_by_key(&mut conn, &address.key())
                .await?
                .ok_or_else(|| Error::NoSuchUser(address.to_string()))?;
            Some(user.id)
        }
        None => None,
    };
    Ok(store::tokens(&mut conn, user)
        .await?
        .into_iter()
        .map(Token::from)
        .collect())
}

/// Revokes token `id`; returns it (as it was before), and whether it was
/// still valid.
pub async fn revoke(db: &Db, actor: &str, id: i64) -> Result<(Token, bool), Error> {
    let mut tx = db.begin_write().await?;
    let token = store::token(&mut tx, id)
        .await?
        .map(Token::from)
        .ok_or(Error::NoSuchToken(id))?;
    if token.revoked_at.is_some() {
        return Ok((token, false));
    }
    store::revoke_token(&mut tx, id, now_ms()).await?;
    let summary = format!("revoked API token {id} of {}", token.email);
    audit::record(
        &mut tx,
        actor,
        Action::TokenRevoke,
        Some(&id.to_string()),
        &summary,
    )
    .await?;
    tx.commit().await?;
    Ok((token, true))
}

/// The active account a token belongs to, if it is one of ours and not
/// revoked.
pub async fn authenticate(db: &Db, token: &str) -> Result<Option<User>, Error> {
    // Anything but our shape is no token (and not worth a query).
    let body = token.strip_prefix(PREFIX).unwrap_or("");
    if body.len() != 64 || !body.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let mut conn = db.pool.acquire().await?;
    Ok(store::use_token(&mut conn, &token_hash(token), now_ms())
        .await?
        .map(User::from))
}

/// Whether `user` may act on tokens of `owner` (their own, or an admin).
pub fn may_manage(user: &User, owner: &str) -> bool {
    user.role.allows(Role::Admin) || user.email.eq_ignore_ascii_case(owner)
}
