//! The bookkeeping side of an import: counts, problems, finding the rows
//! that repeat an address, merging rows into contacts, and handing the
//! contacts to the store a statement's worth at a time.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use tokio::sync::oneshot;

use super::columns::{ColumnTarget, Field};
use super::limits::column_name;
use super::record::{ContactRecord, ValidRow};
use super::report::{ImportOptions, ImportReport, Problem, ProblemKind};
use super::store::sqlite;
use super::store::{take_batch, ImportSql, PoolStore, StoreOp};
use super::{merge, undo};
use crate::contacts::email::forgotten_hash;
use crate::contacts::Error;
use crate::db::{now_ms, Db};

/// The bookkeeping side of an import: counts, problems, merging rows into
/// contacts. Its [`PoolStore`] does the database work.
pub(super) struct Merger<'a> {
    pub(super) options: &'a ImportOptions,
    pub(super) report: ImportReport,
    /// Every address key seen in this import (hashed, to keep memory flat),
    /// with where it was first seen.
    pub(super) seen: HashMap<u64, Place, BuildHasherDefault<IdentityHasher>>,
    /// Hashes of forgotten addresses.
    pub(super) forgotten: HashSet<String>,
    /// Contacts with a larger id were created by this import.
    pub(super) max_id_before: i64,
    /// The id the next new contact gets, when this backend lets the
    /// transaction number its rows ([`Db::transaction_numbers_rows`]).
    pub(super) next_id: Option<i64>,
    /// New contacts, numbered already, waiting to be written.
    pub(super) inserts: Vec<ContactRecord>,
    /// Contacts waiting to be written with an upsert: changed ones, and
    /// new ones when the database numbers them.
    pub(super) upserts: Vec<ContactRecord>,
    /// Previous values of existing contacts this import changed, waiting
    /// to be written to `import_changes` (for `--undo`).
    pub(super) changes: Vec<(i64, String)>,
    /// The contacts whose previous values are recorded already.
    pub(super) recorded: HashSet<i64>,
    /// Where the work for the store goes, in order.
    pub(super) ops: tokio::sync::mpsc::Sender<StoreOp>,
    /// Contacts the store has written, handed back to be freed here: the
    /// store's thread is the import's busiest.
    pub(super) spent: tokio::sync::mpsc::UnboundedReceiver<Vec<ContactRecord>>,
    /// The store's task, until it is awaited.
    pub(super) store: Option<tokio::task::JoinHandle<Result<(), Error>>>,
}

