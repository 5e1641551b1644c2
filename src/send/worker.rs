//! The worker loop: claim due deliveries, wait for the rate limits, render
//! and build each message, hand it to the transport, and record the result.
//! `presswire send` runs it in the foreground for one send; `presswire
//! worker` runs it for every running send until stopped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lettre::address::Envelope;
use tokio::sync::Mutex;

use super::bundle::{Bundle, Unpacked};
use super::owner;
use super::scrub;
use super::store::queue::{self, Claimed, Outcome};
use super::store::{self, rate};
use super::tokens::Signer;
use super::transport::{self, Attempt, SmtpTarget};
use super::{Error, SendState, Settings};
use crate::contacts::{self, Contact, Status};
use crate::db::{now_ms, Db};
use crate::release::message::{self, AttachmentFile, Envelope as MessageEnvelope};
use crate::release::{Release, Renderer};

/// Where messages go.
#[derive(Debug, Clone)]
pub enum Destination {
    /// `.eml` files under this folder.
    Outbox(PathBuf),
    Smtp(SmtpTarget),
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Outbox(d) => write!(f, "outbox folder {}", d.display()),
            Destination::Smtp(t) => write!(f, "{t}"),
        }
    }
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub target: Destination,
    /// Only this send (foreground `send` / `sends resume`).
    pub send_id: Option<i64>,
    /// Stop when nothing is due soon instead of waiting for more work.
    pub until_idle: bool,
    /// Connections (and concurrent messages) of this worker.
    pub concurrency: u32,
    /// Retry delays in seconds (the last repeats).
    pub retry_delays: Vec<u64>,
    pub lease_ms: i64,
    /// DKIM signing, when configured.
    pub dkim: Option<Arc<super::dkim::Dkim>>,
    /// What a refusal does to its contact (the same policy as bounces by mail).
    pub bounce_policy: crate::bounce::Policy,
    /// How long each step of an SMTP session may take.
    pub timeouts: transport::Timeouts,
}

/// What a run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunSummary {
    /// Over every send of the run (see [`SendTally`]).
    pub sent: u64,
    pub deferred: u64,
    pub failed: u64,
    pub skipped: u64,
    pub seconds: f64,
    /// Each send the run worked on (the one of `send` and `sends resume`),
    /// by id.
    pub sends: Vec<SendTally>,
    /// Why the run stopped before the end (the relay is down, the daily cap).
    pub paused: Option<Pause>,
    /// Whether the send paused itself because the relay is down (a failure).
    pub relay_down: bool,
    /// The next retry (RFC 3339) when the run stopped with retries pending.
    pub next_retry: Option<String>,
}

/// Why a run stopped before the end of its send. The wording names no
/// command: the CLI adds its hints (`cli::hints`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pause {
    /// The daily cap is reached: the send goes on tomorrow.
    DailyCap { send: i64, cap: u32 },
    /// So many connection failures in a row that the relay seems down.
    RelayDown {
        send: i64,
        failures: u32,
        last: String,
    },
    /// The relay cannot be used as configured (see [`Error::Paused`]).
    Refused { send: i64, why: String },
}

impl Pause {
    /// The send that paused.
    pub fn send(&self) -> i64 {
        match self {
            Pause::DailyCap { send, .. }
            | Pause::RelayDown { send, .. }
            | Pause::Refused { send, .. } => *send,
        }
    }
}

impl std::fmt::Display for Pause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pause::DailyCap { send, cap } => write!(
                f,
                "the daily cap of {cap} messages is reached; send {send} goes on tomorrow"
            ),
            Pause::RelayDown {
                send,
                failures,
                last,
            } => write!(
                f,
                "send {send} paused itself after {failures} connection failures in a row \
                 (last: {}); the relay seems down",
                scrub::cut(last, scrub::QUOTED_CHARS)
            ),
            Pause::Refused { send, why } => write!(f, "{why}\nsend {send} is paused"),
        }
    }
}

/// In JSON, a pause is its message.
impl serde::Serialize for Pause {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What a run did for one send: the messages this run sent, failed and
/// skipped, and how many of the send's deliveries are deferred at its end
/// (a delivery deferred and then sent in the same run is counted as sent
/// only).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SendTally {
    pub send: i64,
    pub sent: u64,
    pub deferred: u64,
    pub failed: u64,
    pub skipped: u64,
}

/// Counters the CLI reads for its progress bar.
#[derive(Debug, Default)]
pub struct Progress {
    pub sent: AtomicU64,
    pub deferred: AtomicU64,
    pub failed: AtomicU64,
    pub skipped: AtomicU64,
}

