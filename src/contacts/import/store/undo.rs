//! The SQL of `contacts import --undo`: the imports recorded, what one
//! created and changed, and taking it back inside the caller's write
//! transaction.

use std::collections::BTreeMap;

use sqlx::AnyConnection;

use super::super::columns::TEXT_FIELDS;

/// An import as recorded: id, sources (one file name a line), first and
/// last contact id it created, when it ran, when it was undone.
pub(in crate::contacts::import) type ImportRow = (i64, String, i64, i64, i64, Option<i64>);

/// Every import, newest first: they are few (one per command run).
pub(in crate::contacts::import) async fn imports(
    conn: &mut AnyConnection,
) -> Result<Vec<ImportRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, sources, first_contact_id, last_contact_id, imported_at, undone_at \
         FROM imports ORDER BY id DESC",
    )
    .fetch_all(&mut *conn)
    .await
}

/// The contacts an import created (id, address, when they last changed):
/// in its range of ids and created at its time (on PostgreSQL an
/// unsubscribe may have created one in between), by address.
pub(in crate::contacts::import) async fn created(
    conn: &mut AnyConnection,
    first: i64,
    last: i64,
    at: i64,
) -> Result<Vec<(i64, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, updated_at FROM contacts \
         WHERE id BETWEEN $1 AND $2 AND created_at = $3 ORDER BY email_key",
    )
    .bind(first)
    .bind(last)
    .bind(at)
    .fetch_all(&mut *conn)
    .await
}

/// The contacts import `import` changed, with their values from before
/// (JSON), by id.
pub(in crate::contacts::import) async fn changed(
    conn: &mut AnyConnection,
    import: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT contact_id, previous FROM import_changes WHERE import_id = $1 ORDER BY contact_id",
    )
    .bind(import)
    .fetch_all(&mut *conn)
    .await
}

/// Deletes the contacts with these ids; their tags go with them (ON
/// DELETE CASCADE), deliveries to them keep the address.
pub(in crate::contacts::import) async fn delete_contacts(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(500) {
        let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
        sqlx::query(&format!(
            "DELETE FROM contacts WHERE id IN ({})",
            list.join(", ")
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A contact's values to put back: its text fields by name, its extra
/// data as JSON, status, tags and the time it last changed.
pub(in crate::contacts::import) struct Restore<'a> {
    pub(in crate::contacts::import) id: i64,
    pub(in crate::contacts::import) fields: &'a BTreeMap<String, String>,
    pub(in crate::contacts::import) extra_json: String,
    pub(in crate::contacts::import) status: &'a str,
    pub(in crate::contacts::import) tags: &'a [String],
    pub(in crate::contacts::import) updated_at: i64,
}

/// Gives one contact back its values and tags from before an import.
pub(in crate::contacts::import) async fn restore(
    conn: &mut AnyConnection,
    r: &Restore<'_>,
) -> Result<(), sqlx::Error> {
    let mut sql = String::from("UPDATE contacts SET ");
    let mut n = 0;
    for field in TEXT_FIELDS {
        n += 1;
        sql.push_str(&format!("{} = ${n}, ", field.name()));
    }
    sql.push_str(&format!(
        "extra = ${}, status = ${}, updated_at = ${} WHERE id = ${}",
        n + 1,
        n + 2,
        n + 3,
        n + 4
    ));
    // One contact back to its values before the import.
    let mut query = sqlx::query(&sql);
    for field in TEXT_FIELDS {
        query = query.bind(r.fields.get(field.name()).cloned());
    }
    query
        .bind(r.extra_json.as_str())
        .bind(r.status)
        .bind(r.updated_at)
        .bind(r.id)
        .execute(&mut *conn)
        .await?;
    // Its tags, as they were.
    sqlx::query("DELETE FROM contact_tags WHERE contact_id = $1")
        .bind(r.id)
        .execute(&mut *conn)
        .await?;
    for tag in r.tags {
        sqlx::query("INSERT INTO contact_tags (contact_id, tag) VALUES ($1, $2)")
            .bind(r.id)
            .bind(tag.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Marks import `import` undone at `now`, so it cannot be undone twice.
pub(in crate::contacts::import) async fn mark_undone(
    conn: &mut AnyConnection,
    import: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE imports SET undone_at = $1 WHERE id = $2")
        .bind(now)
        .bind(import)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
