//! Relay faults no real peer can produce: smtp-sink turns PIPELINING off
//! when told to refuse a command (`-r`, `-f`), and it cannot stop
//! answering in the middle of a session. So a small SMTP server runs in
//! the test ([`FaultRelay`]): it advertises PIPELINING, answers each step
//! of each transaction as the test's script says (a refusal, a 421 that
//! closes the session, a DATA taken after a refused RCPT, or silence), and
//! logs what it saw and when. The relays that never greet or go silent
//! mid-session are given `[smtp] timeout = "2s"` so the tests are quick.
//!
//! In every case the command returns, every delivery ends in a final or
//! retryable state, a refused message is retried only after its delay,
//! and each retry counts as an attempt.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;

use crate::harness::{each_backend, SmtpSink, TestApp};
use crate::send_durability::{output, signal, spawn, wait_exit};

// ---------------------------------------------------------------------------
// The fault relay

/// A step of a transaction, as the relay sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Auth,
    Mail,
    Rcpt,
    Data,
    EndOfData,
}

/// How the relay answers a step.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// What a healthy relay says (DATA after a refusal: 554).
    Ok,
    /// This reply line (a 421 closes the session after it).
    Reply(String),
    /// Nothing, ever again in this session.
    Silence,
}

/// What the script is told about a step.
#[derive(Debug, Clone)]
struct Seen {
    step: Step,
    /// The recipient of the transaction (at AUTH, the AUTH line's argument).
    rcpt: String,
    /// How many transactions for this recipient came before this one.
    tries: usize,
    /// The session: 1, 2, …
    session: usize,
}

type Script = dyn Fn(&Seen) -> Answer + Send + Sync;

/// One transaction as the relay saw it.
#[derive(Debug, Clone)]
struct Txn {
    rcpt: String,
    session: usize,
    /// When its commands arrived.
    at: SystemTime,
    /// Whether its MAIL arrived with the previous message's content (the
    /// transaction was opened ahead).
    ahead: bool,
    /// Whether the next transaction's MAIL had arrived when this one's
    /// content ended: a refusal of the end of data found it open.
    next_open: bool,
    /// The step the relay did not answer with success, and what it said
    /// instead ("silence" for none), with when.
    fault: Option<(Step, String, SystemTime)>,
    /// Whether the relay accepted the message (250 to its end of data).
    delivered: bool,
}

#[derive(Debug, Default)]
struct RelayLog {
    txns: Vec<Txn>,
    sessions: usize,
    /// RSET commands received.
    resets: usize,
    /// A line reading QUIT inside a message's content: a client that wrote
    /// QUIT into an open DATA.
    quit_in_data: usize,
    /// When each silent session's client closed the connection.
    closed_while_silent: Vec<SystemTime>,
}

impl RelayLog {
    fn of(&self, rcpt_prefix: &str) -> Vec<&Txn> {
        self.txns
            .iter()
            .filter(|t| t.rcpt.starts_with(rcpt_prefix))
            .collect()
    }

    fn delivered(&self) -> BTreeMap<String, usize> {
        let mut n = BTreeMap::new();
        for t in self.txns.iter().filter(|t| t.delivered) {
            *n.entry(t.rcpt.clone()).or_default() += 1;
        }
        n
    }
}

/// The relay: a listener on a free loopback port, one thread per session.
struct FaultRelay {
    port: u16,
    log: Arc<Mutex<RelayLog>>,
}

impl FaultRelay {
    /// A relay that greets, offers PIPELINING and AUTH, and answers as
    /// `script` says.
    fn start(script: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> FaultRelay {
        FaultRelay::start_with(true, Arc::new(script))
    }

    /// A relay that accepts connections and never says a word.
    fn never_greeting() -> FaultRelay {
        FaultRelay::start_with(false, Arc::new(|_: &Seen| Answer::Ok))
    }

    fn start_with(greets: bool, script: Arc<Script>) -> FaultRelay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(RelayLog::default()));
        let shared = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let log = shared.clone();
                let script = script.clone();
                let session = {
                    let mut l = log.lock().unwrap();
                    l.sessions += 1;
                    l.sessions
                };
                std::thread::spawn(move || {
                    if greets {
                        serve(stream, session, &*script, &log);
                    } else {
                        silent(stream, &log);
                    }
                });
            }
        });
        FaultRelay { port, log }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> std::sync::MutexGuard<'_, RelayLog> {
        self.log.lock().unwrap()
    }
}