/// Everything needed to build a send's messages.
struct SendContext {
    id: i64,
    release: Release,
    renderer: Renderer,
    attachments: HashMap<PathBuf, Vec<AttachmentFile>>,
    settings: Settings,
    slug: String,
    from_domain: String,
    started_at: i64,
    /// Consecutive connection failures.
    failures: AtomicU32,
    _dir: tempfile::TempDir,
}

/// The stored release of send `id` (with its layouts and attachments),
/// unpacked into a temporary folder that lives as long as the returned
/// `TempDir`, with the send's settings, slug, and start (or creation) time.
async fn stored_release(
    db: &Db,
    id: i64,
) -> Result<(Unpacked, Settings, String, i64, tempfile::TempDir), Error> {
    let (bundle, slug, settings, started, created) = store::stored_send(db, id).await?;
    let bundle: Bundle = serde_json::from_str(bundle.as_deref().unwrap_or("null"))
        .map_err(|e| Error::Input(format!("send {id}: the stored release is unreadable: {e}")))?;
    let settings: Settings = serde_json::from_str(&settings).map_err(|e| {
        Error::Input(format!(
            "send {id}: the stored settings are unreadable: {e}"
        ))
    })?;
    let dir = tempfile::Builder::new()
        .prefix(&format!("presswire-send-{id}-"))
        .tempdir()
        .map_err(|e| Error::Input(format!("a temporary folder for send {id}: {e}")))?;
    let unpacked = bundle.unpack(dir.path())?;
    Ok((unpacked, settings, slug, started.unwrap_or(created), dir))
}

async fn load_send(db: &Db, id: i64) -> Result<SendContext, Error> {
    let (unpacked, settings, slug, started_at, dir) = stored_release(db, id).await?;
    let Unpacked {
        release,
        templates,
        attachments,
    } = unpacked;
    let renderer = Renderer::new(&release, &templates)?;
    let from_domain = release.from_domain();
    Ok(SendContext {
        id,
        release,
        renderer,
        attachments,
        settings,
        slug,
        from_domain,
        started_at,
        failures: AtomicU32::new(0),
        _dir: dir,
    })
}

struct Shared {
    db: Db,
    opts: Options,
    owner: String,
    signer: Signer,
    sends: Mutex<HashMap<i64, Arc<SendContext>>>,
    /// On SQLite, the one connection the queue steps of every connection
    /// task use, in turn: one writer at a time is all SQLite allows (and
    /// waiting here is without its busy-handler sleeps of 1, 2, 5, 10 ms…),
    /// and one connection keeps its page cache (see `queue::step_on`).
    sqlite: Option<Mutex<sqlx::pool::PoolConnection<sqlx::Any>>>,
    stop: Arc<AtomicBool>,
    progress: Arc<Progress>,
    paused: Mutex<Option<Pause>>,
    /// Told each time a connection has written outcomes: a connection that
    /// found the queue empty while others were still sending looks again
    /// then, instead of after its idle pause.
    recorded: tokio::sync::Notify,
    /// What this run did, per send (its deferred counts are filled in at
    /// the end).
    tallies: std::sync::Mutex<std::collections::BTreeMap<i64, SendTally>>,
}

