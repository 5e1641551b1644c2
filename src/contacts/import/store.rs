//! The database side of an import on sqlx's pool (PostgreSQL): one
//! transaction, multi-row statements, and the SQL of those statements,
//! which the SQLite store ([`super::sqlite`]) shares.

use std::borrow::Cow;
use std::collections::HashMap;

use sqlx::Row;
use tokio::sync::oneshot;

pub(super) mod sqlite;
pub(super) mod undo;

use super::columns::{Field, TEXT_FIELDS};
use super::record::ContactRecord;
use crate::contacts::Error;
use crate::db::Db;

/// What a [`Merger`] asks of its [`PoolStore`], in order.
pub(super) enum StoreOp {
    /// New contacts, numbered already: one statement's worth.
    Insert(Vec<ContactRecord>),
    /// New or changed contacts: one statement's worth.
    Upsert(Vec<ContactRecord>),
    /// The stored contacts among these address keys.
    Lookup(Vec<String>, oneshot::Sender<HashMap<String, ContactRecord>>),
    /// Previous values of changed contacts (id, JSON), for `--undo`.
    Changes(Vec<(i64, String)>),
    /// Commit (true) or roll back, and stop; with the numbers of contacts
    /// created and updated, for the import's record, and the audit log's
    /// entry (actor, summary) written with the commit.
    Finish(
        bool,
        (u64, u64),
        Option<(String, String)>,
        oneshot::Sender<()>,
    ),
}

/// The SQL that records an import (for `--undo`) as it begins: the ids of
/// the contacts it creates start after the largest one.
pub(super) const IMPORT_SQL: &str =
    "INSERT INTO imports (sources, first_contact_id, last_contact_id, imported_at) \
     VALUES ($1, $2, $3, $4) RETURNING id";

/// The SQL that completes an import's record before it commits: the last
/// id it created and its counts.
pub(super) const IMPORT_DONE_SQL: &str = "UPDATE imports SET \
     last_contact_id = (SELECT COALESCE(max(id), 0) FROM contacts), created = $1, updated = $2 \
     WHERE id = $3";

/// The SQL that drops the record of an import that changed nothing: there
/// is nothing to undo, and `--undo FILE` should find the import that did.
pub(super) const IMPORT_EMPTY_SQL: &str = "DELETE FROM imports WHERE id = $1";

/// The SQL that reads the hashes of forgotten addresses, so they are not
/// imported again.
pub(super) const FORGOTTEN_SQL: &str = "SELECT value FROM suppressions WHERE kind = 'forgotten'";

/// The SQL that reads the largest contact id: ids above it are contacts
/// the import creates.
pub(super) const MAX_ID_SQL: &str = "SELECT max(id) FROM contacts";

/// The database side of an import: one transaction, multi-row statements.
/// It runs as a task of its own, so that the database writes one chunk
/// while the merger merges the next.
pub(super) struct PoolStore {
    pub(super) tx: crate::db::WriteTx<'static>,
    pub(super) statements: ImportSql,
    /// Whether new contacts come numbered ([`Db::transaction_numbers_rows`]).
    pub(super) numbered: bool,
    pub(super) now: i64,
    /// This import's row in `imports`.
    pub(super) import_id: i64,
    /// Tags of written contacts waiting to be written.
    pub(super) tags: Vec<(i64, String)>,
}

impl PoolStore {
    /// Begins the import's transaction and its record in `imports`.
    /// Returns the store, the hashes of forgotten addresses and the largest
    /// contact id before the import.
    pub(super) async fn begin(
        db: &Db,
        statements: ImportSql,
        numbered: bool,
        now: i64,
        sources: &str,
    ) -> Result<(PoolStore, Vec<String>, Option<i64>), Error> {
        let mut tx = db.begin_write().await?;
        db.large_cache(&mut tx).await?;
        let forgotten: Vec<(String,)> = sqlx::query_as(FORGOTTEN_SQL).fetch_all(&mut *tx).await?;
        let (max_id,): (Option<i64>,) = sqlx::query_as(MAX_ID_SQL).fetch_one(&mut *tx).await?;
        let first = max_id.unwrap_or(0) + 1;
        let (import_id,): (i64,) = sqlx::query_as(IMPORT_SQL)
            .bind(sources)
            .bind(first)
            .bind(first - 1)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let store = PoolStore {
            tx,
            statements,
            numbered,
            now,
            import_id,
            tags: Vec::new(),
        };
        let forgotten = forgotten.into_iter().map(|(h,)| h).collect();
        Ok((store, forgotten, max_id))
    }

