//! The report's storage: every SQL text of `report/`, one function per
//! question asked of the database; the rest of `report/` only counts and words.
//!
//! A send may have a million deliveries. None of these queries sorts them
//! all (SQLite needs about a second to sort a million rows): they walk the
//! indexes of migration `20261127000005_report_indexes`. Queries that
//! return many rows return them as one JSON text instead
//! ([`Db::json_rows_sql`]): sqlx hands rows over one at a time, each with
//! a thread wake-up; on a SQLite file the million rows of the breakdowns
//! are read through rusqlite instead ([`groups`]). See docs/reports.md for
//! what each number means.

use std::borrow::Cow;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::db::Db;
use crate::send::DeliveryState;

/// The send and its release.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SendRow {
    pub id: i64,
    pub slug: String,
    pub title: Option<String>,
    pub subject: Option<String>,
    pub state: String,
    pub audience: String,
    pub created_at: i64,
    pub scheduled_at: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// The release's time zone and embargo (see `releases`).
    pub timezone: Option<String>,
    pub embargo_at: Option<i64>,
}

/// One send with its release, or `None`.
pub async fn send(db: &Db, id: i64) -> Result<Option<SendRow>, sqlx::Error> {
    // The send being reported on.
    sqlx::query_as(
        "SELECT s.id, r.slug, r.title, r.subject, s.state, s.audience, s.created_at, \
             s.scheduled_at, s.started_at, s.finished_at, r.timezone, r.embargo_at \
         FROM sends s JOIN releases r ON r.id = s.release_id WHERE s.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await
}

/// The stored release (`releases.bundle`, JSON) of send `id`, if any.
pub async fn release_bundle(db: &Db, id: i64) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT r.bundle FROM sends s JOIN releases r ON r.id = s.release_id WHERE s.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.and_then(|(b,)| b))
}

/// The ids of the newest `limit` sends, newest first.
pub async fn recent_sends(db: &Db, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT id FROM sends ORDER BY id DESC LIMIT $1")
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Deliveries of one state, with the smallest and largest delivery id among them.
#[derive(Debug, Clone)]
pub struct StateRow {
    pub state: String,
    pub n: i64,
    pub first_id: i64,
    pub last_id: i64,
}

/// A send's deliveries per state (states with none are left out).
pub async fn states(db: &Db, send_id: i64) -> Result<Vec<StateRow>, sqlx::Error> {
    // For each state, its count and its first and last delivery id (which
    // bound the search for the send's bounces): one range of
    // deliveries_send (send_id, state) each, whose row ids are in order
    // within a state. Grouping by state instead may sort every delivery.
    let states: Vec<String> = DeliveryState::ALL
        .iter()
        .map(|s| format!("('{}')", s.as_str()))
        .collect();
    let sql = format!(
        "SELECT v.column1 AS state, \
             (SELECT count(*) FROM deliveries d WHERE d.send_id = $1 AND d.state = v.column1) AS n, \
             (SELECT min(d.id) FROM deliveries d WHERE d.send_id = $1 AND d.state = v.column1) AS first_id, \
             (SELECT max(d.id) FROM deliveries d WHERE d.send_id = $1 AND d.state = v.column1) AS last_id \
         FROM (VALUES {}) v",
        states.join(", ")
    );
    let rows: Vec<(String, i64, Option<i64>, Option<i64>)> = sqlx::query_as(&sql)
        .bind(send_id)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(state, n, first, last)| {
            Some(StateRow {
                state,
                n,
                first_id: first?,
                last_id: last?,
            })
        })
        .collect())
}

/// Skipped deliveries per reason.
pub async fn skip_reasons(db: &Db, send_id: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
    // Why contacts were left out (a suppression, a status), most first.
    sqlx::query_as(
        "SELECT COALESCE(skip_reason, 'unknown'), count(*) FROM deliveries \
         WHERE send_id = $1 AND state = 'skipped' GROUP BY COALESCE(skip_reason, 'unknown')",
    )
    .bind(send_id)
    .fetch_all(&db.pool)
    .await
}

