//! Reading contacts: the columns of `contacts` a [`Contact`] is made of,
//! its tags and the suppression that covers it, for lists, pages of an
//! audience, a worker's claimed deliveries, the dashboard's search and one
//! contact by address.

use super::audience::filter_sql;
use crate::contacts::TAG_SEPARATOR;
use crate::contacts::{Audience, Contact, Error};
use crate::db::{Db, Params};

/// The columns of `contacts` as read by [`ContactRow`].
const CONTACT_COLUMNS: &str = "c.id, c.email, c.name, c.first_name, c.last_name, c.outlet, c.role, \
     c.beat, c.country, c.language, c.phone, c.notes, c.extra, c.status, c.source, c.created_at, c.updated_at";

/// SQL giving the reason of the suppression covering contact `c`, if any
/// (the address itself first, then its domain).
pub(super) const SUPPRESSED_SQL: &str = "(SELECT s.reason FROM suppressions s \
     WHERE (s.kind = 'address' AND s.value = c.email_key) OR (s.kind = 'domain' AND s.value = c.domain) \
     ORDER BY s.kind LIMIT 1)";

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

fn contacts_of(rows: Vec<ContactRow>) -> Vec<Contact> {
    rows.into_iter().map(Contact::from).collect()
}

/// The contacts of an audience, ordered by address.
pub(crate) async fn list(db: &Db, audience: &Audience) -> Result<Vec<Contact>, Error> {
    let mut params = Params::new();
    let filter = filter_sql(audience, &mut params);
    // Every contact of the audience with its tags and suppression, for
    // `contacts list` / `export` and, later, for planning a send.
    let sql = format!(
        "SELECT {CONTACT_COLUMNS}, {} AS tags, {SUPPRESSED_SQL} AS suppressed \
         FROM contacts c WHERE {filter} ORDER BY c.email_key",
        tags_sql(db)
    );
    let rows: Vec<ContactRow> = params.query_as(&sql).fetch_all(&db.pool).await?;
    Ok(contacts_of(rows))
}

/// One page of an audience in address order: at most `limit` contacts
/// after the address key `after` (none: from the start).
pub(crate) async fn page(
    db: &Db,
    audience: &Audience,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Contact>, Error> {
    let mut params = Params::new();
    let filter = filter_sql(audience, &mut params);
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
    Ok(contacts_of(rows))
}

/// The contacts with these ids, on a connection of the pool.
pub(crate) async fn by_ids(db: &Db, ids: &[i64]) -> Result<Vec<Contact>, Error> {
    let mut conn = db.connection().await?;
    by_ids_on(db, &mut conn, ids).await
}

/// The contacts with these ids, on a given connection.
pub(crate) async fn by_ids_on(
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
/// to case), ordered by address, at most `limit`.
pub(crate) async fn search(db: &Db, text: &str, limit: i64) -> Result<Vec<Contact>, Error> {
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
    Ok(contacts_of(rows))
}

/// The contact whose address has this key, if there is one.
pub(crate) async fn by_key(db: &Db, key: &str) -> Result<Option<Contact>, Error> {
    // One contact by its case-insensitive key, for `contacts show`.
    let sql = format!(
        "SELECT {CONTACT_COLUMNS}, {} AS tags, {SUPPRESSED_SQL} AS suppressed \
         FROM contacts c WHERE c.email_key = $1",
        tags_sql(db)
    );
    let row: Option<ContactRow> = sqlx::query_as(&sql)
        .bind(key)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(Contact::from))
}

/// SQL giving the tags of contact `c` as one text, separated by
/// [`TAG_SEPARATOR`] (NULL when it has none).
pub(crate) fn tags_sql(db: &Db) -> String {
    format!(
        "(SELECT {} FROM contact_tags t WHERE t.contact_id = c.id)",
        db.joined_list_sql("t.tag")
    )
}
