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
pub mod suppress;
pub mod unsubscribe;

use std::collections::BTreeMap;

use serde::Serialize;

pub use audience::Audience;
pub use email::Address;
pub use fields::Status;

use crate::db::{Db, Params, LIST_SEPARATOR};

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

/// The columns of `contacts` as read by [`ContactRow`].
const CONTACT_COLUMNS: &str = "c.id, c.email, c.name, c.first_name, c.last_name, c.outlet, c.role, \
     c.beat, c.country, c.language, c.phone, c.notes, c.extra, c.status, c.source, c.created_at, c.updated_at";

/// A contact as read: by sqlx, or (in the order of its fields) from one
/// element of a JSON array of rows (see [`by_ids_on`]).
#[derive(sqlx::FromRow, serde::Deserialize)]
struct ContactRow {
    id: i64,
    email: String,
    name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    outlet: Option<String>,
    role: Option<String>,
    beat: Option<String>,
    country: Option<String>,
    language: Option<String>,
    phone: Option<String>,
    notes: Option<String>,
    extra: String,
    status: String,
    source: Option<String>,
    created_at: i64,
    updated_at: i64,
    tags: Option<String>,
    suppressed: Option<String>,
}

impl From<ContactRow> for Contact {
    fn from(r: ContactRow) -> Contact {
        let mut tags: Vec<String> = r
            .tags
            .map(|t| t.split(TAG_SEPARATOR).map(str::to_string).collect())
            .unwrap_or_default();
        tags.sort();
        Contact {
            id: r.id,
            email: r.email,
            name: r.name,
            first_name: r.first_name,
            last_name: r.last_name,
            outlet: r.outlet,
            role: r.role,
            beat: r.beat,
            country: r.country,
            language: r.language,
            phone: r.phone,
            notes: r.notes,
            tags,
            // The CHECK constraint admits only valid words.
            status: r.status.parse().unwrap_or_default(),
            suppressed: r.suppressed,
            extra: serde_json::from_str(&r.extra).unwrap_or_default(),
            source: r.source,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// What separates the tags in the text of [`tags_sql`].
pub const TAG_SEPARATOR: char = LIST_SEPARATOR;

/// SQL giving the tags of contact `c` as one text, separated by
/// [`TAG_SEPARATOR`] (NULL when it has none).
pub(crate) fn tags_sql(db: &Db) -> String {
    format!(
        "(SELECT {} FROM contact_tags t WHERE t.contact_id = c.id)",
        db.joined_list_sql("t.tag")
    )
}

/// SQL giving the reason of the suppression covering contact `c`, if any
/// (the address itself first, then its domain).
const SUPPRESSED_SQL: &str = "(SELECT s.reason FROM suppressions s \
     WHERE (s.kind = 'address' AND s.value = c.email_key) OR (s.kind = 'domain' AND s.value = c.domain) \
     ORDER BY s.kind LIMIT 1)";

/// The contacts of an audience, ordered by address.
pub async fn list(db: &Db, audience: &Audience) -> Result<Vec<Contact>, Error> {
    let mut params = Params::new();
    let filter = audience.where_sql(&mut params);
    // Every contact of the audience with its tags and suppression, for
    // `contacts list` / `export` and, later, for planning a send.
    let sql = format!(
        "SELECT {CONTACT_COLUMNS}, {} AS tags, {SUPPRESSED_SQL} AS suppressed \
         FROM contacts c WHERE {filter} ORDER BY c.email_key",
        tags_sql(db)
    );
    let rows: Vec<ContactRow> = params.query_as(&sql).fetch_all(&db.pool).await?;
    Ok(rows.into_iter().map(Contact::from).collect())
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
    let mut params = Params::new();
    let filter = audience.where_sql(&mut params);
    let after = match after {
        Some(key) => format!("AND c.email_key > {}", params.push(key)),
        None => String::new(),
    };
    let limit = params.push(limit);
    // The next page of an audience, for planning a send, as one JSON text
    // in address order (see `by_ids_on`).
    let page = format!(
        "SELECT {CONTACT_COLUMNS}, c.email_key, {} AS tags, {SUPPRESSED_SQL} AS suppressed \
         FROM contacts c WHERE {filter} {after} ORDER BY c.email_key LIMIT {limit}",
        tags_sql(db)
    );
    let columns: Vec<String> = CONTACT_COLUMNS
        .split(", ")
        .map(|c| c.trim().replacen("c.", "p.", 1))
        .chain(["p.tags".to_string(), "p.suppressed".to_string()])
        .collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let sql = format!(
        "SELECT {} FROM ({page}) p",
        db.json_rows_ordered_sql(&columns, "p.email_key")
    );
    let (json,): (Option<String>,) = params.query_as(&sql).fetch_one(&db.pool).await?;
    contacts_from_json(json)
}

/// Contacts from a JSON array of rows, each a [`ContactRow`]'s fields in
/// their order; `None` (PostgreSQL's json_agg of no rows) is none.
fn contacts_from_json(json: Option<String>) -> Result<Vec<Contact>, Error> {
    let rows: Vec<ContactRow> = match json {
        Some(json) => {
            serde_json::from_str(&json).map_err(|e| Error::Db(sqlx::Error::Decode(Box::new(e))))?
        }
        None => Vec::new(),
    };
    Ok(rows.into_iter().map(Contact::from).collect())
}

/// A query of an audience's contacts for a statement to build on
/// (planning a send inserts one delivery per contact with it): the
/// columns `id`, `email`, `email_key`, `status` and `suppressed` (the
/// reason, when the address or its domain is suppressed), unordered.
pub fn audience_sql(audience: &Audience, params: &mut Params) -> String {
    let filter = audience.where_sql(params);
    format!(
        "SELECT c.id, c.email, c.email_key, c.status, {SUPPRESSED_SQL} AS suppressed \
         FROM contacts c WHERE {filter}"
    )
}

/// The contacts with these ids (for a send's claimed deliveries).
pub async fn by_ids(db: &Db, ids: &[i64]) -> Result<Vec<Contact>, Error> {
    let mut conn = db.pool.acquire().await?;
    by_ids_on(db, &mut conn, ids).await
}

/// [`by_ids`] on a given connection.
pub async fn by_ids_on(
    db: &Db,
    conn: &mut sqlx::AnyConnection,
    ids: &[i64],
) -> Result<Vec<Contact>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut params = Params::new();
    let list: Vec<String> = ids.iter().map(|id| params.push(*id)).collect();
    // The current data of the contacts a worker is about to mail, as one
    // JSON text (one value handed over by sqlx instead of a row at a time,
    // each with a thread wake-up, and decoded by serde instead of value by
    // value through `Any`): each element holds a ContactRow's fields in
    // their order.
    let tags = tags_sql(db);
    let columns: Vec<&str> = CONTACT_COLUMNS
        .split(", ")
        .map(str::trim)
        .chain([tags.as_str(), SUPPRESSED_SQL])
        .collect();
    let sql = format!(
        "SELECT {} FROM contacts c WHERE c.id IN ({})",
        db.json_rows_sql(&columns),
        list.join(", ")
    );
    let (json,): (Option<String>,) = params.query_as(&sql).fetch_one(&mut *conn).await?;
    contacts_from_json(json)
}

/// Contacts whose address, name or outlet contains `text` (without regard
/// to case), ordered by address, at most `limit`: the dashboard's search.
pub async fn search(db: &Db, text: &str, limit: i64) -> Result<Vec<Contact>, Error> {
    // LIKE's wildcards in the search text are taken literally.
    let escaped = text
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    // Contacts matching a search text, for the dashboard.
    let sql = format!(
        "SELECT {CONTACT_COLUMNS}, {} AS tags, {SUPPRESSED_SQL} AS suppressed \
         FROM contacts c WHERE c.email_key LIKE $1 ESCAPE '\\' \
            OR lower(COALESCE(c.name, '')) LIKE $1 ESCAPE '\\' \
            OR lower(COALESCE(c.outlet, '')) LIKE $1 ESCAPE '\\' \
         ORDER BY c.email_key LIMIT $2",
        tags_sql(db)
    );
    let rows: Vec<ContactRow> = sqlx::query_as(&sql)
        .bind(pattern)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.into_iter().map(Contact::from).collect())
}

/// The contact with this address (compared without regard to case).
pub async fn get(db: &Db, email: &str) -> Result<Contact, Error> {
    let address = Address::parse(email).map_err(|e| Error::BadInput(e.to_string()))?;
    // One contact by its case-insensitive key, for `contacts show`.
    let sql = format!(
        "SELECT {CONTACT_COLUMNS}, {} AS tags, {SUPPRESSED_SQL} AS suppressed \
         FROM contacts c WHERE c.email_key = $1",
        tags_sql(db)
    );
    let row: Option<ContactRow> = sqlx::query_as(&sql)
        .bind(address.key())
        .fetch_optional(&db.pool)
        .await?;
    row.map(Contact::from)
        .ok_or_else(|| Error::NotFound(address.to_string()))
}
