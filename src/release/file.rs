//! Release files: TOML front matter between `+++` lines, then the Markdown
//! body. Variants are other files of the same release in other languages;
//! their front matter inherits every key they do not set from the main file.

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use super::strings::Strings;
use super::Error;
use crate::contacts::fields::normalise_language;

/// The front matter of a release file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    /// The headline.
    pub title: String,
    /// The e-mail subject; a template (`{{ contact.first_name }}` works).
    pub subject: String,
    pub from: Sender,
    pub reply_to: Option<String>,
    /// Language of this file (BCP 47); default "en".
    #[serde(default = "default_language")]
    pub language: String,
    /// Other-language files of this release, relative to this file.
    #[serde(default)]
    pub variants: Vec<PathBuf>,
    /// Layout name: `templates/NAME.html` and `templates/NAME.txt`.
    #[serde(default = "default_template")]
    pub template: String,
    pub dateline: Option<Dateline>,
    /// Not to be published before this moment (TOML date-time with offset).
    pub embargo: Option<toml::value::Datetime>,
    /// IANA time zone in which dates are shown, e.g. "Africa/Nairobi".
    pub timezone: Option<String>,
    /// Files attached to every message, relative to this file.
    #[serde(default)]
    pub attachments: Vec<PathBuf>,
    #[serde(default)]
    pub links: Links,
    pub contact: Option<PressContact>,
    /// The release's own wording over the built-in one of its language
    /// (`strings::KEYS`); a variant does not inherit the main file's.
    #[serde(default)]
    pub strings: toml::Table,
}

fn default_language() -> String {
    "en".into()
}
fn default_template() -> String {
    "release".into()
}

/// Who the release comes from.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    pub name: Option<String>,
    pub email: String,
}

/// "10 May 2026 | Nairobi".
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dateline {
    pub date: toml::value::Datetime,
    pub place: Option<String>,
}

/// The organisation's links for the footer.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Links {
    pub website: Option<String>,
    /// A copy of the website for readers where it is blocked.
    pub mirror: Option<String>,
    #[serde(default)]
    pub social: Vec<SocialLink>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SocialLink {
    pub name: String,
    pub url: String,
}

/// The press contact block of the footer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PressContact {
    pub organisation: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub person: Option<String>,
}

/// One release file, read and checked.
#[derive(Debug, Clone)]
pub struct ReleaseFile {
    pub path: PathBuf,
    pub front: FrontMatter,
    /// The Markdown body, preceded by as many empty lines as the front
    /// matter took, so template errors report the line of the file.
    pub body: String,
    /// Parsed embargo, when set.
    pub embargo: Option<DateTime<FixedOffset>>,
    pub dateline_date: Option<NaiveDate>,
    pub timezone: Option<chrono_tz::Tz>,
    /// The wording presswire adds (banner, footer), in this file's
    /// language with its `[strings]` over it.
    pub strings: Strings,
    /// This file's own front matter text, to name the line of a key.
    own_front: String,
}

/// A release: its main file and its language variants.
#[derive(Debug, Clone)]
pub struct Release {
    pub main: ReleaseFile,
    pub variants: Vec<ReleaseFile>,
    /// SHA-256 of the main file and its variants, to tell edits apart.
    pub source_hash: String,
    /// The file name without extension, e.g. "example".
    pub slug: String,
}

