//! Accounts: adding one, changing its role or password, disabling it,
//! and checking a login's address and password (Argon2id). Each change is
//! audited in its own transaction; a change that would leave no active
//! admin is refused.

use serde::Serialize;

use super::audit::{self, Action};
use super::store::{self, UserRow};
use super::{Error, Role};
use crate::contacts::{format_time, Address};
use crate::db::{now_ms, Db};

/// The fewest characters a password may have.
pub const MIN_PASSWORD: usize = 12;

/// An account as shown (never its password hash).
#[derive(Debug, Clone, Serialize)]
pub struct User {
    #[serde(skip)]
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    /// Whether the account can log in to the dashboard (it may use only
    /// API tokens).
    pub has_password: bool,
    pub created_at: String,
    pub last_login_at: Option<String>,
    pub disabled_at: Option<String>,
    #[serde(skip)]
    pub password_hash: Option<String>,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none()
    }
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> User {
        User {
            id: r.id,
            email: r.email,
            name: r.name,
            // The CHECK constraint admits only the four roles.
            role: r.role.parse().unwrap_or(Role::Viewer),
            has_password: r.password_hash.is_some(),
            created_at: format_time(r.created_at),
            last_login_at: r.last_login_at.map(format_time),
            disabled_at: r.disabled_at.map(format_time),
            password_hash: r.password_hash,
        }
    }
}

fn parse_email(raw: &str) -> Result<Address, Error> {
    Address::parse(raw).map_err(|e| Error::BadInput(e.to_string()))
}

