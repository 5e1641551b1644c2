//! Release files: TOML front matter between `+++` lines, then the Markdown
//! body. Variants are other files of the same release in other languages;
//! their front matter inherits every key they do not set from the main file.

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

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
            // A variant never names variants of its own.
            merged.remove("variants");
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
        let lang = lang.to_ascii_lowercase();
        let primary = lang.split('-').next().unwrap_or(&lang);
        let all = || std::iter::once(&self.main).chain(&self.variants);
        all()
            .find(|f| f.front.language.to_ascii_lowercase() == lang)
            .or_else(|| {
                all().find(|f| {
                    let fl = f.front.language.to_ascii_lowercase();
                    fl.split('-').next() == Some(primary)
                })
            })
            .unwrap_or(&self.main)
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
    let table: toml::Table = toml::from_str(front).map_err(|e| {
        Error::Release(format!(
            "{}: front matter {}",
            path.display(),
            toml_error(&e, front)
        ))
    })?;
    Ok((text, table))
}

/// A TOML error of the front matter, with the line it is on in the file
/// (the front matter starts on line 2, after the opening `+++`).
fn toml_error(e: &toml::de::Error, front: &str) -> String {
    match e.span() {
        Some(span) => {
            let line = 2 + front[..span.start.min(front.len())].matches('\n').count();
            format!("line {line}: {}", e.message().trim_end())
        }
        None => e.message().trim_end().to_string(),
    }
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
    let lines_before = 2 + front.lines().count();
    Some((front, lines_before, body))
}

impl ReleaseFile {
    fn from_parts(path: &Path, text: &str, table: toml::Table) -> Result<ReleaseFile, Error> {
        let name = path.display().to_string();
        let bad = |msg: String| Error::Release(format!("{name}: {msg}"));
        // Through text rather than `Value::try_into`, which loses TOML
        // date-times; a variant's table is the main one merged with its own.
        let merged = toml::to_string(&table).map_err(|e| bad(format!("front matter: {e}")))?;
        let front: FrontMatter = toml::from_str(&merged).map_err(|e: toml::de::Error| {
            bad(format!("front matter: {}", e.message().trim_end()))
        })?;
        let (_, lines_before, body) = split(text).ok_or_else(|| bad("no front matter".into()))?;
        let language = normalise_language(&front.language)
            .map_err(|e| bad(format!("front matter `language`: {e}")))?;
        let embargo = front
            .embargo
            .as_ref()
            .map(|d| {
                DateTime::parse_from_rfc3339(&d.to_string()).map_err(|_| {
                    bad(format!(
                        "front matter `embargo`: {d} needs a date, a time and a UTC offset, e.g. 2026-05-10T09:00:00+03:00"
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
                    bad(format!(
                        "front matter `dateline.date`: {s} is not a date like 2026-05-10"
                    ))
                })
            })
            .transpose()?;
        let timezone = front
            .timezone
            .as_ref()
            .map(|t| {
                t.parse::<chrono_tz::Tz>().map_err(|_| {
                    bad(format!(
                        "front matter `timezone`: {t:?} is not an IANA time zone such as \"Europe/Berlin\""
                    ))
                })
            })
            .transpose()?;
        let mut front = front;
        front.language = language;
        for (what, value) in [
            ("title", Some(front.title.as_str())),
            ("from.name", front.from.name.as_deref()),
            ("from.email", Some(front.from.email.as_str())),
            ("reply_to", front.reply_to.as_deref()),
        ] {
            if value.is_some_and(|v| v.contains(['\r', '\n'])) {
                return Err(bad(format!(
                    "front matter `{what}` contains a line break; header values must be one line"
                )));
            }
        }
        Ok(ReleaseFile {
            path: path.to_path_buf(),
            body: "\n".repeat(lines_before) + body,
            front,
            embargo,
            dateline_date,
            timezone,
        })
    }

    /// The file's display name.
    pub fn name(&self) -> String {
        self.path.display().to_string()
    }
}
