//! How a report names the values of its country and language breakdowns
//! for a reader: a country's ISO code with its name ("DE Germany"), and a
//! contact's language with the language of the release they got when the
//! release had no variant in theirs ("fr (got en)"). The JSON keeps the
//! plain value beside this label.

use crate::release::Release;

/// "DE Germany"; the code alone when it names no country.
pub fn country(code: &str) -> String {
    match celes::Country::from_alpha2(code) {
        Ok(c) => format!("{code} {}", common_name(c.alpha2, c.long_name)),
        Err(_) => code.to_string(),
    }
}

/// The name a reader knows a country by. celes gives the official name
/// ("The United Kingdom Of Great Britain And Northern Ireland", "The
/// Republic Of Korea"): its leading "The" goes, and the countries whose
/// official name reads like another country's, or not at all like the
/// one in the news, get their common one.
fn common_name(alpha2: &str, long_name: &'static str) -> &'static str {
    const COMMON: &[(&str, &str)] = &[
        ("BN", "Brunei"),
        ("CD", "DR Congo"),
        ("CI", "Côte d'Ivoire"),
        ("FM", "Micronesia"),
        ("GB", "United Kingdom"),
        ("IR", "Iran"),
        ("KP", "North Korea"),
        ("KR", "South Korea"),
        ("LA", "Laos"),
        ("MD", "Moldova"),
        ("MK", "North Macedonia"),
        ("PS", "Palestine"),
        ("RU", "Russia"),
        ("SY", "Syria"),
        ("TW", "Taiwan"),
        ("TZ", "Tanzania"),
        ("US", "United States"),
        ("VE", "Venezuela"),
    ];
    COMMON
        .iter()
        .find(|(code, _)| *code == alpha2)
        .map(|(_, name)| *name)
        .unwrap_or_else(|| long_name.strip_prefix("The ").unwrap_or(long_name))
}

/// `language`, and in brackets the language of the file the release's
/// sender picked for it (`Release::file_for`, the very choice made when
/// the messages were written) when that is another language: "fr (got
/// en)". `de-AT` that got the `de` variant is in its own language.
pub fn language(language: &str, release: Option<&Release>) -> String {
    let primary = |l: &str| l.split('-').next().unwrap_or(l).to_ascii_lowercase();
    let got = release.map(|r| r.file_for(Some(language)).front.language.as_str());
    match got {
        Some(got) if primary(got) != primary(language) => format!("{language} (got {got})"),
        _ => language.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_by_code_and_the_name_a_reader_knows() {
        assert_eq!(country("DE"), "DE Germany");
        assert_eq!(country("GB"), "GB United Kingdom");
        assert_eq!(country("NL"), "NL Netherlands");
        assert_eq!(country("KR"), "KR South Korea");
        assert_eq!(country("XX"), "XX");
    }
}
