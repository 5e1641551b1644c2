//! Opening the database from a URL, applying migrations, and the few places
//! where SQLite and PostgreSQL differ.
//!
//! Everything else in presswire writes one SQL text for both backends through
//! sqlx's `Any` driver, with PostgreSQL-style `$1` placeholders (SQLite
//! accepts them too). `Any` decodes only integers, floats, text and bytes, so
//! times are stored as integer milliseconds since the Unix epoch (UTC).
//! The one exception is an import into SQLite, which writes through a
//! connection of SQLite's own ([`Db::bulk_connection`]) with the same SQL.
//! This module does not know what the tables mean: the domain modules own
//! their queries. Every transaction that writes opens with
//! [`Db::begin_write`] ([`write`]), which holds under concurrent writers.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{AnyPool, Connection, Executor};

pub mod params;
pub mod write;
pub use params::{Bind, Params};
pub use write::{is_busy, WriteTx, WRITE_WAIT};

/// An error opening or migrating the database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL names no backend presswire knows.
    #[error("database URL {0:?} is neither sqlite://FILE nor postgres://…; use e.g. --db sqlite://presswire.db")]
    UnknownScheme(String),
    /// The database could not be reached or opened.
    #[error("cannot open the database {url}: {source}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("cannot bring the database {url} up to date: {source}")]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}

/// Which SQL dialect a database speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An open, migrated database.
#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// The URL with any password replaced, for messages.
    pub display_url: String,
    /// The SQLite database file, when the database is one (not in memory,
    /// not read-only): what [`Db::bulk_connection`] opens.
    sqlite_file: Option<PathBuf>,
    /// This process's writers to a SQLite database take turns here before
    /// they ask SQLite for its write lock ([`Db::begin_write`]).
    write_turn: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// The URL used when neither a flag, `PRESSWIRE_DB` nor presswire.toml names one.
pub const DEFAULT_URL: &str = "sqlite://presswire.db";

