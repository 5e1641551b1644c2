//! The bounds an import keeps to on input of any size: how much of a value
//! an error quotes, and how wide a header row may be.
//!
//! A refused value is quoted in full by the messages that name it; a 10 MB
//! cell made 10 MB of output. A header row of a million columns kept a
//! million column names in memory for every row's checks.

use std::borrow::Cow;

/// The most characters of a value an error quotes.
pub const QUOTED_CHARS: usize = 200;

/// The most columns a header row may have: real exports have a few dozen
/// (Outlook's, the widest, about 90).
pub const MAX_COLUMNS: usize = 1000;

/// `value` as an error quotes it: in quotes, at most [`QUOTED_CHARS`]
/// characters of it and then how long it was.
pub fn quote(value: &str) -> String {
    match value.char_indices().nth(QUOTED_CHARS) {
        None => quoted(value),
        Some((end, _)) => format!(
            "{}… ({} characters)",
            quoted(&value[..end]),
            value.chars().count()
        ),
    }
}

/// `value` in double quotes, with quotes, backslashes and control
/// characters escaped as Rust writes them. Unlike `{:?}`, which also
/// escapes combining marks, it leaves Thai, Myanmar or Devanagari text
/// readable.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `message`, which may quote `value` in full (as `{value:?}`), with the
/// quote shortened by [`quote`]; and, whatever it quotes, cut to a few
/// hundred characters.
pub fn shorten(message: String, value: &str) -> String {
    let message = if value.len() > QUOTED_CHARS {
        message.replacen(&format!("{value:?}"), &quote(value), 1)
    } else {
        message
    };
    cut(message)
}

/// `text`, cut after `4 * QUOTED_CHARS` characters.
pub fn cut(text: String) -> String {
    match text.char_indices().nth(4 * QUOTED_CHARS) {
        None => text,
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

/// A column name as a message shows it: at most [`QUOTED_CHARS`] characters.
pub fn column_name(name: &str) -> Cow<'_, str> {
    match name.char_indices().nth(QUOTED_CHARS) {
        None => Cow::Borrowed(name),
        Some((end, _)) => Cow::Owned(format!("{}…", &name[..end])),
    }
}

/// How many columns the header row in `head` (the file's first bytes,
/// decoded) has at least, split by `delimiter` outside quotes, and
/// whether the row ends within `head`.
pub fn header_width(head: &[u8], delimiter: u8) -> (usize, bool) {
    let mut columns = 1;
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => return (columns, true),
            _ if b == delimiter && !quoted => columns += 1,
            _ => {}
        }
    }
    (columns, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_quoted_short() {
        assert_eq!(quote("jane@"), "\"jane@\"");
        let long = "x".repeat(10 << 20);
        let q = quote(&long);
        assert!(q.len() < 250, "{}", q.len());
        assert!(q.ends_with("… (10485760 characters)"), "{q}");
        let m = shorten(format!("{long:?} is not an e-mail address"), &long);
        assert!(
            m.len() < 260 && m.ends_with("is not an e-mail address"),
            "{m}"
        );
    }

    #[test]
    fn header_width_counts_outside_quotes() {
        assert_eq!(header_width(b"a,\"b,c\",d\nx,y", b','), (3, true));
        assert_eq!(header_width(b"a;b;c", b';'), (3, false));
    }
}