/// When the first and the last message of a send were accepted.
pub async fn sent_span(db: &Db, send_id: i64) -> Result<(Option<i64>, Option<i64>), sqlx::Error> {
    // Two seeks into deliveries_send_sent (each subquery is a lone min or
    // max, which both databases answer from the index's ends).
    sqlx::query_as(
        "SELECT (SELECT min(sent_at) FROM deliveries WHERE send_id = $1 AND sent_at IS NOT NULL), \
                (SELECT max(sent_at) FROM deliveries WHERE send_id = $1 AND sent_at IS NOT NULL)",
    )
    .bind(send_id)
    .fetch_one(&db.pool)
    .await
}

/// Messages accepted per minute, for the minutes from `first` to `last`
/// (epoch ms) that had any: (minute start, count).
pub async fn sent_per_minute(
    db: &Db,
    send_id: i64,
    first: i64,
    last: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let start = first - first.rem_euclid(60_000);
    // Each minute of the send, and how many of its messages were accepted
    // in it: a count along deliveries_send_sent per minute instead of
    // grouping (sorting) every delivery by its minute.
    let sql = format!(
        "WITH RECURSIVE minutes (t) AS ( \
             SELECT CAST($2 AS BIGINT) UNION ALL SELECT t + 60000 FROM minutes WHERE t + 60000 <= $3), \
         counts (t, n) AS ( \
             SELECT t, (SELECT count(*) FROM deliveries d \
                        WHERE d.send_id = $1 AND d.sent_at >= minutes.t AND d.sent_at < minutes.t + 60000) \
             FROM minutes) \
         SELECT {} FROM counts WHERE n > 0",
        db.json_rows_sql(&["t", "n"])
    );
    let mut rows: Vec<(i64, i64)> = json_rows(db, &sql, &[send_id, start, last]).await?;
    rows.sort_unstable();
    Ok(rows)
}