/// An Argon2id hash (PHC string) of `password`, which must have at least
/// [`MIN_PASSWORD`] characters.
pub fn hash_password(password: &str) -> Result<String, Error> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    if password.chars().count() < MIN_PASSWORD {
        return Err(Error::BadInput(format!(
            "the password must have at least {MIN_PASSWORD} characters"
        )));
    }
    let salt = SaltString::encode_b64(&super::random_bytes(16))
        .map_err(|e| Error::BadInput(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::BadInput(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`. Slow on purpose:
/// call it off the async threads.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::PasswordVerifier;
    argon2::PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Whether any account exists.
pub async fn any(db: &Db) -> Result<bool, Error> {
    let mut conn = db.pool.acquire().await?;
    Ok(store::any_user(&mut conn).await?)
}

/// Every account, by address.
pub async fn list(db: &Db) -> Result<Vec<User>, Error> {
    let mut conn = db.pool.acquire().await?;
    Ok(store::users(&mut conn)
        .await?
        .into_iter()
        .map(User::from)
        .collect())
}

/// The account of `email`.
pub async fn get(db: &Db, email: &str) -> Result<User, Error> {
    let address = parse_email(email)?;
    let mut conn = db.pool.acquire().await?;
    store::user_by_key(&mut conn, &address.key())
        .await?
        .map(User::from)
        .ok_or_else(|| Error::NoSuchUser(address.to_string()))
}

/// The account of a session's user id.
pub async fn by_id(db: &Db, id: i64) -> Result<Option<User>, Error> {
    let mut conn = db.pool.acquire().await?;
    Ok(store::user_by_id(&mut conn, id).await?.map(User::from))
}

/// Adds an account; `password` (if any) is hashed here.
pub async fn add(
    db: &Db,
    actor: &str,
    email: &str,
    role: Role,
    name: Option<&str>,
    password: Option<&str>,
) -> Result<User, Error> {
    let address = parse_email(email)?;
    let hash = password.map(hash_password).transpose()?;
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let mut tx = db.begin_write().await?;
    if let Some(existing) = store::user_by_key(&mut tx, &address.key()).await? {
        return Err(Error::UserExists(existing.email));
    }
    let email = address.to_string();
    let id = store::insert_user(
        &mut tx,
        &email,
        &address.key(),
        name,
        role.as_str(),
        hash.as_deref(),
        now_ms(),
    )
    .await?;
    let summary = format!("added user {email} as {role}");
    audit::record(&mut tx, actor, Action::UserAdd, Some(&email), &summary).await?;
    let user = store::user_by_id(&mut tx, id).await?.map(User::from);
    tx.commit().await?;
    user.ok_or_else(|| Error::NoSuchUser(email))
}

/// The account of `email` inside a write transaction that also runs one
/// at a time with other account changes (the last-admin guard must not
/// interleave with another).
async fn locked(tx: &mut crate::db::WriteTx<'_>, db: &Db, email: &str) -> Result<User, Error> {
    let address = parse_email(email)?;
    db.one_at_a_time(tx, "users").await?;
    store::user_by_key(tx, &address.key())
        .await?
        .map(User::from)
        .ok_or_else(|| Error::NoSuchUser(address.to_string()))
}

/// Gives `email` the role `role`; returns the role it had. A last active
/// admin keeps the admin role.
pub async fn set_role(db: &Db, actor: &str, email: &str, role: Role) -> Result<Role, Error> {
    let mut tx = db.begin_write().await?;
    let user = locked(&mut tx, db, email).await?;
    if user.role == Role::Admin
        && role != Role::Admin
        && user.is_active()
        && store::other_active_admins(&mut tx, user.id).await? == 0
    {
        return Err(Error::LastAdmin(user.email));
    }
    if user.role != role {
        store::set_role(&mut tx, user.id, role.as_str()).await?;
        let summary = format!(
            "changed the role of {} from {} to {role}",
            user.email, user.role
        );
        audit::record(
            &mut tx,
            actor,
            Action::UserRole,
            Some(&user.email),
            &summary,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(user.role)
}

/// Disables `email`: its sessions and API tokens open nothing any more.
/// Returns false when it was disabled already. A last active admin stays.
pub async fn disable(db: &Db, actor: &str, email: &str) -> Result<bool, Error> {
    let mut tx = db.begin_write().await?;
    let user = locked(&mut tx, db, email).await?;
    if !user.is_active() {
        return Ok(false);
    }
    if user.role == Role::Admin && store::other_active_admins(&mut tx, user.id).await? == 0 {
        return Err(Error::LastAdmin(user.email));
    }
    store::set_disabled(&mut tx, user.id, now_ms()).await?;
    let summary = format!("disabled user {}", user.email);
    audit::record(
        &mut tx,
        actor,
        Action::UserDisable,
        Some(&user.email),
        &summary,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Sets the password of `email`; its open dashboard sessions end (they
/// were opened with the old password's hash).
pub async fn set_password(db: &Db, actor: &str, email: &str, password: &str) -> Result<(), Error> {
    let hash = hash_password(password)?;
    let mut tx = db.begin_write().await?;
    let user = locked(&mut tx, db, email).await?;
    store::set_password(&mut tx, user.id, &hash).await?;
    let summary = format!("set the password of {}", user.email);
    audit::record(
        &mut tx,
        actor,
        Action::UserPassword,
        Some(&user.email),
        &summary,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A hash of a random password, checked when the address has no account
/// (or no password) so that a wrong address takes as long as a wrong
/// password.
fn no_account() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&hex::encode(super::random_bytes(16))).unwrap_or_default())
        .clone()
}

/// The active account of `email` if `password` is its password; marks the
/// login.
pub async fn authenticate(db: &Db, email: &str, password: &str) -> Result<Option<User>, Error> {
    let Ok(address) = parse_email(email) else {
        return Ok(None);
    };
    let mut conn = db.pool.acquire().await?;
    let user = store::user_by_key(&mut conn, &address.key()).await?;
    drop(conn);
    let hash = user
        .as_ref()
        .filter(|u| u.disabled_at.is_none())
        .and_then(|u| u.password_hash.clone());
    let known = hash.is_some();
    let password = password.to_string();
    // Argon2 takes a while on purpose: off the async threads.
    let ok = tokio::task::spawn_blocking(move || {
        verify_password(&password, &hash.unwrap_or_else(no_account))
    })
    .await
    .unwrap_or(false);
    match user {
        Some(u) if ok && known => {
            let mut conn = db.pool.acquire().await?;
            store::touch_login(&mut conn, u.id, now_ms()).await?;
            Ok(Some(User::from(u)))
        }
        _ => Ok(None),
    }
}
