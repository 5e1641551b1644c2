//! The SQLite side of an import: the one place where presswire leaves
//! sqlx's `Any` driver, for speed.
//!
//! A large import is mostly SQLite binding values and writing rows. Through
//! sqlx every value was copied, boxed, converted and handed to sqlx's
//! worker thread, and each of SQLite's calls took the connection's lock:
//! that cost as much as SQLite's own work. This store has a connection of
//! its own ([`Db::bulk_connection`], rusqlite) on a thread of its own,
//! and writes the contacts with the same multi-row statements as the
//! generic store (the same [`ImportSql`], prepared once and cached),
//! binding borrowed text by position. The values come from
//! [`ContactRecord::column_values`], so the two cannot drift apart. Everything
//! happens in one transaction, begun before the first read and committed
//! or rolled back when the merger says so; an error, or a merger that
//! gives up, drops the connection and with it the transaction.
//!
//! Three more things make it fast:
//! - Text is bound without copying ([`Borrowing`]).
//! - An import into an empty contact list writes the contacts without the
//!   unique index on their addresses and builds it at the end (see
//!   [`SqliteStore::begin`]),
//! - and, when nothing else has the database open, with a rollback journal
//!   instead of the write-ahead log, so its pages are written once
//!   ([`SqliteStore::leave_wal`]).

use std::collections::HashMap;
use std::ffi::c_int;
use std::ptr::NonNull;
use std::time::Duration;

use rusqlite::{ffi, Connection};
use tokio::sync::mpsc::{Receiver, UnboundedSender};

use super::super::record::ContactRecord;
use super::{
    extra_json, take_batch, BindValue, ImportSql, StoreOp, FORGOTTEN_SQL, IMPORT_DONE_SQL,
    IMPORT_EMPTY_SQL, IMPORT_SQL, MAX_ID_SQL,
};
use crate::contacts::Error;

/// How long a statement waits for another connection's lock: the pool's
/// `busy_timeout` (see `SQLITE_PRAGMAS` in the db module).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An import's writes to a SQLite database.
pub(in crate::contacts::import) struct SqliteStore {
    conn: Connection,
    statements: ImportSql,
    /// Whether the unique index on the addresses, `contacts_email_key`, is
    /// dropped until the end of the import ([`SqliteStore::begin`]).
    index_deferred: bool,
    /// Whether the import writes with a rollback journal instead of the
    /// write-ahead log ([`SqliteStore::leave_wal`]).
    rollback_journal: bool,
    now: i64,
    /// This import's row in `imports`.
    import_id: i64,
    /// Where written contacts go to be freed, on the merger's thread.
    spent: UnboundedSender<Vec<ContactRecord>>,
}

impl SqliteStore {
    /// Begins the import's transaction on `conn` and reads what the merger
    /// needs first: the hashes of forgotten addresses and the largest
    /// contact id. The transaction takes the write lock at once, so the
    /// ids the merger hands out after that largest one stay free.
    ///
    /// When there is no contact yet, the unique index on the addresses is
    /// dropped, inside the transaction, and built again before the commit
    /// ([`SqliteStore::build_index`]): one sort instead of an insert per contact
    /// in random order into a B-tree that outgrows the page cache, which
    /// was half of SQLite's work in a large first import. Nothing needs
    /// the index meanwhile: the merger makes the addresses unique itself,
    /// and only asks for stored contacts (a lookup, or an upsert) when an
    /// address comes back, which builds the index first. A rollback brings
    /// the index back with everything else.
    pub(in crate::contacts::import) fn begin(
        conn: Connection,
        statements: ImportSql,
        now: i64,
        sources: &str,
        spent: UnboundedSender<Vec<ContactRecord>>,
    ) -> Result<(SqliteStore, Vec<String>, Option<i64>), Error> {
        conn.set_prepared_statement_cache_capacity(32);
        let rollback_journal = SqliteStore::leave_wal(&conn)?;
        // The import writes tags only for contacts it has just written or
        // read, and deletes nothing: checking each tag's contact (a B-tree
        // search per tag, a tenth of SQLite's work) would find nothing.
        conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE")?;
        let forgotten = conn
            .prepare(FORGOTTEN_SQL)?
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        let max_id: Option<i64> = conn.query_row(MAX_ID_SQL, [], |r| r.get(0))?;
        let first = max_id.unwrap_or(0) + 1;
        let import_id: i64 = conn.query_row(
            IMPORT_SQL,
            rusqlite::params![sources, first, first - 1, now],
            |r| r.get(0),
        )?;
        let index_deferred = max_id.is_none();
        if index_deferred {
            conn.execute_batch("DROP INDEX contacts_email_key")?;
        }
        let store = SqliteStore {
            conn,
            statements,
            index_deferred,
            rollback_journal,
            now,
            import_id,
            spent,
        };
        Ok((store, forgotten, max_id))
    }

