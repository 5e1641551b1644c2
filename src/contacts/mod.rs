//! The contact database: the contact model, e-mail normalisation, CSV import
//! and export, audience filters, suppressions and forgetting a contact.
//!
//! It does not send, render or print anything: `cli/` prints what these
//! functions return.

pub mod audience;
pub mod email;
pub mod export;
pub mod fields;
pub mod forget;
pub mod history;
pub mod import;
mod store;
pub mod suppress;
pub mod unsubscribe;

use std::collections::BTreeMap;

use serde::Serialize;

pub use audience::Audience;
pub use email::Address;
pub use fields::Status;
pub(crate) use store::contact_rows::tags_sql;

/// What separates the tags in the text of [`tags_sql`].
pub const TAG_SEPARATOR: char = crate::db::LIST_SEPARATOR;

use crate::db::{Db, Params};

/// An error of the contact database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// An error of the SQLite connection an import writes through
    /// ([`crate::db::Db::bulk_connection`]).
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// A file could not be read or written. The message is the path alone:
    /// the cause follows it in the error chain (`path: cause`).
    #[error("{path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The input is wrong in a way the press officer can fix: the message
    /// names the file, line, field and what to do.
    #[error("{0}")]
    BadInput(String),
    /// No contact has this address.
    #[error("no contact has the address {0}")]
    NotFound(String),
}

impl Error {
    /// Whether the error is the user's input (exit code 2) rather than a failure (exit code 1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::BadInput(_) | Error::NotFound(_) => true,
            // A file the press officer named that is not there or not readable.
            Error::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::IsADirectory
                    | std::io::ErrorKind::InvalidData
            ),
            Error::Db(_) | Error::Sqlite(_) => false,
        }
    }
}

/// One journalist on the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    #[serde(skip)]
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub outlet: Option<String>,
    pub role: Option<String>,
    pub beat: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// BCP 47.
    pub language: Option<String>,
    pub phone: Option<String>,
    pub notes: Option<String>,
    pub tags: Vec<String>,
    pub status: Status,
    /// The reason of the suppression that covers this address or its domain.
    pub suppressed: Option<String>,
    /// Columns of imported files that map to no field.
    pub extra: BTreeMap<String, String>,
    /// Where the contact came from (the import file).
    pub source: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub created_at: i64,
    #[serde(serialize_with = "ser_time")]
    pub updated_at: i64,
}

impl Contact {
    /// A contact that is not in the database, for previews and test
    /// messages: active, no tags, no outlet.
    pub fn sample(
        email: &str,
        first_name: &str,
        last_name: &str,
        language: Option<String>,
    ) -> Contact {
        Contact {
            id: 0,
            email: email.to_string(),
            name: Some(format!("{first_name} {last_name}")),
            first_name: Some(first_name.to_string()),
            last_name: Some(last_name.to_string()),
            outlet: None,
            role: None,
            beat: None,
            country: None,
            language,
            phone: None,
            notes: None,
            tags: Vec::new(),
            status: Status::Active,
            suppressed: None,
            extra: BTreeMap::new(),
            source: None,
            created_at: 0,
            updated_at: 0,
        }
    }
}

/// Writes epoch milliseconds as RFC 3339 UTC text.
pub(crate) fn ser_time<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(*ms))
}

/// Epoch milliseconds as RFC 3339 UTC text, to the second.
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The contacts of an audience, ordered by address.
pub async fn list(db: &Db, audience: &Audience) -> Result<Vec<Contact>, Error> {
    store::contact_rows::list(db, audience).await
}

/// One page of an audience, ordered by address: the contacts after the
/// address key `after` (none: from the start). Walking an audience page by
/// page keeps memory flat however large it is.
pub async fn list_page(
    db: &Db,
    audience: &Audience,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Contact>, Error> {
    store::contact_rows::page(db, audience, after, limit).await
}

/// A query of an audience's contacts for a statement to build on
/// (planning a send inserts one delivery per contact with it): the
/// columns `id`, `email`, `email_key`, `status` and `suppressed` (the
/// reason, when the address or its domain is suppressed), unordered.
pub fn audience_sql(audience: &Audience, params: &mut Params) -> String {
    store::audience::audience_sql(audience, params)
}

/// The contacts with these ids (for a send's claimed deliveries).
pub async fn by_ids(db: &Db, ids: &[i64]) -> Result<Vec<Contact>, Error> {
    store::contact_rows::by_ids(db, ids).await
}

/// [`by_ids`] on a given connection.
pub async fn by_ids_on(
    db: &Db,
    conn: &mut sqlx::AnyConnection,
    ids: &[i64],
) -> Result<Vec<Contact>, Error> {
    store::contact_rows::by_ids_on(db, conn, ids).await
}

/// Contacts whose address, name or outlet contains `text` (without regard
/// to case), ordered by address, at most `limit`: the dashboard's search.
pub async fn search(db: &Db, text: &str, limit: i64) -> Result<Vec<Contact>, Error> {
    store::contact_rows::search(db, text, limit).await
}

/// The contact with this address (compared without regard to case).
pub async fn get(db: &Db, email: &str) -> Result<Contact, Error> {
    let address = Address::parse(email).map_err(|e| Error::BadInput(e.to_string()))?;
    store::contact_rows::by_key(db, &address.key())
        .await?
        .ok_or_else(|| Error::NotFound(address.to_string()))
}
