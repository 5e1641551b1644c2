//! Merging a row into a contact: what the row changes, in words for the
//! report, and the one change an import refuses, letters turned into `?`.
//!
//! Rows repeating an address within an import are one contact: later
//! non-empty values win, tags and extra data add up, and notes add up too
//! (every distinct text is kept, one after the other), since a note is
//! something someone wrote about the journalist, not a value that goes
//! stale. A row updating a contact from before the import replaces its
//! notes, as it does every other value.
//!
//! A file saved as "ANSI" (Windows-1252) from a spreadsheet holding names in
//! Myanmar, Thai or Arabic script has a `?` for every letter that code page
//! cannot hold; imported over the contacts it updates, it would replace
//! their names with question marks. Such a row is refused ([`damage`]).

use super::columns::{Field, TEXT_FIELDS};
use super::limits::quote;
use super::record::{ContactRecord, FieldValues, ValidRow};

/// A change an import refuses: `field`'s value `old` would become `new`,
/// which has a `?` for each of its letters beyond ASCII.
pub(super) struct Damage {
    pub field: Field,
    pub old: String,
    pub new: String,
}

impl Damage {
    /// The error, after the column's name.
    pub fn message(&self) -> String {
        format!(
            "would replace {} with {}: the letters became \"?\", as when a file is saved as \
             ANSI (Windows-1252), which cannot hold them. Export it as UTF-8 or Unicode text \
             and import it again; the row is not imported",
            quote(&self.old),
            quote(&self.new)
        )
    }
}

/// Whether `new` is `old` with at least one of its letters beyond ASCII,
/// and nothing else, replaced by `?`: what saving as Windows-1252 does to
/// letters it has no place for (each code point becomes one `?`).
fn ansi_damaged(old: &str, new: &str) -> bool {
    if !new.contains('?') || old.is_ascii() {
        return false;
    }
    let (mut o, mut n) = (old.chars(), new.chars());
    let mut damaged = false;
    loop {
        match (o.next(), n.next()) {
            (None, None) => return damaged,
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some('?')) if !a.is_ascii() => damaged = true,
            _ => return false,
        }
    }
}

/// The values `row` would damage in `contact` ([`ansi_damaged`]).
pub(super) fn damage(contact: &ContactRecord, row: &ValidRow) -> Vec<Damage> {
    let values = contact.values.iter().zip(row.values.iter());
    TEXT_FIELDS
        .iter()
        .zip(values)
        .filter_map(|(field, (old, new))| match (old, new) {
            (Some(old), Some(new)) if ansi_damaged(old, new) => Some(Damage {
                field: *field,
                old: old.to_string(),
                new: new.to_string(),
            }),
            _ => None,
        })
        .collect()
}

/// `old` and `new` notes as one: both, one after the other, unless `new`
/// is one of the texts in `old` already.
fn join_notes(old: &str, new: &str) -> String {
    let known = old == new
        || old.starts_with(&format!("{new}\n"))
        || old.ends_with(&format!("\n{new}"))
        || old.contains(&format!("\n{new}\n"));
    if known {
        old.to_string()
    } else {
        format!("{old}\n{new}")
    }
}

impl ContactRecord {
    /// Lays `row` over this contact: non-empty values replace, tags and
    /// extra data are added, and a status other than active is taken (an
    /// import never re-activates an unsubscribed or bounced contact). The
    /// source is where the contact first came from; it never changes.
    /// With `duplicate` (the row repeats an address earlier in the
    /// import) notes are joined, and what the row changed is returned in
    /// words for the report.
    pub(super) fn merge(&mut self, row: ValidRow, duplicate: bool) -> Vec<String> {
        let mut changes = Vec::new();
        let merged: Vec<Option<String>> = TEXT_FIELDS
            .iter()
            .zip(self.values.iter().zip(row.values.iter()))
            .map(|(field, (old, new))| {
                let value = match (field, old, new) {
                    (Field::Source, ..) | (_, _, None) => return old.map(str::to_string),
                    (Field::Notes, Some(old), Some(new)) if duplicate => join_notes(old, new),
                    (_, _, Some(new)) => new.to_string(),
                };
                if duplicate && old != Some(value.as_str()) {
                    changes.push(match (field, old) {
                        (_, None) => format!("{} {}", field.name(), quote(&value)),
                        (Field::Notes, Some(old)) => {
                            format!("notes {} added to {}", quote(new.unwrap_or("")), quote(old))
                        }
                        (_, Some(old)) => {
                            format!("{} {} → {}", field.name(), quote(old), quote(&value))
                        }
                    });
                }
                Some(value)
            })
            .collect();
        self.values = FieldValues::pack(merged.iter().map(Option::as_deref));
        if duplicate {
            let added: Vec<&str> = row
                .tags
                .iter()
                .filter(|t| !self.tags.contains(*t))
                .map(String::as_str)
                .collect();
            if !added.is_empty() {
                let s = if added.len() == 1 { "" } else { "s" };
                changes.push(format!("tag{s} {} added", added.join(", ")));
            }
            for (column, value) in &row.extra {
                if self.extra.get(column) != Some(value) {
                    changes.push(format!("{} {}", quote(column), quote(value)));
                }
            }
        }
        self.tags.extend(row.tags);
        self.extra.extend(row.extra);
        if let Some(s) = row.status {
            if s != crate::contacts::fields::Status::Active {
                if duplicate && s != self.status {
                    changes.push(format!("status {} → {}", self.status, s));
                }
                self.status = s;
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_marks_for_letters_are_damage() {
        assert!(ansi_damaged("မောင်မောင်", "??????????"));
        assert!(ansi_damaged("สมชาย ใจดี", "????? ????"));
        assert!(ansi_damaged("Zoë Weber", "Zo? Weber"));
        assert!(!ansi_damaged("Zoë Weber", "Zoë Weber"));
        assert!(!ansi_damaged("Who?", "Who?"));
        assert!(
            !ansi_damaged("Jane", "J?ne"),
            "an ASCII letter is no ANSI loss"
        );
        assert!(!ansi_damaged("محمد", "???"), "not one ? per letter");
        assert!(!ansi_damaged("محمد", "Mohammed"));
    }

    #[test]
    fn notes_keep_every_distinct_text() {
        assert_eq!(join_notes("a", "b"), "a\nb");
        assert_eq!(join_notes("a\nb", "b"), "a\nb");
        assert_eq!(join_notes("a\nb", "a"), "a\nb");
        assert_eq!(join_notes("a", "a"), "a");
        assert_eq!(join_notes("ab", "b"), "ab\nb");
    }
}