/// Runs the worker until `stop` is set, or (with `until_idle`) until
/// nothing is left that is due within a minute.
pub async fn run(
    db: &Db,
    opts: Options,
    stop: Arc<AtomicBool>,
    progress: Arc<Progress>,
) -> Result<RunSummary, Error> {
    let started = std::time::Instant::now();
    let signer = Signer::load(db).await?;
    let shared = Arc::new(Shared {
        db: db.clone(),
        owner: owner::owner_id(),
        opts: opts.clone(),
        signer,
        sends: Mutex::new(HashMap::new()),
        sqlite: db.single_writer_connection().await?.map(Mutex::new),
        stop,
        progress: progress.clone(),
        paused: Mutex::new(None),
        recorded: tokio::sync::Notify::new(),
        tallies: std::sync::Mutex::new(
            opts.send_id
                .map(|id| {
                    (
                        id,
                        SendTally {
                            send: id,
                            ..SendTally::default()
                        },
                    )
                })
                .into_iter()
                .collect(),
        ),
    });
    let renew = {
        let shared = shared.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(
                    (shared.opts.lease_ms / 3).max(100) as u64
                ))
                .await;
                if queue::renew(&shared.db, &shared.owner, shared.opts.lease_ms)
                    .await
                    .is_err()
                {
                    tracing::warn!("could not renew leases");
                }
            }
        })
    };
    let mut tasks = Vec::new();
    for _ in 0..opts.concurrency.max(1) {
        tasks.push(tokio::spawn(connection_loop(shared.clone())));
    }
    let mut first_error = None;
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(Error::Task(e.to_string()));
            }
        }
    }
    renew.abort();
    // Its `shared` (and with it the SQLite connection of the steps) goes too.
    let _ = renew.await;
    let paused = shared.paused.lock().await.clone();
    let mut sends: Vec<SendTally> = shared
        .tallies
        .lock()
        .map(|t| t.values().cloned().collect())
        .unwrap_or_default();
    drop(shared);
    queue::finish_done(db).await?;
    if let Some(e) = first_error {
        return Err(e);
    }
    let next_retry = match opts.send_id {
        Some(id) => queue::next_retry(db, id).await?.map(contacts::format_time),
        None => None,
    };
    // Deferred is a state, not an event: what is left deferred now.
    for tally in &mut sends {
        let counts = queue::counts(db, tally.send).await?;
        tally.deferred = counts
            .get(&super::DeliveryState::Deferred)
            .copied()
            .unwrap_or(0)
            .try_into()
            .unwrap_or(0);
    }
    let total = |f: fn(&SendTally) -> u64| sends.iter().map(f).sum::<u64>();
    Ok(RunSummary {
        sent: progress.sent.load(Ordering::Relaxed),
        deferred: total(|t| t.deferred),
        failed: progress.failed.load(Ordering::Relaxed),
        skipped: progress.skipped.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
        relay_down: matches!(paused, Some(Pause::RelayDown { .. })),
        paused,
        next_retry,
        sends,
    })
}

/// Deliveries a connection claims at a time when the send is not paced:
/// `BATCH`, doubling up to `BATCH_MAX` while messages leave fast enough for
/// a batch of `BATCH_MAX` to take less than `BATCH_QUICK`. Their outcomes
/// are written with the claim of the next batch, in one transaction; a
/// crash leaves the deliveries of the current batch of each connection
/// `uncertain` (docs/sending.md). Each commit writes every page the batch
/// touched in the deliveries table and its indexes to SQLite's log, and
/// neighbouring deliveries share pages: at 16 a commit costs about as
/// much CPU as the batch's rows, at 64 much less. That matters only where
/// messages leave by the thousand a second; through a relay that takes a
/// millisecond or more per message, batches stay at 16.
pub const BATCH: i64 = 16;
pub const BATCH_MAX: i64 = 64;
const BATCH_QUICK: Duration = Duration::from_millis(50);

/// The next claim's size after a batch of `n` took `took`: twice as large
/// (up to `BATCH_MAX`) when its messages left quickly, else `BATCH`.
fn next_batch(n: i64, took: Duration) -> i64 {
    let messages = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    if took * (BATCH_MAX as u32) < BATCH_QUICK * messages {
        (n * 2).min(BATCH_MAX)
    } else {
        BATCH
    }
}

/// A delivery tried, with its outcome, waiting to be written.
type Done = (Claimed, Option<Contact>, Outcome);

