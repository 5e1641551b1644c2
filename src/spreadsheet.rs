//! CSV cells a spreadsheet will not run as formulas, and back.
//!
//! Contact data and relay replies come from outside; a cell such as
//! `=HYPERLINK(…)` in an export would be a live formula once the file is
//! opened in Excel or LibreOffice. OWASP's advice on CSV injection: put a
//! `'` before a cell that starts with `=`, `+`, `-`, `@`, tab or carriage
//! return (spreadsheets show the text and hide the `'`). Every CSV
//! presswire writes goes through [`defuse`]; `contacts import` reads cells
//! through [`restore`], so an export imports back unchanged.
//!
//! A text that already starts with `'` before such a character gets one
//! more, so [`restore`] can tell the two apart: `'=x` is written as
//! `''=x` and read back as `'=x`.

use std::borrow::Cow;

/// What makes a spreadsheet read a cell as a formula (or as the start of one).
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `s` is a trigger character after any number of `'`.
fn needs_quote(s: &str) -> bool {
    s.trim_start_matches('\'').starts_with(TRIGGERS)
}

/// The cell as written: `s`, with a `'` in front when a spreadsheet
/// would take it for a formula.
pub fn defuse(s: &str) -> Cow<'_, str> {
    if needs_quote(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// The text of a cell [`defuse`] wrote: one `'` fewer when it guards a
/// formula character; any other text as it is.
pub fn restore(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if needs_quote(rest) => rest,
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_restored() {
        for (text, cell) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("+49 30 1234", "'+49 30 1234"),
            ("-1", "'-1"),
            ("\tx", "'\tx"),
            ("'=x", "''=x"),
            ("''@x", "'''@x"),
            ("Jane Doe", "Jane Doe"),
            ("'quoted'", "'quoted'"),
            ("", ""),
        ] {
            assert_eq!(defuse(text), cell);
            assert_eq!(restore(cell), text, "{cell:?}");
        }
    }
}
