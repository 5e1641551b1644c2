//! Validating one row: the address, every field by its column, one-line
//! fields, countries and languages, with a problem for each thing wrong.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use super::columns::{header_key, text_slot, ColumnTarget, Field, TEXT_FIELDS};
use super::limits::{self, column_name, shorten};
use super::record::{FieldValues, ValidRow};
use super::report::{Problem, ProblemKind};
use crate::contacts::email;
use crate::contacts::fields::{normalise_country, normalise_language, split_tags, Status};
use crate::spreadsheet::restore;

/// Normalised countries and languages by raw text: exports repeat a handful
/// of values millions of times, and name lookups are slow.
#[derive(Default)]
pub(super) struct Normalised {
    pub(super) countries: FxHashMap<String, Result<String, String>>,
    pub(super) languages: FxHashMap<String, Result<String, String>>,
    pub(super) addresses: email::Parser,
}

impl Normalised {
    pub(super) fn country(&mut self, raw: &str) -> Result<String, String> {
        if let Some(r) = self.countries.get(raw) {
            return r.clone();
        }
        let r = normalise_country(raw);
        self.countries.insert(raw.to_string(), r.clone());
        r
    }

    pub(super) fn language(&mut self, raw: &str) -> Result<String, String> {
        if let Some(r) = self.languages.get(raw) {
            return r.clone();
        }
        let r = normalise_language(raw);
        self.languages.insert(raw.to_string(), r.clone());
        r
    }
}

/// What every row of one file shares: where it comes from and what its
/// columns mean.
pub(super) struct FileColumns<'f> {
    /// The file's index among those imported.
    pub(super) index: usize,
    /// The file's name as problems name it.
    pub(super) name: &'f str,
    pub(super) headers: &'f [String],
    /// What each column fills, in the order of `headers`.
    pub(super) targets: &'f [ColumnTarget],
    /// The column of the e-mail addresses.
    pub(super) email_col: usize,
    /// The `source` of the file's contacts unless a column gives one.
    pub(super) source: &'f str,
    /// Tags every contact gets (`--tag`).
    pub(super) extra_tags: &'f [String],
}

/// Checks one data row of `file`, which starts on `line`. Returns the
/// contact, or `None` when the row is invalid; every error and warning
/// goes to `problems`.
pub(super) fn validate_row(
    file: &FileColumns<'_>,
    line: u64,
    record: &csv::StringRecord,
    cache: &mut Normalised,
    problems: &mut Vec<Problem>,
) -> Option<ValidRow> {
    let FileColumns {
        index,
        name,
        headers,
        targets,
        email_col,
        source,
        extra_tags,
    } = *file;
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
            ColumnTarget::Ignore => continue,
            ColumnTarget::Extra => {
                extra.insert(column.clone(), value.to_string());
                continue;
            }
            ColumnTarget::Field(f) => *f,
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
    Some(ValidRow {
        file: index,
        line,
        address,
        values: FieldValues::pack(values.iter().map(Option::as_deref)),
        tags,
        status,
        extra,
    })
}