impl Db {
    /// Opens (creating a SQLite file when needed) and migrates the database at `url`.
    pub async fn open(url: &str) -> Result<Db, Error> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalise_url(url)?;
        let display_url = redact_url(&url);
        let open_err = |source| Error::Open {
            url: display_url.clone(),
            source,
        };
        let options = AnyConnectOptions::from_str(&url).map_err(open_err)?;
        let migrator = match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        let migrate_err = |source| Error::Migrate {
            url: display_url.clone(),
            source,
        };
        let file = (backend == Backend::Sqlite)
            .then(|| sqlite_file(&url))
            .flatten();
        let pool = match backend {
            // A SQLite file is migrated through a connection of its own,
            // closed afterwards, and the pool connects when first used: so
            // a command whose work goes through `Db::bulk_connection` (an
            // import) has the file to itself, which lets a first import
            // write without the write-ahead log (see contacts::import).
            Backend::Sqlite if file.is_some() => {
                let mut conn = sqlx::AnyConnection::connect_with(&options)
                    .await
                    .map_err(open_err)?;
                conn.execute(SQLITE_PRAGMAS).await.map_err(open_err)?;
                migrator.run(&mut conn).await.map_err(migrate_err)?;
                conn.close().await.map_err(open_err)?;
                sqlite_pool().connect_lazy_with(options)
            }
            Backend::Sqlite => {
                let pool = sqlite_pool()
                    .connect_with(options)
                    .await
                    .map_err(open_err)?;
                migrator.run(&pool).await.map_err(migrate_err)?;
                pool
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(open_err)?;
                migrator.run(&pool).await.map_err(migrate_err)?;
                pool
            }
        };
        Ok(Db {
            pool,
            backend,
            display_url,
            sqlite_file: file,
            write_turn: Default::default(),
        })
    }

    /// The placeholders of a multi-row `VALUES` list, `rows` rows of
    /// `columns` values each, bound in order: `($1, $2), ($3, $4)` on
    /// PostgreSQL, `(?, ?), (?, ?)` on SQLite. sqlx binds a `$n` on SQLite
    /// by asking for its name, which SQLite finds by a linear search of the
    /// statement's parameters: binding a statement of n `$n`s costs O(n²)
    /// (a 500-row contact insert spent three quarters of its time there).
    /// Anonymous `?`s are bound by position; PostgreSQL knows only `$n`.
    pub fn values_list(&self, rows: usize, columns: usize) -> String {
        self.values_list_from(rows, columns, 1)
    }

    /// [`Db::values_list`] whose first value is bound to `$first` (on
    /// PostgreSQL), for a statement with other values before the list.
    pub fn values_list_from(&self, rows: usize, columns: usize, first: usize) -> String {
        let mut sql = String::with_capacity(rows * columns * 7);
        let mut n = first - 1;
        for row in 0..rows {
            sql.push_str(if row == 0 { "(" } else { ", (" });
            for column in 0..columns {
                if column > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                match self.backend {
                    Backend::Sqlite => sql.push('?'),
                    Backend::Postgres => {
                        sql.push('$');
                        sql.push_str(&n.to_string());
                    }
                }
            }
            sql.push(')');
        }
        sql
    }

    /// A placeholder for `value` in a statement written with
    /// [`Db::values_list_from`]: `?` on SQLite, so every value of such a
    /// statement must be pushed in the order it appears in the text; `$n`
    /// on PostgreSQL.
    pub fn placeholder(&self, params: &mut Params, value: impl Into<Bind>) -> String {
        let numbered = params.push(value);
        match self.backend {
            Backend::Sqlite => "?".to_string(),
            Backend::Postgres => numbered,
        }
    }

    /// Whether a transaction can number the rows it inserts itself, going on
    /// from the largest id it read, instead of reading their ids back with
    /// `RETURNING` (which sqlx's SQLite driver hands over one row at a time
    /// from its worker thread to the caller's). On SQLite no one else can
    /// insert in between: there is one writer at a time, and a transaction
    /// that read an older state than the latest cannot write at all
    /// (`SQLITE_BUSY_SNAPSHOT`). On PostgreSQL ids come from a sequence that
    /// concurrent writers share.
    pub fn transaction_numbers_rows(&self) -> bool {
        self.backend == Backend::Sqlite
    }

    /// How to start an `INSERT` of rows known to be new, in a transaction
    /// that is rolled back as a whole on any error. `OR FAIL` tells SQLite
    /// that a failing statement need not be undone on its own, so it keeps
    /// no statement journal of the pages the statement changes (about a
    /// fifth of SQLite's work in a large import). PostgreSQL has no such
    /// clause and needs none.
    pub fn insert_new_rows(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "INSERT OR FAIL",
            Backend::Postgres => "INSERT",
        }
    }

    /// Gives one SQLite connection a page cache of 32 MiB, for a large
    /// write transaction (an import) that reads and changes B-tree pages
    /// all over the file; the connections' default is 8 MiB. (64 MiB imported
    /// no faster and raised the import's peak RSS by 40 MB.) PostgreSQL
    /// manages its own buffers.
    pub async fn large_cache(&self, conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Sqlite {
            conn.execute(LARGE_CACHE).await?;
        }
        Ok(())
    }

    /// Whether [`Db::bulk_connection`] gives a connection: a SQLite
    /// database in a plain file.
    pub fn bulk_connection_possible(&self) -> bool {
        self.sqlite_file.is_some()
    }

    /// A connection of SQLite's own (through rusqlite, not sqlx) to the
    /// database file, with the settings of the pool's connections and the
    /// page cache of [`Db::large_cache`], for a bulk load: binding a value
    /// there is one C call on borrowed text, where sqlx's `Any` driver
    /// copies, boxes and converts each value and hands the statement to a
    /// worker thread; the connection takes no lock per call either. `None`
    /// on PostgreSQL and for a SQLite database that is not a plain file
    /// (in memory, read-only, or a name sqlx decodes): use the pool then.
    pub fn bulk_connection(&self) -> Option<Result<rusqlite::Connection, rusqlite::Error>> {
        let path = self.sqlite_file.as_ref()?;
        let open = || {
            let conn = rusqlite::Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.execute_batch(SQLITE_PRAGMAS)?;
            conn.execute_batch(LARGE_CACHE)?;
            Ok(conn)
        };
        Some(open())
    }

    /// Runs `read(conn, part)` for each part `0..parts` side by side, each
    /// on a blocking thread with a connection of SQLite's own to the
    /// database file ([`Db::bulk_connection`]) that maps the file into
    /// memory for reading (see [`Db::map_for_reading`]; the mapping goes
    /// with the connection), for a read of a million rows that sqlx would
    /// hand over one at a time. The results in part order; `None` on
    /// PostgreSQL and for a SQLite database that is not a plain file: ask
    /// the pool then.
    pub async fn read_sqlite_file_in_parts<T, F>(
        &self,
        parts: usize,
        read: F,
    ) -> Option<Result<Vec<T>, sqlx::Error>>
    where
        T: Send + 'static,
        F: Fn(&rusqlite::Connection, usize) -> rusqlite::Result<T> + Send + Sync + 'static,
    {
        if !self.bulk_connection_possible() {
            return None;
        }
        let read = std::sync::Arc::new(read);
        let tasks: Vec<_> = (0..parts)
            .map(|part| {
                let conn = self.bulk_connection();
                let read = read.clone();
                tokio::task::spawn_blocking(move || -> rusqlite::Result<T> {
                    let conn = conn.ok_or(rusqlite::Error::InvalidQuery)??;
                    conn.execute_batch(MMAP_FOR_READING)?;
                    read(&conn, part)
                })
            })
            .collect();
        let io = |e: &dyn std::fmt::Display| sqlx::Error::Io(std::io::Error::other(e.to_string()));
        let mut results = Vec::with_capacity(parts);
        for done in futures_util::future::join_all(tasks).await {
            match done {
                Ok(Ok(t)) => results.push(t),
                Ok(Err(e)) => return Some(Err(io(&e))),
                Err(e) => return Some(Err(io(&e))),
            }
        }
        Some(Ok(results))
    }

    /// SQL of an aggregate that joins `expr` of every row into one text,
    /// separated by [`LIST_SEPARATOR`] (NULL for no rows): the function is
    /// named differently in the two dialects (`group_concat` in SQLite,
    /// `string_agg` in PostgreSQL), and so is the one that makes the
    /// separator (`char`, `chr`).
    pub fn joined_list_sql(&self, expr: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("group_concat({expr}, char(31))"),
            Backend::Postgres => format!("string_agg({expr}, chr(31))"),
        }
    }

    /// SQL aggregating the `columns` of every row into one JSON text, an
    /// array of arrays: `json_group_array(json_array(…))` in SQLite,
    /// `json_agg(json_build_array(…))` in PostgreSQL (cast to text, which
    /// `Any` decodes). No rows give `[]` in SQLite and NULL in PostgreSQL.
    /// For queries that return many rows: sqlx hands rows over one at a
    /// time, each with a thread wake-up, where one JSON text costs SQLite
    /// well under a microsecond a row and serde_json reads it as fast.
    pub fn json_rows_sql(&self, columns: &[&str]) -> String {
        let list = columns.join(", ");
        match self.backend {
            Backend::Sqlite => format!("json_group_array(json_array({list}))"),
            Backend::Postgres => format!("CAST(json_agg(json_build_array({list})) AS TEXT)"),
        }
    }

    /// [`Db::json_rows_sql`] with the rows in the order of `order` (an
    /// aggregate's own ORDER BY, which SQLite has since 3.44).
    pub fn json_rows_ordered_sql(&self, columns: &[&str], order: &str) -> String {
        let list = columns.join(", ");
        match self.backend {
            Backend::Sqlite => format!("json_group_array(json_array({list}) ORDER BY {order})"),
            Backend::Postgres => {
                format!("CAST(json_agg(json_build_array({list}) ORDER BY {order}) AS TEXT)")
            }
        }
    }

    /// Has SQLite map the database file into memory on every connection of
    /// the pool, for a command that reads much of a large database (a
    /// report of a million deliveries): the connections then share the
    /// operating system's copy of each page instead of each reading pages
    /// into its own cache with a system call. Only for reading commands:
    /// an import's memory use would count every page it touched. Nothing
    /// on PostgreSQL.
    pub async fn map_for_reading(&self) -> Result<(), sqlx::Error> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        // Every connection the pool may hand out, held at once so each is
        // a different one; they go back to the pool mapped.
        let mut held = Vec::new();
        for _ in 0..self.pool.options().get_max_connections() {
            let mut conn = self.pool.acquire().await?;
            sqlx::query(MMAP_FOR_READING).execute(&mut *conn).await?;
            held.push(conn);
        }
        Ok(())
    }

    /// SQL for the larger of two values: `max(a, b)` in SQLite (its
    /// aggregate doubles as a scalar), `GREATEST(a, b)` in PostgreSQL.
    pub fn greatest_sql(&self, a: &str, b: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("max({a}, {b})"),
            Backend::Postgres => format!("GREATEST({a}, {b})"),
        }
    }

    /// What a claim query appends so that concurrent workers skip rows
    /// another worker is claiming: PostgreSQL locks rows, SQLite has one
    /// writer at a time and needs nothing.
    pub fn skip_locked_sql(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE OF d SKIP LOCKED",
        }
    }

    /// A connection of the pool, for several statements in a row.
    pub async fn connection(&self) -> Result<PoolConnection<sqlx::Any>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// On SQLite, a connection of the pool for a worker to keep for its
    /// whole run and share among its tasks in turn: one writer at a time is
    /// all SQLite allows, and one connection keeps its page cache warm.
    /// `None` on PostgreSQL, where writers run side by side, each on a
    /// connection of its own ([`Db::connection`]).
    pub async fn single_writer_connection(
        &self,
    ) -> Result<Option<PoolConnection<sqlx::Any>>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => Ok(Some(self.pool.acquire().await?)),
            Backend::Postgres => Ok(None),
        }
    }

    /// Closes the pool, waiting for connections to finish (SQLite then
    /// checkpoints its WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The pool of a SQLite database, each connection with [`SQLITE_PRAGMAS`].
