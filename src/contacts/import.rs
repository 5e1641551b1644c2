//! CSV import: reading real exports (Outlook, Google Contacts, Mailchimp,
//! media databases), mapping their columns to contact fields, validating
//! every row, and writing the result in one transaction.
//!
//! Reading ([`read_file`]) runs on a blocking thread and streams validated
//! rows in chunks to the writer ([`import`]), which merges them into
//! contacts and hands them to a store that writes several hundred per
//! statement (a task on sqlx's pool; on SQLite a thread with a connection
//! of its own, see [`sqlite`]): parsing, merging and the database work
//! overlap, and memory stays flat on files of millions of rows (but for a
//! 16-byte note of each address seen, to find duplicates). The writer always works inside one
//! transaction and decides at the end whether to commit: never with
//! `--dry-run`, never when a row was invalid unless `--skip-invalid`. The
//! counts of a dry run are therefore exactly those of the real run.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use encoding_rs::Encoding;
use rustc_hash::FxHashMap;
use serde::Serialize;
use sqlx::Row;
use tokio::sync::oneshot;

use super::email::{self, forgotten_hash, Address};
use super::fields::{normalise_country, normalise_language, normalise_tag, split_tags, Status};
use super::Error;
use crate::db::{now_ms, Db, TAG_SEPARATOR};
use crate::spreadsheet::restore;

mod encoding;
mod limits;
mod merge;
mod sqlite;
pub mod undo;

pub use encoding::by_label as encoding_by_label;
use limits::{column_name, shorten, MAX_COLUMNS};

/// A contact field a CSV column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Email,
    Name,
    FirstName,
    LastName,
    Outlet,
    Role,
    Beat,
    Country,
    Language,
    Phone,
    Notes,
    Tags,
    Status,
    Source,
}

/// The text fields stored as they are (after trimming), in column order.
const TEXT_FIELDS: [Field; 11] = [
    Field::Name,
    Field::FirstName,
    Field::LastName,
    Field::Outlet,
    Field::Role,
    Field::Beat,
    Field::Country,
    Field::Language,
    Field::Phone,
    Field::Notes,
    Field::Source,
];

/// Where `field` is in [`TEXT_FIELDS`], if it is one.
fn text_slot(field: Field) -> Option<usize> {
    TEXT_FIELDS.iter().position(|f| *f == field)
}

impl Field {
    pub const ALL: [Field; 14] = [
        Field::Email,
        Field::Name,
        Field::FirstName,
        Field::LastName,
        Field::Outlet,
        Field::Role,
        Field::Beat,
        Field::Country,
        Field::Language,
        Field::Phone,
        Field::Notes,
        Field::Tags,
        Field::Status,
        Field::Source,
    ];

    /// The field's name in `--map`, exports and the database.
    pub fn name(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::Name => "name",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Outlet => "outlet",
            Field::Role => "role",
            Field::Beat => "beat",
            Field::Country => "country",
            Field::Language => "language",
            Field::Phone => "phone",
            Field::Notes => "notes",
            Field::Tags => "tags",
            Field::Status => "status",
            Field::Source => "source",
        }
    }

    /// Header names of real exports that hold this field, normalised by
    /// [`header_key`], best first: when several are present the first one
    /// listed fills the field and the others are kept as extra columns.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Email => &[
                "email",
                "emailaddress", // Outlook "E-mail Address", Mailchimp "Email Address"
                "email1value",  // Google "E-mail 1 - Value"
                "email1",
                "emailaddress1",
                "workemail",
                "businessemail",
                "primaryemail",
                "contactemail",
                "journalistemail",
                "mail",
            ],
            Field::Name => &[
                "name",
                "fullname",
                "displayname",
                "contactname",
                "journalistname",
                "journalist",
                "contact",
            ],
            Field::FirstName => &["firstname", "givenname", "forename", "fname", "first"],
            Field::LastName => &["lastname", "familyname", "surname", "lname", "last"],
            Field::Outlet => &[
                "outlet",
                "outletname",
                "mediaoutlet",
                "publication",
                "publicationname",
                "media",
                "newsroom",
                "organizationname",  // Google (2023 format)
                "organization1name", // Google (older format)
                "company",           // Outlook
                "companyname",
                "organization",
                "organisation",
                "employer",
            ],
            Field::Role => &[
                "role",
                "jobtitle", // Outlook
                "position",
                "organizationtitle",  // Google (2023 format)
                "organization1title", // Google (older format)
                "designation",
                "title", // media databases; Outlook's "Title" is Mr/Ms and loses to "Job Title"
            ],
            Field::Beat => &[
                "beat",
                "beats",
                "topics",
                "topic",
                "coverage",
                "desk",
                "section",
                "subjects",
                "department", // Outlook: a newsroom department is the beat
            ],
            Field::Country => &[
                "country",
                "countrycode",
                "countryregion",         // Outlook "Country/Region"
                "businesscountryregion", // Outlook
                "homecountryregion",
                "address1country", // Google
                "cc",              // Mailchimp's country code
                "nation",
            ],
            Field::Language => &[
                "language",
                "languages",
                "lang",
                "preferredlanguage",
                "locale",
            ],
            Field::Phone => &[
                "phone",
                "phonenumber",
                "businessphone", // Outlook
                "phone1value",   // Google
                "workphone",
                "telephone",
                "tel",
                "mobilephone",
                "mobile",
                "primaryphone",
            ],
            Field::Notes => &["notes", "note", "comments", "comment", "remarks"],
            Field::Tags => &[
                "tags",            // Mailchimp "TAGS"
                "labels",          // Google (2023 format)
                "groupmembership", // Google (older format)
                "categories",      // Outlook
                "tag",
                "category",
                "lists",
                "groups",
                "segments",
            ],
            Field::Status => &["status", "subscriptionstatus", "memberstatus"],
            Field::Source => &["source"],
        }
    }

    /// Whether a value of this field must fit on one line (it may end up in
    /// a mail header, where a line break would let it add headers).
    fn single_line(self) -> bool {
        !matches!(self, Field::Notes | Field::Tags)
    }
}

impl FromStr for Field {
    type Err = String;
    fn from_str(s: &str) -> Result<Field, String> {
        let key = header_key(s);
        Field::ALL
            .into_iter()
            .find(|f| header_key(f.name()) == key)
            .ok_or_else(|| {
                let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "{s:?} is not a contact field; use one of {}, extra or ignore",
                    names.join(", ")
                )
            })
    }
}

/// What a column turns into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", untagged)]
pub enum Target {
    Field(Field),
    /// Kept under its own name in the contact's `extra` data.
    #[serde(serialize_with = "ser_extra")]
    Extra,
    /// Left out, because `--map "Column=ignore"` said so.
    #[serde(serialize_with = "ser_ignore")]
    Ignore,
}

fn ser_extra<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("extra")
}
fn ser_ignore<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("ignore")
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Field(x) => f.write_str(x.name()),
            Target::Extra => f.write_str("extra"),
            Target::Ignore => f.write_str("ignore"),
        }
    }
}

/// One `--map "Column=field"` override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    pub column: String,
    pub target: Target,
}

impl FromStr for ColumnMap {
    type Err = String;
    fn from_str(s: &str) -> Result<ColumnMap, String> {
        let (column, field) = s.rsplit_once('=').ok_or_else(|| {
            format!("--map {s:?}: write it as \"Column name=field\", e.g. --map \"Mail=email\"")
        })?;
        let target = match header_key(field).as_str() {
            "extra" | "keep" => Target::Extra,
            "ignore" | "skip" | "none" => Target::Ignore,
            _ => Target::Field(field.parse().map_err(|e| format!("--map {s:?}: {e}"))?),
        };
        Ok(ColumnMap {
            column: column.trim().to_string(),
            target,
        })
    }
}

