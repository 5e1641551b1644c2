//! The SQLite side of an import: the one place where presswire leaves
//! sqlx's `Any` driver, for speed.
//!
//! A large import is mostly SQLite binding values and writing rows. Through
//! sqlx every value was copied, boxed, converted and handed to sqlx's
//! worker thread, and each of SQLite's calls took the connection's lock:
//! that cost as much as SQLite's own work. This store has a connection of
//! its own ([`Db::bulk_connection`], rusqlite) on a thread of its own,
//! and writes the contacts with the same multi-row statements as the
//! generic store (the same [`Statements`], prepared once and cached),
//! binding borrowed text by position. The values come from
//! [`Stored::column_values`], so the two cannot drift apart. Everything
//! happens in one transaction, begun before the first read and committed
//! or rolled back when the writer says so; an error, or a writer that
//! gives up, drops the connection and with it the transaction.

use std::collections::HashMap;

use rusqlite::{CachedStatement, Connection};
use tokio::sync::mpsc::{Receiver, UnboundedSender};

use super::{extra_json, take_batch, Op, Statements, Stored, Value, FORGOTTEN_SQL, MAX_ID_SQL};
use crate::contacts::Error;

/// An import's writes to a SQLite database.
pub(super) struct Store {
    conn: Connection,
    statements: Statements,
    now: i64,
    /// Where written contacts go to be freed, on the writer's thread.
    spent: UnboundedSender<Vec<Stored>>,
}

impl Store {
    /// Begins the import's transaction on `conn` and reads what the writer
    /// needs first: the hashes of forgotten addresses and the largest
    /// contact id. The transaction takes the write lock at once, so the
    /// ids the writer hands out after that largest one stay free.
    pub(super) fn begin(
        conn: Connection,
        statements: Statements,
        now: i64,
        spent: UnboundedSender<Vec<Stored>>,
    ) -> Result<(Store, Vec<String>, Option<i64>), Error> {
        conn.set_prepared_statement_cache_capacity(32);
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let forgotten = conn
            .prepare(FORGOTTEN_SQL)?
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        let max_id = conn.query_row(MAX_ID_SQL, [], |r| r.get(0))?;
        let store = Store {
            conn,
            statements,
            now,
            spent,
        };
        Ok((store, forgotten, max_id))
    }

    /// Works through `ops` until told to finish (on a blocking thread).
    pub(super) fn run(mut self, mut ops: Receiver<Op>) -> Result<(), Error> {
        while let Some(op) = ops.blocking_recv() {
            match op {
                Op::Insert(batch) => {
                    self.write(&batch, false)?;
                    let _ = self.spent.send(batch);
                }
                Op::Upsert(batch) => {
                    self.write(&batch, true)?;
                    let _ = self.spent.send(batch);
                }
                Op::Lookup(keys, reply) => {
                    let found = self.lookup(keys)?;
                    let _ = reply.send(found);
                }
                Op::Finish(commit, reply) => {
                    self.conn
                        .execute_batch(if commit { "COMMIT" } else { "ROLLBACK" })?;
                    let _ = reply.send(());
                    return Ok(());
                }
            }
        }
        // The writer gave up: dropping the connection rolls back.
        Ok(())
    }

    /// Writes contacts, numbered already, and their tags: new ones with an
    /// insert, or with `upsert` new and changed ones. A batch is one
    /// statement's worth ([`take_batch`]): one multi-row statement keeps
    /// its cursors on the table and its indexes open from row to row.
    fn write(&mut self, batch: &[Stored], upsert: bool) -> Result<(), Error> {
        let sql = if upsert {
            self.statements.upsert(true, batch.len())
        } else {
            self.statements.insert(batch.len())
        };
        let mut contacts = self.conn.prepare_cached(sql)?;
        let extras = extra_json(batch);
        let mut index = 0;
        for (c, extra) in batch.iter().zip(&extras) {
            index += 1;
            contacts.raw_bind_parameter(index, c.id)?;
            for value in c.column_values(extra, self.now) {
                index += 1;
                bind(&mut contacts, index, value)?;
            }
        }
        contacts.raw_execute()?;
        drop(contacts);
        let mut tags: Vec<(i64, &str)> = batch
            .iter()
            .filter_map(|c| Some((c.id?, c)))
            .flat_map(|(id, c)| c.tags.iter().map(move |t| (id, t.as_str())))
            .collect();
        while let Some(tags) = take_batch(&mut tags, true) {
            let mut statement = self.conn.prepare_cached(self.statements.tags(tags.len()))?;
            for (i, (id, tag)) in tags.into_iter().enumerate() {
                statement.raw_bind_parameter(2 * i + 1, id)?;
                statement.raw_bind_parameter(2 * i + 2, tag)?;
            }
            statement.raw_execute()?;
        }
        Ok(())
    }

    /// The stored contacts among `keys`.
    fn lookup(&mut self, mut keys: Vec<String>) -> Result<HashMap<String, Stored>, Error> {
        let mut found = HashMap::new();
        while let Some(batch) = take_batch(&mut keys, true) {
            let mut query = self
                .conn
                .prepare_cached(self.statements.lookup(batch.len()))?;
            for (i, key) in batch.iter().enumerate() {
                query.raw_bind_parameter(i + 1, key.as_str())?;
            }
            let mut rows = query.raw_query();
            while let Some(r) = rows.next()? {
                let c = Stored::from_columns(r.get("id")?, |name| r.get(name))?;
                found.insert(c.key.clone(), c);
            }
        }
        Ok(found)
    }
}

/// Binds one value to the parameter at `index` (from 1).
fn bind(
    statement: &mut CachedStatement<'_>,
    index: usize,
    value: Value<'_>,
) -> rusqlite::Result<()> {
    match value {
        Value::Text(t) => statement.raw_bind_parameter(index, t),
        Value::Int(i) => statement.raw_bind_parameter(index, i),
    }
}