/// Runs `sql`, whose one column is a JSON array of rows (made with
/// [`Db::json_rows_sql`]), binding `params` in order, and reads its rows.
async fn json_rows<T: DeserializeOwned>(
    db: &Db,
    sql: &str,
    params: &[i64],
) -> Result<Vec<T>, sqlx::Error> {
    let text = json_text(db, sql, params).await?;
    serde_json::from_str(text.as_deref().unwrap_or("[]"))
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// The one text `sql` returns.
async fn json_text(db: &Db, sql: &str, params: &[i64]) -> Result<Option<String>, sqlx::Error> {
    let mut q = sqlx::query_as::<_, (Option<String>,)>(sql);
    for p in params {
        q = q.bind(*p);
    }
    Ok(q.fetch_optional(&db.pool).await?.and_then(|(t,)| t))
}

/// Contact ids (or delivery ids) per chunk of a send that is read in
/// chunks, two at a time. Each chunk's JSON text is then some 300 KB, which
/// SQLite's and Rust's allocators reuse from chunk to chunk; at 20,000 the
/// texts (over a megabyte) came from fresh pages each time, and zeroing
/// them cost a report of a million deliveries about 0.3 s of system time
/// (bench/report.sh).
const CHUNK: i64 = 5_000;

/// A bounce, complaint or auto-reply of one of the send's deliveries, with
/// the delivery and its contact.
#[derive(Debug, Clone, Deserialize)]
pub struct BounceRow {
    pub delivery_id: i64,
    pub state: String,
    pub kind: String,
    pub reason: String,
    pub status_code: Option<String>,
    pub diagnostic: Option<String>,
    pub received_at: i64,
    pub email: String,
    pub name: Option<String>,
    pub outlet: Option<String>,
    pub country: Option<String>,
    pub language: Option<String>,
    pub domain: Option<String>,
    pub contact_status: Option<String>,
}

/// The columns of [`BounceRow`], in order.
const BOUNCE_COLUMNS: [&str; 14] = [
    "d.id",
    "d.state",
    "b.kind",
    "b.reason",
    "b.status_code",
    "b.diagnostic",
    "b.received_at",
    "d.email",
    "c.name",
    "c.outlet",
    "c.country",
    "c.language",
    "c.domain",
    "c.status",
];

/// Every bounce, complaint and auto-reply of the send (not the reports
/// that say a message was delivered or delayed): those matched to one of
/// its deliveries, whose ids lie in `ids` (the send's smallest and largest
/// delivery id), and those matched only to a contact, attributed to the
/// contact's delivery of this send when that was the last message the
/// contact was sent before the bounce arrived.
pub async fn bounces(
    db: &Db,
    send_id: i64,
    ids: (i64, i64),
) -> Result<Vec<BounceRow>, sqlx::Error> {
    let rows = db.json_rows_sql(&BOUNCE_COLUMNS);
    // The bounces matched to the send's deliveries. CROSS JOIN makes SQLite
    // start from the bounces in the send's id range (a few) rather than
    // from the deliveries (a million); PostgreSQL plans it as a join.
    let matched = format!(
        "SELECT {rows} FROM bounces b CROSS JOIN deliveries d \
             LEFT JOIN contacts c ON c.id = d.contact_id \
         WHERE b.delivery_id BETWEEN $2 AND $3 AND d.id = b.delivery_id AND d.send_id = $1 \
           AND b.kind IN ('hard', 'soft', 'complaint', 'auto-reply')"
    );
    // In ranges of delivery ids, two at a time.
    let mut ranges = Vec::new();
    let mut from = ids.0;
    while from <= ids.1 {
        let to = from.saturating_add(CHUNK - 1).min(ids.1);
        ranges.push((from, to));
        from = to.saturating_add(1);
    }
    let matched = &matched;
    let mut chunks =
        stream::iter(ranges)
            .map(|(from, to)| async move {
                json_rows::<BounceRow>(db, matched, &[send_id, from, to]).await
            })
            .buffer_unordered(2);
    let mut out = Vec::new();
    while let Some(rows) = chunks.try_next().await? {
        out.extend(rows);
    }
    // Bounces tied to a contact but to no delivery (a complaint from a
    // feedback loop that strips the VERP address): the contact's delivery
    // of this send, if it was the latest one sent before the bounce came.
    let attributed = format!(
        "SELECT {rows} FROM bounces b CROSS JOIN deliveries d \
             LEFT JOIN contacts c ON c.id = d.contact_id \
         WHERE b.delivery_id IS NULL AND b.contact_id IS NOT NULL \
           AND b.kind IN ('hard', 'soft', 'complaint', 'auto-reply') \
           AND d.send_id = $1 AND d.contact_id = b.contact_id AND d.sent_at <= b.received_at \
           AND NOT EXISTS (SELECT 1 FROM deliveries l WHERE l.contact_id = b.contact_id \
                           AND l.sent_at > d.sent_at AND l.sent_at <= b.received_at)"
    );
    out.extend(json_rows::<BounceRow>(db, &attributed, &[send_id]).await?);
    Ok(out)
}

/// Deliveries of the send whose contact unsubscribed after the send
/// started (`since`, epoch ms): suppressed with reason `unsubscribed`, by
/// this send or, when the suppression names no send, since it started.
pub async fn unsubscribed(db: &Db, send_id: i64, since: i64) -> Result<Vec<i64>, sqlx::Error> {
    // From the suppressions (few) to their contacts to this send's
    // delivery of each; skipped contacts were not sent this release.
    let sql = format!(
        "SELECT {} FROM suppressions s CROSS JOIN contacts c CROSS JOIN deliveries d \
         WHERE s.kind = 'address' AND s.reason = 'unsubscribed' \
           AND (s.send_id = $1 OR (s.send_id IS NULL AND s.created_at >= $2)) \
           AND c.email_key = s.value AND d.send_id = $1 AND d.contact_id = c.id \
           AND d.state <> 'skipped'",
        db.json_rows_sql(&["d.id"])
    );
    let rows: Vec<(i64,)> = json_rows(db, &sql, &[send_id, since]).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// A delivery whose fate is unknown, or one whose contact needs updating.
#[derive(Debug, Clone, Deserialize)]
pub struct DeliveryRow {
    pub delivery_id: i64,
    pub email: String,
    pub name: Option<String>,
    pub outlet: Option<String>,
    pub attempts: i64,
    pub updated_at: i64,
    pub last_reply: Option<String>,
}

/// The columns of a [`DeliveryRow`], in order, with the time it reports
/// (the delivery's last attempt, or the contact's last change).
fn delivery_row_columns(updated_at: &str) -> [&str; 7] {
    [
        "d.id",
        "d.email",
        "c.name",
        "c.outlet",
        "d.attempts",
        updated_at,
        "d.last_reply",
    ]
}

/// The send's uncertain deliveries, by address.
pub async fn uncertain(db: &Db, send_id: i64) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    // Along deliveries_send (send_id, state): the few uncertain ones.
    let sql = format!(
        "SELECT {} FROM deliveries d LEFT JOIN contacts c ON c.id = d.contact_id \
         WHERE d.send_id = $1 AND d.state = 'uncertain'",
        db.json_rows_sql(&delivery_row_columns("d.updated_at"))
    );
    let mut rows: Vec<DeliveryRow> = json_rows(db, &sql, &[send_id]).await?;
    rows.sort_by(|a, b| a.email.cmp(&b.email));
    Ok(rows)
}

/// The send's deliveries to contacts whose status is `needs-update`, by address.
pub async fn needs_update(db: &Db, send_id: i64) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    // From the contacts that need updating, along the partial index
    // contacts_inactive (SQLite uses it only when the query repeats its
    // condition word for word), to their delivery of this send.
    let sql = format!(
        "SELECT {} FROM contacts c CROSS JOIN deliveries d \
         WHERE c.status <> 'active' AND c.status = 'needs-update' \
           AND d.send_id = $1 AND d.contact_id = c.id",
        db.json_rows_sql(&delivery_row_columns("c.updated_at"))
    );
    let mut rows: Vec<DeliveryRow> = json_rows(db, &sql, &[send_id]).await?;
    rows.sort_by(|a, b| a.email.cmp(&b.email));
    Ok(rows)
}