/// A header reduced to lower-case letters and digits: "E-mail Address",
/// "e_mail address" and "EMAIL ADDRESS" all become "emailaddress".
pub fn header_key(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Assigns each column of a header row its target: `--map` first, then the
/// best alias per field, everything else kept as extra.
pub fn map_columns(headers: &[String], overrides: &[ColumnMap]) -> Result<Vec<Target>, String> {
    let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
    let mut targets: Vec<Option<Target>> = vec![None; headers.len()];
    for m in overrides {
        let key = header_key(&m.column);
        let Some(i) = keys.iter().position(|k| *k == key) else {
            return Err(format!(
                "--map {:?}: the file has no such column (its columns are {})",
                m.column,
                quoted_list(headers)
            ));
        };
        targets[i] = Some(m.target);
    }
    let taken: Vec<Field> = targets
        .iter()
        .filter_map(|t| match t {
            Some(Target::Field(f)) => Some(*f),
            _ => None,
        })
        .collect();
    for field in Field::ALL {
        if taken.contains(&field) {
            continue;
        }
        let best = field.aliases().iter().find_map(|alias| {
            keys.iter()
                .enumerate()
                .find(|(i, k)| targets[*i].is_none() && k == alias)
                .map(|(i, _)| i)
        });
        if let Some(i) = best {
            targets[i] = Some(Target::Field(field));
        }
    }
    Ok(targets
        .into_iter()
        .map(|t| t.unwrap_or(Target::Extra))
        .collect())
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|h| format!("{h:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the press officer asked of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Tags added to every imported contact (`--tag`).
    pub tags: Vec<String>,
    /// Column overrides (`--map`).
    pub maps: Vec<ColumnMap>,
    /// Report only; write nothing.
    pub dry_run: bool,
    /// Leave contacts that already exist as they are.
    pub skip_existing: bool,
    /// Import the valid rows even when others are invalid.
    pub skip_invalid: bool,
    /// The files' encoding (`--encoding`), unless a byte-order mark says.
    pub encoding: Option<&'static Encoding>,
}

/// What kind of remark a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The row is invalid: without `--skip-invalid` nothing is imported.
    Error,
    /// The row is valid but something in it was changed or left out.
    Warning,
    /// The row repeats an address seen before in the import; merged.
    Duplicate,
    /// The row was deliberately not imported (e.g. a forgotten address).
    Skipped,
}

/// One remark about one row (or the header) of an imported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    pub line: u64,
    pub column: Option<String>,
    pub kind: ProblemKind,
    pub message: String,
}

impl fmt::Display for Problem {
    /// `contacts.csv:14: column "Email": "jane@" is not an e-mail address`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(c) = &self.column {
            write!(f, "column {c:?}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// How one file was read.
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub file: String,
    pub encoding: String,
    pub delimiter: String,
    pub rows: u64,
    /// Each column and what it was mapped to.
    pub columns: Vec<(String, Target)>,
}

/// The outcome of an import: counts, per-file details and every problem.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub files: Vec<FileSummary>,
    /// Data rows read (header excluded).
    pub rows: u64,
    /// New contacts.
    pub imported: u64,
    /// Existing contacts that changed.
    pub updated: u64,
    /// Existing contacts the file did not change.
    pub unchanged: u64,
    /// Rows not imported on purpose (`--skip-existing`, forgotten addresses,
    /// invalid rows with `--skip-invalid`).
    pub skipped: u64,
    /// Rows that repeat an address earlier in the import, merged into it.
    pub duplicates: u64,
    /// Rows with an error.
    pub invalid: u64,
    pub dry_run: bool,
    /// Whether invalid rows were to be skipped (`--skip-invalid`).
    pub skip_invalid: bool,
    /// Whether the changes were written.
    pub committed: bool,
    pub problems: Vec<Problem>,
}

impl ImportReport {
    /// Rows that are valid (would be imported, merged, or left unchanged).
    pub fn valid_rows(&self) -> u64 {
        self.rows - self.invalid
    }

    /// Whether the import stopped because of invalid rows.
    /// Whether the import was (or, in a dry run, would be) refused
    /// because of invalid rows.
    pub fn refused(&self) -> bool {
        self.invalid > 0 && !self.skip_invalid
    }
}

/// A validated row on its way to the database.
#[derive(Debug, Clone)]
struct Incoming {
    file: usize,
    line: u64,
    address: Address,
    /// The row's text fields, its file's name as the `source` unless a
    /// column gives one.
    values: FieldValues,
    tags: BTreeSet<String>,
    status: Option<Status>,
    extra: BTreeMap<String, String>,
}

/// What the reading thread sends to the writer.
enum Parsed {
    Rows(Vec<Incoming>),
    Problems(Vec<Problem>, u64),
    File(FileSummary),
    /// A file was read to its end, with this many data rows.
    FileDone(usize, u64),
}

const CHUNK: usize = 500;