/// Reads and drops whatever the client writes until it closes.
fn silent(stream: TcpStream, log: &Mutex<RelayLog>) {
    let mut input = BufReader::new(stream);
    let mut line = String::new();
    while input.read_line(&mut line).unwrap_or(0) > 0 {
        line.clear();
    }
    log.lock()
        .unwrap()
        .closed_while_silent
        .push(SystemTime::now());
}

/// The address inside `<…>`.
fn angle(line: &str) -> String {
    match (line.find('<'), line.find('>')) {
        (Some(a), Some(b)) if a < b => line[a + 1..b].to_string(),
        _ => String::new(),
    }
}

/// What the relay said to a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Said {
    /// 2xx or 3xx.
    Yes,
    /// 4xx or 5xx, the session going on.
    No,
    /// Silence, or a 421: the session is over.
    Over,
}

/// Answers one step as the script says, `ok` being a healthy relay's
/// reply, and notes a fault in the transaction's record.
fn answer(script: &Script, seen: &Seen, ok: &str, record: &mut Txn, out: &mut TcpStream) -> Said {
    let reply = match script(seen) {
        Answer::Ok => ok.to_string(),
        Answer::Reply(r) => {
            record
                .fault
                .get_or_insert((seen.step, r.clone(), SystemTime::now()));
            r
        }
        Answer::Silence => {
            record.fault = Some((seen.step, "silence".into(), SystemTime::now()));
            return Said::Over;
        }
    };
    let _ = out.write_all(format!("{reply}\r\n").as_bytes());
    if reply.starts_with("421") {
        Said::Over
    } else if reply.starts_with('2') || reply.starts_with('3') {
        Said::Yes
    } else {
        Said::No
    }
}