impl<'a> Merger<'a> {
    pub(super) async fn start(
        db: &'a Db,
        options: &'a ImportOptions,
        sources: &str,
    ) -> Result<Merger<'a>, Error> {
        // The import's time: every contact it writes gets it as updated_at
        // (and new ones as created_at), which is how an undo recognises them.
        let now = now_ms();
        // A few statements' worth ahead of the database, no more.
        let (ops, queue) = tokio::sync::mpsc::channel(4);
        let statements = ImportSql::new(db);
        let numbered = db.transaction_numbers_rows();
        let (spent_tx, spent) = tokio::sync::mpsc::unbounded_channel();
        let (forgotten, max_id, store) = match db.bulk_connection() {
            // SQLite: the store is a thread of its own with its own connection.
            Some(conn) => {
                let conn = conn?;
                let sources = sources.to_string();
                let begin =
                    move || sqlite::SqliteStore::begin(conn, statements, now, &sources, spent_tx);
                let (store, forgotten, max_id) = tokio::task::spawn_blocking(begin)
                    .await
                    .map_err(|_| Error::Db(sqlx::Error::WorkerCrashed))??;
                let task = tokio::task::spawn_blocking(move || store.run(queue));
                (forgotten, max_id, task)
            }
            None => {
                let (store, forgotten, max_id) =
                    PoolStore::begin(db, statements, numbered, now, sources).await?;
                (forgotten, max_id, tokio::spawn(store.run(queue)))
            }
        };
        Ok(Merger {
            options,
            report: ImportReport {
                dry_run: options.dry_run,
                skip_invalid: options.skip_invalid,
                ..ImportReport::default()
            },
            seen: HashMap::default(),
            forgotten: forgotten.into_iter().collect(),
            max_id_before: max_id.unwrap_or(0),
            next_id: numbered.then_some(max_id.unwrap_or(0) + 1),
            inserts: Vec::new(),
            upserts: Vec::new(),
            changes: Vec::new(),
            recorded: HashSet::new(),
            ops,
            spent,
            store: Some(store),
        })
    }

    pub(super) fn problem(&mut self, file: usize, line: u64, kind: ProblemKind, message: String) {
        self.problem_in(file, line, None, kind, message);
    }

    pub(super) fn problem_in(
        &mut self,
        file: usize,
        line: u64,
        column: Option<String>,
        kind: ProblemKind,
        message: String,
    ) {
        let name = self.file_name(file);
        self.report.problems.push(Problem {
            file: name,
            line,
            column,
            kind,
            message,
        });
    }

    /// The column of file `file` that fills `field`, if one does.
    pub(super) fn column_of(&self, file: usize, field: Field) -> Option<String> {
        let f = self.report.files.get(file)?;
        let (name, _) = f
            .columns
            .iter()
            .find(|(_, t)| *t == ColumnTarget::Field(field))?;
        Some(column_name(name).into_owned())
    }

    pub(super) fn file_name(&self, file: usize) -> String {
        self.report
            .files
            .get(file)
            .map(|f| f.file.clone())
            .unwrap_or_default()
    }

    pub(super) async fn write(&mut self, rows: Vec<ValidRow>) -> Result<(), Error> {
        self.report.rows += rows.len() as u64;
        // 1. Forgotten addresses stay forgotten.
        // Each address with its first row and the chunk's later rows for it.
        let mut by_key: Vec<(String, u64, ValidRow, Vec<ValidRow>)> =
            Vec::with_capacity(rows.len());
        let mut index: HashMap<u64, usize, BuildHasherDefault<IdentityHasher>> =
            HashMap::with_capacity_and_hasher(rows.len(), Default::default());
        let mut need_lookup: Vec<String> = Vec::new();
        for row in rows {
            let key = row.address.key();
            if !self.forgotten.is_empty() && self.forgotten.contains(&forgotten_hash(&key)) {
                self.report.skipped += 1;
                let msg = format!(
                    "{} was forgotten on request and is not imported again \
                     (`presswire suppress remove --forgotten {}` would allow it)",
                    row.address, row.address
                );
                self.problem(row.file, row.line, ProblemKind::Skipped, msg);
                continue;
            }
            // 2. Group the chunk's rows by address; later rows are duplicates.
            let h = key_hash(&key);
            let group = match index.get(&h) {
                Some(&i) if by_key[i].0 == key => Some(i),
                // Another address with the same hash (rare): look further.
                Some(_) => by_key.iter().position(|(k, ..)| *k == key),
                None => {
                    index.insert(h, by_key.len());
                    None
                }
            };
            if let Some(i) = group {
                by_key[i].3.push(row);
                continue;
            }
            if self.max_id_before > 0 || self.seen.contains_key(&h) {
                need_lookup.push(key.clone());
            }
            by_key.push((key, h, row, Vec::new()));
        }

        // 3. The contacts that exist already (before or earlier in this import).
        let existing = self.lookup(need_lookup).await?;

        // 4. Per address: new, updated, unchanged, skipped, or merged duplicates.
        for (key, h, first_row, duplicates) in by_key {
            // Contacts met earlier in this import were counted then.
            let counted = self.seen.contains_key(&h);
            let before = existing.get(&key);
            if let Some(old) = before {
                let pre_existing = old.id.unwrap_or(0) <= self.max_id_before;
                if pre_existing && self.options.skip_existing {
                    self.report.skipped += 1 + duplicates.len() as u64;
                    for row in std::iter::once(&first_row).chain(&duplicates) {
                        let msg = format!(
                            "{} is already a contact; kept as it is (--skip-existing)",
                            row.address
                        );
                        self.problem(row.file, row.line, ProblemKind::Skipped, msg);
                    }
                    continue;
                }
            }
            let first_seen = *self
                .seen
                .entry(h)
                .or_insert(Place::new(first_row.file, first_row.line));
            // A new contact is its first row; a stored one takes every row.
            let (mut contact, rows) = match before {
                None => {
                    self.report.imported += 1;
                    (ContactRecord::new(first_row, key), duplicates)
                }
                Some(old) => {
                    let mut rows = duplicates;
                    rows.insert(0, first_row);
                    (old.clone(), rows)
                }
            };
            let mut merged = false;
            for row in rows {
                merged |= self.merge_row(&mut contact, row, first_seen);
            }
            // Every row for a stored contact refused: counted as invalid only.
            if before.is_some() && !merged {
                continue;
            }
            match before {
                Some(old) if *old == contact => {
                    if !counted {
                        self.report.unchanged += 1;
                    }
                }
                Some(old) => {
                    if !counted {
                        self.report.updated += 1;
                    }
                    // What it was before, for `--undo`: once per contact
                    // that existed before the import.
                    if let Some(id) = old.id.filter(|id| *id <= self.max_id_before) {
                        if self.recorded.insert(id) {
                            let previous = undo::Previous::of(old).to_json();
                            self.changes.push((id, previous));
                        }
                    }
                    self.upserts.push(contact);
                }
                None => match &mut self.next_id {
                    Some(next) => {
                        contact.id = Some(*next);
                        *next += 1;
                        self.inserts.push(contact);
                    }
                    None => self.upserts.push(contact),
                },
            }
        }
        self.flush(false).await
    }

    /// Merges `row` into `contact`, unless it would turn letters into `?`
    /// (then the row is an error); reports a row that repeats an address
    /// first seen at `first_seen`, with what it changed. Says whether it
    /// merged the row.
    pub(super) fn merge_row(
        &mut self,
        contact: &mut ContactRecord,
        row: ValidRow,
        first_seen: Place,
    ) -> bool {
        let (file, line) = (row.file, row.line);
        let damage = merge::damage(contact, &row);
        // The damage in a column the row has (a name made of first and
        // last name has none of its own).
        let named = damage
            .iter()
            .find_map(|d| Some((d, self.column_of(file, d.field)?)));
        if let Some((d, column)) = named
            .map(|(d, c)| (d, Some(c)))
            .or_else(|| damage.first().map(|d| (d, None)))
        {
            let message = d.message();
            let column = column.or_else(|| Some(d.field.name().to_string()));
            self.report.invalid += 1;
            self.problem_in(file, line, column, ProblemKind::Error, message);
            return false;
        }
        let duplicate = Place::new(file, line) != first_seen;
        let address = duplicate.then(|| row.address.to_string());
        let changes = contact.merge(row, duplicate);
        if let Some(address) = address {
            self.report.duplicates += 1;
            let what = if changes.is_empty() {
                String::new()
            } else {
                format!(": {}", changes.join(", "))
            };
            let msg = format!(
                "{address} appears again (first at {}); merged into one contact{what}",
                self.place(first_seen, file)
            );
            self.problem(file, line, ProblemKind::Duplicate, msg);
        }
        true
    }

    /// "line 12" within the same file, "other.csv:12" across files.
    pub(super) fn place(&self, place: Place, from_file: usize) -> String {
        let (file, line) = (place.file(), place.line());
        if file == from_file {
            format!("line {line}")
        } else {
            format!("{}:{line}", self.file_name(file))
        }
    }

    /// The stored contacts among `keys`.
    pub(super) async fn lookup(
        &mut self,
        keys: Vec<String>,
    ) -> Result<HashMap<String, ContactRecord>, Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        // What is still waiting must be in the database to be found.
        self.flush(true).await?;
        self.ask(|reply| StoreOp::Lookup(keys, reply)).await
    }

    /// Hands the contacts waiting to the store, a statement's worth at a
    /// time: only full statements, or with `all` everything (before reading
    /// contacts back, and at the end).
    pub(super) async fn flush(&mut self, all: bool) -> Result<(), Error> {
        while let Some(batch) = take_batch(&mut self.inserts, all) {
            self.send(StoreOp::Insert(batch)).await?;
        }
        while let Some(batch) = take_batch(&mut self.upserts, all) {
            self.send(StoreOp::Upsert(batch)).await?;
        }
        while let Some(batch) = take_batch(&mut self.changes, all) {
            self.send(StoreOp::Changes(batch)).await?;
        }
        Ok(())
    }

    /// Hands `op` to the store.
    pub(super) async fn send(&mut self, op: StoreOp) -> Result<(), Error> {
        while self.spent.try_recv().is_ok() {}
        if self.ops.send(op).await.is_err() {
            return Err(self.store_failure().await);
        }
        Ok(())
    }

    /// Hands the store an op that answers, and waits for the answer.
    pub(super) async fn ask<T>(
        &mut self,
        op: impl FnOnce(oneshot::Sender<T>) -> StoreOp,
    ) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel();
        self.send(op(reply)).await?;
        match answer.await {
            Ok(value) => Ok(value),
            Err(_) => Err(self.store_failure().await),
        }
    }

    /// Why the store stopped before it was told to.
    pub(super) async fn store_failure(&mut self) -> Error {
        match self.store.take() {
            Some(task) => match task.await {
                Ok(Err(e)) => e,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Ok(Ok(())) | Err(_) => Error::Db(sqlx::Error::WorkerCrashed),
            },
            None => Error::Db(sqlx::Error::WorkerCrashed),
        }
    }

    pub(super) async fn finish(mut self) -> Result<ImportReport, Error> {
        self.flush(true).await?;
        let commit =
            !self.options.dry_run && (self.report.invalid == 0 || self.options.skip_invalid);
        if self.options.skip_invalid {
            self.report.skipped += self.report.invalid;
        }
        let done = (self.report.imported, self.report.updated);
        let audited = self.options.actor.clone().map(|actor| {
            // The files by name, as `--undo` takes them.
            let files: Vec<String> = self
                .report
                .files
                .iter()
                .map(|f| {
                    std::path::Path::new(&f.file)
                        .file_name()
                        .map_or_else(|| f.file.clone(), |n| n.to_string_lossy().into_owned())
                })
                .collect();
            let mut summary = format!(
                "imported {}: {} new, {} updated",
                files.join(", "),
                self.report.imported,
                self.report.updated
            );
            if self.report.skipped > 0 {
                summary.push_str(&format!(", {} skipped", self.report.skipped));
            }
            (actor, summary)
        });
        self.ask(|reply| StoreOp::Finish(commit, done, audited, reply))
            .await?;
        if let Some(task) = self.store.take() {
            task.await
                .map_err(|_| Error::Db(sqlx::Error::WorkerCrashed))??;
        }
        self.report.committed = commit;
        // Problems in file order: errors and notes interleave by line.
        let order: HashMap<String, usize> = self
            .report
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.file.clone(), i))
            .collect();
        self.report
            .problems
            .sort_by_key(|p| (order.get(&p.file).copied().unwrap_or(0), p.line));
        Ok(self.report)
    }
}