/// Imports `paths` into `db`. Returns the report; whether it was committed
/// is in [`ImportReport::committed`]. Errors are failures to read a file or
/// a header that cannot be mapped (bad input), or database failures.
pub async fn import(
    db: &Db,
    paths: &[PathBuf],
    options: &ImportOptions,
    progress: Option<Arc<AtomicU64>>,
) -> Result<ImportReport, Error> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Parsed, Error>>(8);
    let reader_paths = paths.to_vec();
    let reader_options = options.clone();
    let reader = tokio::task::spawn_blocking(move || {
        for (i, path) in reader_paths.iter().enumerate() {
            let send = |p: Parsed| tx.blocking_send(Ok(p)).is_ok();
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
    let mut writer = Writer::start(db, options, &sources.join("\n")).await?;
    let mut first_error = None;
    while let Some(msg) = rx.recv().await {
        match msg {
            Ok(Parsed::Rows(rows)) => writer.write(rows).await?,
            Ok(Parsed::Problems(problems, invalid)) => {
                writer.report.invalid += invalid;
                writer.report.rows += invalid;
                writer.report.problems.extend(problems);
            }
            Ok(Parsed::File(summary)) => writer.report.files.push(summary),
            Ok(Parsed::FileDone(i, rows)) => {
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

/// The bookkeeping side of an import: counts, problems, merging rows into
/// contacts. Its [`Store`] does the database work.
struct Writer<'a> {
    options: &'a ImportOptions,
    report: ImportReport,
    /// Every address key seen in this import (hashed, to keep memory flat),
    /// with where it was first seen.
    seen: HashMap<u64, Place, BuildHasherDefault<IdentityHasher>>,
    /// Hashes of forgotten addresses.
    forgotten: HashSet<String>,
    /// Contacts with a larger id were created by this import.
    max_id_before: i64,
    /// The id the next new contact gets, when this backend lets the
    /// transaction number its rows ([`Db::transaction_numbers_rows`]).
    next_id: Option<i64>,
    /// New contacts, numbered already, waiting to be written.
    inserts: Vec<Stored>,
    /// Contacts waiting to be written with an upsert: changed ones, and
    /// new ones when the database numbers them.
    upserts: Vec<Stored>,
    /// Previous values of existing contacts this import changed, waiting
    /// to be written to `import_changes` (for `--undo`).
    changes: Vec<(i64, String)>,
    /// The contacts whose previous values are recorded already.
    recorded: HashSet<i64>,
    /// Where the work for the store goes, in order.
    ops: tokio::sync::mpsc::Sender<Op>,
    /// Contacts the store has written, handed back to be freed here: the
    /// store's thread is the import's busiest.
    spent: tokio::sync::mpsc::UnboundedReceiver<Vec<Stored>>,
    /// The store's task, until it is awaited.
    store: Option<tokio::task::JoinHandle<Result<(), Error>>>,
}

/// A contact's text fields ([`TEXT_FIELDS`]) in one allocation: the
/// values end to end, and where each ends. An empty value is no value (an
/// import never stores an empty text). A million rows of a dozen small
/// texts each, as maps built, merged and freed per row, cost the import as
/// much CPU as reading the CSV.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct FieldValues {
    text: String,
    ends: [usize; TEXT_FIELDS.len()],
}

impl FieldValues {
    /// The values of [`TEXT_FIELDS`], in that order.
    fn pack<'v>(values: impl IntoIterator<Item = Option<&'v str>> + Clone) -> FieldValues {
        let len = values.clone().into_iter().flatten().map(str::len).sum();
        let mut packed = FieldValues {
            text: String::with_capacity(len),
            ends: [0; TEXT_FIELDS.len()],
        };
        for (end, value) in packed.ends.iter_mut().zip(values) {
            packed.text.push_str(value.unwrap_or(""));
            *end = packed.text.len();
        }
        packed
    }

    /// The value of the `i`th of [`TEXT_FIELDS`].
    fn at(&self, i: usize) -> Option<&str> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let value = &self.text[start..self.ends[i]];
        (!value.is_empty()).then_some(value)
    }

    /// The values in the order of [`TEXT_FIELDS`].
    fn iter(&self) -> impl Iterator<Item = Option<&str>> + Clone {
        (0..TEXT_FIELDS.len()).map(|i| self.at(i))
    }
}

/// The contact as stored, for comparing and merging.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    id: Option<i64>,
    email: String,
    key: String,
    values: FieldValues,
    tags: BTreeSet<String>,
    status: Status,
    extra: BTreeMap<String, String>,
    /// When a stored contact last changed (0 for a new one): an undo
    /// gives it back.
    updated_at: i64,
}

impl Stored {
    /// A stored contact from a row of [`Statements::lookup`]: its id, and
    /// `text` reading a text column by name.
    fn from_columns<E>(
        id: i64,
        updated_at: i64,
        text: impl Fn(&str) -> Result<Option<String>, E>,
    ) -> Result<Stored, E> {
        let mut values = Vec::with_capacity(TEXT_FIELDS.len());
        for field in TEXT_FIELDS {
            values.push(text(field.name())?);
        }
        let values = FieldValues::pack(values.iter().map(Option::as_deref));
        let extra = text("extra")?.unwrap_or_default();
        Ok(Stored {
            id: Some(id),
            email: text("email")?.unwrap_or_default(),
            key: text("email_key")?.unwrap_or_default(),
            values,
            tags: text("tags")?
                .map(|t| t.split(TAG_SEPARATOR).map(str::to_string).collect())
                .unwrap_or_default(),
            status: text("status")?
                .and_then(|s| s.parse().ok())
                .unwrap_or_default(),
            extra: serde_json::from_str(&extra).unwrap_or_default(),
            updated_at,
        })
    }

    /// The contact's extra data as stored: a JSON object.
    fn extra_json(&self) -> Cow<'static, str> {
        if self.extra.is_empty() {
            return Cow::Borrowed("{}");
        }
        Cow::Owned(serde_json::to_string(&self.extra).unwrap_or_else(|_| "{}".into()))
    }

    /// The values of [`Statements::columns`], in their order, with `extra`
    /// (from [`Stored::extra_json`]) and the time of the import.
    fn column_values<'c>(&'c self, extra: &'c str, now: i64) -> [Value<'c>; Statements::COLUMNS] {
        let mut values = [Value::Int(now); Statements::COLUMNS];
        values[0] = Value::Text(Some(&self.email));
        values[1] = Value::Text(Some(&self.key));
        // The domain: what follows the last @ of the normalised address.
        let domain = self.email.rsplit_once('@').map_or("", |(_, d)| d);
        values[2] = Value::Text(Some(domain));
        for (i, value) in self.values.iter().enumerate() {
            values[3 + i] = Value::Text(value);
        }
        values[3 + TEXT_FIELDS.len()] = Value::Text(Some(extra));
        values[4 + TEXT_FIELDS.len()] = Value::Text(Some(self.status.as_str()));
        // created_at and updated_at: `now`.
        values
    }

    /// A new contact from its first row, whose address has this `key`.
    fn new(row: Incoming, key: String) -> Stored {
        Stored {
            id: None,
            email: row.address.into_string(),
            key,
            values: row.values,
            tags: row.tags,
            status: row.status.unwrap_or_default(),
            extra: row.extra,
            updated_at: 0,
        }
    }
}