    /// Works through `ops` until told to finish. On an error it stops,
    /// and the transaction rolls back as it is dropped.
    pub(super) async fn run(
        mut self,
        mut ops: tokio::sync::mpsc::Receiver<StoreOp>,
    ) -> Result<(), Error> {
        while let Some(op) = ops.recv().await {
            match op {
                StoreOp::Insert(batch) => self.insert(batch).await?,
                StoreOp::Upsert(batch) => self.upsert(batch).await?,
                StoreOp::Lookup(keys, reply) => {
                    let found = self.lookup(keys).await?;
                    let _ = reply.send(found);
                }
                StoreOp::Changes(batch) => {
                    let sql = self.statements.changes(batch.len());
                    let mut query = sqlx::query(sql);
                    for (id, previous) in &batch {
                        query = query.bind(self.import_id).bind(*id).bind(previous.as_str());
                    }
                    query.execute(&mut *self.tx).await?;
                }
                StoreOp::Finish(commit, (created, updated), audited, reply) => {
                    self.write_tags(true).await?;
                    if commit {
                        if let Some((actor, summary)) = audited {
                            let id = self.import_id.to_string();
                            crate::team::audit::record(
                                &mut self.tx,
                                &actor,
                                crate::team::Action::ContactsImport,
                                Some(&id),
                                &summary,
                            )
                            .await?;
                        }
                        let query = if created + updated == 0 {
                            sqlx::query(IMPORT_EMPTY_SQL).bind(self.import_id)
                        } else {
                            sqlx::query(IMPORT_DONE_SQL)
                                .bind(created as i64)
                                .bind(updated as i64)
                                .bind(self.import_id)
                        };
                        query.execute(&mut *self.tx).await?;
                        self.tx.commit().await?;
                    } else {
                        self.tx.rollback().await?;
                    }
                    let _ = reply.send(());
                    return Ok(());
                }
            }
        }
        // The merger gave up.
        Ok(())
    }

    /// The stored contacts among `keys`.
    pub(super) async fn lookup(
        &mut self,
        mut keys: Vec<String>,
    ) -> Result<HashMap<String, ContactRecord>, Error> {
        let mut found = HashMap::new();
        // What is still waiting must be in the database to be found.
        self.write_tags(true).await?;
        while let Some(batch) = take_batch(&mut keys, true) {
            let sql = self.statements.lookup(batch.len());
            let mut query = sqlx::query(sql);
            for key in &batch {
                query = query.bind(key.as_str());
            }
            for r in query.fetch_all(&mut *self.tx).await? {
                let c = ContactRecord::from_columns(
                    r.try_get("id")?,
                    r.try_get("updated_at")?,
                    |name| r.try_get(name),
                )?;
                found.insert(c.key.clone(), c);
            }
        }
        Ok(found)
    }

    /// Writes new contacts, numbered already.
    pub(super) async fn insert(&mut self, batch: Vec<ContactRecord>) -> Result<(), Error> {
        let extras = extra_json(&batch);
        let sql = self.statements.insert(batch.len());
        bind_contacts(sqlx::query(sql), &batch, &extras, true, self.now)
            .execute(&mut *self.tx)
            .await?;
        self.queue_tags(batch);
        self.write_tags(false).await
    }

