//! The CSV report: one row per delivery of a send, with its outcome, the
//! bounce that decided it, and whether the contact complained, replied
//! automatically or unsubscribed. Columns: [`COLUMNS`], documented in
//! docs/reports.md.

use std::io::Write;

use super::{store, Error, Facts};
use crate::contacts::format_time;
use crate::db::Db;
use crate::spreadsheet::defuse;

/// The CSV's header, in order. New columns are added at the end.
pub const COLUMNS: [&str; 24] = [
    "delivery_id",
    "send_id",
    "email",
    "name",
    "outlet",
    "country",
    "language",
    "domain",
    "contact_status",
    "state",
    "outcome",
    "skip_reason",
    "attempts",
    "sent_at",
    "updated_at",
    "last_reply",
    "bounce_kind",
    "bounce_reason",
    "bounce_status",
    "bounce_diagnostic",
    "bounced_at",
    "complaint",
    "auto_reply",
    "unsubscribed",
];

/// Delivery ids read per page: memory stays flat however large the send.
const PAGE: i64 = 5_000;

/// Writes send `id`'s deliveries as CSV to `out`; returns how many.
///
/// Each page of deliveries (in address order) reads its contacts (in
/// import order) from all over the table: for a large send, map the
/// database first ([`Db::map_for_reading`]; 16 s → 7 s for a million).
pub async fn write_csv(db: &Db, id: i64, mut out: impl Write) -> Result<u64, Error> {
    let mut pages = CsvPages::open(db, id).await?;
    let mut n = 0;
    while let Some((bytes, rows)) = pages.next().await? {
        out.write_all(&bytes)?;
        n += rows;
    }
    out.flush()?;
    Ok(n)
}

/// A send's CSV piece by piece (the header, then a page of deliveries at
/// a time), so that a server can send it as it is read.
pub struct CsvPages {
    db: Db,
    id: i64,
    facts: Facts,
    /// The next delivery id to read, and the send's last one.
    from: i64,
    last: i64,
    header: bool,
}

impl CsvPages {
    /// Reads what every row needs (the send's bounces, unsubscribes…);
    /// `Error::NoSuchSend` when there is no send `id`.
    pub async fn open(db: &Db, id: i64) -> Result<CsvPages, Error> {
        let facts = Facts::load(db, id).await?;
        let from = facts.states.iter().map(|s| s.first_id).min().unwrap_or(0);
        let last = facts.states.iter().map(|s| s.last_id).max().unwrap_or(-1);
        Ok(CsvPages {
            db: db.clone(),
            id,
            facts,
            from,
            last,
            header: true,
        })
    }

    /// The next piece of the CSV and the deliveries in it; `None` after the last.
    pub async fn next(&mut self) -> Result<Option<(Vec<u8>, u64)>, Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        if std::mem::take(&mut self.header) {
            w.write_record(COLUMNS)?;
        } else if self.from > self.last {
            return Ok(None);
        }
        let mut n = 0;
        if self.from <= self.last {
            let to = self.from.saturating_add(PAGE - 1).min(self.last);
            for d in store::delivery_page(&self.db, self.id, self.from, to).await? {
                write_row(&mut w, &self.facts, self.id, &d)?;
                n += 1;
            }
            self.from = to.saturating_add(1);
        }
        let bytes = w.into_inner().map_err(|e| Error::Io(e.into_error()))?;
        Ok(Some((bytes, n)))
    }
}

fn write_row<W: Write>(
    w: &mut csv::Writer<W>,
    facts: &Facts,
    send_id: i64,
    d: &store::CsvRow,
) -> Result<(), Error> {
    let b = facts.bounces.get(&d.delivery_id);
    let failure = b.and_then(|b| b.failure.as_ref());
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let flag = |v: bool| if v { "yes" } else { "no" }.to_string();
    // The recipient domain: the contact's, or from the address itself
    // when the contact is gone.
    let domain = d.domain.clone().unwrap_or_else(|| {
        d.email
            .rsplit_once('@')
            .map(|(_, dom)| dom.to_lowercase())
            .unwrap_or_default()
    });
    let cells = [
        d.delivery_id.to_string(),
        send_id.to_string(),
        d.email.clone(),
        o(&d.name),
        o(&d.outlet),
        o(&d.country),
        o(&d.language),
        domain,
        o(&d.contact_status),
        d.state.clone(),
        facts.outcome(d.delivery_id, &d.state).as_str().to_string(),
        o(&d.skip_reason),
        d.attempts.to_string(),
        d.sent_at.map(format_time).unwrap_or_default(),
        format_time(d.updated_at),
        o(&d.last_reply),
        failure.map(|f| f.kind.clone()).unwrap_or_default(),
        failure.map(|f| f.reason.clone()).unwrap_or_default(),
        failure
            .and_then(|f| f.status_code.clone())
            .unwrap_or_default(),
        failure
            .and_then(|f| f.diagnostic.clone())
            .unwrap_or_default(),
        failure
            .map(|f| format_time(f.received_at))
            .unwrap_or_default(),
        flag(b.is_some_and(|b| b.complaint)),
        flag(b.is_some_and(|b| b.auto_reply)),
        flag(facts.unsubscribed.contains(&d.delivery_id)),
    ];
    // Every cell, not only the ones from outside: a skip reason or a
    // country is text a spreadsheet would read too.
    w.write_record(cells.iter().map(|c| defuse(c).into_owned()))?;
    Ok(())
}