impl<'a> Writer<'a> {
    async fn start(
        db: &'a Db,
        options: &'a ImportOptions,
        sources: &str,
    ) -> Result<Writer<'a>, Error> {
        // The import's time: every contact it writes gets it as updated_at
        // (and new ones as created_at), which is how an undo recognises them.
        let now = now_ms();
        // A few statements' worth ahead of the database, no more.
        let (ops, queue) = tokio::sync::mpsc::channel(4);
        let statements = Statements {
            db: db.clone(),
            sql: HashMap::new(),
        };
        let numbered = db.transaction_numbers_rows();
        let (spent_tx, spent) = tokio::sync::mpsc::unbounded_channel();
        let (forgotten, max_id, store) = match db.bulk_connection() {
            // SQLite: the store is a thread of its own with its own connection.
            Some(conn) => {
                let conn = conn?;
                let sources = sources.to_string();
                let begin = move || sqlite::Store::begin(conn, statements, now, &sources, spent_tx);
                let (store, forgotten, max_id) = tokio::task::spawn_blocking(begin)
                    .await
                    .map_err(|_| Error::Db(sqlx::Error::WorkerCrashed))??;
                let task = tokio::task::spawn_blocking(move || store.run(queue));
                (forgotten, max_id, task)
            }
            None => {
                let mut tx = db.begin_write().await?;
                db.large_cache(&mut tx).await?;
                let forgotten: Vec<(String,)> =
                    sqlx::query_as(FORGOTTEN_SQL).fetch_all(&mut *tx).await?;
                let (max_id,): (Option<i64>,) =
                    sqlx::query_as(MAX_ID_SQL).fetch_one(&mut *tx).await?;
                let first = max_id.unwrap_or(0) + 1;
                let (import_id,): (i64,) = sqlx::query_as(IMPORT_SQL)
                    .bind(sources)
                    .bind(first)
                    .bind(first - 1)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                let store = Store {
                    tx,
                    statements,
                    numbered,
                    now,
                    import_id,
                    tags: Vec::new(),
                };
                let forgotten: Vec<String> = forgotten.into_iter().map(|(h,)| h).collect();
                (forgotten, max_id, tokio::spawn(store.run(queue)))
            }
        };
        Ok(Writer {
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

    fn problem(&mut self, file: usize, line: u64, kind: ProblemKind, message: String) {
        self.problem_in(file, line, None, kind, message);
    }

    fn problem_in(
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
    fn column_of(&self, file: usize, field: Field) -> Option<String> {
        let f = self.report.files.get(file)?;
        let (name, _) = f.columns.iter().find(|(_, t)| *t == Target::Field(field))?;
        Some(column_name(name).into_owned())
    }

    fn file_name(&self, file: usize) -> String {
        self.report
            .files
            .get(file)
            .map(|f| f.file.clone())
            .unwrap_or_default()
    }

    async fn write(&mut self, rows: Vec<Incoming>) -> Result<(), Error> {
        self.report.rows += rows.len() as u64;
        // 1. Forgotten addresses stay forgotten.
        // Each address with its first row and the chunk's later rows for it.
        let mut by_key: Vec<(String, u64, Incoming, Vec<Incoming>)> =
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
                    (Stored::new(first_row, key), duplicates)
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
    fn merge_row(&mut self, contact: &mut Stored, row: Incoming, first_seen: Place) -> bool {
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
    fn place(&self, place: Place, from_file: usize) -> String {
        let (file, line) = (place.file(), place.line());
        if file == from_file {
            format!("line {line}")
        } else {
            format!("{}:{line}", self.file_name(file))
        }
    }

    /// The stored contacts among `keys`.
    async fn lookup(&mut self, keys: Vec<String>) -> Result<HashMap<String, Stored>, Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        // What is still waiting must be in the database to be found.
        self.flush(true).await?;
        self.ask(|reply| Op::Lookup(keys, reply)).await
    }

    /// Hands the contacts waiting to the store, a statement's worth at a
    /// time: only full statements, or with `all` everything (before reading
    /// contacts back, and at the end).
    async fn flush(&mut self, all: bool) -> Result<(), Error> {
        while let Some(batch) = take_batch(&mut self.inserts, all) {
            self.send(Op::Insert(batch)).await?;
        }
        while let Some(batch) = take_batch(&mut self.upserts, all) {
            self.send(Op::Upsert(batch)).await?;
        }
        while let Some(batch) = take_batch(&mut self.changes, all) {
            self.send(Op::Changes(batch)).await?;
        }
        Ok(())
    }

    /// Hands `op` to the store.
    async fn send(&mut self, op: Op) -> Result<(), Error> {
        while self.spent.try_recv().is_ok() {}
        if self.ops.send(op).await.is_err() {
            return Err(self.store_failure().await);
        }
        Ok(())
    }

    /// Hands the store an op that answers, and waits for the answer.
    async fn ask<T>(&mut self, op: impl FnOnce(oneshot::Sender<T>) -> Op) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel();
        self.send(op(reply)).await?;
        match answer.await {
            Ok(value) => Ok(value),
            Err(_) => Err(self.store_failure().await),
        }
    }

    /// Why the store stopped before it was told to.
    async fn store_failure(&mut self) -> Error {
        match self.store.take() {
            Some(task) => match task.await {
                Ok(Err(e)) => e,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Ok(Ok(())) | Err(_) => Error::Db(sqlx::Error::WorkerCrashed),
            },
            None => Error::Db(sqlx::Error::WorkerCrashed),
        }
    }

    async fn finish(mut self) -> Result<ImportReport, Error> {
        self.flush(true).await?;
        let commit =
            !self.options.dry_run && (self.report.invalid == 0 || self.options.skip_invalid);
        if self.options.skip_invalid {
            self.report.skipped += self.report.invalid;
        }
        let done = (self.report.imported, self.report.updated);
        self.ask(|reply| Op::Finish(commit, done, reply)).await?;
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

/// What a [`Writer`] asks of its [`Store`], in order.
enum Op {
    /// New contacts, numbered already: one statement's worth.
    Insert(Vec<Stored>),
    /// New or changed contacts: one statement's worth.
    Upsert(Vec<Stored>),
    /// The stored contacts among these address keys.
    Lookup(Vec<String>, oneshot::Sender<HashMap<String, Stored>>),
    /// Previous values of changed contacts (id, JSON), for `--undo`.
    Changes(Vec<(i64, String)>),
    /// Commit (true) or roll back, and stop; with the numbers of contacts
    /// created and updated, for the import's record.
    Finish(bool, (u64, u64), oneshot::Sender<()>),
}

/// The SQL that records an import (for `--undo`) as it begins: the ids of
/// the contacts it creates start after the largest one.
const IMPORT_SQL: &str =
    "INSERT INTO imports (sources, first_contact_id, last_contact_id, imported_at) \
     VALUES ($1, $2, $3, $4) RETURNING id";

/// The SQL that completes an import's record before it commits: the last
/// id it created and its counts.
const IMPORT_DONE_SQL: &str = "UPDATE imports SET \
     last_contact_id = (SELECT COALESCE(max(id), 0) FROM contacts), created = $1, updated = $2 \
     WHERE id = $3";

/// The SQL that drops the record of an import that changed nothing: there
/// is nothing to undo, and `--undo FILE` should find the import that did.
const IMPORT_EMPTY_SQL: &str = "DELETE FROM imports WHERE id = $1";

/// The SQL that reads the hashes of forgotten addresses, so they are not
/// imported again.
const FORGOTTEN_SQL: &str = "SELECT value FROM suppressions WHERE kind = 'forgotten'";

/// The SQL that reads the largest contact id: ids above it are contacts
/// the import creates.
const MAX_ID_SQL: &str = "SELECT max(id) FROM contacts";

/// The database side of an import: one transaction, multi-row statements.
/// It runs as a task of its own, so that the database writes one chunk
/// while the writer merges the next.
struct Store {
    tx: crate::db::WriteTx<'static>,
    statements: Statements,
    /// Whether new contacts come numbered ([`Db::transaction_numbers_rows`]).
    numbered: bool,
    now: i64,
    /// This import's row in `imports`.
    import_id: i64,
    /// Tags of written contacts waiting to be written.
    tags: Vec<(i64, String)>,
}

impl Store {
    /// Works through `ops` until told to finish. On an error it stops,
    /// and the transaction rolls back as it is dropped.
    async fn run(mut self, mut ops: tokio::sync::mpsc::Receiver<Op>) -> Result<(), Error> {
        while let Some(op) = ops.recv().await {
            match op {
                Op::Insert(batch) => self.insert(batch).await?,
                Op::Upsert(batch) => self.upsert(batch).await?,
                Op::Lookup(keys, reply) => {
                    let found = self.lookup(keys).await?;
                    let _ = reply.send(found);
                }
                Op::Changes(batch) => {
                    let sql = self.statements.changes(batch.len());
                    let mut query = sqlx::query(sql);
                    for (id, previous) in &batch {
                        query = query.bind(self.import_id).bind(*id).bind(previous.as_str());
                    }
                    query.execute(&mut *self.tx).await?;
                }
                Op::Finish(commit, (created, updated), reply) => {
                    self.write_tags(true).await?;
                    if commit {
                        let query = if created + updated == 0 {
                            sqlx::query(IMPORT_EMPTY_SQL).bind(self.import_id)
                        } else {
                            sqlx::query(IMPORT_DONE_SQL)
                                .bind(created as i64)
                                .bind(updated as i64)
                                .bind(self.import_id)
                        };
                        query.execute(&mut *self.tx).await?;
                        self.tx.commit().await?;
                    } else {
                        self.tx.rollback().await?;
                    }
                    let _ = reply.send(());
                    return Ok(());
                }
            }
        }
        // The writer gave up.
        Ok(())
    }

    /// The stored contacts among `keys`.
    async fn lookup(&mut self, mut keys: Vec<String>) -> Result<HashMap<String, Stored>, Error> {
        let mut found = HashMap::new();
        // What is still waiting must be in the database to be found.
        self.write_tags(true).await?;
        while let Some(batch) = take_batch(&mut keys, true) {
            let sql = self.statements.lookup(batch.len());
            let mut query = sqlx::query(sql);
            for key in &batch {
                query = query.bind(key.as_str());
            }
            for r in query.fetch_all(&mut *self.tx).await? {
                let c = Stored::from_columns(r.try_get("id")?, r.try_get("updated_at")?, |name| {
                    r.try_get(name)
                })?;
                found.insert(c.key.clone(), c);
            }
        }
        Ok(found)
    }

    /// Writes new contacts, numbered already.
    async fn insert(&mut self, batch: Vec<Stored>) -> Result<(), Error> {
        let extras = extra_json(&batch);
        let sql = self.statements.insert(batch.len());
        bind_contacts(sqlx::query(sql), &batch, &extras, true, self.now)
            .execute(&mut *self.tx)
            .await?;
        self.queue_tags(batch);
        self.write_tags(false).await
    }

    /// Writes new and changed contacts; new ones get their ids here unless
    /// they are numbered already.
    async fn upsert(&mut self, mut batch: Vec<Stored>) -> Result<(), Error> {
        let extras = extra_json(&batch);
        let sql = self.statements.upsert(self.numbered, batch.len());
        let query = bind_contacts(sqlx::query(sql), &batch, &extras, self.numbered, self.now);
        if self.numbered {
            query.execute(&mut *self.tx).await?;
        } else {
            let mut ids = HashMap::new();
            for row in query.fetch_all(&mut *self.tx).await? {
                let key: String = row.try_get("email_key")?;
                ids.insert(key, row.try_get::<i64, _>("id")?);
            }
            for c in &mut batch {
                c.id = ids.get(&c.key).copied();
            }
        }
        self.queue_tags(batch);
        self.write_tags(false).await
    }

    /// Writes the tags waiting: only full statements, or with `all` all of them.
    async fn write_tags(&mut self, all: bool) -> Result<(), Error> {
        while let Some(batch) = take_batch(&mut self.tags, all) {
            let sql = self.statements.tags(batch.len());
            let mut query = sqlx::query(sql);
            for (id, tag) in &batch {
                query = query.bind(*id).bind(tag.as_str());
            }
            query.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Puts the tags of written contacts in line to be written.
    fn queue_tags(&mut self, contacts: Vec<Stored>) {
        for c in contacts {
            if let Some(id) = c.id {
                self.tags.extend(c.tags.into_iter().map(|t| (id, t)));
            }
        }
    }
}

/// Rows per multi-row statement when there are enough of them.
const STATEMENT_ROWS: usize = 500;

/// The next statement's worth of `pending`: [`STATEMENT_ROWS`] of them, or
/// with `all` also fewer, as many as the largest power of two allows. So
/// there are only a few SQL texts, each prepared once and then reused from
/// sqlx's statement cache.
fn take_batch<T>(pending: &mut Vec<T>, all: bool) -> Option<Vec<T>> {
    let size = match pending.len() {
        n if n >= STATEMENT_ROWS => STATEMENT_ROWS,
        0 => return None,
        n if all => 1 << n.ilog2(),
        _ => return None,
    };
    let rest = pending.split_off(size);
    Some(std::mem::replace(pending, rest))
}

/// The contacts' extra data as stored: a JSON object.
fn extra_json(contacts: &[Stored]) -> Vec<Cow<'static, str>> {
    contacts.iter().map(Stored::extra_json).collect()
}

/// One value a contact's row binds.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Text(Option<&'a str>),
    Int(i64),
}

/// Binds the values of [`Statements::insert`] and [`Statements::upsert`].
/// Borrowed text is copied once, when sqlx hands it to its SQLite thread;
/// owned text would be copied as it is bound, too.
fn bind_contacts<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    contacts: &'q [Stored],
    extras: &'q [Cow<'static, str>],
    with_id: bool,
    now: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for (c, extra) in contacts.iter().zip(extras) {
        if with_id {
            query = query.bind(c.id);
        }
        for value in c.column_values(extra, now) {
            query = match value {
                Value::Text(t) => query.bind(t),
                Value::Int(i) => query.bind(i),
            };
        }
    }
    query
}

/// The kinds of an import's multi-row statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Statement {
    Insert,
    Upsert { numbered: bool },
    Tags,
    Lookup,
    Changes,
}

/// The SQL of an import's multi-row statements, by kind and number of rows.
struct Statements {
    db: Db,
    sql: HashMap<(Statement, usize), String>,
}

impl Statements {
    /// The columns of a contact that an import writes, after its id
    /// ([`Stored::column_values`] gives their values).
    fn columns() -> String {
        format!(
            "email, email_key, domain, {}, extra, status, created_at, updated_at",
            TEXT_FIELDS.map(Field::name).join(", ")
        )
    }

    /// How many values [`bind_contacts`] binds per contact, without the id.
    const COLUMNS: usize = 3 + TEXT_FIELDS.len() + 4;

    fn get(&mut self, kind: Statement, rows: usize) -> &str {
        let db = &self.db;
        self.sql.entry((kind, rows)).or_insert_with(|| match kind {
            // New contacts, numbered already by this transaction.
            Statement::Insert => format!(
                "{} INTO contacts (id, {}) VALUES {}",
                db.insert_new_rows(),
                Self::columns(),
                db.values_list(rows, 1 + Self::COLUMNS)
            ),
            // Insert new contacts and overwrite changed ones (already merged
            // in Rust); `source` and `created_at` keep their first values.
            // Unless the rows bring their ids, the database numbers new
            // contacts and returns the ids.
            Statement::Upsert { numbered } => {
                let updates: Vec<String> = TEXT_FIELDS
                    .iter()
                    .map(|f| f.name())
                    .filter(|n| *n != "source")
                    .map(|n| format!("{n} = excluded.{n}"))
                    .collect();
                let (id, returning) = if numbered {
                    ("id, ", "")
                } else {
                    ("", " RETURNING id, email_key")
                };
                format!(
                    "INSERT INTO contacts ({id}{}) VALUES {} \
                     ON CONFLICT (email_key) DO UPDATE SET {}, extra = excluded.extra, \
                         status = excluded.status, updated_at = excluded.updated_at{returning}",
                    Self::columns(),
                    db.values_list(rows, usize::from(numbered) + Self::COLUMNS),
                    updates.join(", ")
                )
            }
            // Tags of imported contacts; tags they had already stay.
            Statement::Tags => format!(
                "INSERT INTO contact_tags (contact_id, tag) VALUES {} ON CONFLICT DO NOTHING",
                db.values_list(rows, 2)
            ),
            // Previous values of contacts the import changed, for `--undo`.
            Statement::Changes => format!(
                "INSERT INTO import_changes (import_id, contact_id, previous) VALUES {} \
                 ON CONFLICT DO NOTHING",
                db.values_list(rows, 3)
            ),
            // The contacts an import chunk touches, with their tags, to merge into.
            Statement::Lookup => format!(
                "SELECT id, email, email_key, domain, {}, extra, status, updated_at, {} AS tags \
                 FROM contacts c WHERE email_key IN {}",
                TEXT_FIELDS.map(Field::name).join(", "),
                db.tags_of_contact_sql(),
                db.values_list(1, rows)
            ),
        })
    }

    fn insert(&mut self, rows: usize) -> &str {
        self.get(Statement::Insert, rows)
    }

    fn upsert(&mut self, numbered: bool, rows: usize) -> &str {
        self.get(Statement::Upsert { numbered }, rows)
    }

    fn tags(&mut self, rows: usize) -> &str {
        self.get(Statement::Tags, rows)
    }

    fn lookup(&mut self, rows: usize) -> &str {
        self.get(Statement::Lookup, rows)
    }

    fn changes(&mut self, rows: usize) -> &str {
        self.get(Statement::Changes, rows)
    }
}

/// Where a row is, its file's index and its line, in one number: the
/// `seen` map holds one of these per address, so they are small. Beyond a
/// million files or 2^44 lines, places run together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place(u64);

impl Place {
    const LINE_BITS: u32 = 44;
    const LINE_MAX: u64 = (1 << Self::LINE_BITS) - 1;
    const FILE_MAX: usize = (1 << (64 - Self::LINE_BITS)) - 1;

    fn new(file: usize, line: u64) -> Place {
        Place((file.min(Self::FILE_MAX) as u64) << Self::LINE_BITS | line.min(Self::LINE_MAX))
    }

    fn file(self) -> usize {
        (self.0 >> Self::LINE_BITS) as usize
    }

    fn line(self) -> u64 {
        self.0 & Self::LINE_MAX
    }
}

/// A 64-bit hash of an address key; the `seen` map stores only this.
fn key_hash(key: &str) -> u64 {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// The `seen` map's keys are hashes already: use them as they are.
#[derive(Default)]
struct IdentityHasher(u64);

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

/// Counts the bytes read from a file, for the progress bar.
struct Counting<'a, R> {
    inner: R,
    count: Option<&'a AtomicU64>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(c) = self.count {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// The line breaks (start and end byte) a [`LineBreaks`] has read and a
/// [`LineNumbers`] has not yet counted.
type Breaks = Rc<RefCell<VecDeque<(u64, u64)>>>;

/// Notes every line break (LF, CRLF or a lone CR) read through it. The csv
/// crate's own line numbers are wrong after CRLF line ends and skipped blank
/// lines: it notes a record's position before it skips the line ends that
/// precede it, and counts LFs only.
struct LineBreaks<R> {
    inner: R,
    offset: u64,
    /// A CR ending the last read, not yet known to be half of a CRLF.
    pending_cr: Option<u64>,
    breaks: Breaks,
}

impl<R> LineBreaks<R> {
    fn new(inner: R, breaks: &Breaks) -> LineBreaks<R> {
        LineBreaks {
            inner,
            offset: 0,
            pending_cr: None,
            breaks: breaks.clone(),
        }
    }
}

impl<R: Read> Read for LineBreaks<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut breaks = self.breaks.borrow_mut();
        if n == 0 {
            if let Some(cr) = self.pending_cr.take() {
                breaks.push_back((cr, cr + 1));
            }
        }
        let data = &buf[..n];
        let mut i = 0;
        if let (Some(cr), Some(&first)) = (self.pending_cr, data.first()) {
            self.pending_cr = None;
            if first == b'\n' {
                breaks.push_back((cr, self.offset + 1));
                i = 1;
            } else {
                breaks.push_back((cr, cr + 1));
            }
        }
        while let Some(found) = memchr::memchr2(b'\r', b'\n', &data[i..]) {
            let p = i + found;
            let at = self.offset + p as u64;
            i = p + 1;
            if data[p] == b'\n' {
                breaks.push_back((at, at + 1));
                continue;
            }
            match data.get(p + 1) {
                Some(b'\n') => {
                    breaks.push_back((at, at + 2));
                    i = p + 2;
                }
                Some(_) => breaks.push_back((at, at + 1)),
                // Half of a CRLF, perhaps: the next read tells.
                None => self.pending_cr = Some(at),
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Turns the byte position the csv crate gives a record into the line the
/// record starts on, from the line breaks noted by [`LineBreaks`].
struct LineNumbers {
    breaks: Breaks,
    /// Line breaks before the last record asked about.
    passed: u64,
}

impl LineNumbers {
    fn new(breaks: &Breaks) -> LineNumbers {
        LineNumbers {
            breaks: breaks.clone(),
            passed: 0,
        }
    }

    /// The line of the record the csv crate says starts at byte `start`
    /// (records must be asked about in file order).
    fn line_at(&mut self, start: u64) -> u64 {
        let mut breaks = self.breaks.borrow_mut();
        let mut content = start;
        // Line breaks before `start`, including those inside earlier records.
        while let Some(&(_, to)) = breaks.front().filter(|(from, _)| *from < start) {
            breaks.pop_front();
            self.passed += 1;
            content = content.max(to);
        }
        // Line ends the csv reader skips before the record: blank lines,
        // and the LF of the CRLF that ended the previous record.
        while let Some(&(_, to)) = breaks.front().filter(|(from, _)| *from == content) {
            breaks.pop_front();
            self.passed += 1;
            content = to;
        }
        self.passed + 1
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The error for a header row of more than [`MAX_COLUMNS`] columns (or,
/// without `ended`, one that does not end within its first 64 KB).
fn too_wide(name: &str, columns: usize, ended: bool) -> Error {
    let found = if ended {
        format!("{columns} columns")
    } else {
        format!("{columns} columns and more in its first 64 KB")
    };
    Error::BadInput(format!(
        "{name}:1: the header row has {found}; a contacts file has at most {MAX_COLUMNS}. \
         Check that this is a contacts export with one header row, or keep only the columns \
         you need"
    ))
}

/// Finds the delimiter from the header line: the most frequent of comma,
/// semicolon (European Excel) and tab ("Unicode text") outside quotes.
fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], i)).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t'][best]
    }
}

fn delimiter_name(d: u8) -> &'static str {
    match d {
        b';' => "semicolon",
        b'\t' => "tab",
        _ => "comma",
    }
}

/// Reads one file, validating each row, and hands chunks of valid rows and
/// the problems found to `send` (which returns false when the writer has
/// stopped listening).
fn read_file(
    file_index: usize,
    path: &Path,
    options: &ImportOptions,
    progress: Option<&AtomicU64>,
    mut send: impl FnMut(Parsed) -> bool,
) -> Result<(), Error> {
    let name = path.display().to_string();
    let io_err = |source| Error::Io {
        path: name.clone(),
        source,
    };
    let (encoding, encoding_name, skip) = encoding::detect(path, &name, options.encoding)?;
    let mut file = File::open(path).map_err(io_err)?;
    if skip > 0 {
        io::Seek::seek(&mut file, io::SeekFrom::Start(skip)).map_err(io_err)?;
    }
    let file = Counting {
        inner: file,
        count: progress,
    };
    let mut decoded: Box<dyn Read> = match encoding {
        None => Box::new(file),
        Some(enc) => Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(enc))
                .strip_bom(true)
                .build(file),
        ),
    };
    let mut head = vec![0u8; 1 << 16];
    let n = read_up_to(&mut decoded, &mut head).map_err(io_err)?;
    head.truncate(n);
    let delimiter = sniff_delimiter(&head);
    // A header row too wide is refused before the CSV reader takes it all in.
    let (columns, ended) = limits::header_width(&head, delimiter);
    if columns > MAX_COLUMNS || (!ended && head.len() == 1 << 16) {
        return Err(too_wide(&name, columns, ended));
    }
    let breaks = Rc::default();
    let mut lines = LineNumbers::new(&breaks);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(LineBreaks::new(
            io::Cursor::new(head).chain(decoded),
            &breaks,
        ));