impl Release {
    /// Reads a release file and its variants.
    pub fn load(path: &Path) -> Result<Release, Error> {
        let (text, table) = read_front(path, None)?;
        let main = ReleaseFile::from_parts(path, &text, table.clone())?;
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut hasher, text.as_bytes());
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut variants = Vec::new();
        for v in &main.front.variants {
            let vpath = dir.join(v);
            let (vtext, vtable) = read_front(&vpath, Some(path))?;
            let mut merged = table.clone();
            // A variant never names variants of its own, and its wording
            // is its language's, not the main file's.
            merged.remove("variants");
            merged.remove("strings");
            for (k, val) in vtable {
                match (merged.get_mut(&k), val) {
                    (Some(toml::Value::Table(base)), toml::Value::Table(over)) => {
                        base.extend(over);
                    }
                    (_, val) => {
                        merged.insert(k, val);
                    }
                }
            }
            sha2::Digest::update(&mut hasher, vtext.as_bytes());
            variants.push(ReleaseFile::from_parts(&vpath, &vtext, merged)?);
        }
        for v in &variants {
            if v.front.language == main.front.language
                || variants
                    .iter()
                    .filter(|o| o.front.language == v.front.language)
                    .count()
                    > 1
            {
                return Err(Error::Release(format!(
                    "{}: language {:?} is used by more than one file of this release; give each variant its own `language`",
                    v.path.display(),
                    v.front.language
                )));
            }
        }
        let slug = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "release".into());
        Ok(Release {
            main,
            variants,
            source_hash: hex::encode(sha2::Digest::finalize(hasher)),
            slug,
        })
    }

    /// The file for a contact's language: an exact variant, else one with the
    /// same primary language (`de` for `de-AT`), else the main file.
    pub fn file_for(&self, language: Option<&str>) -> &ReleaseFile {
        let Some(lang) = language else {
            return &self.main;
        };
        // Compared without lower-casing copies: this runs for every message.
        fn primary(l: &str) -> &str {
            l.split('-').next().unwrap_or(l)
        }
        let all = || std::iter::once(&self.main).chain(&self.variants);
        all()
            .find(|f| f.front.language.eq_ignore_ascii_case(lang))
            .or_else(|| {
                all().find(|f| primary(&f.front.language).eq_ignore_ascii_case(primary(lang)))
            })
            .unwrap_or(&self.main)
    }

    /// The sender's domain, lower-case (empty when `from.email` has none):
    /// Message-IDs and, by default, VERP addresses use it.
    pub fn from_domain(&self) -> String {
        self.main
            .front
            .from
            .email
            .rsplit_once('@')
            .map(|(_, d)| d.to_lowercase())
            .unwrap_or_default()
    }

    /// Every file of the release, main first.
    pub fn files(&self) -> impl Iterator<Item = &ReleaseFile> {
        std::iter::once(&self.main).chain(&self.variants)
    }
}

/// Reads a file and splits off its front matter as a TOML table.
fn read_front(path: &Path, from: Option<&Path>) -> Result<(String, toml::Table), Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let via = from
            .map(|f| format!(" (a variant named in {})", f.display()))
            .unwrap_or_default();
        Error::Release(format!("{}{via}: {e}", path.display()))
    })?;
    let text = text
        .strip_prefix('\u{feff}')
        .unwrap_or(&text)
        .replace("\r\n", "\n");
    let (front, _, _) = split(&text).ok_or_else(|| {
        Error::Release(format!(
            "{}:1: a release starts with TOML front matter between two `+++` lines (see `presswire release new`)",
            path.display()
        ))
    })?;
    let table: toml::Table =
        toml::from_str(front).map_err(|e| front_error(path, span_line(&e, front), e.message()))?;
    Ok((text, table))
}

/// "FILE:LINE: front matter: what", or "FILE: front matter: what" when the
/// line is unknown.
fn front_error(path: &Path, line: Option<usize>, what: &str) -> Error {
    let line = line.map(|l| format!(":{l}")).unwrap_or_default();
    Error::Release(format!(
        "{}{line}: front matter: {}",
        path.display(),
        what.trim_end()
    ))
}

/// The line in the file of a TOML error in `front` (the front matter starts
/// on line 2, after the opening `+++`).
fn span_line(e: &toml::de::Error, front: &str) -> Option<usize> {
    e.span()
        .map(|span| 2 + front[..span.start.min(front.len())].matches('\n').count())
}