    /// Works through `ops` until told to finish (on a blocking thread).
    pub(in crate::contacts::import) fn run(
        mut self,
        mut ops: Receiver<StoreOp>,
    ) -> Result<(), Error> {
        // The statements, by SQL text; finalized when `run` returns, before
        // `self` and its connection go.
        let mut prepared = HashMap::new();
        while let Some(op) = ops.blocking_recv() {
            match op {
                StoreOp::Insert(batch) => {
                    self.write(&mut prepared, &batch, false)?;
                    let _ = self.spent.send(batch);
                }
                StoreOp::Upsert(batch) => {
                    self.build_index()?;
                    self.write(&mut prepared, &batch, true)?;
                    let _ = self.spent.send(batch);
                }
                StoreOp::Lookup(keys, reply) => {
                    self.build_index()?;
                    let found = self.lookup(keys)?;
                    let _ = reply.send(found);
                }
                StoreOp::Changes(batch) => {
                    let sql = self.statements.changes(batch.len());
                    let values = batch.iter().flat_map(|(id, previous)| {
                        [
                            BindValue::Int(self.import_id),
                            BindValue::Int(*id),
                            BindValue::Text(Some(previous.as_str())),
                        ]
                    });
                    Borrowing::get(&mut prepared, &self.conn, sql)?.execute(values)?;
                }
                StoreOp::Finish(commit, (created, updated), audited, reply) => {
                    if commit {
                        self.build_index()?;
                        if let Some((actor, summary)) = audited {
                            let action = crate::team::Action::ContactsImport;
                            self.conn.execute(
                                crate::team::store::INSERT_AUDIT_SQL,
                                rusqlite::params![
                                    crate::db::now_ms(),
                                    actor,
                                    action.as_str(),
                                    action.object_kind(),
                                    self.import_id.to_string(),
                                    summary
                                ],
                            )?;
                        }
                        if created + updated == 0 {
                            self.conn.execute(IMPORT_EMPTY_SQL, [self.import_id])?;
                        } else {
                            self.conn.execute(
                                IMPORT_DONE_SQL,
                                rusqlite::params![created as i64, updated as i64, self.import_id],
                            )?;
                        }
                    }
                    self.conn
                        .execute_batch(if commit { "COMMIT" } else { "ROLLBACK" })?;
                    self.back_to_wal();
                    let _ = reply.send(());
                    return Ok(());
                }
            }
        }
        // The merger gave up: dropping the connection rolls back.
        Ok(())
    }

