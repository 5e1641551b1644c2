//! Write transactions that hold under concurrency: [`Db::begin_write`].
//!
//! Many writers share one database: `presswire serve` (one-click
//! unsubscribes, webhooks, dashboard logins), a `send` or `worker` process
//! writing its deliveries' outcomes, `bounces poll`, a CLI command. Every
//! transaction that writes and may run beside another writer opens with
//! [`Db::begin_write`] (or [`Db::begin_write_on`] on a connection the
//! caller keeps), never with `pool.begin()`:
//!
//! - **SQLite** allows one writer at a time. A deferred transaction
//!   (`BEGIN`, what `pool.begin()` sends) reads first and asks for the
//!   write lock at its first write; if another connection committed in
//!   between, its snapshot is stale and SQLite answers `SQLITE_BUSY`
//!   (`SQLITE_BUSY_SNAPSHOT`) at once, without waiting: no busy timeout
//!   helps, and the work is lost. `BEGIN IMMEDIATE` takes the write lock
//!   before the transaction reads anything, waiting for it up to the
//!   connection's busy timeout; once held, nothing in the transaction can
//!   be refused for a lock. Within one process, writers also queue for one
//!   turn (a fair async mutex) before they ask SQLite, so they wait in
//!   order instead of polling SQLite's lock with growing sleeps, and only
//!   one of the pool's connections waits for the lock while the others stay
//!   free for readers.
//! - **PostgreSQL** lets writers run side by side, locking only the rows
//!   they change: a plain `BEGIN` (READ COMMITTED), the queue's claims with
//!   `FOR UPDATE SKIP LOCKED`.
//!
//! Both retry a busy database until [`WRITE_WAIT`] has passed. What is still
//! busy after that is an error [`is_busy`] recognises, which the HTTP
//! server answers with 503 and `Retry-After` (never a 500): under load a
//! write is slower, not lost. ARCHITECTURE.md ("Concurrency") tells
//! the whole model.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use sqlx::{Any, AnyConnection, Connection, Transaction};
use tokio::time::Instant;

use super::{Backend, Db};

/// How long a writer waits for its turn and the write lock, in all, before
/// it gives up with a busy error. Several times SQLite's own busy timeout
/// per attempt (10 s), so a writer outlasts a long transaction of another
/// process (a large import or send being planned).
pub const WRITE_WAIT: Duration = Duration::from_secs(30);

/// How SQLite starts a write transaction: with the write lock.
const BEGIN_IMMEDIATE: &str = "BEGIN IMMEDIATE";

/// The first pause before a busy database is asked again; it doubles up to
/// [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(5);
const RETRY_MAX: Duration = Duration::from_millis(200);

/// A write transaction from [`Db::begin_write`]: a transaction that holds
/// the write lock on SQLite (and the process's turn to write). Use it as
/// the connection (`&mut *tx`); [`WriteTx::commit`] ends it, dropping it
/// rolls it back.
pub struct WriteTx<'c> {
    tx: Transaction<'c, Any>,
    /// This process's turn to write to a SQLite database, given back when
    /// the transaction ends (after the commit or rollback).
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx<'_> {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Rolls the transaction back.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Deref for WriteTx<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

impl Db {
    /// Starts a transaction that writes, on a connection of the pool: with
    /// SQLite's write lock taken up front (`BEGIN IMMEDIATE`), after this
    /// process's earlier writers; a plain transaction on PostgreSQL. A busy
    /// database is asked again until [`WRITE_WAIT`] has passed; then the
    /// error is one [`is_busy`] recognises. See the module's documentation.
    pub async fn begin_write(&self) -> Result<WriteTx<'static>, sqlx::Error> {
        let deadline = Instant::now() + WRITE_WAIT;
        let turn = self.write_turn(deadline).await?;
        let mut pause = RETRY_FIRST;
        loop {
            let begun = match self.backend {
                Backend::Sqlite => self.pool.begin_with(BEGIN_IMMEDIATE).await,
                Backend::Postgres => self.pool.begin().await,
            };
            match begun {
                Ok(tx) => return Ok(WriteTx { tx, _turn: turn }),
                Err(e) if is_busy(&e) && Instant::now() + pause < deadline => {
                    tracing::debug!("database busy, trying again in {pause:?}: {e}");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RETRY_MAX);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// [`Db::begin_write`] on a connection the caller keeps (the queue's
    /// worker keeps one for its page cache). It asks SQLite once, which
    /// waits up to its busy timeout for the lock: the caller decides
    /// whether to try again (the worker does).
    pub async fn begin_write_on<'c>(
        &self,
        conn: &'c mut AnyConnection,
    ) -> Result<WriteTx<'c>, sqlx::Error> {
        let turn = self.write_turn(Instant::now() + WRITE_WAIT).await?;
        let tx = match self.backend {
            Backend::Sqlite => conn.begin_with(BEGIN_IMMEDIATE).await?,
            Backend::Postgres => conn.begin().await?,
        };
        Ok(WriteTx { tx, _turn: turn })
    }