/// Writes the outcomes in `done` and claims the next `n` deliveries, in one
/// transaction, then reads the claimed deliveries' contacts and records
/// SMTP rejections as bounces. A failed write is retried: the outcomes are
/// the truth of what left; if it keeps failing, the error stops the worker
/// and the deliveries stay `sending` (to become `uncertain`), never queued
/// again.
async fn step(
    shared: &Shared,
    done: &mut Vec<Done>,
    n: i64,
) -> Result<(Vec<Claimed>, HashMap<i64, Contact>), Error> {
    let outcomes: Vec<(i64, Outcome)> = done.iter().map(|(c, _, o)| (c.id, o.clone())).collect();
    let mut tries = 0;
    let (claimed, contacts) = loop {
        let mut pooled;
        let mut kept;
        let conn: &mut sqlx::AnyConnection = match &shared.sqlite {
            Some(c) => {
                kept = c.lock().await;
                &mut kept
            }
            None => {
                pooled = shared.db.connection().await?;
                &mut pooled
            }
        };
        let result = queue::step_on(
            &shared.db,
            conn,
            &shared.owner,
            &outcomes,
            shared.opts.send_id,
            n,
            shared.opts.lease_ms,
        )
        .await;
        match result {
            Ok(claimed) => {
                let ids: Vec<i64> = claimed.iter().filter_map(|c| c.contact_id).collect();
                let contacts = contacts::by_ids_on(&shared.db, conn, &ids).await?;
                break (claimed, contacts.into_iter().map(|c| (c.id, c)).collect());
            }
            Err(e) if tries < 20 && !outcomes.is_empty() => {
                tries += 1;
                tracing::warn!(
                    "recording {} results failed ({e}); retrying",
                    outcomes.len()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e),
        }
    };
    if !outcomes.is_empty() {
        shared.recorded.notify_waiters();
    }
    for (claimed, contact, outcome) in done.drain(..) {
        if let Outcome::Failed { reply, command } = outcome {
            let email = contact.map(|c| c.email).unwrap_or(claimed.email);
            if let Err(e) = crate::bounce::record_smtp_rejection(
                &shared.db,
                &shared.opts.bounce_policy,
                claimed.id,
                claimed.contact_id,
                &email,
                &reply,
                command,
            )
            .await
            {
                tracing::warn!("recording the bounce of delivery {}: {e}", claimed.id);
            }
        }
    }
    Ok((claimed, contacts))
}

/// A connection task's SMTP session, and what it already knows of the
/// next delivery it sends.
#[derive(Default)]
struct Session {
    conn: Option<transport::Connection>,
    /// The outcome of a delivery whose transaction was opened ahead (with
    /// the previous message's content) and did not open: the relay refused
    /// it, or the session ended before the relay answered. That was the
    /// delivery's attempt; it is recorded as such, with its retry delay,
    /// not sent again at once (see `transport::Exchange`).
    known: Option<(i64, Attempt)>,
}

impl Session {
    /// Whether the outcome of delivery `id` is known.
    fn knows(&self, id: i64) -> bool {
        self.known.as_ref().is_some_and(|(known, _)| *known == id)
    }

    /// The known outcome of delivery `id`, if there is one.
    fn take_known(&mut self, id: i64) -> Option<Attempt> {
        match self.known.take() {
            Some((known, attempt)) if known == id => Some(attempt),
            // Any other is stale: its delivery did not follow.
            _ => None,
        }
    }
}

/// One connection's loop: write the last batch's outcomes and claim the
/// next batch, send it, repeat.
async fn connection_loop(shared: Arc<Shared>) -> Result<(), Error> {
    let mut session = Session::default();
    let mut done: Vec<Done> = Vec::new();
    let result = deliver_batches(&shared, &mut session, &mut done).await;
    // Whatever ended the loop, what was tried is written.
    let written = step(&shared, &mut done, 0).await;
    if let Some(c) = session.conn.take() {
        c.quit().await;
    }
    result.and(written.map(|_| ()))
}

async fn deliver_batches(
    shared: &Shared,
    session: &mut Session,
    done: &mut Vec<Done>,
) -> Result<(), Error> {
    let mut idle_since: Option<std::time::Instant> = None;
    let mut last_upkeep: Option<std::time::Instant> = None;
    let mut batch = BATCH;
    loop {
        if shared.stop.load(Ordering::Relaxed) || shared.paused.lock().await.is_some() {
            return Ok(());
        }
        // Starting scheduled sends and recovering dead workers' deliveries
        // is upkeep, not per-batch work: once a second is plenty.
        if last_upkeep.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            queue::start_due(&shared.db).await?;
            queue::recover(&shared.db, shared.opts.send_id).await?;
            last_upkeep = Some(std::time::Instant::now());
        }
        // Paced sends claim one delivery at a time: a batch would hold
        // leases (and, after a crash, `uncertain` deliveries) for messages
        // still waiting for their slot. Until a send's settings are loaded
        // (the first claim) its pace is unknown, so one at a time too.
        let limited = {
            let sends = shared.sends.lock().await;
            sends.is_empty()
                || sends.values().any(|s| {
                    s.settings.rate.count.is_some() || s.settings.per_domain.count.is_some()
                })
        };
        let (claimed, contacts) = step(shared, done, if limited { 1 } else { batch }).await?;
        if claimed.is_empty() {
            // Registered before looking, so that outcomes written from now
            // on end the pause below.
            let recorded = shared.recorded.notified();
            tokio::pin!(recorded);
            recorded.as_mut().enable();
            if shared.opts.until_idle && nothing_due_soon(shared).await? {
                return Ok(());
            }
            let since = idle_since.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() > Duration::from_secs(30) {
                // An idle connection is closed; the relay would drop it anyway.
                if let Some(c) = session.conn.take() {
                    c.quit().await;
                }
            }
            // Until another connection's outcomes (the end of the send may
            // be one batch away) or 200 ms, whichever comes first.
            let _ = tokio::time::timeout(Duration::from_millis(200), recorded).await;
            continue;
        }
        idle_since = None;
        let started = std::time::Instant::now();
        let full = claimed.len() as i64 == batch;
        let mut claimed = claimed.into_iter();
        while let Some(delivery) = claimed.next() {
            // This delivery and the rest of the batch, given back untried.
            let untried = |d: &Claimed, rest: std::vec::IntoIter<Claimed>| -> Vec<i64> {
                std::iter::once(d.id).chain(rest.map(|c| c.id)).collect()
            };
            if shared.stop.load(Ordering::Relaxed) || shared.paused.lock().await.is_some() {
                // Stopping, or paused (the relay is down, the daily cap):
                // what this connection claimed and did not try goes back to
                // the queue untouched, rather than being burnt on a dead relay;
                // a delivery whose attempt already happened (its transaction
                // opened ahead was refused) is recorded.
                let mut ids: Vec<i64> = claimed.map(|c| c.id).collect();
                if session.knows(delivery.id) {
                    let ctx = send_context(shared, delivery.send_id).await?;
                    if let Some(outcome) = known_outcome(shared, &ctx, session, &delivery) {
                        let contact = delivery
                            .contact_id
                            .and_then(|id| contacts.get(&id).cloned());
                        count(shared, &ctx, &outcome);
                        done.push((delivery, contact, outcome));
                    }
                } else {
                    ids.push(delivery.id);
                }
                queue::unclaim(&shared.db, &shared.owner, &ids).await?;
                return Ok(());
            }
            let ctx = send_context(shared, delivery.send_id).await?;
            if let Some(cap) = ctx.settings.daily_cap {
                if !rate::take_daily(&shared.db, cap).await? {
                    queue::unclaim(&shared.db, &shared.owner, &untried(&delivery, claimed)).await?;
                    let mut paused = shared.paused.lock().await;
                    paused.get_or_insert(Pause::DailyCap { send: ctx.id, cap });
                    return Ok(());
                }
            }
            let contact = delivery
                .contact_id
                .and_then(|id| contacts.get(&id).cloned());
            let next = next_envelope(shared, &ctx, claimed.as_slice().first(), &contacts);
            // The outcome of a transaction opened ahead belongs to the
            // connection that failed, which counted once already.
            let known = session.knows(delivery.id);
            let outcome = match deliver(
                shared,
                &ctx,
                &delivery,
                contact.as_ref(),
                session,
                next.as_ref(),
            )
            .await
            {
                Ok(o) => o,
                Err(e) => {
                    queue::unclaim(&shared.db, &shared.owner, &untried(&delivery, claimed)).await?;
                    return Err(refuse(shared, &ctx, e).await);
                }
            };
            count(shared, &ctx, &outcome);
            match &outcome {
                _ if known => {}
                Outcome::Deferred {
                    connection_failure: Some(why),
                    ..
                } => {
                    let n = ctx.failures.fetch_add(1, Ordering::Relaxed) + 1;
                    if n >= ctx.settings.pause_after_failures {
                        pause(shared, &ctx, n, why).await;
                    }
                }
                _ => ctx.failures.store(0, Ordering::Relaxed),
            }
            done.push((delivery, contact, outcome));
        }
        // A short batch (the end of the queue) went quickly for want of
        // messages, not for a quick relay.
        let took = started.elapsed();
        if full || took >= BATCH_QUICK {
            batch = next_batch(batch, took);
        }
    }
}