    let csv_err = |e: csv::Error| {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        Error::BadInput(format!("{name}:{line}: the file is not readable CSV: {e}"))
    };
    let mut record = csv::StringRecord::new();
    if !reader.read_record(&mut record).map_err(csv_err)? {
        return Err(Error::BadInput(format!(
            "{name}: the file is empty; a contacts file starts with a header row such as \"Email,First Name,Last Name\""
        )));
    }
    if record.len() > MAX_COLUMNS {
        return Err(too_wide(&name, record.len(), true));
    }
    if let Some(i) = record.iter().position(|h| h.contains('\0')) {
        return Err(Error::BadInput(format!(
            "{name}:1: column {} of the header row contains a NUL byte (0x00); the file may \
             be damaged or not be text: export it again as \"CSV UTF-8\"",
            i + 1
        )));
    }
    let headers: Vec<String> = record
        .iter()
        .map(|h| restore(h.trim()).to_string())
        .collect();
    let targets = map_columns(&headers, &options.maps)
        .map_err(|e| Error::BadInput(format!("{name}:1: {e}")))?;
    let Some(email_col) = targets
        .iter()
        .position(|t| *t == Target::Field(Field::Email))
    else {
        return Err(Error::BadInput(format!(
            "{name}:1: no column holds e-mail addresses (the columns are {}); \
             name it with --map \"Column=email\"",
            quoted_list(&headers)
        )));
    };
    let mut summary = FileSummary {
        file: name.clone(),
        encoding: encoding_name.to_string(),
        delimiter: delimiter_name(delimiter).to_string(),
        rows: 0,
        columns: headers
            .iter()
            .cloned()
            .zip(targets.iter().copied())
            .collect(),
    };
    // The writer names files by index: announce this one before its rows.
    if !send(Parsed::File(summary.clone())) {
        return Ok(());
    }