    /// Writes new and changed contacts; new ones get their ids here unless
    /// they are numbered already.
    pub(super) async fn upsert(&mut self, mut batch: Vec<ContactRecord>) -> Result<(), Error> {
        let extras = extra_json(&batch);
        let sql = self.statements.upsert(self.numbered, batch.len());
        let query = bind_contacts(sqlx::query(sql), &batch, &extras, self.numbered, self.now);
        if self.numbered {
            query.execute(&mut *self.tx).await?;
        } else {
            let mut ids = HashMap::new();
            for row in query.fetch_all(&mut *self.tx).await? {
                let key: String = row.try_get("email_key")?;
                ids.insert(key, row.try_get::<i64, _>("id")?);
            }
            for c in &mut batch {
                c.id = ids.get(&c.key).copied();
            }
        }
        self.queue_tags(batch);
        self.write_tags(false).await
    }

    /// Writes the tags waiting: only full statements, or with `all` all of them.
    pub(super) async fn write_tags(&mut self, all: bool) -> Result<(), Error> {
        while let Some(batch) = take_batch(&mut self.tags, all) {
            let sql = self.statements.tags(batch.len());
            let mut query = sqlx::query(sql);
            for (id, tag) in &batch {
                query = query.bind(*id).bind(tag.as_str());
            }
            query.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Puts the tags of written contacts in line to be written.
    pub(super) fn queue_tags(&mut self, contacts: Vec<ContactRecord>) {
        for c in contacts {
            if let Some(id) = c.id {
                self.tags.extend(c.tags.into_iter().map(|t| (id, t)));
            }
        }
    }
}

/// Rows per multi-row statement when there are enough of them.
pub(super) const STATEMENT_ROWS: usize = 500;

/// The next statement's worth of `pending`: [`STATEMENT_ROWS`] of them, or
/// with `all` also fewer, as many as the largest power of two allows. So
/// there are only a few SQL texts, each prepared once and then reused from
/// sqlx's statement cache.
pub(super) fn take_batch<T>(pending: &mut Vec<T>, all: bool) -> Option<Vec<T>> {
    let size = match pending.len() {
        n if n >= STATEMENT_ROWS => STATEMENT_ROWS,
        0 => return None,
        n if all => 1 << n.ilog2(),
        _ => return None,
    };
    let rest = pending.split_off(size);
    Some(std::mem::replace(pending, rest))
}

/// The contacts' extra data as stored: a JSON object.
pub(super) fn extra_json(contacts: &[ContactRecord]) -> Vec<Cow<'static, str>> {
    contacts.iter().map(ContactRecord::extra_json).collect()
}

/// One value a contact's row binds.
#[derive(Debug, Clone, Copy)]
pub(super) enum BindValue<'a> {
    Text(Option<&'a str>),
    Int(i64),
}

/// Binds the values of [`ImportSql::insert`] and [`ImportSql::upsert`].
/// Borrowed text is copied once, when sqlx hands it to its SQLite thread;
/// owned text would be copied as it is bound, too.
pub(super) fn bind_contacts<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    contacts: &'q [ContactRecord],
    extras: &'q [Cow<'static, str>],
    with_id: bool,
    now: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for (c, extra) in contacts.iter().zip(extras) {
        if with_id {
            query = query.bind(c.id);
        }
        for value in c.column_values(extra, now) {
            query = match value {
                BindValue::Text(t) => query.bind(t),
                BindValue::Int(i) => query.bind(i),
            };
        }
    }
    query
}

/// The kinds of an import's multi-row statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum StatementKind {
    Insert,
    Upsert { numbered: bool },
    Tags,
    Lookup,
    Changes,
}

/// The SQL of an import's multi-row statements, by kind and number of rows.
pub(super) struct ImportSql {
    pub(super) db: Db,
    pub(super) sql: HashMap<(StatementKind, usize), String>,
}

impl ImportSql {
    pub(super) fn new(db: &Db) -> ImportSql {
        ImportSql {
            db: db.clone(),
            sql: HashMap::new(),
        }
    }

    /// The columns of a contact that an import writes, after its id
    /// ([`ContactRecord::column_values`] gives their values).
    pub(super) fn columns() -> String {
        format!(
            "email, email_key, domain, {}, extra, status, created_at, updated_at",
            TEXT_FIELDS.map(Field::name).join(", ")
        )
    }

