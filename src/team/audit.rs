//! The audit log: who did what to which object, when, in a line a press
//! officer reads ("imported outlook.csv: 39 new, 2 updated"). Every write
//! appends its entry with [`record`] inside its own transaction; the log
//! is read with [`list`] (`presswire audit`, `GET /api/v1/audit`).

use serde::Serialize;
use sqlx::AnyConnection;

use super::{store, Error};
use crate::contacts::format_time;
use crate::db::{now_ms, Db};

/// What was done. Stored as text (`user.add`), with the kind of object
/// it was done to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    UserAdd,
    UserRole,
    UserDisable,
    UserPassword,
    TokenCreate,
    TokenRevoke,
    ContactsImport,
    ContactsUndoImport,
    ContactForget,
    SuppressionAdd,
    SuppressionRemove,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::UserAdd => "user.add",
            Action::UserRole => "user.role",
            Action::UserDisable => "user.disable",
            Action::UserPassword => "user.password",
            Action::TokenCreate => "token.create",
            Action::TokenRevoke => "token.revoke",
            Action::ContactsImport => "contacts.import",
            Action::ContactsUndoImport => "contacts.undo_import",
            Action::ContactForget => "contact.forget",
            Action::SuppressionAdd => "suppression.add",
            Action::SuppressionRemove => "suppression.remove",
        }
    }

    /// The kind of object the action is done to.
    pub fn object_kind(self) -> &'static str {
        match self {
            Action::UserAdd | Action::UserRole | Action::UserDisable | Action::UserPassword => {
                "user"
            }
            Action::TokenCreate | Action::TokenRevoke => "api_token",
            Action::ContactsImport | Action::ContactsUndoImport => "import",
            Action::ContactForget => "contact",
            Action::SuppressionAdd | Action::SuppressionRemove => "suppression",
        }
    }
}

/// One entry as read.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object_kind: String,
    pub object_id: Option<String>,
    pub summary: String,
}

/// Which entries to read.
#[derive(Debug, Clone)]
pub struct Filter {
    /// From this time on (epoch milliseconds).
    pub since: Option<i64>,
    /// Only this actor's (a user's address, or `cli:NAME`).
    pub actor: Option<String>,
    /// Only entries older than this id (paging back).
    pub before: Option<i64>,
    pub limit: i64,
}

impl Default for Filter {
    fn default() -> Filter {
        Filter {
            since: None,
            actor: None,
            before: None,
            limit: 1000,
        }
    }
}

/// Appends an entry on `conn`, which is the write's own transaction: the
/// entry commits with the write, or neither does.
pub async fn record(
    conn: &mut AnyConnection,
    actor: &str,
    action: Action,
    object_id: Option<&str>,
    summary: &str,
) -> Result<(), sqlx::Error> {
    store::insert_audit(conn, now_ms(), actor, action, object_id, summary).await
}

/// Takes the address of key `key` (lower case) out of the log, for
/// `contacts forget`: entries about it keep what was done, not to whom.
pub async fn forget_address(conn: &mut AnyConnection, key: &str) -> Result<(), sqlx::Error> {
    store::forget_in_audit(conn, key).await
}

/// Entries matching `filter`, newest first.
pub async fn list(db: &Db, filter: &Filter) -> Result<Vec<Entry>, Error> {
    let mut conn = db.pool.acquire().await?;
    let rows = store::audit(&mut conn, filter).await?;
    Ok(rows
        .into_iter()
        .map(|r| Entry {
            id: r.id,
            at: format_time(r.at),
            actor: r.actor,
            action: r.action,
            object_kind: r.object_kind,
            object_id: r.object_id,
            summary: r.summary,
        })
        .collect())
}

/// A `--since` / `since=` date: `YYYY-MM-DD` (midnight UTC) or RFC 3339;
/// epoch milliseconds.
pub fn parse_since(text: &str) -> Result<i64, Error> {
    let t = text.trim();
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(dt) = d.and_hms_opt(0, 0, 0) {
            return Ok(dt.and_utc().timestamp_millis());
        }
    }
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|dt| dt.timestamp_millis())
        .map_err(|_| {
            Error::BadInput(format!(
                "since {text:?} is not a date: use YYYY-MM-DD or e.g. 2026-12-08T09:00:00Z"
            ))
        })
}