/// What the breakdowns are made of: for each (outlet, country, language,
/// domain) of the send's contacts, the deliveries per state (in the order
/// of `DeliveryState::ALL`).
pub type Groups = FxHashMap<GroupKey, [i64; DeliveryState::ALL.len()]>;

/// A contact's outlet, country, language and recipient domain; empty when
/// unknown (or the contact was forgotten).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct GroupKey {
    pub outlet: String,
    pub country: String,
    pub language: String,
    pub domain: String,
}

/// One delivery as the breakdowns read it: its contact's outlet, country,
/// language and domain, and its state (borrowed from the JSON text when
/// it holds no escapes).
#[derive(Deserialize)]
struct GroupJson<'a>(
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Cow<'a, str>,
);

/// The SQL of the rows [`groups`] counts: every delivery of the send with
/// its contact's outlet, country, language and domain, and its state, in
/// contact order along deliveries_report (send_id, contact_id, state),
/// which reads the contacts in the order of their own B-tree.
const GROUP_ROWS_FROM: &str = "FROM deliveries d LEFT JOIN contacts c ON c.id = d.contact_id \
     WHERE d.send_id = $1";

/// The index of a delivery state in [`DeliveryState::ALL`] (the CHECK
/// constraint admits only those).
fn state_index(state: &str) -> Option<usize> {
    DeliveryState::ALL.iter().position(|s| s.as_str() == state)
}