    let extra_tags: Vec<String> = options
        .tags
        .iter()
        .filter_map(|t| normalise_tag(t))
        .collect();
    // The `source` of the contacts this file brings, unless a column names
    // one: its name without the folders (which may name the press
    // officer's home directory).
    let source = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.clone());
    let mut cache = Normalised::default();
    let mut rows = Vec::with_capacity(CHUNK);
    let mut problems = Vec::new();
    let mut invalid = 0u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_err(e)),
        }
        let line = lines.line_at(record.position().map(|p| p.byte()).unwrap_or(0));
        // Blank lines (or rows of empty cells, as spreadsheets leave at the end) are not contacts.
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        summary.rows += 1;
        let row = validate_row(
            file_index,
            &name,
            line,
            &record,
            &headers,
            &targets,
            email_col,
            &source,
            &extra_tags,
            &mut cache,
            &mut problems,
        );
        match row {
            Some(row) => rows.push(row),
            None => invalid += 1,
        }
        if rows.len() >= CHUNK && !send(Parsed::Rows(std::mem::take(&mut rows))) {
            return Ok(());
        }
    }
    if !problems.is_empty() || invalid > 0 {
        send(Parsed::Problems(std::mem::take(&mut problems), invalid));
    }
    if !rows.is_empty() && !send(Parsed::Rows(rows)) {
        return Ok(());
    }
    send(Parsed::FileDone(file_index, summary.rows));
    Ok(())
}

