//! What an import was asked ([`ImportOptions`]) and what it tells
//! ([`ImportReport`]): counts, each file as read, every problem by file and line.

use std::fmt;

use encoding_rs::Encoding;
use serde::Serialize;

use super::columns::{ColumnMap, ColumnTarget};

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
    /// Who imports, for the audit log (`team::audit`): a committed import
    /// appends its entry in its own transaction.
    pub actor: Option<String>,
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
    pub columns: Vec<(String, ColumnTarget)>,
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