/// One session: EHLO, AUTH, RSET, QUIT, and transactions read a group at
/// a time (MAIL, RCPT…, DATA, as a pipelining client writes them), then
/// answered step by step as the script says.
fn serve(stream: TcpStream, session: usize, script: &Script, log: &Mutex<RelayLog>) {
    let mut out = stream.try_clone().unwrap();
    // Large enough that a message and the commands after it are read at once.
    let mut input = BufReader::with_capacity(1 << 20, stream);
    let _ = out.write_all(b"220 fault.test ESMTP\r\n");
    let mut line = String::new();
    let mut ahead = false;
    let read = |input: &mut BufReader<TcpStream>, line: &mut String| {
        line.clear();
        input.read_line(line).unwrap_or(0) > 0
    };
    loop {
        if !read(&mut input, &mut line) {
            return;
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-fault.test\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("AUTH") {
            let seen = Seen {
                step: Step::Auth,
                rcpt: line.split_whitespace().nth(2).unwrap_or("").to_string(),
                tries: 0,
                session,
            };
            let reply = match script(&seen) {
                Answer::Reply(r) => r,
                _ => "235 2.7.0 Authentication successful".into(),
            };
            let _ = out.write_all(format!("{reply}\r\n").as_bytes());
            continue;
        } else if upper.starts_with("RSET") {
            log.lock().unwrap().resets += 1;
            b"250 2.0.0 Ok\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = out.write_all(b"221 2.0.0 Bye\r\n");
            return;
        } else if !upper.starts_with("MAIL") {
            b"250 2.0.0 Ok\r\n"
        } else {
            b""
        };
        if !reply.is_empty() {
            let _ = out.write_all(reply);
            continue;
        }
        // A group: MAIL, then RCPTs up to DATA.
        let at = SystemTime::now();
        let mut rcpts = Vec::new();
        loop {
            if !read(&mut input, &mut line) {
                return;
            }
            let upper = line.to_ascii_uppercase();
            if upper.starts_with("RCPT") {
                rcpts.push(angle(&line));
            } else if upper.starts_with("DATA") {
                break;
            }
        }
        let rcpt = rcpts.first().cloned().unwrap_or_default();
        let tries = log
            .lock()
            .unwrap()
            .txns
            .iter()
            .filter(|t| t.rcpt == rcpt)
            .count();
        let seen = |step| Seen {
            step,
            rcpt: rcpt.clone(),
            tries,
            session,
        };
        let mut record = Txn {
            rcpt: rcpt.clone(),
            session,
            at,
            ahead,
            next_open: false,
            fault: None,
            delivered: false,
        };
        ahead = false;
        let mail = answer(
            script,
            &seen(Step::Mail),
            "250 2.1.0 Ok",
            &mut record,
            &mut out,
        );
        let rcpt_said = match mail {
            Said::Over => Said::Over,
            _ => answer(
                script,
                &seen(Step::Rcpt),
                "250 2.1.5 Ok",
                &mut record,
                &mut out,
            ),
        };
        let accepted = mail == Said::Yes && rcpt_said == Said::Yes;
        let data = match rcpt_said {
            Said::Over => Said::Over,
            _ => {
                let ok = if accepted {
                    "354 End data with <CR><LF>.<CR><LF>"
                } else {
                    "554 5.5.1 Error: no valid recipients"
                };
                answer(script, &seen(Step::Data), ok, &mut record, &mut out)
            }
        };
        let mut over = data == Said::Over;
        if data == Said::Yes {
            // The content, up to its final dot.
            while read(&mut input, &mut line) {
                if line.eq_ignore_ascii_case("QUIT\r\n") {
                    log.lock().unwrap().quit_in_data += 1;
                }
                if line == ".\r\n" {
                    record.next_open = input.buffer().to_ascii_uppercase().starts_with(b"MAIL");
                    ahead = record.next_open;
                    let end = answer(
                        script,
                        &seen(Step::EndOfData),
                        "250 2.0.0 Ok: queued",
                        &mut record,
                        &mut out,
                    );
                    record.delivered = end == Said::Yes && accepted;
                    over = end == Said::Over;
                    break;
                }
            }
        }
        let silence = record.fault.as_ref().is_some_and(|f| f.1 == "silence");
        log.lock().unwrap().txns.push(record);
        if silence {
            // Read on until the client gives up.
            silent(input.into_inner(), log);
            return;
        }
        if over {
            return;
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("releases/example.md")
        .display()
        .to_string()
}

/// Imports contacts with these addresses.
fn import(app: &TestApp, emails: &[&str]) {
    let mut csv = String::from("Email,First Name\n");
    for (i, e) in emails.iter().enumerate() {
        csv.push_str(&format!("{e},Name{i}\n"));
    }
    app.write("contacts.csv", csv);
    app.ok(["contacts", "import", "contacts.csv"]);
}

/// `presswire ARGS…`, killed (and the test failed) if it has not returned
/// within `limit`: the faults here used to hang it for ever.
fn run_within(app: &TestApp, limit: Duration, args: &[&str]) -> Output {
    let name = format!("run{}", rand_suffix());
    let mut child = spawn(app, &name, args);
    match wait_exit(&mut child, limit) {
        Some(status) => {
            let read = |ext: &str| {
                std::fs::read(app.path().join(format!("{name}.{ext}"))).unwrap_or_default()
            };
            Output {
                status,
                stdout: read("out"),
                stderr: read("err"),
            }
        }
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "[{}] presswire {args:?} did not return within {limit:?}\n{}",
                app.backend,
                output(app, &name)
            );
        }
    }
}

fn rand_suffix() -> u128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// `send example.md --yes --rate unlimited --smtp URL EXTRA…`, within a minute.
fn send(app: &TestApp, url: &str, extra: &[&str]) -> Output {
    let release = example();
    let mut args = vec![
        "send",
        &release,
        "--yes",
        "--rate",
        "unlimited",
        "--smtp",
        url,
    ];
    args.extend_from_slice(extra);
    run_within(app, Duration::from_secs(60), &args)
}

fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts the run exited with `code`; returns stdout and stderr together.
fn exited(app: &TestApp, out: &Output, code: i32) -> String {
    let (stdout, stderr) = texts(out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "[{}]\nstdout:\n{stdout}\nstderr:\n{stderr}",
        app.backend
    );
    format!("{stdout}{stderr}")
}

/// One delivery: (state, attempts, last reply).
type Row = (String, i64, String);

/// The deliveries by address.
fn deliveries(app: &TestApp) -> BTreeMap<String, Row> {
    app.texts(
        "SELECT email, state, CAST(attempts AS TEXT), COALESCE(last_reply, '') FROM deliveries",
    )
    .into_iter()
    .map(|r| {
        let s = |i: usize| r[i].clone().unwrap_or_default();
        (s(0), (s(1), s(2).parse().unwrap(), s(3)))
    })
    .collect()
}

/// Asserts no delivery is left `sending` (or `uncertain`): each has a
/// final state or one a later run takes up (queued, deferred).
fn assert_settled(app: &TestApp) {
    for (email, (state, _, reply)) in deliveries(app) {
        assert!(
            matches!(
                state.as_str(),
                "sent" | "failed" | "skipped" | "deferred" | "queued"
            ),
            "[{}] {email} is {state} ({reply})",
            app.backend
        );
    }
}

/// Seconds from `a` to `b`.
fn secs(a: SystemTime, b: SystemTime) -> f64 {
    b.duration_since(a)
        .map_or_else(|e| -e.duration().as_secs_f64(), |d| d.as_secs_f64())
}

/// Asserts the relay saw `rcpt` twice: refused, then taken at least
/// `delay` seconds after the refusal.
fn assert_retried_after(log: &RelayLog, rcpt: &str, delay: f64) {
    let txns = log.of(rcpt);
    assert_eq!(txns.len(), 2, "{rcpt}: {txns:#?}");
    let (_, said, refused_at) = txns[0]
        .fault
        .clone()
        .unwrap_or_else(|| panic!("{rcpt} was not refused: {txns:#?}"));
    assert!(txns[1].delivered, "{rcpt}'s retry: {:#?}", txns[1]);
    let waited = secs(refused_at, txns[1].at);
    assert!(
        waited >= delay - 0.05,
        "{rcpt}: retried {waited:.2} s after \"{said}\", before its delay of {delay} s"
    );
}

// ---------------------------------------------------------------------------
// 1. A refusal at the end of data while the next transaction is open.

#[test]
fn a_pipelining_relay_refusing_an_end_of_data_does_not_hang_the_send() {
    each_backend(|app| {
        import(
            app,
            &[
                "a1@one.example",
                "a2-soft@two.example",
                "a3@one.example",
                "a4-hard@two.example",
                "a5@one.example",
                "a6@two.example",
            ],
        );
        app.write("presswire.toml", "[send]\nretry_delays = [2]\n");
        let relay = FaultRelay::start(|s: &Seen| match s.step {
            Step::EndOfData if s.rcpt.starts_with("a2") && s.tries == 0 => {
                Answer::Reply("451 4.3.0 Temporary failure, try again later".into())
            }
            Step::EndOfData if s.rcpt.starts_with("a4") => {
                Answer::Reply("554 5.7.1 Message refused by policy".into())
            }
            _ => Answer::Ok,
        });
        let started = Instant::now();
        let out = send(app, &relay.url(), &["--concurrency", "1"]);
        let all = exited(app, &out, 0);
        // The summary counts the deferral that ended sent as sent.
        assert!(all.contains("5 sent, 0 deferred, 1 failed"), "{all}");
        assert!(started.elapsed() < Duration::from_secs(30), "{all}");
        let log = relay.log();
        // The second message's end of data was refused with the third
        // message's transaction already open, which then went on.
        let a2 = log.of("a2");
        assert_eq!(a2[0].fault.as_ref().map(|f| f.0), Some(Step::EndOfData));
        assert!(a2[0].next_open, "{a2:#?}");
        let a3 = log.of("a3");
        assert!(a3[0].ahead && a3[0].delivered, "{a3:#?}");
        assert_eq!(a3[0].session, a2[0].session, "{:#?}", log.txns);
        assert!(log.of("a4")[0].next_open, "{:#?}", log.txns);
        assert_eq!(log.quit_in_data, 0, "QUIT written into an open DATA");
        assert_retried_after(&log, "a2", 2.0);
        let want: BTreeMap<String, usize> = [
            "a1@one.example",
            "a2-soft@two.example",
            "a3@one.example",
            "a5@one.example",
            "a6@two.example",
        ]
        .iter()
        .map(|e| (e.to_string(), 1))
        .collect();
        assert_eq!(log.delivered(), want);
        let d = deliveries(app);
        assert_eq!(d["a2-soft@two.example"].0, "sent", "{d:?}");
        assert_eq!(
            d["a2-soft@two.example"].1, 2,
            "the retry is an attempt: {d:?}"
        );
        assert_eq!(d["a4-hard@two.example"].0, "failed", "{d:?}");
        assert!(d["a4-hard@two.example"].2.contains("5.7.1"), "{d:?}");
        assert_eq!(d["a4-hard@two.example"].1, 1, "{d:?}");
        for e in [
            "a1@one.example",
            "a3@one.example",
            "a5@one.example",
            "a6@two.example",
        ] {
            assert_eq!((d[e].0.as_str(), d[e].1), ("sent", 1), "{e}: {d:?}");
        }
        assert_eq!(
            app.count("SELECT count(*) FROM bounces WHERE email = 'a4-hard@two.example'"),
            1
        );
        assert_settled(app);
    });
}

// ---------------------------------------------------------------------------
// 2. Refusals of MAIL, RCPT and DATA of a transaction opened ahead.

#[test]
fn refusals_of_a_transaction_opened_ahead_are_its_attempt_and_wait_their_delay() {
    each_backend(|app| {
        // In address order; each fault follows a message that was sent, so
        // its transaction is opened with that message's content.
        let emails = [
            "c01@one.example",
            "c02@two.example",
            "c03-mailsoft@one.example",
            "c04@two.example",
            "c05-rcptsoft@one.example",
            "c06@two.example",
            "c07-datasoft@one.example",
            "c08@two.example",
            "c09-rcpthard@one.example",
            "c10@two.example",
            "c11-rcpt354@one.example",
            "c12@two.example",
            "c13-rcpt421@one.example",
            "c14@two.example",
            "c15@one.example",
        ];
        import(app, &emails);
        app.write("presswire.toml", "[send]\nretry_delays = [2]\n");
        let relay = FaultRelay::start(|s: &Seen| {
            let first = s.tries == 0;
            let r = |text: &str| Answer::Reply(text.to_string());
            match (s.step, s.rcpt.get(4..8).unwrap_or("")) {
                (Step::Mail, "mail") if first => r("451 4.3.2 Sender queue full, try later"),
                (Step::Rcpt, "rcpt") if s.rcpt.contains("soft") && first => {
                    r("451 4.7.1 Greylisted, try again later")
                }
                (Step::Data, "data") if first => r("451 4.3.0 Not now"),
                (Step::Rcpt, "rcpt") if s.rcpt.contains("hard") => r("550 5.1.1 User unknown"),
                (Step::Rcpt, "rcpt") if s.rcpt.contains("354") && first => {
                    r("451 4.7.1 Greylisted, try again later")
                }
                // A relay that takes DATA after refusing every recipient.
                (Step::Data, "rcpt") if s.rcpt.contains("354") && first => {
                    r("354 End data with <CR><LF>.<CR><LF>")
                }
                (Step::Rcpt, "rcpt") if s.rcpt.contains("421") && first => {
                    r("421 4.3.2 Service shutting down")
                }
                _ => Answer::Ok,
            }
        });
        let out = send(app, &relay.url(), &["--concurrency", "1"]);
        let all = exited(app, &out, 0);
        assert!(all.contains("14 sent, 0 deferred, 1 failed"), "{all}");
        let log = relay.log();
        let soft = ["c03", "c05", "c07", "c11", "c13"];
        for f in soft.iter().chain(&["c09"]) {
            let first = log.of(f)[0].clone();
            assert!(first.ahead, "{f} was not opened ahead: {:#?}", log.txns);
            assert!(first.fault.is_some() && !first.delivered, "{first:#?}");
        }
        for f in soft {
            assert_retried_after(&log, f, 2.0);
        }
        // RSET after each refusal that left the session usable; the two
        // that did not (DATA taken after a refusal, 421) closed it.
        assert!(log.resets >= 4, "{log:#?}");
        assert_eq!(log.sessions, 3, "{log:#?}");
        assert_eq!(log.quit_in_data, 0, "QUIT written into an open DATA");
        let delivered = log.delivered();
        assert_eq!(delivered.len(), 14, "{delivered:?}");
        assert!(delivered.values().all(|n| *n == 1), "{delivered:?}");
        let d = deliveries(app);
        for (email, (state, attempts, reply)) in &d {
            let want = match &email[..3] {
                "c09" => ("failed", 1),
                x if soft.contains(&x) => ("sent", 2),
                _ => ("sent", 1),
            };
            assert_eq!((state.as_str(), *attempts), want, "{email}: {reply}");
        }
        assert!(d["c09-rcpthard@one.example"].2.contains("5.1.1"), "{d:?}");
        let reasons = app.texts("SELECT email, kind FROM bounces");
        assert_eq!(
            reasons,
            vec![vec![
                Some("c09-rcpthard@one.example".into()),
                Some("hard".into())
            ]]
        );
        assert_settled(app);
    });
}

// ---------------------------------------------------------------------------
// 3. SMTP timeouts: a relay that never greets, one that goes silent.

#[test]
fn a_relay_that_never_greets_times_out_defers_and_pauses_the_send() {
    each_backend(|app| {
        let emails: Vec<String> = (0..10).map(|i| format!("g{i:02}@one.example")).collect();
        import(app, &emails.iter().map(String::as_str).collect::<Vec<_>>());
        // Retries a minute away: none comes due during the run.
        app.write(
            "presswire.toml",
            "[smtp]\ntimeout = \"2s\"\n[send]\nretry_delays = [60]\n",
        );
        let relay = FaultRelay::never_greeting();
        let started = Instant::now();
        let started_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let out = send(app, &relay.url(), &[]);
        let took = started.elapsed();
        // A connection that times out counts as one that was refused: after
        // five in a row the send pauses itself and says how to go on.
        let all = exited(app, &out, 1);
        assert!(
            all.contains("paused itself after 5 connection failures"),
            "{all}"
        );
        assert!(all.contains("no greeting within 2 s"), "{all}");
        assert!(
            took >= Duration::from_secs(4) && took < Duration::from_secs(40),
            "{took:?}"
        );
        assert!(
            relay.log().closed_while_silent.len() >= 5,
            "presswire closed each connection it gave up on"
        );
        let d = deliveries(app);
        let deferred: Vec<_> = d.iter().filter(|(_, r)| r.0 == "deferred").collect();
        assert!((5..=7).contains(&deferred.len()), "{d:?}");
        for (email, (_, attempts, reply)) in &deferred {
            assert_eq!(*attempts, 1, "{email}");
            assert!(reply.contains("no greeting within 2 s"), "{email}: {reply}");
        }
        // Retryable: each deferred delivery has its retry, its delay away.
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) FROM deliveries WHERE state = 'deferred' \
                 AND next_attempt_at >= {}",
                started_ms + 60_000
            )),
            deferred.len() as i64
        );
        assert_settled(app);

        // The relay is fixed: resuming sends everyone once; the retries
        // are second attempts.
        let sink = SmtpSink::start(&[]);
        let id = app.count("SELECT max(id) FROM sends").to_string();
        let out = run_within(
            app,
            Duration::from_secs(60),
            &["sends", "resume", &id, "--smtp", &sink.url()],
        );
        let all = exited(app, &out, 0);
        assert!(all.contains("10 sent, 0 deferred"), "{all}");
        assert_eq!(sink.messages().len(), 10);
        let d = deliveries(app);
        for (email, _) in &deferred {
            assert_eq!((d[*email].0.as_str(), d[*email].1), ("sent", 2), "{email}");
        }
    });
}

