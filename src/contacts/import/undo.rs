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
use super::store::undo::{self as store, ImportRow};
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

/// The import `source` names: its number, or the name of one of its files
/// (the latest such import not undone yet).
async fn find(conn: &mut AnyConnection, source: &str) -> Result<ImportRow, Error> {
    let imports = store::imports(conn).await?;
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
    let mut conn = db.connection().await?;
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
    let created = store::created(conn, first, last, at).await?;
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
    let changed = store::changed(conn, id).await?;
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
    store::delete_contacts(&mut tx, &plan.remove_ids).await?;
    for r in &plan.restore {
        let p = &r.previous;
        let restore = store::Restore {
            id: r.id,
            fields: &p.fields,
            extra_json: serde_json::to_string(&p.extra).unwrap_or_else(|_| "{}".into()),
            status: &p.status,
            tags: &p.tags,
            updated_at: p.updated_at,
        };
        store::restore(&mut tx, &restore).await?;
    }
    store::mark_undone(&mut tx, plan.import, now).await?;
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
