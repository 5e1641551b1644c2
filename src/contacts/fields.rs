//! Normalising the fields of a contact that have a standard form: country
//! (ISO 3166-1 alpha-2), language (BCP 47), tags and status.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A contact's standing on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Receives releases.
    #[default]
    Active,
    /// Asked not to receive releases.
    Unsubscribed,
    /// Their address bounced hard.
    Bounced,
    /// Marked a release as spam.
    Complained,
    /// Moved outlet or address: someone should check the record.
    NeedsUpdate,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Active,
        Status::Unsubscribed,
        Status::Bounced,
        Status::Complained,
        Status::NeedsUpdate,
    ];

    /// The word stored in the database and shown to the press officer.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Unsubscribed => "unsubscribed",
            Status::Bounced => "bounced",
            Status::Complained => "complained",
            Status::NeedsUpdate => "needs-update",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;

    /// Accepts presswire's words and the usual synonyms of export tools
    /// (Mailchimp's "subscribed", "cleaned", …).
    fn from_str(s: &str) -> Result<Status, String> {
        let word = s.trim().to_lowercase().replace([' ', '_'], "-");
        Ok(match word.as_str() {
            "active" | "subscribed" | "ok" => Status::Active,
            "unsubscribed" | "unsubscribe" | "opted-out" | "optout" | "opt-out" => {
                Status::Unsubscribed
            }
            "bounced" | "cleaned" | "bounce" => Status::Bounced,
            "complained" | "complaint" | "spam" => Status::Complained,
            "needs-update" | "needsupdate" | "moved" => Status::NeedsUpdate,
            _ => {
                return Err(format!(
                    "{s:?} is not a status; use one of active, unsubscribed, bounced, complained, needs-update"
                ))
            }
        })
    }
}

/// Turns a country name or code into its ISO 3166-1 alpha-2 code:
/// "DE", "deu", "Germany", "United Kingdom", "UK" → "DE", "DE", "DE", "GB", "GB".
pub fn normalise_country(raw: &str) -> Result<String, String> {
    let squeezed: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    let squeezed = squeezed.strip_prefix("the").unwrap_or(&squeezed);
    // Common names the ISO tables spell otherwise.
    let alias = match squeezed {
        "uk" | "england" | "scotland" | "wales" | "northernireland" | "britain" => "gb",
        "us" | "america" | "unitedstatesofamerica" => "us",
        "southkorea" | "korea" => "kr",
        "northkorea" => "kp",
        "russia" => "ru",
        "iran" => "ir",
        "syria" => "sy",
        "laos" => "la",
        "vietnam" => "vn",
        "burma" => "mm",
        "czechia" | "czechrepublic" => "cz",
        "ivorycoast" | "cotedivoire" | "côtedivoire" => "ci",
        "palestine" => "ps",
        "taiwan" => "tw",
        "turkey" | "türkiye" | "turkiye" => "tr",
        "bolivia" => "bo",
        "tanzania" => "tz",
        "moldova" => "md",
        "deutschland" => "de",
        "österreich" | "osterreich" => "at",
        "schweiz" | "suisse" => "ch",
        "españa" | "espana" => "es",
        "nederland" => "nl",
        "myanmarburma" => "mm",
        other => other,
    };
    celes::Country::from_str(alias)
        .or_else(|_| celes::Country::from_alias(alias))
        .map(|c| c.alpha2.to_string())
        .map_err(|_| {
            format!("{raw:?} is not a country; use a two-letter ISO 3166 code such as \"DE\" or an English country name")
        })
}

/// Turns a language tag or an English language name into a BCP 47 tag in
/// its conventional case: "EN-gb" → "en-GB", "German" → "de", "zh-hant-tw" → "zh-Hant-TW".
pub fn normalise_language(raw: &str) -> Result<String, String> {
    let text = raw.trim().replace('_', "-");
    let err = || {
        format!("{raw:?} is not a language; use a BCP 47 tag such as \"en\", \"fr\" or \"pt-BR\"")
    };
    if let Ok(tag) = language_tags::LanguageTag::parse(&text) {
        if tag.is_valid() && tag.private_use().is_none() {
            let primary = tag.primary_language();
            // The tag must name a real language, not just have the right shape.
            let known = match primary.len() {
                2 => isolang::Language::from_639_1(primary).is_some(),
                3 => isolang::Language::from_639_3(primary).is_some(),
                _ => false,
            };
            if known {
                return Ok(conventional_case(tag.as_str()));
            }
        }
    }
    let lang = isolang::Language::from_name_lowercase(&text.to_lowercase())
        .or_else(|| isolang::Language::from_autonym(&text))
        .ok_or_else(err)?;
    Ok(lang
        .to_639_1()
        .map(str::to_string)
        .unwrap_or_else(|| lang.to_639_3().to_string()))
}