#[test]
fn a_relay_that_goes_silent_mid_session_times_out_and_the_send_goes_on() {
    each_backend(|app| {
        let emails = [
            "s1@one.example",
            "s2@two.example",
            "s3-stall@one.example",
            "s4@two.example",
            "s5@one.example",
            "s6@two.example",
        ];
        import(app, &emails);
        app.write(
            "presswire.toml",
            "[smtp]\ntimeout = \"2s\"\n[send]\nretry_delays = [2]\n",
        );
        // Silent from the third message's end of data, in the first
        // session only; the fourth message's transaction is open by then.
        let relay = FaultRelay::start(|s: &Seen| match s.step {
            Step::EndOfData if s.rcpt.starts_with("s3") && s.session == 1 => Answer::Silence,
            _ => Answer::Ok,
        });
        let out = send(app, &relay.url(), &["--concurrency", "1"]);
        let all = exited(app, &out, 0);
        assert!(all.contains("6 sent, 0 deferred, 0 failed"), "{all}");
        let log = relay.log();
        let s3 = log.of("s3");
        let stalled_at = s3[0].fault.as_ref().map(|f| f.2).unwrap();
        assert!(s3[0].next_open, "{s3:#?}");
        // presswire gave up on the silent session after its 2 s.
        let closed = log.closed_while_silent[0];
        let waited = secs(stalled_at, closed);
        assert!(
            (1.9..10.0).contains(&waited),
            "closed {waited:.2} s after the stall"
        );
        // The message whose content was never acknowledged, and the one
        // opened ahead of it, were retried after their delay on a new
        // session; each arrived once.
        assert_retried_after(&log, "s3", 2.0);
        // The fourth message's commands came with the third's content and
        // went unanswered; it arrived on a later session, after its delay.
        let s4 = log.of("s4");
        assert_eq!(s4.len(), 1, "{s4:#?}");
        assert!(s4[0].delivered && s4[0].session > 1, "{s4:#?}");
        assert!(secs(stalled_at, s4[0].at) >= 1.95, "{s4:#?}");
        assert!(
            log.delivered().values().all(|n| *n == 1),
            "{:?}",
            log.delivered()
        );
        assert_eq!(log.delivered().len(), 6);
        let d = deliveries(app);
        for (email, (state, attempts, reply)) in &d {
            let want = if email.starts_with("s3") || email.starts_with("s4") {
                2
            } else {
                1
            };
            assert_eq!(
                (state.as_str(), *attempts),
                ("sent", want),
                "{email}: {reply}"
            );
        }
        assert_settled(app);
    });
}