/// The relay cannot be used as configured (it offers no STARTTLS, it
/// refuses the login): retrying would only burn the queue. The send pauses
/// and every connection of this worker stops; the error says what to do.
async fn refuse(shared: &Shared, ctx: &SendContext, e: Error) -> Error {
    let mut paused = shared.paused.lock().await;
    if paused.is_none() {
        let _ = queue::set_state(&shared.db, ctx.id, SendState::Paused).await;
    }
    paused.get_or_insert(Pause::Refused {
        send: ctx.id,
        why: e.to_string(),
    });
    Error::Paused {
        send: ctx.id,
        cause: Box::new(e),
    }
}

/// Pauses the send after `n` connection failures in a row, the last
/// `why`, unless the run stopped already.
async fn pause(shared: &Shared, ctx: &SendContext, n: u32, why: &str) {
    let mut paused = shared.paused.lock().await;
    if paused.is_none() {
        let _ = queue::set_state(&shared.db, ctx.id, SendState::Paused).await;
        *paused = Some(Pause::RelayDown {
            send: ctx.id,
            failures: n,
            last: why.to_string(),
        });
    }
}

/// Counts an outcome for the progress bar and the send's summary.
fn count(shared: &Shared, ctx: &SendContext, o: &Outcome) {
    let p = &shared.progress;
    let c = match o {
        Outcome::Sent { .. } => &p.sent,
        Outcome::Deferred { .. } => &p.deferred,
        Outcome::Failed { .. } => &p.failed,
        Outcome::Skipped { .. } => &p.skipped,
    };
    c.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut tallies) = shared.tallies.lock() {
        let t = tallies.entry(ctx.id).or_insert_with(|| SendTally {
            send: ctx.id,
            ..SendTally::default()
        });
        match o {
            Outcome::Sent { .. } => t.sent += 1,
            Outcome::Failed { .. } => t.failed += 1,
            Outcome::Skipped { .. } => t.skipped += 1,
            // Counted at the end, from the database.
            Outcome::Deferred { .. } => {}
        }
    }
}