    /// How many values [`bind_contacts`] binds per contact, without the id.
    pub(super) const COLUMNS: usize = 3 + TEXT_FIELDS.len() + 4;

    pub(super) fn get(&mut self, kind: StatementKind, rows: usize) -> &str {
        let db = &self.db;
        self.sql.entry((kind, rows)).or_insert_with(|| match kind {
            // New contacts, numbered already by this transaction.
            StatementKind::Insert => format!(
                "{} INTO contacts (id, {}) VALUES {}",
                db.insert_new_rows(),
                Self::columns(),
                db.values_list(rows, 1 + Self::COLUMNS)
            ),
            // Insert new contacts and overwrite changed ones (already merged
            // in Rust); `source` and `created_at` keep their first values.
            // Unless the rows bring their ids, the database numbers new
            // contacts and returns the ids.
            StatementKind::Upsert { numbered } => {
                let updates: Vec<String> = TEXT_FIELDS
                    .iter()
                    .map(|f| f.name())
                    .filter(|n| *n != "source")
                    .map(|n| format!("{n} = excluded.{n}"))
                    .collect();
                let (id, returning) = if numbered {
                    ("id, ", "")
                } else {
                    ("", " RETURNING id, email_key")
                };
                format!(
                    "INSERT INTO contacts ({id}{}) VALUES {} \
                     ON CONFLICT (email_key) DO UPDATE SET {}, extra = excluded.extra, \
                         status = excluded.status, updated_at = excluded.updated_at{returning}",
                    Self::columns(),
                    db.values_list(rows, usize::from(numbered) + Self::COLUMNS),
                    updates.join(", ")
                )
            }
            // Tags of imported contacts; tags they had already stay.
            StatementKind::Tags => format!(
                "INSERT INTO contact_tags (contact_id, tag) VALUES {} ON CONFLICT DO NOTHING",
                db.values_list(rows, 2)
            ),
            // Previous values of contacts the import changed, for `--undo`.
            StatementKind::Changes => format!(
                "INSERT INTO import_changes (import_id, contact_id, previous) VALUES {} \
                 ON CONFLICT DO NOTHING",
                db.values_list(rows, 3)
            ),
            // The contacts an import chunk touches, with their tags, to merge into.
            StatementKind::Lookup => format!(
                "SELECT id, email, email_key, domain, {}, extra, status, updated_at, {} AS tags \
                 FROM contacts c WHERE email_key IN {}",
                TEXT_FIELDS.map(Field::name).join(", "),
                crate::contacts::tags_sql(db),
                db.values_list(1, rows)
            ),
        })
    }

    pub(super) fn insert(&mut self, rows: usize) -> &str {
        self.get(StatementKind::Insert, rows)
    }

    pub(super) fn upsert(&mut self, numbered: bool, rows: usize) -> &str {
        self.get(StatementKind::Upsert { numbered }, rows)
    }

    pub(super) fn tags(&mut self, rows: usize) -> &str {
        self.get(StatementKind::Tags, rows)
    }

    pub(super) fn lookup(&mut self, rows: usize) -> &str {
        self.get(StatementKind::Lookup, rows)
    }

    pub(super) fn changes(&mut self, rows: usize) -> &str {
        self.get(StatementKind::Changes, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_full_or_powers_of_two() {
        let mut pending: Vec<usize> = (0..1300).collect();
        assert_eq!(take_batch(&mut pending, false).map(|b| b.len()), Some(500));
        assert_eq!(take_batch(&mut pending, false).map(|b| b[0]), Some(500));
        assert_eq!(take_batch(&mut pending, false), None, "300 wait for more");
        let mut sizes = Vec::new();
        while let Some(batch) = take_batch(&mut pending, true) {
            sizes.push(batch.len());
        }
        assert_eq!(sizes, [256, 32, 8, 4]);
        assert!(pending.is_empty());
    }
}