    /// Makes the write transactions that call this with the same `table`
    /// run one after another on PostgreSQL too, for a check and a write
    /// that must not interleave (counting failed logins, then adding one):
    /// `LOCK TABLE … IN SHARE ROW EXCLUSIVE MODE` conflicts with itself and
    /// with writes to the table, not with reads. On SQLite a write
    /// transaction holds the only write lock already.
    pub async fn one_at_a_time(
        &self,
        tx: &mut WriteTx<'_>,
        table: &'static str,
    ) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Postgres {
            sqlx::query(&format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Waits for this process's turn to write to a SQLite database (none
    /// is needed on PostgreSQL), until `deadline`.
    async fn write_turn(
        &self,
        deadline: Instant,
    ) -> Result<Option<tokio::sync::OwnedMutexGuard<()>>, sqlx::Error> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        tokio::time::timeout_at(deadline, self.write_turn.clone().lock_owned())
            .await
            .map(Some)
            .map_err(|_| sqlx::Error::PoolTimedOut)
    }
}

/// Whether `e` says the database was too busy to answer in time (it may
/// answer if asked again later), rather than that something is wrong: a
/// SQLite lock (`SQLITE_BUSY`, `SQLITE_LOCKED` and their extended codes),
/// a PostgreSQL deadlock, serialization failure or lock timeout (SQLSTATE
/// 40P01, 40001, 55P03), or no connection free in time.
pub fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|code| {
            // SQLite's codes are numbers: the primary code is the low byte
            // of an extended one (SQLITE_BUSY_SNAPSHOT = 5 | 2 << 8).
            let primary = code.parse::<i32>().ok().map(|c| c & 0xff);
            matches!(primary, Some(5 | 6)) || matches!(&*code, "40P01" | "40001" | "55P03")
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn open(dir: &tempfile::TempDir) -> Db {
        Db::open(&format!("sqlite://{}", dir.path().join("p.db").display()))
            .await
            .unwrap()
    }

    /// Regression: two deferred transactions that read, then write, the
    /// second after the first committed: SQLite refuses the second's write
    /// at once (SQLITE_BUSY_SNAPSHOT), whatever the busy timeout. Write
    /// transactions that take the lock first both commit.
    #[tokio::test]
    async fn two_writers_that_read_first_both_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir).await;
        // Two processes' worth of pools on one file.
        let other = open(&dir).await;
        sqlx::query("CREATE TABLE t (n INTEGER)")
            .execute(&db.pool)
            .await
            .unwrap();

        // The failure this module exists for, with plain `BEGIN`.
        let mut a = db.pool.begin().await.unwrap();
        let mut b = other.pool.begin().await.unwrap();
        let read = "SELECT count(*) FROM t";
        let _: (i64,) = sqlx::query_as(read).fetch_one(&mut *a).await.unwrap();
        let _: (i64,) = sqlx::query_as(read).fetch_one(&mut *b).await.unwrap();
        let insert = "INSERT INTO t (n) VALUES (1)";
        sqlx::query(insert).execute(&mut *a).await.unwrap();
        a.commit().await.unwrap();
        let refused = sqlx::query(insert).execute(&mut *b).await.unwrap_err();
        assert!(is_busy(&refused), "{refused}");
        drop(b);

        // The same with write transactions, each started while the other
        // may hold the lock.
        let write = |db: Db| async move {
            let mut tx = db.begin_write().await.unwrap();
            let (n,): (i64,) = sqlx::query_as(read).fetch_one(&mut *tx).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            sqlx::query("INSERT INTO t (n) VALUES ($1)")
                .bind(n + 1)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        };
        let mut tasks = Vec::new();
        for i in 0..8 {
            let db = if i % 2 == 0 {
                db.clone()
            } else {
                other.clone()
            };
            tasks.push(tokio::spawn(write(db)));
        }
        for t in tasks {
            t.await.unwrap();
        }
        // Each read the count the one before it left: no two saw the same.
        let ns: Vec<(i64,)> = sqlx::query_as("SELECT n FROM t ORDER BY n")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        assert_eq!(
            ns.into_iter().map(|(n,)| n).collect::<Vec<_>>(),
            (1..=9).collect::<Vec<_>>()
        );
    }

    #[test]
    fn busy_errors_are_told_from_others() {
        assert!(is_busy(&sqlx::Error::PoolTimedOut));
        assert!(!is_busy(&sqlx::Error::RowNotFound));
    }
}
