//! CSV export of contacts, in a form `contacts import` reads back unchanged:
//! presswire's own field names as headers, tags joined by ", ", each
//! extra column under its original name, and every cell safe to open in a
//! spreadsheet ([`crate::spreadsheet`]).

use std::collections::BTreeSet;
use std::io::Write;

use super::import::Field;
use super::{Contact, Error};
use crate::spreadsheet::defuse;

/// The fields written, in column order (email first, as spreadsheets
/// expect): every field, in the order `Field::ALL` lists them.
const COLUMNS: [Field; 14] = Field::ALL;

/// Writes `contacts` as CSV to `out`.
pub fn write_csv(contacts: &[Contact], out: impl Write) -> Result<(), Error> {
    let extra: BTreeSet<&str> = contacts
        .iter()
        .flat_map(|c| c.extra.keys().map(String::as_str))
        .collect();
    let mut w = csv::Writer::from_writer(out);
    let header: Vec<&str> = COLUMNS
        .iter()
        .map(|f| f.name())
        .chain(extra.iter().copied())
        .collect();
    let io = |e: csv::Error| Error::Io {
        path: "export".into(),
        source: std::io::Error::other(e),
    };
    w.write_record(header.iter().map(|h| defuse(h).into_owned()))
        .map_err(io)?;
    for c in contacts {
        let mut row: Vec<String> = COLUMNS.iter().map(|f| value(c, *f)).collect();
        row.extend(
            extra
                .iter()
                .map(|k| c.extra.get(*k).cloned().unwrap_or_default()),
        );
        w.write_record(
            row.iter()
                .map(|v| defuse(v))
                .collect::<Vec<_>>()
                .iter()
                .map(|v| v.as_bytes()),
        )
        .map_err(io)?;
    }
    w.flush().map_err(|e| Error::Io {
        path: "export".into(),
        source: e,
    })?;
    Ok(())
}

/// The text of one field of a contact.
pub fn value(c: &Contact, field: Field) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    match field {
        Field::Email => c.email.clone(),
        Field::Name => o(&c.name),
        Field::FirstName => o(&c.first_name),
        Field::LastName => o(&c.last_name),
        Field::Outlet => o(&c.outlet),
        Field::Role => o(&c.role),
        Field::Beat => o(&c.beat),
        Field::Country => o(&c.country),
        Field::Language => o(&c.language),
        Field::Phone => o(&c.phone),
        Field::Notes => o(&c.notes),
        Field::Tags => c.tags.join(", "),
        Field::Status => c.status.as_str().to_string(),
        Field::Source => o(&c.source),
    }
}
