//! The `TestApp` helper: a temp working directory, a fresh database, and
//! the real `presswire` binary run against them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

/// A fresh database and working directory for one test.
pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub db_url: String,
    /// "sqlite" or "postgres", for assertion messages.
    pub backend: &'static str,
    /// For PostgreSQL: the admin URL and the database to drop afterwards.
    drop_pg: Option<(String, String)>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Runs `test` on SQLite, then on PostgreSQL when `PRESSWIRE_TEST_POSTGRES` is set.
pub fn each_backend(test: impl Fn(&TestApp)) {
    test(&TestApp::sqlite());
    if let Some(admin) = std::env::var("PRESSWIRE_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    {
        test(&TestApp::postgres(&admin));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

impl TestApp {
    pub fn sqlite() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", dir.path().join("presswire.db").display());
        TestApp {
            dir,
            db_url,
            backend: "sqlite",
            drop_pg: None,
        }
    }

    pub fn postgres(admin_url: &str) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let name = format!(
            "presswire_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        runtime().block_on(async {
            let mut conn = sqlx::PgConnection::connect(admin_url).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
        });
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        TestApp {
            dir,
            db_url: format!("{base}/{name}"),
            backend: "postgres",
            drop_pg: Some((admin_url.to_string(), name)),
        }
    }

    /// Another fresh database (and working directory) on the same backend.
    pub fn fresh(&self) -> TestApp {
        match &self.drop_pg {
            Some((admin, _)) => TestApp::postgres(admin),
            None => TestApp::sqlite(),
        }
    }

    /// Copies tests/fixtures/contacts/`name` into the working directory, so
    /// that reports name it by its bare file name.
    pub fn copy_fixture(&self, name: &str) {
        std::fs::copy(
            fixture(&format!("contacts/{name}")),
            self.dir.path().join(name),
        )
        .unwrap();
    }

    /// The working directory's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `name` in the working directory and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// Runs `presswire --db URL ARGS…` in the working directory.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Command::new(env!("CARGO_BIN_EXE_presswire"))
            .current_dir(self.dir.path())
            .env_remove("PRESSWIRE_DB")
            .env_remove("PRESSWIRE_CONFIG")
            .env_remove("RUST_LOG")
            .arg("--db")
            .arg(&self.db_url)
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs and asserts exit code 0; returns stdout.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "[{}] expected success\nstdout:\n{}\nstderr:\n{}",
            self.backend,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs and asserts exit code `code`; returns (stdout, stderr).
    pub fn fails<I, S>(&self, code: i32, args: I) -> (String, String)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self.run(args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "[{}] expected exit {code}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            self.backend
        );
        (stdout, stderr)
    }

    /// Runs and parses stdout as JSON (asserting success).
    pub fn json<I, S>(&self, args: I) -> serde_json::Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
    }

    /// Runs one SQL query returning one integer (e.g. a count) on the test database.
    pub fn count(&self, sql: &str) -> i64 {
        let url = self.db_url.clone();
        runtime().block_on(async move {
            let db = presswire::db::Db::open(&url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&db.pool).await.unwrap();
            db.close().await;
            n
        })
    }

    /// Runs one SQL query returning rows of text columns.
    pub fn texts(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let url = self.db_url.clone();
        runtime().block_on(async move {
            use sqlx::Row;
            let db = presswire::db::Db::open(&url).await.unwrap();
            let rows = sqlx::query(sql).fetch_all(&db.pool).await.unwrap();
            db.close().await;
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| r.try_get::<Option<String>, _>(i).unwrap())
                        .collect()
                })
                .collect()
        })
    }

    /// The contacts as `contacts list --format json` prints them.
    pub fn contacts(&self) -> Vec<serde_json::Value> {
        self.json(["contacts", "list", "--format", "json"])
            .as_array()
            .unwrap()
            .clone()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.drop_pg.take() {
            runtime().block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        }
    }
}

/// The path of a file under tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