fn sqlite_pool() -> AnyPoolOptions {
    AnyPoolOptions::new()
        // One writer at a time is all SQLite allows; a few readers beside
        // it are enough for a CLI.
        .max_connections(4)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(SQLITE_PRAGMAS).await?;
                Ok(())
            })
        })
}

/// The settings of every SQLite connection. WAL lets readers work while a
/// send writes; NORMAL is durable across process crashes in WAL mode.
/// Temporary files in memory: a multi-row upsert's statement journal (the
/// pages it changed, to undo it alone) otherwise goes to a file past 64 KiB,
/// a write system call per page. A page cache of 8 MiB per connection: it
/// fills with whatever a connection reads, so planning a send of a million
/// contacts grew four 64 MiB caches (see [`Db::large_cache`] for the import).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
     PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY;";

/// How much of a SQLite file a reading connection maps into memory
/// ([`Db::map_for_reading`]): all of it, up to SQLite's own ceiling
/// (SQLITE_MAX_MMAP_SIZE, just under 2 GiB).
const MMAP_FOR_READING: &str = "PRAGMA mmap_size = 2147418112";

/// The page cache of [`Db::large_cache`]: 32 MiB.
const LARGE_CACHE: &str = "PRAGMA cache_size = -32768";

/// The file of a normalised `sqlite://` URL, when it is a plain file opened
/// for writing; `None` for anything [`Db::bulk_connection`] should leave
/// to sqlx (in-memory databases, read-only or other modes, `%`-encoded or
/// relative-to-nothing names).
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    let (path, params) = rest.split_once('?').unwrap_or((rest, ""));
    let plain = !path.is_empty()
        && !path.contains(['%', '#'])
        && !path.starts_with(':')
        && !path.starts_with("file:")
        && params
            .split('&')
            .all(|p| p.is_empty() || p == "mode=rwc" || p == "mode=rw");
    plain.then(|| PathBuf::from(path))
}