/// Normalised countries and languages by raw text: exports repeat a handful
/// of values millions of times, and name lookups are slow.
#[derive(Default)]
struct Normalised {
    countries: FxHashMap<String, Result<String, String>>,
    languages: FxHashMap<String, Result<String, String>>,
    addresses: email::Parser,
}

impl Normalised {
    fn country(&mut self, raw: &str) -> Result<String, String> {
        if let Some(r) = self.countries.get(raw) {
            return r.clone();
        }
        let r = normalise_country(raw);
        self.countries.insert(raw.to_string(), r.clone());
        r
    }

    fn language(&mut self, raw: &str) -> Result<String, String> {
        if let Some(r) = self.languages.get(raw) {
            return r.clone();
        }
        let r = normalise_language(raw);
        self.languages.insert(raw.to_string(), r.clone());
        r
    }
}

/// Checks one data row. Returns the contact, or `None` when the row is
/// invalid; every error and warning goes to `problems`.
#[allow(clippy::too_many_arguments)]
fn validate_row(
    file: usize,
    name: &str,
    line: u64,
    record: &csv::StringRecord,
    headers: &[String],
    targets: &[Target],
    email_col: usize,
    source: &str,
    extra_tags: &[String],
    cache: &mut Normalised,
    problems: &mut Vec<Problem>,
) -> Option<Incoming> {
    let mut ok = true;
    // Every message is cut to a few hundred characters, whatever it quotes.
    let mut problem = |column: Option<&String>, kind: ProblemKind, message: String| {
        problems.push(Problem {
            file: name.to_string(),
            line,
            column: column.map(|c| column_name(c).into_owned()),
            kind,
            message: limits::cut(message),
        });
    };
    if record.len() > headers.len()
        && record
            .iter()
            .skip(headers.len())
            .any(|c| !c.trim().is_empty())
    {
        problem(
            None,
            ProblemKind::Error,
            format!(
                "the row has {} fields but the header has {}; quote values that contain the delimiter",
                record.len(),
                headers.len(),
            ),
        );
        return None;
    }
    // A cell an export guarded against spreadsheets, without the guard.
    let cell = |i: usize| record.get(i).map(|c| restore(c.trim())).unwrap_or("");
    // A NUL character is nothing anyone typed (the file is damaged, or is
    // not text), and PostgreSQL cannot store it in a text column.
    let mut damaged = false;
    let any_nul = memchr::memchr(0, record.as_slice().as_bytes()).is_some();
    for (i, column) in headers.iter().enumerate().filter(|_| any_nul) {
        if cell(i).contains('\0') {
            let message = "the value contains a NUL character; the file may be damaged";
            problem(Some(column), ProblemKind::Error, message.to_string());
            damaged = true;
        }
    }
    if damaged {
        return None;
    }

    // Google's older export puts several addresses in one cell, "a ::: b":
    // the first is the contact's, the others are kept as extra data.
    let mut other_addresses = None;
    let mut email_cell = cell(email_col);
    if let Some((first, rest)) = email_cell
        .contains(':')
        .then(|| email_cell.split_once(":::"))
        .flatten()
    {
        email_cell = first.trim();
        other_addresses = Some(rest.trim().to_string());
    }
    let address = match cache.addresses.parse(email_cell) {
        Ok(a) => {
            if let Some(rest) = &other_addresses {
                problem(
                    Some(&headers[email_col]),
                    ProblemKind::Warning,
                    format!(
                        "several addresses in one cell; {a} is the contact's, \"{rest}\" is kept as \"{} (more)\"",
                        headers[email_col]
                    ),
                );
            }
            Some(a)
        }
        Err(e) => {
            let message = if email_cell.is_empty() {
                "no e-mail address; every contact needs one".to_string()
            } else {
                shorten(e.to_string(), email_cell)
            };
            problem(Some(&headers[email_col]), ProblemKind::Error, message);
            ok = false;
            None
        }
    };

    // The fields by their place in TEXT_FIELDS: borrowed from the record
    // unless normalised.
    let mut values: [Option<Cow<str>>; TEXT_FIELDS.len()] = Default::default();
    let mut set = |field: Field, value| {
        if let Some(i) = text_slot(field) {
            values[i] = Some(value);
        }
    };
    let mut tags: BTreeSet<String> = extra_tags.iter().cloned().collect();
    let mut status = None;
    let mut extra = BTreeMap::new();
    for (i, target) in targets.iter().enumerate() {
        let value = cell(i);
        if value.is_empty() || i == email_col {
            continue;
        }
        let column = &headers[i];
        let field = match target {
            Target::Ignore => continue,
            Target::Extra => {
                extra.insert(column.clone(), value.to_string());
                continue;
            }
            Target::Field(f) => *f,
        };
        if field.single_line() && value.contains(['\r', '\n']) {
            problem(
                Some(column),
                ProblemKind::Error,
                shorten(
                    format!("{value:?} contains a line break; this field must be one line"),
                    value,
                ),
            );
            ok = false;
            continue;
        }
        match field {
            Field::Email => {}
            Field::Tags => tags.extend(split_tags(value)),
            Field::Status => match value.parse::<Status>() {
                Ok(s) => status = Some(s),
                Err(e) => {
                    problem(Some(column), ProblemKind::Error, shorten(e, value));
                    ok = false;
                }
            },
            Field::Country => match cache.country(value) {
                Ok(c) => set(field, Cow::Owned(c)),
                Err(e) => {
                    problem(Some(column), ProblemKind::Error, shorten(e, value));
                    ok = false;
                }
            },
            Field::Language => {
                let mut parts = value
                    .split([',', ';', '/'])
                    .map(str::trim)
                    .filter(|p| !p.is_empty());
                let first = parts.next().unwrap_or(value);
                match cache.language(first) {
                    Ok(l) => {
                        if parts.next().is_some() {
                            problem(
                                Some(column),
                                ProblemKind::Warning,
                                shorten(
                                    format!(
                                        "{value:?} lists several languages; kept the first, {l:?}"
                                    ),
                                    value,
                                ),
                            );
                        }
                        set(field, Cow::Owned(l));
                    }
                    Err(e) => {
                        problem(Some(column), ProblemKind::Error, shorten(e, first));
                        ok = false;
                    }
                }
            }
            _ => set(field, Cow::Borrowed(value)),
        }
    }
    if let Some(rest) = other_addresses {
        extra.insert(format!("{} (more)", headers[email_col]), rest);
    }
    let address = address.filter(|_| ok)?;
    // A display name when the file has only its parts (Outlook and Google
    // also export a middle name, kept as extra).
    let slot = |field| text_slot(field).unwrap_or(0);
    if values[slot(Field::Name)].is_none() {
        let middle = extra
            .iter()
            .find(|(k, _)| header_key(k) == "middlename")
            .map(|(_, v)| v.as_str());
        let parts: Vec<&str> = [
            values[slot(Field::FirstName)].as_deref(),
            middle,
            values[slot(Field::LastName)].as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !parts.is_empty() {
            values[slot(Field::Name)] = Some(Cow::Owned(parts.join(" ")));
        }
    }
    let source_slot = slot(Field::Source);
    if values[source_slot].is_none() {
        values[source_slot] = Some(Cow::Borrowed(source));
    }
    Some(Incoming {
        file,
        line,
        address,
        values: FieldValues::pack(values.iter().map(Option::as_deref)),
        tags,
        status,
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn outlook_headers() {
        let h = headers(&[
            "First Name",
            "Last Name",
            "Title",
            "Job Title",
            "Company",
            "E-mail Address",
            "Business Phone",
            "Mobile Phone",
            "Categories",
            "Country/Region",
        ]);
        let t = map_columns(&h, &[]).unwrap();
        assert_eq!(t[0], Target::Field(Field::FirstName));
        assert_eq!(t[2], Target::Extra, "Outlook's Title is Mr/Ms");
        assert_eq!(t[3], Target::Field(Field::Role));
        assert_eq!(t[4], Target::Field(Field::Outlet));
        assert_eq!(t[5], Target::Field(Field::Email));
        assert_eq!(t[6], Target::Field(Field::Phone));
        assert_eq!(t[7], Target::Extra, "a second phone is kept, not dropped");
        assert_eq!(t[8], Target::Field(Field::Tags));
        assert_eq!(t[9], Target::Field(Field::Country));
    }

    #[test]
    fn map_overrides_and_unknown_columns() {
        let h = headers(&["Mail", "Desk"]);
        let t = map_columns(&h, &["mail=email".parse().unwrap()]).unwrap();
        assert_eq!(t, [Target::Field(Field::Email), Target::Field(Field::Beat)]);
        let err = map_columns(&h, &["Nope=email".parse().unwrap()]).unwrap_err();
        assert!(err.contains("no such column"), "{err}");
        assert!("Mail".parse::<ColumnMap>().is_err());
        assert!("Mail=wrong".parse::<ColumnMap>().is_err());
    }

    #[test]
    fn delimiters() {
        assert_eq!(sniff_delimiter(b"Email;Name;Outlet\na;b;c"), b';');
        assert_eq!(sniff_delimiter(b"Email\tName\n"), b'\t');
        assert_eq!(sniff_delimiter(b"\"Name; Title\",Email,Outlet\n"), b',');
        assert_eq!(sniff_delimiter(b"Email\n"), b',');
    }

    #[test]
    fn statements_are_full_or_powers_of_two() {
        let mut pending: Vec<usize> = (0..1300).collect();
        assert_eq!(take_batch(&mut pending, false).map(|b| b.len()), Some(500));
        assert_eq!(take_batch(&mut pending, false).map(|b| b[0]), Some(500));
        assert_eq!(take_batch(&mut pending, false), None, "300 wait for more");
        let mut sizes = Vec::new();
        while let Some(batch) = take_batch(&mut pending, true) {
            sizes.push(batch.len());
        }
        assert_eq!(sizes, [256, 32, 8, 4]);
        assert!(pending.is_empty());
    }

    /// Gives at most `.1` bytes per read.
    struct Chunked<'a>(&'a [u8], usize);

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn line_breaks_are_the_same_however_the_text_is_read() {
        let text = b"a\r\nb\rc\n\r\n\rd\r";
        let expected = [(1, 3), (4, 5), (6, 7), (7, 9), (9, 10), (11, 12)];
        for chunk in 1..=text.len() {
            let breaks = Breaks::default();
            let mut reader = LineBreaks::new(Chunked(text, chunk), &breaks);
            io::copy(&mut reader, &mut io::sink()).unwrap();
            let found: Vec<(u64, u64)> = breaks.borrow().iter().copied().collect();
            assert_eq!(found, expected, "read {chunk} bytes at a time");
        }
    }

    #[test]
    fn places_keep_file_and_line() {
        let p = Place::new(3, 1_000_000_007);
        assert_eq!((p.file(), p.line()), (3, 1_000_000_007));
        assert_ne!(Place::new(0, 5), Place::new(1, 5));
    }

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
        let (n, tags): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM contact_tags)",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert_eq!((n, tags), (519, 501));
        let c = crate::contacts::get(&db, "j1@bulk.example").await.unwrap();
        assert_eq!(c.name.as_deref(), Some("Renamed"));
        assert_eq!(c.tags, ["press", "second"]);
        let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM contacts ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        assert_eq!(ids, (1..=519).map(|i| (i,)).collect::<Vec<_>>());
        db.close().await;
    }
}