/// Whether a foreground run may stop: nothing queued or being sent, and
/// no retry due within a minute.
async fn nothing_due_soon(shared: &Shared) -> Result<bool, Error> {
    let Some(id) = shared.opts.send_id else {
        return Ok(false);
    };
    let counts = queue::counts(&shared.db, id).await?;
    let active = counts
        .iter()
        .filter(|(s, _)| {
            matches!(
                s,
                super::DeliveryState::Queued | super::DeliveryState::Sending
            )
        })
        .map(|(_, n)| n)
        .sum::<i64>();
    if active > 0 {
        // Queued work of a send that is not running (paused, scheduled) is not ours to wait for.
        let state = queue::sends(&shared.db, Some(id)).await?[0].state.clone();
        return Ok(state != "running");
    }
    Ok(match queue::next_retry(&shared.db, id).await? {
        Some(t) => t > now_ms() + 60_000,
        None => true,
    })
}

async fn send_context(shared: &Shared, id: i64) -> Result<Arc<SendContext>, Error> {
    let mut sends = shared.sends.lock().await;
    if let Some(c) = sends.get(&id) {
        return Ok(c.clone());
    }
    let ctx = Arc::new(load_send(&shared.db, id).await?);
    sends.insert(id, ctx.clone());
    Ok(ctx)
}