/// Counts the send's deliveries per contact group and state.
///
/// Grouping a million joined rows in SQL costs SQLite a sort (over a
/// second), so the grouping is done here. On a SQLite file the rows are
/// read through connections of SQLite's own ([`groups_sqlite`],
/// [`Db::read_sqlite_file_in_parts`]); elsewhere
/// in chunks of contact ids, each chunk one JSON text.
pub async fn groups(db: &Db, send_id: i64) -> Result<Groups, sqlx::Error> {
    // Two halves of the send's contacts, side by side on two cores.
    if let Some(halves) = db
        .read_sqlite_file_in_parts(2, move |conn, part| groups_sqlite(conn, send_id, part == 1))
        .await
    {
        let mut halves = halves?.into_iter();
        let mut groups = halves.next().unwrap_or_default();
        for (key, n) in halves.flatten() {
            let sum = groups.entry(key).or_insert([0; DeliveryState::ALL.len()]);
            for (s, n) in sum.iter_mut().zip(n) {
                *s += n;
            }
        }
        return Ok(groups);
    }
    // The range of contact ids of the send: each a lone min or max along
    // deliveries_report.
    let (lo, hi): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT min(contact_id) FROM deliveries WHERE send_id = $1 AND contact_id IS NOT NULL), \
                (SELECT max(contact_id) FROM deliveries WHERE send_id = $1)",
    )
    .bind(send_id)
    .fetch_one(&db.pool)
    .await?;
    // Chunks of CHUNK contact ids, and one for the deliveries whose
    // contact is gone (forgotten).
    let mut ranges: Vec<Option<(i64, i64)>> = vec![None];
    if let (Some(lo), Some(hi)) = (lo, hi) {
        let mut start = lo;
        while start <= hi {
            ranges.push(Some((start, start.saturating_add(CHUNK))));
            start = start.saturating_add(CHUNK);
        }
    }
    let rows = db.json_rows_sql(&GROUP_COLUMNS);
    // One chunk of the send's deliveries with their contacts.
    let in_range =
        format!("SELECT {rows} {GROUP_ROWS_FROM} AND d.contact_id >= $2 AND d.contact_id < $3");
    let orphans = format!("SELECT {rows} {GROUP_ROWS_FROM} AND d.contact_id IS NULL");
    let mut chunks = stream::iter(ranges)
        .map(|range| {
            let (in_range, orphans) = (&in_range, &orphans);
            async move {
                match range {
                    Some((from, to)) => json_text(db, in_range, &[send_id, from, to]).await,
                    None => json_text(db, orphans, &[send_id]).await,
                }
            }
        })
        .buffer_unordered(2);
    let mut groups = Groups::default();
    while let Some(text) = chunks.try_next().await? {
        let Some(text) = text else { continue };
        let rows: Vec<GroupJson<'_>> =
            serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        // Count per tuple of borrowed texts first: one cheap hash a delivery.
        let mut local: FxHashMap<[&str; 5], i64> =
            FxHashMap::with_capacity_and_hasher(rows.len().min(1 << 16), Default::default());
        for GroupJson(outlet, country, language, domain, state) in &rows {
            let key = [
                outlet.as_deref().unwrap_or(""),
                country.as_deref().unwrap_or(""),
                language.as_deref().unwrap_or(""),
                domain.as_deref().unwrap_or(""),
                state,
            ];
            *local.entry(key).or_default() += 1;
        }
        for ([outlet, country, language, domain, state], n) in local {
            let key = GroupKey {
                outlet: outlet.to_string(),
                country: country.to_string(),
                language: language.to_string(),
                domain: domain.to_string(),
            };
            let Some(i) = state_index(state) else {
                continue;
            };
            groups.entry(key).or_insert([0; DeliveryState::ALL.len()])[i] += n;
        }
    }
    Ok(groups)
}

/// The columns of the rows [`groups`] counts, in order.
const GROUP_COLUMNS: [&str; 5] = ["c.outlet", "c.country", "c.language", "c.domain", "d.state"];