/// The separator of [`Db::joined_list_sql`]: the ASCII unit separator,
/// which no text a person types contains.
pub const LIST_SEPARATOR: char = '\u{1f}';

/// Accepts `sqlite://FILE`, `sqlite:FILE`, a bare path ending in `.db`, and
/// `postgres://` / `postgresql://` URLs; SQLite files are created on first use.
fn normalise_url(url: &str) -> Result<(Backend, String), Error> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    let path = if let Some(rest) = url.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        rest
    } else if url.ends_with(".db") || url.ends_with(".sqlite") || url.ends_with(".sqlite3") {
        url
    } else {
        return Err(Error::UnknownScheme(url.to_string()));
    };
    let mut full = format!("sqlite://{path}");
    if !path.contains("mode=") {
        full.push(if path.contains('?') { '&' } else { '?' });
        full.push_str("mode=rwc");
    }
    Ok((Backend::Sqlite, full))
}

/// The URL with its password, if any, replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{path}")
            } else {
                format!("{scheme}://{userinfo}@{host}{path}")
            }
        }
        None => url.to_string(),
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://bob:s3cret@db.example.org:5432/press"),
            "postgres://bob:***@db.example.org:5432/press"
        );
        assert_eq!(
            redact_url("postgres://bob@localhost/press"),
            "postgres://bob@localhost/press"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn sqlite_urls_create_their_file() {
        assert_eq!(
            normalise_url("sqlite://presswire.db").unwrap().1,
            "sqlite://presswire.db?mode=rwc"
        );
        assert_eq!(
            normalise_url("data/press.db").unwrap(),
            (
                Backend::Sqlite,
                "sqlite://data/press.db?mode=rwc".to_string()
            )
        );
        assert!(normalise_url("mysql://x").is_err());
    }

    #[tokio::test]
    async fn opening_twice_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        Db::open(&url).await.unwrap().close().await;
        let db = Db::open(&url).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM contacts")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(n, 0);
    }
}