/// Where a row is, its file's index and its line, in one number: the
/// `seen` map holds one of these per address, so they are small. Beyond a
/// million files or 2^44 lines, places run together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Place(u64);

impl Place {
    pub(super) const LINE_BITS: u32 = 44;
    pub(super) const LINE_MAX: u64 = (1 << Self::LINE_BITS) - 1;
    pub(super) const FILE_MAX: usize = (1 << (64 - Self::LINE_BITS)) - 1;

    pub(super) fn new(file: usize, line: u64) -> Place {
        Place((file.min(Self::FILE_MAX) as u64) << Self::LINE_BITS | line.min(Self::LINE_MAX))
    }

    pub(super) fn file(self) -> usize {
        (self.0 >> Self::LINE_BITS) as usize
    }

    pub(super) fn line(self) -> u64 {
        self.0 & Self::LINE_MAX
    }
}

/// A 64-bit hash of an address key; the `seen` map stores only this.
pub(super) fn key_hash(key: &str) -> u64 {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// The `seen` map's keys are hashes already: use them as they are.
#[derive(Default)]
pub(super) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_keep_file_and_line() {
        let p = Place::new(3, 1_000_000_007);
        assert_eq!((p.file(), p.line()), (3, 1_000_000_007));
        assert_ne!(Place::new(0, 5), Place::new(1, 5));
    }
}
