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

    /// `presswire --db URL` in the working directory, not yet started: for
    /// a test that spawns it, signals it or feeds its stdin.
    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_presswire"));
        c.current_dir(self.dir.path())
            .env_remove("PRESSWIRE_DB")
            .env_remove("PRESSWIRE_CONFIG")
            .env_remove("PRESSWIRE_SMTP_URL")
            .env_remove("PRESSWIRE_SMTP_TIMEOUT")
            .env_remove("RUST_LOG")
            .arg("--db")
            .arg(&self.db_url);
        c
    }

    /// Runs `presswire --db URL ARGS…` in the working directory.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command().args(args).output().unwrap()
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

    /// Runs one SQL statement with text parameters (`$1`, `$2`, …) on the
    /// test database: for data no command would write, such as a contact
    /// from a source that did not check it.
    pub fn execute(&self, sql: &str, params: &[&str]) {
        self.try_execute(sql, params).unwrap();
    }

    /// [`TestApp::execute`], returning the database's error.
    pub fn try_execute(&self, sql: &str, params: &[&str]) -> Result<(), String> {
        let url = self.db_url.clone();
        runtime().block_on(async move {
            let db = presswire::db::Db::open(&url).await.unwrap();
            let mut query = sqlx::query(sql);
            for p in params {
                query = query.bind(*p);
            }
            let result = query.execute(&db.pool).await;
            db.close().await;
            result.map(|_| ()).map_err(|e| e.to_string())
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

/// postfix's `smtp-sink` on a free loopback port: a real SMTP server that
/// accepts (or, with fault flags, rejects) every message and dumps each one
/// it accepts into a file of its own, so a test asserts on what arrived.
/// Killed when dropped.
pub struct SmtpSink {
    child: std::process::Child,
    port: u16,
    dump: tempfile::TempDir,
}

/// One message as it arrived at [`SmtpSink`].
#[derive(Debug, Clone)]
pub struct SinkMessage {
    /// The MAIL FROM address, without angle brackets or parameters.
    pub mail_from: String,
    /// The RCPT TO addresses, in order.
    pub rcpt_to: Vec<String>,
    /// The message (headers and body) as the client sent it, CRLF line ends.
    pub raw: String,
}

impl SmtpSink {
    /// Starts smtp-sink with extra `flags` (e.g. `["-r", "RCPT"]`) on a free
    /// port and waits until it accepts connections.
    pub fn start(flags: &[&str]) -> SmtpSink {
        for _ in 0..20 {
            let port = free_port();
            if let Some(sink) = SmtpSink::start_on(port, flags) {
                return sink;
            }
        }
        panic!("smtp-sink did not start on any port");
    }

    /// Starts smtp-sink on `port` (e.g. again on the port of one that was
    /// dropped); `None` when it exits at once (the port is taken).
    pub fn start_on(port: u16, flags: &[&str]) -> Option<SmtpSink> {
        use std::os::unix::fs::MetadataExt;
        let dump = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("/usr/sbin/smtp-sink");
        // smtp-sink refuses to run as root unless told whose rights to take.
        if std::fs::metadata("/proc/self").map(|m| m.uid()).ok() == Some(0) {
            cmd.args(["-u", "root"]);
        }
        cmd.arg("-d")
            .arg(format!("{}/%M.", dump.path().display()))
            .args(flags)
            .arg(format!("127.0.0.1:{port}"))
            .arg("1000")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd
            .spawn()
            .expect("/usr/sbin/smtp-sink (Debian package postfix) must be installed");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                return None;
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(SmtpSink { child, port, dump });
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message that arrived so far, in no particular order.
    pub fn messages(&self) -> Vec<SinkMessage> {
        self.arrivals().into_iter().map(|(_, m)| m).collect()
    }

    /// Every message that arrived so far with the moment its last byte was
    /// written (its dump file's modification time, to the nanosecond): for
    /// measuring the pace of a send.
    pub fn arrivals(&self) -> Vec<(std::time::SystemTime, SinkMessage)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.dump.path()).unwrap() {
            let path = entry.unwrap().path();
            // A transaction the client abandons is deleted: skip it.
            let (Ok(bytes), Ok(meta)) = (std::fs::read(&path), std::fs::metadata(&path)) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let at = meta.modified().unwrap();
            if let Some(m) = parse_dump(&text) {
                out.push((at, m));
            }
        }
        out
    }

    /// How many dump files there are, transactions in progress included: a
    /// cheap way to see that messages have started to arrive.
    pub fn files(&self) -> usize {
        std::fs::read_dir(self.dump.path()).unwrap().count()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on (at the moment of asking).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Splits one smtp-sink dump into its envelope records (`X-Mail-Args`,
/// `X-Rcpt-Args`, up to its three-line `Received:` header) and the message.
/// `None` for a transaction that ended before the message was complete.
fn parse_dump(text: &str) -> Option<SinkMessage> {
    let mut mail_from = None;
    let mut rcpt_to = Vec::new();
    let mut lines = text.split('\n');
    for line in lines.by_ref() {
        if let Some(args) = line.strip_prefix("X-Mail-Args: ") {
            mail_from = Some(angle_address(args));
        } else if let Some(args) = line.strip_prefix("X-Rcpt-Args: ") {
            rcpt_to.push(angle_address(args));
        } else if line.starts_with("Received: ") {
            break;
        }
    }
    // The rest of smtp-sink's Received: header.
    lines.next()?;
    lines.next()?;
    let mut body: Vec<&str> = lines.collect();
    // smtp-sink ends the dump with an empty line of its own.
    if body.last() == Some(&"") {
        body.pop();
    }
    if body.last() == Some(&"") {
        body.pop();
    }
    Some(SinkMessage {
        mail_from: mail_from?,
        rcpt_to,
        raw: body.iter().map(|l| format!("{l}\r\n")).collect(),
    })
}

/// `<a@b.example> BODY=8BITMIME` → `a@b.example`.
fn angle_address(args: &str) -> String {
    let args = args.trim();
    match (args.find('<'), args.find('>')) {
        (Some(a), Some(b)) if a < b => args[a + 1..b].to_string(),
        _ => args.split_whitespace().next().unwrap_or("").to_string(),
    }
}

/// A real dovecot IMAP server on a free loopback port, with one user
/// (`test` / `secret`) whose mail is a Maildir in a temp folder, from the
/// standalone configuration in PEERS.md (no TLS, plaintext logins on
/// loopback). Stopped when dropped.
pub struct Dovecot {
    child: std::process::Child,
    port: u16,
    imaps_port: u16,
    dir: tempfile::TempDir,
}

impl Dovecot {
    pub const USER: &'static str = "test";
    pub const PASSWORD: &'static str = "secret";

    /// Starts dovecot and waits until it accepts connections.
    pub fn start() -> Dovecot {
        Dovecot::start_with(false)
    }

    /// Starts dovecot with TLS required (STARTTLS on [`Dovecot::port`],
    /// IMAPS on [`Dovecot::imaps_port`]) under a self-signed certificate
    /// for 127.0.0.1 that no client should trust.
    pub fn start_tls() -> Dovecot {
        Dovecot::start_with(true)
    }

    fn start_with(tls: bool) -> Dovecot {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        // As root, mail is accessed as nobody (dovecot refuses UID 0);
        // otherwise as the user running the tests.
        let me = std::fs::metadata("/proc/self").unwrap();
        let (uid, gid) = if me.uid() == 0 {
            (65534, 65534)
        } else {
            (me.uid(), me.gid())
        };
        let home = root.join("home/test");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(home.join("Maildir").join(sub)).unwrap();
        }
        std::fs::create_dir_all(root.join("run")).unwrap();
        if me.uid() == 0 {
            for p in [
                root.join("home"),
                home.clone(),
                home.join("Maildir"),
                home.join("Maildir/cur"),
                home.join("Maildir/new"),
                home.join("Maildir/tmp"),
            ] {
                std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
            }
        }
        std::fs::write(
            root.join("users"),
            format!(
                "{}:{{PLAIN}}{}:{uid}:{gid}::{}\n",
                Dovecot::USER,
                Dovecot::PASSWORD,
                home.display()
            ),
        )
        .unwrap();
        let ssl = if tls {
            let status = Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                ])
                .args(["-subj", "/CN=127.0.0.1", "-keyout"])
                .arg(root.join("key.pem"))
                .arg("-out")
                .arg(root.join("cert.pem"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .expect("openssl must be installed");
            assert!(status.success());
            format!(
                "ssl = required\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n",
                d = root.display()
            )
        } else {
            "ssl = no\n".to_string()
        };
        for _ in 0..20 {
            let port = free_port();
            let imaps_port = if tls { free_port() } else { 0 };
            let d = root.display();
            std::fs::write(
                root.join("dovecot.conf"),
                format!(
                    "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/run\n\
                     instance_name = presswire-test-{port}\n{ssl}\
                     disable_plaintext_auth = no\nauth_mechanisms = plain login\n\
                     log_path = {d}/dovecot.log\nfirst_valid_uid = 1\n\
                     mail_location = maildir:~/Maildir\n\
                     passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%n {d}/users\n}}\n\
                     userdb {{\n  driver = passwd-file\n  args = username_format=%n {d}/users\n}}\n\
                     service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
                     inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps_port}\n  }}\n}}\n"
                ),
            )
            .unwrap();
            let mut child = Command::new("/usr/sbin/dovecot")
                .arg("-F")
                .arg("-c")
                .arg(root.join("dovecot.conf"))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("/usr/sbin/dovecot (Debian package dovecot-imapd) must be installed");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while std::time::Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Dovecot {
                        child,
                        port,
                        imaps_port,
                        dir,
                    };
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "dovecot did not start; its log:\n{}",
            std::fs::read_to_string(root.join("dovecot.log")).unwrap_or_default()
        );
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The IMAPS port of [`Dovecot::start_tls`] (0 without TLS).
    pub fn imaps_port(&self) -> u16 {
        self.imaps_port
    }

    /// `imap://test:secret@127.0.0.1:PORT/INBOX`.
    pub fn url(&self) -> String {
        format!(
            "imap://{}:{}@127.0.0.1:{}/INBOX",
            Dovecot::USER,
            Dovecot::PASSWORD,
            self.port
        )
    }

    /// The user's Maildir (INBOX); other folders are `.NAME` inside it.
    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("home/test/Maildir")
    }

    /// Delivers a message the way an MTA does: written to tmp/, renamed
    /// into new/ (maildir(5)).
    pub fn deliver(&self, name: &str, bytes: &[u8]) {
        let tmp = self.maildir().join("tmp").join(name);
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, self.maildir().join("new").join(name)).unwrap();
    }

    /// How many messages a folder holds ("INBOX" or a folder's name), read
    /// from the Maildir on disk.
    pub fn count(&self, folder: &str) -> usize {
        let dir = if folder == "INBOX" {
            self.maildir()
        } else {
            self.maildir().join(format!(".{folder}"))
        };
        ["cur", "new"]
            .iter()
            .map(|s| std::fs::read_dir(dir.join(s)).map_or(0, |d| d.count()))
            .sum()
    }

    /// The messages of a folder, as bytes (file names sorted).
    pub fn messages(&self, folder: &str) -> Vec<Vec<u8>> {
        let dir = if folder == "INBOX" {
            self.maildir()
        } else {
            self.maildir().join(format!(".{folder}"))
        };
        let mut files: Vec<PathBuf> = ["cur", "new"]
            .iter()
            .flat_map(|s| std::fs::read_dir(dir.join(s)).into_iter().flatten())
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.iter().map(|f| std::fs::read(f).unwrap()).collect()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new("/usr/bin/doveadm")
            .arg("-c")
            .arg(self.dir.path().join("dovecot.conf"))
            .arg("stop")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