// ---------------------------------------------------------------------------
// 4. Summaries: the right send, the deliveries left deferred.

#[test]
fn the_send_summary_counts_deliveries_left_deferred_not_deferrals() {
    each_backend(|app| {
        import(
            app,
            &[
                "d1@one.example",
                "d2-once@two.example",
                "d3-always@one.example",
            ],
        );
        // A second, then an hour: d2 is sent on its retry; d3 is deferred
        // twice and left deferred.
        app.write("presswire.toml", "[send]\nretry_delays = [1, 3600]\n");
        let relay = FaultRelay::start(|s: &Seen| match s.step {
            Step::Rcpt if s.rcpt.starts_with("d2") && s.tries == 0 => {
                Answer::Reply("451 4.7.1 Greylisted".into())
            }
            Step::Rcpt if s.rcpt.starts_with("d3") => Answer::Reply("451 4.7.1 Greylisted".into()),
            _ => Answer::Ok,
        });
        let out = send(app, &relay.url(), &["--format", "json"]);
        let (stdout, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!((&v["sent"], &v["deferred"]), (&2.into(), &1.into()), "{v}");
        let out = send(app, &relay.url(), &[]);
        let all = exited(app, &out, 0);
        assert!(all.contains(": 2 sent, 1 deferred, 0 failed"), "{all}");
        assert_eq!(relay.log().of("d3").len(), 4, "two attempts per send");
    });
}

#[test]
fn the_worker_summary_names_each_send_by_its_id() {
    each_backend(|app| {
        import(app, &["w1@one.example", "w2@two.example"]);
        let sink = SmtpSink::start(&[]);
        let at = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        for _ in 0..2 {
            let release = example();
            let out = app.ok([
                "send",
                &release,
                "--yes",
                "--rate",
                "unlimited",
                "--at",
                &at,
            ]);
            assert!(out.contains("scheduled"), "{out}");
        }
        app.execute("UPDATE sends SET scheduled_at = 0", &[]);
        let mut worker = spawn(app, "worker", &["worker", "--smtp", &sink.url()]);
        let deadline = Instant::now() + Duration::from_secs(30);
        while sink.messages().len() < 4
            || app.count("SELECT count(*) FROM deliveries WHERE state <> 'sent'") > 0
        {
            assert!(Instant::now() < deadline, "{}", output(app, "worker"));
            std::thread::sleep(Duration::from_millis(100));
        }
        signal(&worker, "INT");
        let status = wait_exit(&mut worker, Duration::from_secs(15));
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "{}",
            output(app, "worker")
        );
        let stdout = std::fs::read_to_string(app.path().join("worker.out")).unwrap();
        assert!(
            stdout.starts_with("worker: 4 sent, 0 deferred, 0 failed, 0 skipped"),
            "{stdout}"
        );
        assert!(
            stdout.contains("\nsend 1: 2 sent, 0 deferred, 0 failed, 0 skipped\n"),
            "{stdout}"
        );
        assert!(
            stdout.contains("\nsend 2: 2 sent, 0 deferred, 0 failed, 0 skipped\n"),
            "{stdout}"
        );
        assert!(!stdout.contains("send 0"), "{stdout}");
    });
}

