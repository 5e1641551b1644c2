//! CSV import: reading real exports (Outlook, Google Contacts, Mailchimp,
//! media databases), mapping their columns to contact fields, validating
//! every row, and writing the result in one transaction.
//!
//! Reading ([`read_file`]) runs on a blocking thread and streams validated
//! rows in chunks to the merger ([`import`], `merger.rs`), which merges them into
//! contacts and hands them to a store that writes several hundred per
//! statement (a task on sqlx's pool; on SQLite a thread with a connection
//! of its own, see [`store::sqlite`]): parsing, merging and the database work
//! overlap, and memory stays flat on files of millions of rows (but for a
//! 16-byte note of each address seen, to find duplicates). The merger always works inside one
//! transaction and decides at the end whether to commit: never with
//! `--dry-run`, never when a row was invalid unless `--skip-invalid`. The
//! counts of a dry run are therefore exactly those of the real run.
//!
//! The files, in the order a row passes them:
//! - `reading.rs`: a file's encoding (`encoding.rs`) and delimiter, its
//!   header, its rows with their line numbers; `limits.rs` bounds both;
//! - `columns.rs`: the contact fields and the header names that map to them;
//! - `validation.rs`: one row checked into a [`record::ValidRow`];
//! - `merger.rs`: rows grouped by address and merged into contacts
//!   (`merge.rs` field by field), counted, and handed to the store;
//! - `store.rs`: the transaction and its SQL (`store/sqlite.rs` for SQLite);
//! - `report.rs`: the options and the report; `undo.rs`: `--undo`.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::Error;
use crate::db::Db;

mod columns;
mod encoding;
mod limits;
mod merge;
mod merger;
mod reading;
mod record;
mod report;
mod store;
pub mod undo;
mod validation;

pub use columns::{header_key, map_columns, ColumnMap, ColumnTarget, Field};
pub use encoding::by_label as encoding_by_label;
use merger::Merger;
use reading::{read_file, ReadEvent};
pub use report::{FileSummary, ImportOptions, ImportReport, Problem, ProblemKind};

/// Imports `paths` into `db`. Returns the report; whether it was committed
/// is in [`ImportReport::committed`]. Errors are failures to read a file or
/// a header that cannot be mapped (bad input), or database failures.
pub async fn import(
    db: &Db,
    paths: &[PathBuf],
    options: &ImportOptions,
    progress: Option<Arc<AtomicU64>>,
) -> Result<ImportReport, Error> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<ReadEvent, Error>>(8);
    let reader_paths = paths.to_vec();
    let reader_options = options.clone();
    let reader = tokio::task::spawn_blocking(move || {
        for (i, path) in reader_paths.iter().enumerate() {
            let send = |p: ReadEvent| tx.blocking_send(Ok(p)).is_ok();
            if let Err(e) = read_file(i, path, &reader_options, progress.as_deref(), send) {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
    });

    // The files' names without folders, as `contacts import --undo` takes them.
    let sources: Vec<String> = paths
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let mut writer = Merger::start(db, options, &sources.join("\n")).await?;
    let mut first_error = None;
    while let Some(msg) = rx.recv().await {
        match msg {
            Ok(ReadEvent::Rows(rows)) => writer.write(rows).await?,
            Ok(ReadEvent::Problems(problems, invalid)) => {
                writer.report.invalid += invalid;
                writer.report.rows += invalid;
                writer.report.problems.extend(problems);
            }
            Ok(ReadEvent::File(summary)) => writer.report.files.push(summary),
            Ok(ReadEvent::FileDone(i, rows)) => {
                if let Some(f) = writer.report.files.get_mut(i) {
                    f.rows = rows;
                }
            }
            Err(e) => {
                first_error = Some(e);
                break;
            }
        }
    }
    drop(rx);
    // A reader that died half-way must not let a partial import commit.
    if reader.await.is_err() && first_error.is_none() {
        first_error = Some(Error::BadInput(
            "reading the files stopped unexpectedly; nothing imported".into(),
        ));
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    writer.finish().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::import::reading::CHUNK;

    /// A row that repeats an address whose contact is still waiting to be
    /// written, in a statement not yet full: it must be written before it
    /// is read back, and the later row merged into it.
    #[tokio::test]
    async fn a_duplicate_of_a_contact_not_yet_written_is_merged() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&format!("sqlite://{}", dir.path().join("p.db").display()))
            .await
            .unwrap();
        let mut csv = String::from("Email,Name,Tags\n");
        for i in 0..CHUNK - 1 {
            csv.push_str(&format!("j{i}@bulk.example,Journalist {i},press\n"));
        }
        // The first chunk ends with a duplicate: 499 contacts wait.
        csv.push_str("j0@bulk.example,,first\n");
        csv.push_str("J1@bulk.example,Renamed,second\n");
        for i in CHUNK..CHUNK + 20 {
            csv.push_str(&format!("j{i}@bulk.example,Journalist {i},\n"));
        }
        let path = dir.path().join("bulk.csv");
        std::fs::write(&path, csv).unwrap();
        let report = import(&db, &[path], &ImportOptions::default(), None)
            .await
            .unwrap();
        assert!(report.committed);
        assert_eq!(
            (report.rows, report.imported, report.duplicates),
            (521, 519, 2)
        );
        let (n, tags) = crate::contacts::store::inspect::counts(&db).await;
        assert_eq!((n, tags), (519, 501));
        let c = crate::contacts::get(&db, "j1@bulk.example").await.unwrap();
        assert_eq!(c.name.as_deref(), Some("Renamed"));
        assert_eq!(c.tags, ["press", "second"]);
        let ids = crate::contacts::store::inspect::contact_ids(&db).await;
        assert_eq!(ids, (1..=519).map(|i| (i,)).collect::<Vec<_>>());
        db.close().await;
    }
}