    /// Switches `conn` from the write-ahead log to a rollback journal when
    /// the contact list is empty and no other connection has the database
    /// open; says whether it did.
    ///
    /// In WAL mode every page a transaction writes goes to the log first
    /// and is copied into the database file by the checkpoint after the
    /// commit: a first import of a million contacts wrote 600 MB twice,
    /// and the second copy with its `fsync` was a large part of the import.
    /// With a rollback journal SQLite writes the new pages into the
    /// database file once, and journals only the few pages that existed
    /// before (an empty table's). The mode can only change while no other
    /// connection has the file open (each holds the log's shared memory),
    /// so this is tried without waiting: when a dashboard or another
    /// command has the database open, the import stays in WAL mode, as
    /// fast as before. While the import runs, other processes can neither
    /// read nor write the database (they wait, up to their busy timeout);
    /// [`SqliteStore::back_to_wal`] restores WAL mode at the end, and any
    /// connection presswire opens sets it too, also after a crash (SQLite
    /// rolls the hot journal back first).
    fn leave_wal(conn: &Connection) -> Result<bool, Error> {
        let empty: bool =
            conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM contacts)", [], |r| {
                r.get(0)
            })?;
        if !empty {
            return Ok(false);
        }
        conn.busy_timeout(Duration::ZERO)?;
        let mode = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| {
            r.get::<_, String>(0)
        });
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(mode.is_ok_and(|m| m.eq_ignore_ascii_case("delete")))
    }

    /// Puts the database back in WAL mode after an import that left it
    /// ([`SqliteStore::leave_wal`]). A failure is no harm: every connection
    /// presswire opens asks for WAL mode.
    fn back_to_wal(&mut self) {
        if self.rollback_journal {
            let mode = self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0));
            if !mode.is_ok_and(|m| m.eq_ignore_ascii_case("wal")) {
                tracing::debug!("the database stays in rollback-journal mode until next opened");
            }
            self.rollback_journal = false;
        }
    }

    /// Builds the unique index on the addresses if [`SqliteStore::begin`]
    /// dropped it. Its sort spills to a temporary file past the page
    /// cache, instead of growing in memory (the connection keeps its
    /// temporary files in memory otherwise: see `SQLITE_PRAGMAS`).
    fn build_index(&mut self) -> Result<(), Error> {
        if self.index_deferred {
            self.conn.execute_batch(
                "PRAGMA temp_store = FILE; PRAGMA cache_size = -8192; \
                 CREATE UNIQUE INDEX contacts_email_key ON contacts (email_key); \
                 PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768;",
            )?;
            self.index_deferred = false;
        }
        Ok(())
    }

    /// Writes contacts, numbered already, and their tags: new ones with an
    /// insert, or with `upsert` new and changed ones. A batch is one
    /// statement's worth ([`take_batch`]): one multi-row statement keeps
    /// its cursors on the table and its indexes open from row to row.
    fn write(
        &mut self,
        prepared: &mut HashMap<String, Borrowing>,
        batch: &[ContactRecord],
        upsert: bool,
    ) -> Result<(), Error> {
        let sql = if upsert {
            self.statements.upsert(true, batch.len())
        } else {
            self.statements.insert(batch.len())
        };
        let extras = extra_json(batch);
        let values = batch.iter().zip(&extras).flat_map(|(c, extra)| {
            std::iter::once(BindValue::Int(c.id.unwrap_or_default()))
                .chain(c.column_values(extra, self.now))
        });
        Borrowing::get(prepared, &self.conn, sql)?.execute(values)?;
        let mut tags: Vec<(i64, &str)> = batch
            .iter()
            .filter_map(|c| Some((c.id?, c)))
            .flat_map(|(id, c)| c.tags.iter().map(move |t| (id, t.as_str())))
            .collect();
        while let Some(tags) = take_batch(&mut tags, true) {
            let sql = self.statements.tags(tags.len());
            let values = tags
                .into_iter()
                .flat_map(|(id, tag)| [BindValue::Int(id), BindValue::Text(Some(tag))]);
            Borrowing::get(prepared, &self.conn, sql)?.execute(values)?;
        }
        Ok(())
    }

    /// The stored contacts among `keys`.
    fn lookup(&mut self, mut keys: Vec<String>) -> Result<HashMap<String, ContactRecord>, Error> {
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
                let c = ContactRecord::from_columns(r.get("id")?, r.get("updated_at")?, |name| {
                    r.get(name)
                })?;
                found.insert(c.key.clone(), c);
            }
        }
        Ok(found)
    }
}

/// A prepared statement that binds text without copying it.
///
/// rusqlite binds every text as `SQLITE_TRANSIENT`: SQLite copies it into
/// memory of its own, a `malloc`, a copy and a `free` per value, which
/// took a seventh of the time of the import's busiest thread. Text bound
/// as `SQLITE_STATIC` is read where it is, for as long as the statement is
/// not reset; [`Borrowing::execute`] binds, runs and resets the statement
/// in one call, so SQLite never holds a pointer past the values it
/// borrowed. The statement is finalized when dropped, which must happen
/// before its connection closes (the statements live in [`SqliteStore::run`],
/// the connection in the `SqliteStore` it consumes).
pub(super) struct Borrowing {
    stmt: NonNull<ffi::sqlite3_stmt>,
}