/// The line in the file of `key` in `front`: at the top level, or in the
/// `[table]` given. None when this file does not set it (a variant
/// inheriting it from the main file).
fn key_line(front: &str, table: Option<&str>, key: &str) -> Option<usize> {
    let mut current: Option<&str> = None;
    for (n, line) in front.lines().enumerate() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            current = Some(header.trim_end_matches(']').trim());
        } else if current == table
            && line
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return Some(2 + n);
        }
    }
    None
}

/// The line that sets `key` of `[strings]`, however TOML spells it: under
/// the table header (bare or quoted), as a dotted key, or in an inline
/// table (its line).
fn strings_key_line(front: &str, key: &str) -> Option<usize> {
    key_line(front, Some("strings"), key)
        .or_else(|| key_line(front, Some("strings"), &format!("\"{key}\"")))
        .or_else(|| key_line(front, None, &format!("strings.{key}")))
        .or_else(|| key_line(front, None, "strings"))
}

/// (front matter, number of lines before the body, body).
fn split(text: &str) -> Option<(&str, usize, &str)> {
    let rest = text.strip_prefix("+++\n")?;
    let end = rest
        .find("\n+++\n")
        .map(|i| (i, i + 5))
        .or_else(|| rest.strip_suffix("\n+++").map(|f| (f.len(), rest.len())))?;
    let front = &rest[..end.0];
    let body = &rest[end.1..];
    // The opening `+++`, every line of the front matter (blank ones at its
    // end too, which `lines()` would not count) and the closing `+++`.
    let lines_before = 2 + front.matches('\n').count() + 1;
    Some((front, lines_before, body))
}

impl ReleaseFile {
    fn from_parts(path: &Path, text: &str, table: toml::Table) -> Result<ReleaseFile, Error> {
        let (own, lines_before, body) = split(text)
            .ok_or_else(|| Error::Release(format!("{}: no front matter", path.display())))?;
        // `[table] key` → the line where this file sets it.
        let bad = |table: Option<&str>, key: &str, msg: String| {
            front_error(path, key_line(own, table, key), &msg)
        };
        // Through text rather than `Value::try_into`, which loses TOML
        // date-times; a variant's table is the main one merged with its own.
        let merged =
            toml::to_string(&table).map_err(|e| front_error(path, None, &e.to_string()))?;
        let front: FrontMatter = toml::from_str(&merged).map_err(|e: toml::de::Error| {
            // The merged text has lost the file's lines. This file's own
            // front matter has them and, when the fault is in this file (an
            // unknown key, a wrong type), fails with the same message.
            let line = match toml::from_str::<FrontMatter>(own) {
                Err(o) if o.message() == e.message() => span_line(&o, own),
                _ => None,
            };
            front_error(path, line, e.message())
        })?;
        let language = normalise_language(&front.language)
            .map_err(|e| bad(None, "language", format!("`language`: {e}")))?;
        let embargo = front
            .embargo
            .as_ref()
            .map(|d| {
                DateTime::parse_from_rfc3339(&d.to_string()).map_err(|_| {
                    bad(None, "embargo", format!(
                        "`embargo`: {d} needs a date, a time and a UTC offset, e.g. 2026-05-10T09:00:00+03:00"
                    ))
                })
            })
            .transpose()?;
        let dateline_date = front
            .dateline
            .as_ref()
            .map(|d| {
                let s = d.date.to_string();
                NaiveDate::parse_from_str(&s[..s.len().min(10)], "%Y-%m-%d").map_err(|_| {
                    bad(
                        Some("dateline"),
                        "date",
                        format!("`dateline.date`: {s} is not a date like 2026-05-10"),
                    )
                })
            })
            .transpose()?;
        let timezone = front
            .timezone
            .as_ref()
            .map(|t| {
                t.parse::<chrono_tz::Tz>().map_err(|_| {
                    bad(
                        None,
                        "timezone",
                        format!(
                            "`timezone`: {t:?} is not an IANA time zone such as \"Europe/Berlin\""
                        ),
                    )
                })
            })
            .transpose()?;
        let strings = Strings::resolve(&language, &front.strings)
            .map_err(|e| front_error(path, strings_key_line(own, &e.key), &e.what))?;
        let mut front = front;
        front.language = language;
        for (table, key, value) in [
            (None, "title", Some(front.title.as_str())),
            (Some("from"), "name", front.from.name.as_deref()),
            (Some("from"), "email", Some(front.from.email.as_str())),
            (None, "reply_to", front.reply_to.as_deref()),
        ] {
            if value.is_some_and(|v| v.contains(['\r', '\n'])) {
                let what = table.map(|t| format!("{t}.{key}")).unwrap_or(key.into());
                return Err(bad(
                    table,
                    key,
                    format!("`{what}` contains a line break; header values must be one line"),
                ));
            }
        }
        Ok(ReleaseFile {
            path: path.to_path_buf(),
            body: "\n".repeat(lines_before) + body,
            front,
            embargo,
            dateline_date,
            timezone,
            strings,
            own_front: own.to_string(),
        })
    }

