//! Audience filters: which contacts a list, an export or a send is for.
//!
//! Each kind of filter is repeatable: values of one kind are OR-ed, kinds
//! are AND-ed (`--tag press --tag radio --country DE` = tagged press or
//! radio, and in Germany). Two tag filters are the exceptions: every
//! `--require-tag` must be on the contact, and no `--exclude-tag` may be.
//! Values are normalised like imported data, so `--country germany` and
//! `--language EN` work.

use serde::{Deserialize, Serialize};

use super::fields::{normalise_country, normalise_language, normalise_tag};
use super::Error;
use crate::db::Params;

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

    /// A SQL condition on contact `c` (always valid, `TRUE`-like when empty).
    pub fn where_sql(&self, params: &mut Params) -> String {
        let mut all = vec!["1 = 1".to_string()];
        if !self.tags.is_empty() {
            let list: Vec<String> = self.tags.iter().map(|t| params.push(t.as_str())).collect();
            all.push(format!(
                "EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND t.tag IN ({}))",
                list.join(", ")
            ));
        }
        // One EXISTS per required tag: each must be there.
        for tag in &self.require_tags {
            all.push(format!(
                "EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND t.tag = {})",
                params.push(tag.as_str())
            ));
        }
        if !self.exclude_tags.is_empty() {
            let list: Vec<String> = self
                .exclude_tags
                .iter()
                .map(|t| params.push(t.as_str()))
                .collect();
            all.push(format!(
                "NOT EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND t.tag IN ({}))",
                list.join(", ")
            ));
        }
        if !self.countries.is_empty() {
            let list: Vec<String> = self
                .countries
                .iter()
                .map(|t| params.push(t.as_str()))
                .collect();
            all.push(format!("c.country IN ({})", list.join(", ")));
        }
        // A language matches itself and its regional forms: `de` takes `de-AT`.
        any_of(&mut all, params, &self.languages, |p, v| {
            let exact = p.push(v.to_string());
            let prefix = p.push(format!("{v}-%"));
            format!("c.language = {exact} OR c.language LIKE {prefix}")
        });
        // Beats and outlets ignore case. Both sides go through the database's
        // own lower(): SQLite's lowers only ASCII, so a value lowered in Rust
        // ("österreich") would never equal SQLite's lower("Österreich").
        // A beat matches anywhere in the contact's beat text ("climate" in "Energy, Climate").
        any_of(&mut all, params, &self.beats, |p, v| {
            format!("lower(c.beat) LIKE lower({})", p.push(format!("%{v}%")))
        });
        any_of(&mut all, params, &self.outlets, |p, v| {
            format!("lower(c.outlet) = lower({})", p.push(v.to_string()))
        });
        if let Some(text) = self
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            // LIKE's wildcards in the text are taken literally.
            let escaped = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let p = params.push(format!("%{escaped}%"));
            all.push(format!(
                "(c.email_key LIKE {p} ESCAPE '\\' OR lower(COALESCE(c.name, '')) LIKE {p} ESCAPE '\\' \
                 OR lower(COALESCE(c.outlet, '')) LIKE {p} ESCAPE '\\')"
            ));
        }
        all.join(" AND ")
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

/// Adds `(cond(v1) OR cond(v2) …)` to `all` when `values` is not empty.
fn any_of(
    all: &mut Vec<String>,
    params: &mut Params,
    values: &[String],
    cond: impl Fn(&mut Params, &str) -> String,
) {
    if values.is_empty() {
        return;
    }
    let parts: Vec<String> = values
        .iter()
        .map(|v| format!("({})", cond(params, v)))
        .collect();
    all.push(format!("({})", parts.join(" OR ")));
}