#[allow(unsafe_code)]
impl Borrowing {
    /// The statement of `sql` from `prepared`, prepared on `conn` the first
    /// time.
    fn get<'p>(
        prepared: &'p mut HashMap<String, Borrowing>,
        conn: &Connection,
        sql: &str,
    ) -> rusqlite::Result<&'p mut Borrowing> {
        if !prepared.contains_key(sql) {
            let statement = Borrowing::prepare(conn, sql)?;
            prepared.insert(sql.to_string(), statement);
        }
        Ok(prepared.get_mut(sql).expect("inserted above"))
    }

    fn prepare(conn: &Connection, sql: &str) -> rusqlite::Result<Borrowing> {
        let len = c_int::try_from(sql.len()).map_err(|_| {
            rusqlite::Error::SqliteFailure(
                ffi::Error::new(ffi::SQLITE_TOOBIG),
                Some("statement too long".into()),
            )
        })?;
        let mut stmt = std::ptr::null_mut();
        // SAFETY: the handle is the open connection's, used on this thread
        // only; `sql` is valid for `len` bytes during the call.
        let db = unsafe { conn.handle() };
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                db,
                sql.as_ptr().cast(),
                len,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                std::ptr::null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(failure(db, rc));
        }
        NonNull::new(stmt)
            .map(|stmt| Borrowing { stmt })
            .ok_or_else(|| {
                rusqlite::Error::SqliteFailure(
                    ffi::Error::new(ffi::SQLITE_MISUSE),
                    Some("empty statement".into()),
                )
            })
    }

    /// Binds `values` to the statement's parameters in order, runs it to
    /// the end and resets it.
    fn execute<'v>(
        &mut self,
        values: impl IntoIterator<Item = BindValue<'v>>,
    ) -> rusqlite::Result<()> {
        let stmt = self.stmt.as_ptr();
        // SAFETY: `stmt` is a live statement (finalized only on drop). Text
        // is bound as SQLITE_STATIC and the statement is reset before this
        // function returns, so SQLite reads each text only while `values`'
        // borrows are alive; a text longer than c_int is refused.
        let result = unsafe {
            let mut rc = ffi::SQLITE_OK;
            for (i, value) in values.into_iter().enumerate() {
                let index = c_int::try_from(i + 1).unwrap_or(c_int::MAX);
                rc = match value {
                    BindValue::Int(n) => ffi::sqlite3_bind_int64(stmt, index, n),
                    BindValue::Text(None) => ffi::sqlite3_bind_null(stmt, index),
                    BindValue::Text(Some(t)) => match c_int::try_from(t.len()) {
                        Ok(len) => ffi::sqlite3_bind_text(
                            stmt,
                            index,
                            t.as_ptr().cast(),
                            len,
                            ffi::SQLITE_STATIC(),
                        ),
                        Err(_) => ffi::SQLITE_TOOBIG,
                    },
                };
                if rc != ffi::SQLITE_OK {
                    break;
                }
            }
            if rc == ffi::SQLITE_OK {
                rc = loop {
                    match ffi::sqlite3_step(stmt) {
                        ffi::SQLITE_ROW => continue,
                        ffi::SQLITE_DONE => break ffi::SQLITE_OK,
                        other => break other,
                    }
                };
            }
            let error = (rc != ffi::SQLITE_OK).then(|| failure(ffi::sqlite3_db_handle(stmt), rc));
            ffi::sqlite3_reset(stmt);
            ffi::sqlite3_clear_bindings(stmt);
            error
        };
        match result {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[allow(unsafe_code)]
impl Drop for Borrowing {
    fn drop(&mut self) {
        // SAFETY: the statement is live and finalized once, here.
        unsafe {
            ffi::sqlite3_finalize(self.stmt.as_ptr());
        }
    }
}

/// The error `rc` with the connection's message for it.
#[allow(unsafe_code)]
fn failure(db: *mut ffi::sqlite3, rc: c_int) -> rusqlite::Error {
    // SAFETY: `db` is the live connection the failing call ran on; its
    // message is copied before anything else runs on it.
    let message = unsafe {
        let text = ffi::sqlite3_errmsg(db);
        (!text.is_null()).then(|| {
            std::ffi::CStr::from_ptr(text)
                .to_string_lossy()
                .into_owned()
        })
    };
    rusqlite::Error::SqliteFailure(ffi::Error::new(rc), message)
}