/// RFC 5646 §2.1.1: language lower-case, script title-case, region upper-case.
fn conventional_case(tag: &str) -> String {
    tag.split('-')
        .enumerate()
        .map(|(i, sub)| match (i, sub.len()) {
            (0, _) => sub.to_lowercase(),
            (_, 2) => sub.to_uppercase(),
            (_, 4) if sub.chars().all(|c| c.is_ascii_alphabetic()) => {
                let lower = sub.to_lowercase();
                lower[..1].to_uppercase() + &lower[1..]
            }
            _ => sub.to_lowercase(),
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Splits a tags cell ("press, climate; Radio", Mailchimp's `"a","b"`,
/// Google's "* myContacts ::: Press") into normalised tags: trimmed,
/// lower-case, inner spaces collapsed.
pub fn split_tags(cell: &str) -> Vec<String> {
    let parts = cell.split([',', ';', '|']);
    let mut tags: Vec<String> = if cell.contains(':') && cell.contains(":::") {
        parts
            .flat_map(|part| part.split(":::"))
            .filter_map(normalise_tag)
            .collect()
    } else {
        parts.filter_map(normalise_tag).collect()
    };
    // Google's built-in group, not a label the press officer chose.
    tags.retain(|t| t != "mycontacts" && t != "starred");
    tags
}

/// One tag in its stored form, or `None` when nothing is left of it.
pub fn normalise_tag(tag: &str) -> Option<String> {
    let t = tag
        .trim()
        .trim_matches(|c: char| c == '"' || c == '\'' || c == '*');
    // Most tags are one lower-case ASCII word already.
    if t.bytes()
        .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase())
    {
        return (!t.is_empty()).then(|| t.to_string());
    }
    let t = t
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    (!t.is_empty()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_from_codes_and_names() {
        for (raw, code) in [
            ("DE", "DE"),
            ("de", "DE"),
            ("DEU", "DE"),
            ("Germany", "DE"),
            ("United Kingdom", "GB"),
            ("UK", "GB"),
            ("United States of America", "US"),
            ("Myanmar", "MM"),
            ("Burma", "MM"),
            ("Thailand", "TH"),
            ("The Netherlands", "NL"),
            ("Kenya", "KE"),
        ] {
            assert_eq!(normalise_country(raw).as_deref(), Ok(code), "{raw}");
        }
        assert!(normalise_country("Atlantis").is_err());
        assert!(normalise_country("XX").is_err());
    }

    #[test]
    fn languages_as_bcp47() {
        for (raw, tag) in [
            ("en", "en"),
            ("EN-gb", "en-GB"),
            ("pt_br", "pt-BR"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("German", "de"),
            ("english", "en"),
            ("Burmese", "my"),
            ("Deutsch", "de"),
        ] {
            assert_eq!(normalise_language(raw).as_deref(), Ok(tag), "{raw}");
        }
        assert!(normalise_language("Klingonish").is_err());
        assert!(normalise_language("xx").is_err());
    }

    #[test]
    fn tags_from_every_export_style() {
        assert_eq!(
            split_tags("press, Climate;  Radio "),
            ["press", "climate", "radio"]
        );
        assert_eq!(split_tags("\"Press\",\"VIP\""), ["press", "vip"]);
        assert_eq!(
            split_tags("* myContacts ::: Press ::: Climate Desk"),
            ["press", "climate desk"]
        );
        assert!(split_tags("  ").is_empty());
    }

    #[test]
    fn status_words() {
        assert_eq!("Subscribed".parse::<Status>(), Ok(Status::Active));
        assert_eq!("needs update".parse::<Status>(), Ok(Status::NeedsUpdate));
        assert!("maybe".parse::<Status>().is_err());
    }
}