/// [`groups`] on a SQLite file: one statement walks the send's deliveries
/// and each row's texts are looked up where SQLite keeps them, with no
/// copy. Each distinct outlet, country, language and domain (a few
/// thousand in a million deliveries) is copied once, to a number; a
/// delivery costs four lookups and an increment. A fifth of the time of
/// building and reading JSON texts of the same rows.
///
/// `upper`: the deliveries of the upper half of the send's range of contact
/// ids, else those of the lower half and those whose contact is gone.
fn groups_sqlite(
    conn: &rusqlite::Connection,
    send_id: i64,
    upper: bool,
) -> rusqlite::Result<Groups> {
    /// Distinct texts numbered in order of appearance.
    #[derive(Default)]
    struct Numbered {
        ids: FxHashMap<String, u32>,
        texts: Vec<String>,
    }
    impl Numbered {
        fn id(&mut self, text: &str) -> u32 {
            if let Some(&id) = self.ids.get(text) {
                return id;
            }
            let id = self.texts.len() as u32;
            self.texts.push(text.to_string());
            self.ids.insert(text.to_string(), id);
            id
        }
    }
    // The middle of the send's contact ids, each end a lone step along
    // deliveries_report.
    let (lo, hi): (Option<i64>, Option<i64>) = conn.query_row(
        "SELECT (SELECT min(contact_id) FROM deliveries WHERE send_id = ?1 AND contact_id IS NOT NULL), \
                (SELECT max(contact_id) FROM deliveries WHERE send_id = ?1)",
        [send_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mid = lo.unwrap_or(0) + (hi.unwrap_or(0) - lo.unwrap_or(0)) / 2;
    let select = format!("SELECT {} {}", GROUP_COLUMNS.join(", "), GROUP_ROWS_FROM);
    let parts = if upper {
        vec![(format!("{select} AND d.contact_id >= $2"), Some(mid))]
    } else {
        vec![
            (format!("{select} AND d.contact_id < $2"), Some(mid)),
            (format!("{select} AND d.contact_id IS NULL"), None),
        ]
    };
    let mut numbered: [Numbered; 4] = Default::default();
    let mut counts: FxHashMap<[u32; 4], [i64; DeliveryState::ALL.len()]> = FxHashMap::default();
    for (sql, mid) in parts {
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = match mid {
            Some(mid) => stmt.query([send_id, mid])?,
            None => stmt.query([send_id])?,
        };
        while let Some(row) = rows.next()? {
            let mut key = [0u32; 4];
            for (i, slot) in key.iter_mut().enumerate() {
                *slot = numbered[i].id(row.get_ref(i)?.as_str_or_null()?.unwrap_or(""));
            }
            let Some(state) = state_index(row.get_ref(4)?.as_str()?) else {
                continue;
            };
            counts.entry(key).or_insert([0; DeliveryState::ALL.len()])[state] += 1;
        }
    }
    let text = |i: usize, id: u32| numbered[i].texts[id as usize].clone();
    Ok(counts
        .into_iter()
        .map(|([outlet, country, language, domain], n)| {
            let key = GroupKey {
                outlet: text(0, outlet),
                country: text(1, country),
                language: text(2, language),
                domain: text(3, domain),
            };
            (key, n)
        })
        .collect())
}

/// One delivery of the send with everything the CSV says about it.
#[derive(Debug, Clone, Deserialize)]
pub struct CsvRow {
    pub delivery_id: i64,
    pub email: String,
    pub name: Option<String>,
    pub outlet: Option<String>,
    pub country: Option<String>,
    pub language: Option<String>,
    pub domain: Option<String>,
    pub contact_status: Option<String>,
    pub state: String,
    pub skip_reason: Option<String>,
    pub attempts: i64,
    pub sent_at: Option<i64>,
    pub updated_at: i64,
    pub last_reply: Option<String>,
}

/// The send's deliveries whose ids lie in `from..=to`, with their
/// contacts, in id order (the order they were planned in: by address).
pub async fn delivery_page(
    db: &Db,
    send_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<CsvRow>, sqlx::Error> {
    // A range of row ids of the send. The unary + keeps SQLite from
    // answering `send_id =` along an index (a walk through every
    // delivery of the send, for each page) instead of the id range.
    let sql = format!(
        "SELECT {} FROM deliveries d LEFT JOIN contacts c ON c.id = d.contact_id \
         WHERE d.id BETWEEN $2 AND $3 AND +d.send_id = $1",
        db.json_rows_sql(&[
            "d.id",
            "d.email",
            "c.name",
            "c.outlet",
            "c.country",
            "c.language",
            "c.domain",
            "c.status",
            "d.state",
            "d.skip_reason",
            "d.attempts",
            "d.sent_at",
            "d.updated_at",
            "d.last_reply",
        ])
    );
    let mut rows: Vec<CsvRow> = json_rows(db, &sql, &[send_id, from, to]).await?;
    rows.sort_by_key(|r| r.delivery_id);
    Ok(rows)
}
