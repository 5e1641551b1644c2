//! Taking an import back: `contacts import --undo SOURCE` removes the
//! contacts an import created and gives the contacts it changed their
//! values from before it.
//!
//! What an import did is recorded cheaply, as it writes (table `imports`):
//! the range of ids of the contacts it created (nothing per contact, so a
//! first import of a million rows costs one row here), and in
//! `import_changes` the previous values of each existing contact it
//! changed. A contact changed again since the import (its `updated_at` is
//! not the import's time: an unsubscribe, a bounce, a later import) is
//! left as it is and listed, so an undo never takes back what came after.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::columns::TEXT_FIELDS;
use super::limits::quote;
use super::record::ContactRecord;
use crate::contacts::{by_ids_on, format_time, Contact, Error};
use crate::db::{now_ms, Db};

/// A contact's values before an import changed them, as `import_changes`
/// keeps them (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Previous {
    fields: BTreeMap<String, String>,
    extra: BTreeMap<String, String>,
    status: String,
    tags: Vec<String>,
    updated_at: i64,
}

impl Previous {
    pub(super) fn of(contact: &ContactRecord) -> Previous {
        Previous {
            fields: TEXT_FIELDS
                .iter()
                .zip(contact.values.iter())
                .filter_map(|(f, v)| Some((f.name().to_string(), v?.to_string())))
                .collect(),
            extra: contact.extra.clone(),
            status: contact.status.as_str().to_string(),
            tags: contact.tags.iter().cloned().collect(),
            updated_at: contact.updated_at,
        }
    }

    pub(super) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// A contact whose values an undo gives back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restoring {
    pub email: String,
    /// What changes back, in words: `name "Jane D." → "Jane Doe"`.
    pub changes: Vec<String>,
    #[serde(skip)]
    id: i64,
    #[serde(skip)]
    previous: Previous,
}

/// A contact an undo leaves as it is, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kept {
    pub email: String,
    pub why: String,
}

/// What undoing an import will do; shown before it is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndoPlan {
    pub import: i64,
    pub sources: Vec<String>,
    pub imported_at: String,
    /// The addresses of the contacts it created, to be removed.
    pub remove: Vec<String>,
    pub restore: Vec<Restoring>,
    pub kept: Vec<Kept>,
    #[serde(skip)]
    remove_ids: Vec<i64>,
}

type ImportRow = (i64, String, i64, i64, i64, Option<i64>);

/// The import `source` names: its number, or the name of one of its files
/// (the latest such import not undone yet).
async fn find(conn: &mut AnyConnection, source: &str) -> Result<ImportRow, Error> {
    // Every import, newest first: they are few (one per command run).
    let imports: Vec<ImportRow> = sqlx::query_as(
        "SELECT id, sources, first_contact_id, last_contact_id, imported_at, undone_at \
         FROM imports ORDER BY id DESC",
    )
    .fetch_all(&mut *conn)
    .await?;
    let name = std::path::Path::new(source)
        .file_name()
        .map_or(source.to_string(), |n| n.to_string_lossy().into_owned());
    let by_id = source.trim().parse::<i64>().ok();
    let matching: Vec<&ImportRow> = imports
        .iter()
        .filter(|i| Some(i.0) == by_id || i.1.lines().any(|s| s == name))
        .collect();
    if let Some(open) = matching.iter().find(|i| i.5.is_none()) {
        return Ok((*open).clone());
    }
    if let Some(done) = matching.first() {
        return Err(Error::BadInput(format!(
            "import {} of {} was undone already ({})",
            done.0,
            done.1.lines().collect::<Vec<_>>().join(", "),
            format_time(done.5.unwrap_or_default())
        )));
    }
    let recent: Vec<String> = imports
        .iter()
        .filter(|i| i.5.is_none())
        .take(5)
        .map(|i| {
            format!(
                "{} ({}, {})",
                i.1.lines().collect::<Vec<_>>().join(", "),
                i.0,
                format_time(i.4)
            )
        })
        .collect();
    Err(Error::BadInput(if recent.is_empty() {
        format!("no import of {source:?} to undo: there is no import that is not undone")
    } else {
        format!(
            "no import of {source:?} to undo; name a file or the number of one of these: {}",
            recent.join("; ")
        )
    }))
}

/// What undoing the import `source` names would do.
pub async fn plan(db: &Db, source: &str) -> Result<UndoPlan, Error> {
    let mut conn = db.pool.acquire().await?;
    plan_on(db, &mut conn, source).await
}

