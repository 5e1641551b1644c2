//! What the contacts stage's unit tests read and write directly, beside
//! the domain's functions: the rows as stored.

use crate::db::Db;

/// Adds a contact with only an address and a status; returns its id.
pub(crate) async fn insert_contact(db: &Db, email: &str, status: &str) -> i64 {
    let key = email.to_lowercase();
    let domain = key.rsplit_once('@').map_or("", |(_, d)| d).to_string();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO contacts (email, email_key, domain, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 0, 0) RETURNING id",
    )
    .bind(email)
    .bind(key)
    .bind(domain)
    .bind(status)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    id
}

/// Every suppression's value, reason and send.
pub(crate) async fn suppressions(db: &Db) -> Vec<(String, String, Option<i64>)> {
    sqlx::query_as("SELECT value, reason, send_id FROM suppressions")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

/// The status of the one contact there is.
pub(crate) async fn only_status(db: &Db) -> String {
    let (status,): (String,) = sqlx::query_as("SELECT status FROM contacts")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    status
}

/// How many contacts and how many tags of contacts there are.
pub(crate) async fn counts(db: &Db) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM contact_tags)")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// Every contact's id, in order.
pub(crate) async fn contact_ids(db: &Db) -> Vec<(i64,)> {
    sqlx::query_as("SELECT id FROM contacts ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}
