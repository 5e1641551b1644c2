//! Every SQL text of `team/`: the `users`, `api_tokens` and `audit_log`
//! tables. One text for both backends (sqlx's `Any` driver, `$n`
//! placeholders); each function works on the connection it is given, so
//! the callers decide which writes share a transaction.

use sqlx::AnyConnection;

use super::audit::{Action, Filter};

/// A `users` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    pub password_hash: Option<String>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub disabled_at: Option<i64>,
}

const USER_COLUMNS: &str =
    "u.id, u.email, u.name, u.role, u.password_hash, u.created_at, u.last_login_at, u.disabled_at";

/// An `api_tokens` row with its owner's address.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub email: String,
    pub label: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// An `audit_log` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub object_kind: String,
    pub object_id: Option<String>,
    pub summary: String,
}

/// Whether any account exists (active or not): from then on the single
/// `[serve] password_hash` login is off.
pub async fn any_user(conn: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    let found: Option<(i64,)> = sqlx::query_as("SELECT id FROM users LIMIT 1")
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

/// The account of an address key (lower case).
pub async fn user_by_key(
    conn: &mut AnyConnection,
    key: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email_key = $1");
    sqlx::query_as(&sql).bind(key).fetch_optional(conn).await
}

/// The account of an id (a session's).
pub async fn user_by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
    sqlx::query_as(&sql).bind(id).fetch_optional(conn).await
}

/// Every account, by address.
pub async fn users(conn: &mut AnyConnection) -> Result<Vec<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.email_key");
    sqlx::query_as(&sql).fetch_all(conn).await
}

/// A new account; its id.
pub async fn insert_user(
    conn: &mut AnyConnection,
    email: &str,
    key: &str,
    name: Option<&str>,
    role: &str,
    password_hash: Option<&str>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (email, email_key, name, role, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(email)
    .bind(key)
    .bind(name)
    .bind(role)
    .bind(password_hash)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Active admins other than account `id`: the last-admin guard.
pub async fn other_active_admins(conn: &mut AnyConnection, id: i64) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id <> $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await?;
    Ok(n)
}

pub async fn set_role(conn: &mut AnyConnection, id: i64, role: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
        .bind(role)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_disabled(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_password(
    conn: &mut AnyConnection,
    id: i64,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Remembers a successful login (not audited: it changes no data).
pub async fn touch_login(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A new API token of account `user_id`, of which only `hash` is kept; its id.
pub async fn insert_token(
    conn: &mut AnyConnection,
    user_id: i64,
    label: Option<&str>,
    hash: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO api_tokens (user_id, label, token_hash, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user_id)
    .bind(label)
    .bind(hash)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

const TOKEN_COLUMNS: &str =
    "t.id, u.email, t.label, t.created_at, t.last_used_at, t.revoked_at FROM api_tokens t \
     JOIN users u ON u.id = t.user_id";

/// API tokens (of one account, or all), oldest first.
pub async fn tokens(
    conn: &mut AnyConnection,
    user_id: Option<i64>,
) -> Result<Vec<TokenRow>, sqlx::Error> {
    let sql = format!("SELECT {TOKEN_COLUMNS} WHERE ($1 IS NULL OR t.user_id = $1) ORDER BY t.id");
    sqlx::query_as(&sql).bind(user_id).fetch_all(conn).await
}

/// One token by id.
pub async fn token(conn: &mut AnyConnection, id: i64) -> Result<Option<TokenRow>, sqlx::Error> {
    let sql = format!("SELECT {TOKEN_COLUMNS} WHERE t.id = $1");
    sqlx::query_as(&sql).bind(id).fetch_optional(conn).await
}

pub async fn revoke_token(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The active account of an unrevoked token's hash, marking the token
/// used: one statement, so a revoked token or disabled account never
/// passes.
pub async fn use_token(
    conn: &mut AnyConnection,
    hash: &str,
    now: i64,
) -> Result<Option<UserRow>, sqlx::Error> {
    let found: Option<(i64,)> = sqlx::query_as(
        "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL \
         AND user_id IN (SELECT id FROM users WHERE disabled_at IS NULL) RETURNING user_id",
    )
    .bind(now)
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await?;
    match found {
        Some((user,)) => user_by_id(conn, user).await,
        None => Ok(None),
    }
}

/// The SQL that appends one entry to the audit log; the import's SQLite
/// store runs it on its own connection.
pub const INSERT_AUDIT_SQL: &str =
    "INSERT INTO audit_log (at, actor, action, object_kind, object_id, summary) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// Appends one entry to the audit log.
pub async fn insert_audit(
    conn: &mut AnyConnection,
    at: i64,
    actor: &str,
    action: Action,
    object_id: Option<&str>,
    summary: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_AUDIT_SQL)
        .bind(at)
        .bind(actor)
        .bind(action.as_str())
        .bind(action.object_kind())
        .bind(object_id)
        .bind(summary)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes an address (its lower-case key) out of the audit log: the entries
/// naming it as their object lose the object and have the address in
/// their summary replaced. Summaries are compared in lower case (the
/// address is written as it was given; a `_` in it may match a little
/// more, which only lowers the case of that summary).
pub async fn forget_in_audit(conn: &mut AnyConnection, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE audit_log SET summary = replace(lower(summary), $1, '(a forgotten address)'), \
         object_id = CASE WHEN lower(object_id) = $1 THEN NULL ELSE object_id END \
         WHERE lower(object_id) = $1 OR lower(summary) LIKE '%' || $1 || '%'",
    )
    .bind(key)
    .execute(conn)
    .await?;
    Ok(())
}

/// Audit entries matching `filter`, newest first.
pub async fn audit(
    conn: &mut AnyConnection,
    filter: &Filter,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    // The actor is compared without regard to case (it is an address, or
    // cli:NAME); `before` pages back through the log by id.
    sqlx::query_as(
        "SELECT id, at, actor, action, object_kind, object_id, summary FROM audit_log \
         WHERE ($1 IS NULL OR at >= $1) AND ($2 IS NULL OR lower(actor) = $2) \
           AND ($3 IS NULL OR id < $3) \
         ORDER BY id DESC LIMIT $4",
    )
    .bind(filter.since)
    .bind(filter.actor.as_ref().map(|a| a.to_lowercase()))
    .bind(filter.before)
    .bind(filter.limit)
    .fetch_all(conn)
    .await
}