async fn plan_on(db: &Db, conn: &mut AnyConnection, source: &str) -> Result<UndoPlan, Error> {
    let (id, sources, first, last, at, _) = find(conn, source).await?;
    let mut plan = UndoPlan {
        import: id,
        sources: sources.lines().map(str::to_string).collect(),
        imported_at: format_time(at),
        remove: Vec::new(),
        restore: Vec::new(),
        kept: Vec::new(),
        remove_ids: Vec::new(),
    };
    // The contacts the import created: in its range of ids, created at its
    // time (on PostgreSQL an unsubscribe may have created one in between).
    let created: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, email, updated_at FROM contacts \
         WHERE id BETWEEN $1 AND $2 AND created_at = $3 ORDER BY email_key",
    )
    .bind(first)
    .bind(last)
    .bind(at)
    .fetch_all(&mut *conn)
    .await?;
    for (id, email, updated) in created {
        if updated == at {
            plan.remove.push(email);
            plan.remove_ids.push(id);
        } else {
            plan.kept.push(Kept {
                email,
                why: format!(
                    "created by the import, changed since ({})",
                    format_time(updated)
                ),
            });
        }
    }
    // The contacts it changed, with their values from before.
    let changed: Vec<(i64, String)> = sqlx::query_as(
        "SELECT contact_id, previous FROM import_changes WHERE import_id = $1 ORDER BY contact_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<i64> = changed.iter().map(|(id, _)| *id).collect();
    let mut now: BTreeMap<i64, Contact> = BTreeMap::new();
    for chunk in ids.chunks(500) {
        for c in by_ids_on(db, conn, chunk).await? {
            now.insert(c.id, c);
        }
    }
    for (contact_id, previous) in changed {
        let Some(current) = now.get(&contact_id) else {
            continue; // forgotten or deleted since: nothing to give back
        };
        let previous: Previous = serde_json::from_str(&previous)
            .map_err(|e| Error::Db(sqlx::Error::Decode(Box::new(e))))?;
        if current.updated_at != at {
            plan.kept.push(Kept {
                email: current.email.clone(),
                why: format!(
                    "changed by the import, and again since ({})",
                    format_time(current.updated_at)
                ),
            });
            continue;
        }
        plan.restore.push(Restoring {
            email: current.email.clone(),
            changes: differences(current, &previous),
            id: contact_id,
            previous,
        });
    }
    plan.restore.sort_by(|a, b| a.email.cmp(&b.email));
    Ok(plan)
}

/// What changes back from `current` to `previous`, in words.
fn differences(current: &Contact, previous: &Previous) -> Vec<String> {
    let mut out = Vec::new();
    for field in TEXT_FIELDS {
        let now = crate::contacts::export::value(current, field);
        let then = previous
            .fields
            .get(field.name())
            .cloned()
            .unwrap_or_default();
        if now != then {
            let show = |v: &str| {
                if v.is_empty() {
                    "nothing".to_string()
                } else {
                    quote(v)
                }
            };
            out.push(format!("{} {} → {}", field.name(), show(&now), show(&then)));
        }
    }
    let now_tags: Vec<&String> = current.tags.iter().collect();
    let then_tags: Vec<&String> = previous.tags.iter().collect();
    if now_tags != then_tags {
        out.push(format!(
            "tags {} → {}",
            quote(&current.tags.join(", ")),
            quote(&previous.tags.join(", "))
        ));
    }
    if current.extra != previous.extra {
        out.push("extra columns as before".to_string());
    }
    if current.status.as_str() != previous.status {
        out.push(format!("status {} → {}", current.status, previous.status));
    }
    out
}

/// What an undo did.
#[derive(Debug, Clone, Serialize)]
pub struct Undone {
    pub import: i64,
    pub removed: u64,
    pub restored: u64,
    pub kept: u64,
}

/// Undoes the import `shown` describes, in one transaction, provided that
/// it is still what would be done (else nothing is, and the press officer
/// is asked to look again). `actor` is who undoes it, for the audit log.
pub async fn apply(db: &Db, actor: &str, shown: &UndoPlan) -> Result<Undone, Error> {
    let mut tx = db.begin_write().await?;
    let plan = plan_on(db, &mut tx, &shown.import.to_string()).await?;
    if plan != *shown {
        return Err(Error::BadInput(format!(
            "the contacts of import {} changed while you were asked; nothing undone: run the undo again to see what it would do now",
            shown.import
        )));
    }
    let now = now_ms();
    for chunk in plan.remove_ids.chunks(500) {
        let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
        // The contacts it created; their tags go with them (ON DELETE
        // CASCADE), deliveries to them keep the address.
        sqlx::query(&format!(
            "DELETE FROM contacts WHERE id IN ({})",
            list.join(", ")
        ))
        .execute(&mut *tx)
        .await?;
    }
    for r in &plan.restore {
        let p = &r.previous;
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
            query = query.bind(p.fields.get(field.name()).cloned());
        }
        let extra = serde_json::to_string(&p.extra).unwrap_or_else(|_| "{}".into());
        query
            .bind(extra)
            .bind(p.status.clone())
            .bind(p.updated_at)
            .bind(r.id)
            .execute(&mut *tx)
            .await?;
        // Its tags, as they were.
        sqlx::query("DELETE FROM contact_tags WHERE contact_id = $1")
            .bind(r.id)
            .execute(&mut *tx)
            .await?;
        for tag in &p.tags {
            sqlx::query("INSERT INTO contact_tags (contact_id, tag) VALUES ($1, $2)")
                .bind(r.id)
                .bind(tag.as_str())
                .execute(&mut *tx)
                .await?;
        }
    }
    // Done: the import cannot be undone twice.
    sqlx::query("UPDATE imports SET undone_at = $1 WHERE id = $2")
        .bind(now)
        .bind(plan.import)
        .execute(&mut *tx)
        .await?;
    let summary = format!(
        "undid import {} of {}: removed {}, restored {}, kept {}",
        plan.import,
        plan.sources.join(", "),
        plan.remove.len(),
        plan.restore.len(),
        plan.kept.len()
    );
    let import = plan.import.to_string();
    crate::team::audit::record(
        &mut tx,
        actor,
        crate::team::Action::ContactsUndoImport,
        Some(&import),
        &summary,
    )
    .await?;
    tx.commit().await?;
    Ok(Undone {
        import: plan.import,
        removed: plan.remove_ids.len() as u64,
        restored: plan.restore.len() as u64,
        kept: plan.kept.len() as u64,
    })
}