    /// The file's display name.
    pub fn name(&self) -> String {
        self.path.display().to_string()
    }

    /// The line where this file sets `key` (in `[table]`, when given);
    /// `None` when it inherits the key from the main file or lacks it.
    pub fn key_line(&self, table: Option<&str>, key: &str) -> Option<usize> {
        key_line(&self.own_front, table, key)
    }

    /// Whether the file's embargo still holds at `at`: a message written
    /// then carries the embargo banner and subject prefix.
    pub fn embargo_holds(&self, at: DateTime<chrono::Utc>) -> bool {
        self.embargo.is_some_and(|e| at < e)
    }
}

#[cfg(test)]
mod tests {
    use super::{key_line, split, strings_key_line};

    #[test]
    fn the_body_keeps_its_line_numbers_in_the_file() {
        // Line 1 `+++`, the front matter, the closing `+++`, then the body.
        for (text, body_line) in [
            ("+++\na = 1\nb = 2\n+++\nbody\n", 5),
            // Blank lines at the end of the front matter count too.
            ("+++\na = 1\n\n\n+++\nbody\n", 6),
            ("+++\n\n+++\nbody\n", 4),
        ] {
            let (_, lines_before, body) = split(text).unwrap();
            assert_eq!(body, "body\n");
            assert_eq!(lines_before + 1, body_line, "{text:?}");
            assert_eq!(text.lines().nth(body_line - 1), Some("body"));
        }
    }

    #[test]
    fn keys_are_found_in_their_table() {
        let front =
            "title = \"T\"\ndate = 1\n\n[dateline]\n# note\ndate = 2\n[from]\nemail = \"x\"";
        assert_eq!(key_line(front, None, "title"), Some(2));
        assert_eq!(key_line(front, None, "date"), Some(3));
        assert_eq!(key_line(front, Some("dateline"), "date"), Some(7));
        assert_eq!(key_line(front, Some("from"), "email"), Some(9));
        assert_eq!(key_line(front, Some("from"), "name"), None);
        // A key that only starts the same is another key.
        assert_eq!(key_line("titles = 1", None, "title"), None);
    }

    #[test]
    fn a_strings_key_is_found_however_toml_spells_it() {
        let table = "title = \"T\"\n[strings]\nkind = \"a\"\n\"press contact\" = \"b\"";
        assert_eq!(strings_key_line(table, "kind"), Some(4));
        assert_eq!(strings_key_line(table, "press contact"), Some(5));
        let dotted = "title = \"T\"\nstrings.foo = \"x\"";
        assert_eq!(strings_key_line(dotted, "foo"), Some(3));
        let inline = "title = \"T\"\n\nstrings = { foo = \"x\" }";
        assert_eq!(strings_key_line(inline, "foo"), Some(4));
    }
}