/// Renders, builds and transmits one delivery. Every problem of the
/// delivery becomes its outcome; an error means the relay cannot be used as
/// configured (no STARTTLS, login refused): nothing was attempted.
async fn deliver(
    shared: &Shared,
    ctx: &SendContext,
    d: &Claimed,
    contact: Option<&Contact>,
    session: &mut Session,
    next: Option<&(i64, Envelope)>,
) -> Result<Outcome, Error> {
    if let Some(outcome) = known_outcome(shared, ctx, session, d) {
        return Ok(outcome);
    }
    let Some(contact) = contact else {
        return Ok(Outcome::Skipped {
            reason: "the contact was forgotten".into(),
        });
    };
    if let Some(reason) = &contact.suppressed {
        return Ok(Outcome::Skipped {
            reason: format!("suppressed ({reason})"),
        });
    }
    if contact.status != Status::Active {
        return Ok(Outcome::Skipped {
            reason: format!("status {}", contact.status),
        });
    }
    // Rate limits. First wait, without reserving, until the recipient's
    // domain is free, so a slow domain never holds an overall slot it
    // cannot use; then take the overall slot; then the domain's slot, only
    // now: reserved before the overall wait, the domain's next slot would
    // count from a moment before this message left, and two messages to one
    // domain could leave closer than its limit (by up to `concurrency`
    // overall intervals, as measured at the relay).
    let domain = ctx.settings.per_domain.interval().map(|i| {
        let domain = contact.email.rsplit('@').next().unwrap_or("");
        (
            format!("send:{}:domain:{}", ctx.id, domain.to_lowercase()),
            i,
        )
    });
    let overall = ctx
        .settings
        .rate
        .interval()
        .map(|i| (format!("send:{}", ctx.id), i));
    let paced: Result<(), sqlx::Error> = async {
        if let Some((key, _)) = &domain {
            rate::wait_until(rate::next_free(&shared.db, key).await?).await;
        }
        for (key, interval) in overall.iter().chain(&domain) {
            rate::wait_until(rate::reserve(&shared.db, key, *interval).await?).await;
        }
        Ok(())
    }
    .await;
    if let Err(e) = paced {
        let why = format!("rate limit: {e}");
        return Ok(defer(ctx, d, Deferral::Connection(why), &shared.opts));
    }
    let message_id = shared.signer.message_id(ctx.id, d.id, &ctx.from_domain);
    let bounce_address = shared
        .signer
        .verp_address(d.id, &ctx.settings.bounce_domain);
    let bytes = match build(shared, ctx, contact, &message_id) {
        Ok(b) => b,
        Err(e) => {
            return Ok(Outcome::Failed {
                reply: format!("not sent: {e}"),
                command: None,
            })
        }
    };
    let attempt = match &shared.opts.target {
        Destination::Outbox(dir) => {
            transport::write_outbox(dir, ctx.id, d.id, &bounce_address, &bytes).await
        }
        Destination::Smtp(target) => {
            let envelope = match smtp_envelope(&bounce_address, contact) {
                Ok(e) => e,
                Err(reply) => {
                    return Ok(Outcome::Failed {
                        reply,
                        command: None,
                    })
                }
            };
            let conn = &mut session.conn;
            if conn.as_ref().is_none_or(|c| !c.usable_for(&envelope)) {
                // Broken, or holding another message's transaction open:
                // dropping it closes it.
                *conn = None;
                match target.connect(&shared.opts.timeouts).await {
                    Ok(c) => *conn = Some(c),
                    Err(Error::Connection(why)) => {
                        return Ok(defer(ctx, d, Deferral::Connection(why), &shared.opts))
                    }
                    Err(e) => return Err(e),
                }
            }
            let c = conn.as_mut().expect("connected above");
            let exchange =
                transport::send_smtp(c, target, &envelope, &bytes, next.map(|(_, e)| e)).await;
            if matches!(exchange.this, Attempt::Connection(_)) || c.has_broken() {
                *conn = None;
            }
            session.known = next.map(|(id, _)| *id).zip(exchange.next);
            exchange.this
        }
    };
    Ok(outcome_of(shared, ctx, d, attempt, message_id))
}

/// The outcome of delivery `d` when its attempt already happened (see
/// [`Session::known`]).
fn known_outcome(
    shared: &Shared,
    ctx: &SendContext,
    session: &mut Session,
    d: &Claimed,
) -> Option<Outcome> {
    let attempt = session.take_known(d.id)?;
    let message_id = shared.signer.message_id(ctx.id, d.id, &ctx.from_domain);
    Some(outcome_of(shared, ctx, d, attempt, message_id))
}

/// The outcome to record for a delivery's attempt; `message_id`, its
/// message's (see `tokens::Signer::message_id`).
fn outcome_of(
    shared: &Shared,
    ctx: &SendContext,
    d: &Claimed,
    attempt: Attempt,
    message_id: String,
) -> Outcome {
    match attempt {
        Attempt::Accepted(reply) => Outcome::Sent { reply, message_id },
        Attempt::Transient(reply) => defer(ctx, d, Deferral::Refused(reply), &shared.opts),
        Attempt::Connection(why) => defer(ctx, d, Deferral::Connection(why), &shared.opts),
        Attempt::Permanent { reply, command } => Outcome::Failed { reply, command },
    }
}

/// The SMTP envelope of a delivery: its VERP address to the contact.
fn smtp_envelope(bounce_address: &str, contact: &Contact) -> Result<Envelope, String> {
    match (bounce_address.parse(), contact.email.parse()) {
        (Ok(from), Ok(to)) => {
            Envelope::new(Some(from), vec![to]).map_err(|e| format!("not sent: {e}"))
        }
        _ => Err(format!(
            "not sent: {} is not an address the relay can take",
            contact.email
        )),
    }
}

/// The envelope of the delivery a connection sends after this one, when
/// that message's transaction can be opened in the same round trip as this
/// message's content: it follows at once (an unpaced send with no daily
/// cap: nothing to wait for or to count in between) and its contact is to
/// be mailed. Should it not follow after all (a stop, a message that does
/// not build), the connection is closed, which drops the transaction.
fn next_envelope(
    shared: &Shared,
    ctx: &SendContext,
    next: Option<&Claimed>,
    contacts: &HashMap<i64, Contact>,
) -> Option<(i64, Envelope)> {
    let s = &ctx.settings;
    if !matches!(shared.opts.target, Destination::Smtp(_))
        || s.rate.count.is_some()
        || s.per_domain.count.is_some()
        || s.daily_cap.is_some()
        || shared.stop.load(Ordering::Relaxed)
    {
        return None;
    }
    let next = next.filter(|n| n.send_id == ctx.id)?;
    let contact = contacts.get(&next.contact_id?)?;
    if contact.suppressed.is_some() || contact.status != Status::Active {
        return None;
    }
    let bounce_address = shared.signer.verp_address(next.id, &s.bounce_domain);
    Some((next.id, smtp_envelope(&bounce_address, contact).ok()?))
}

