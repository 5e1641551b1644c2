//! Audience filters: which contacts a list, an export or a send is for.
//!
//! Each kind of filter is repeatable: values of one kind are OR-ed, kinds
//! are AND-ed (`--tag press --tag radio --country DE` = tagged press or
//! radio, and in Germany). Two tag filters are the exceptions: every
//! `--require-tag` must be on the contact, and no `--exclude-tag` may be.
//! Values are normalised like imported data, so `--country germany` and
//! `--language EN` work. The SQL condition they make is
//! `store/audience.rs`.

use serde::{Deserialize, Serialize};

use super::fields::{normalise_country, normalise_language, normalise_tag};
use super::Error;

/// A set of filters; the empty audience is every contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Tags the contact must all have (`--require-tag`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require_tags: Vec<String>,
    /// Tags the contact must have none of (`--exclude-tag`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beats: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outlets: Vec<String>,
    /// Text the address, name or outlet contains, without regard to case
    /// (a search).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Audience {
    /// Builds an audience from raw flag values, normalising each; a value
    /// that is no country or language is bad input.
    pub fn new(
        tags: &[String],
        countries: &[String],
        languages: &[String],
        beats: &[String],
        outlets: &[String],
    ) -> Result<Audience, Error> {
        let flag = |name: &str, e: String| Error::BadInput(format!("--{name}: {e}"));
        Ok(Audience {
            tags: normalise_tags(tags),
            countries: countries
                .iter()
                .map(|c| normalise_country(c).map_err(|e| flag("country", e)))
                .collect::<Result<_, _>>()?,
            languages: languages
                .iter()
                .map(|l| normalise_language(l).map_err(|e| flag("language", e)))
                .collect::<Result<_, _>>()?,
            beats: clean(beats),
            outlets: clean(outlets),
            ..Audience::default()
        })
    }

    /// This audience, narrowed to contacts with every tag of `require` and
    /// none of `exclude`.
    pub fn with_tag_rules(mut self, require: &[String], exclude: &[String]) -> Audience {
        self.require_tags = normalise_tags(require);
        self.exclude_tags = normalise_tags(exclude);
        self
    }

    /// Whether this audience is every contact.
    pub fn is_everyone(&self) -> bool {
        *self == Audience::default()
    }
}

fn normalise_tags(tags: &[String]) -> Vec<String> {
    tags.iter().filter_map(|t| normalise_tag(t)).collect()
}

fn clean(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}