// ---------------------------------------------------------------------------
// 5. A relay that echoes the AUTH exchange.

const USER: &str = "press@ngo.example";
const PASSWORD: &str = "hunter2-Zq8!";

/// What the password looks like on the wire: AUTH PLAIN's blob (RFC 4616)
/// and AUTH LOGIN's (RFC 4954).
fn encoded() -> [String; 2] {
    let b64 = base64::engine::general_purpose::STANDARD;
    [
        b64.encode(format!("\0{USER}\0{PASSWORD}")),
        b64.encode(PASSWORD),
    ]
}

fn url_with_login(relay: &FaultRelay) -> String {
    format!(
        "smtp://press%40ngo.example:{}@127.0.0.1:{}",
        PASSWORD.replace('!', "%21"),
        relay.port
    )
}

fn assert_no_secret(what: &str, text: &str) {
    assert!(!text.contains(PASSWORD), "{what}: {text}");
    for e in encoded() {
        assert!(!text.contains(&e), "{what}: {text}");
        assert!(!text.contains(e.trim_end_matches('=')), "{what}: {text}");
    }
}

#[test]
fn relay_replies_echoing_the_auth_blob_are_scrubbed_and_cut() {
    each_backend(|app| {
        import(app, &["e1@one.example", "e2-echo@two.example"]);
        // A login refused with the blob echoed, and 3,000 characters more.
        let refusing = FaultRelay::start(|s: &Seen| match s.step {
            Step::Auth => Answer::Reply(format!(
                "535-5.7.8 Authentication failed for {}\r\n{}535 5.7.8 Goodbye",
                s.rcpt,
                format!("535-5.7.8 {}\r\n", "x".repeat(600)).repeat(5)
            )),
            _ => Answer::Ok,
        });
        let out = send(app, &url_with_login(&refusing), &[]);
        let all = exited(app, &out, 2);
        assert!(all.contains("refused the login"), "{all}");
        assert!(all.contains("5.7.8 Authentication failed for ***"), "{all}");
        assert_no_secret("the login error", &all);
        assert!(
            all.len() < 900,
            "the reply is quoted whole ({} bytes): {all}",
            all.len()
        );
        assert!(all.contains('…'), "{all}");

        // A login taken; replies that echo the blob and the password.
        let [plain, login] = encoded();
        let echo = format!("{plain} {login}");
        let echoing = FaultRelay::start(move |s: &Seen| match s.step {
            Step::Rcpt if s.rcpt.starts_with("e2") => {
                Answer::Reply(format!("550 5.7.1 Refused for {echo}"))
            }
            Step::EndOfData => Answer::Reply(format!("250 2.0.0 Ok: queued as Q1 {echo}")),
            _ => Answer::Ok,
        });
        let out = send(app, &url_with_login(&echoing), &["-v"]);
        let mut seen = exited(app, &out, 0);
        let id = app.count("SELECT max(id) FROM sends").to_string();
        for args in [
            vec!["sends", "status", id.as_str()],
            vec!["sends", "status", id.as_str(), "--format", "json"],
            vec!["report", id.as_str(), "--format", "json"],
            vec!["contacts", "show", "e2-echo@two.example"],
        ] {
            let out = app.run(&args);
            seen.push_str(&String::from_utf8_lossy(&out.stdout));
            seen.push_str(&String::from_utf8_lossy(&out.stderr));
        }
        assert_no_secret("the output", &seen);
        let d = deliveries(app);
        assert_eq!(d["e2-echo@two.example"].0, "failed", "{d:?}");
        assert_eq!(
            d["e2-echo@two.example"].2,
            "permanent error (550): 5.7.1 Refused for *** ***"
        );
        assert_eq!(d["e1@one.example"].2, "250 2.0.0 Ok: queued as Q1 *** ***");
        for (table, column) in [("deliveries", "last_reply"), ("bounces", "diagnostic")] {
            for row in app.texts(&format!("SELECT {column} FROM {table}")) {
                assert_no_secret(
                    &format!("{table}.{column}"),
                    &row[0].clone().unwrap_or_default(),
                );
            }
        }
    });
}
