//! Printing: tables for people, CSV and JSON for programs.

use std::io::{IsTerminal, Write};

use crate::BadInput;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

/// `--format` of commands that print records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// `--format` of commands that print a report or one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Table,
    Json,
}

/// A table with `headers`, sized to the terminal when there is one.
pub fn table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(if std::io::stdout().is_terminal() {
            ContentArrangement::Dynamic
        } else {
            ContentArrangement::Disabled
        })
        .set_header(headers.iter().copied());
    t
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Asks `question` on the terminal ("… [y/N] ") and says whether the
/// answer was yes. Without a terminal to ask on (a script, a pipe) it is
/// bad input: `refusal` ("not sending without confirmation") and the hint
/// to add `--yes`.
pub fn confirm(question: &str, refusal: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(BadInput(format!("{refusal}: add --yes (no terminal to ask on)")).into());
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Writes `rows` as CSV with a header row, every cell through
/// [`crate::spreadsheet::defuse`] so no spreadsheet runs one as a formula.
/// The rows are serialised as `csv` would, then guarded cell by cell.
pub fn write_csv<T: Serialize>(rows: &[T], out: impl Write) -> anyhow::Result<()> {
    let mut plain = csv::Writer::from_writer(Vec::new());
    for row in rows {
        plain.serialize(row)?;
    }
    let plain = plain.into_inner().map_err(|e| e.into_error())?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(plain.as_slice());
    let mut w = csv::Writer::from_writer(out);
    for record in reader.records() {
        let record = record?;
        w.write_record(
            record
                .iter()
                .map(|c| crate::spreadsheet::defuse(c).into_owned()),
        )?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        id: i64,
        diagnostic: &'static str,
    }

    /// `bounces list --format csv` writes a relay's reply as it came: a
    /// reply starting with `=` must not be a live formula.
    #[test]
    fn csv_cells_are_defused() {
        let rows = [Row {
            id: 1,
            diagnostic: "=HYPERLINK(\"http://x.example\",\"y\")",
        }];
        let mut out = Vec::new();
        write_csv(&rows, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "id,diagnostic\n1,\"'=HYPERLINK(\"\"http://x.example\"\",\"\"y\"\")\"\n"
        );
    }
}