/// Defers with exponential backoff, or fails when the send is older than `max_age`.
/// Why a delivery is deferred.
enum Deferral {
    /// The relay refused it for now (4xx), with its reply.
    Refused(String),
    /// The connection failed, broke or did not answer in time, or the rate
    /// limiter could not be asked: the message was not handed over.
    Connection(String),
}

fn defer(ctx: &SendContext, d: &Claimed, why: Deferral, opts: &Options) -> Outcome {
    let (reply, connection_failure) = match why {
        Deferral::Refused(reply) => (reply, None),
        Deferral::Connection(why) => (format!("connection: {why}"), Some(why)),
    };
    let now = now_ms();
    if now - ctx.started_at > (ctx.settings.max_age_secs as i64) * 1000 {
        return Outcome::Failed {
            reply: format!(
                "gave up after {} attempts over the maximum age: {reply}",
                d.attempts
            ),
            command: None,
        };
    }
    let i = (d.attempts.max(1) - 1) as usize;
    let delay = opts
        .retry_delays
        .get(i)
        .or(opts.retry_delays.last())
        .copied()
        .unwrap_or(60);
    Outcome::Deferred {
        reply,
        next_attempt_at: now + (delay as i64) * 1000,
        connection_failure,
    }
}

/// The message of one delivery, with the send's headers.
fn build(
    shared: &Shared,
    ctx: &SendContext,
    contact: &Contact,
    message_id: &str,
) -> Result<Vec<u8>, Error> {
    // Rendered as it is written, now, the moment of its Date header: a
    // message written at or after the embargo's lift (a retry, a resumed
    // send) carries no embargo banner.
    let now = std::time::SystemTime::now();
    let rendered = ctx.renderer.render_at(&ctx.release, contact, now.into())?;
    let file = ctx.release.file_for(contact.language.as_deref());
    let token = shared.signer.unsubscribe_token(contact.id, ctx.id);
    let mut unsubscribe = format!(
        "<mailto:unsubscribe+{token}@{}?subject=unsubscribe>",
        ctx.settings.bounce_domain
    );
    let mut headers = vec![];
    if let Some(base) = &ctx.settings.unsubscribe_url {
        unsubscribe.push_str(&format!(", <{}/u/{token}>", base.trim_end_matches('/')));
        // RFC 8058: one-click works only with an https URL.
        if base.starts_with("https://") {
            headers.push((
                "List-Unsubscribe-Post".to_string(),
                "List-Unsubscribe=One-Click".to_string(),
            ));
        }
    }
    headers.push(("List-Unsubscribe".to_string(), unsubscribe));
    headers.push((
        "X-Presswire-Send".to_string(),
        format!("{} {}", ctx.id, ctx.slug),
    ));
    let envelope = MessageEnvelope {
        message_id: message_id.to_string(),
        date: now,
        headers,
    };
    let attachments = ctx
        .attachments
        .get(&file.path)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    match &shared.opts.dkim {
        // lettre signs its own message.
        Some(dkim) => {
            let mut msg = message::build(file, &rendered, contact, attachments, &envelope)?;
            dkim.sign(&mut msg);
            Ok(msg.formatted())
        }
        None => Ok(message::write(
            file,
            &rendered,
            contact,
            attachments,
            &envelope,
        )?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_grow_only_while_messages_leave_quickly() {
        let ms = Duration::from_millis;
        // 16 in 4 ms: 64 would take 16 ms.
        assert_eq!(next_batch(BATCH, ms(4)), 32);
        assert_eq!(next_batch(32, ms(8)), BATCH_MAX);
        assert_eq!(next_batch(BATCH_MAX, ms(30)), BATCH_MAX);
        // A millisecond a message: 64 would take 64 ms.
        assert_eq!(next_batch(BATCH, ms(16)), BATCH);
        assert_eq!(next_batch(BATCH_MAX, ms(64)), BATCH);
    }
}
