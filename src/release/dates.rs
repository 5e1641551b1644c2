//! Dates as a release shows them, in the release's language and time zone.

use chrono::{DateTime, FixedOffset, Locale, NaiveDate};

fn primary(lang: &str) -> &str {
    lang.split('-').next().unwrap_or(lang)
}

fn locale(lang: &str) -> Locale {
    match primary(lang) {
        "de" => Locale::de_DE,
        "fr" => Locale::fr_FR,
        "es" => Locale::es_ES,
        "pt" => Locale::pt_PT,
        "it" => Locale::it_IT,
        "nl" => Locale::nl_NL,
        "sv" => Locale::sv_SE,
        "th" => Locale::th_TH,
        "my" => Locale::my_MM,
        "ar" => Locale::ar_EG,
        "sw" => Locale::sw_KE,
        _ => Locale::en_GB,
    }
}

fn date_pattern(lang: &str) -> &'static str {
    match primary(lang) {
        "de" => "%-d. %B %Y",
        _ => "%-d %B %Y",
    }
}

/// "10 May 2026", "10. Mai 2026".
pub fn format_date(date: NaiveDate, lang: &str) -> String {
    date.format_localized(date_pattern(lang), locale(lang))
        .to_string()
}

/// "10 May 2026, 09:00 EAT" in `tz`, or with the UTC offset when no zone is set.
pub fn format_instant(at: DateTime<FixedOffset>, tz: Option<chrono_tz::Tz>, lang: &str) -> String {
    let pattern = format!("{}, %H:%M", date_pattern(lang));
    match tz {
        Some(tz) => {
            let local = at.with_timezone(&tz);
            format!(
                "{} {}",
                local.format_localized(&pattern, locale(lang)),
                local.format("%Z")
            )
        }
        None => format!(
            "{} UTC{}",
            at.format_localized(&pattern, locale(lang)),
            at.format("%:z")
        ),
    }
}

/// The embargo banner's words in the release's language.
pub fn embargo_label(lang: &str) -> &'static str {
    match primary(lang) {
        "de" => "SPERRFRIST BIS",
        "fr" => "SOUS EMBARGO JUSQU'AU",
        "es" => "EMBARGADO HASTA",
        "pt" => "SOB EMBARGO ATÉ",
        "it" => "EMBARGO FINO AL",
        "nl" => "EMBARGO TOT",
        _ => "EMBARGOED UNTIL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_two_languages() {
        let d = NaiveDate::from_ymd_opt(2026, 5, 10).unwrap();
        assert_eq!(format_date(d, "en"), "10 May 2026");
        assert_eq!(format_date(d, "de"), "10. Mai 2026");
        let at = DateTime::parse_from_rfc3339("2026-05-10T06:00:00Z").unwrap();
        assert_eq!(
            format_instant(at, Some(chrono_tz::Africa::Nairobi), "en"),
            "10 May 2026, 09:00 EAT"
        );
        assert_eq!(
            format_instant(at, Some(chrono_tz::Europe::Berlin), "de"),
            "10. Mai 2026, 08:00 CEST"
        );
        assert_eq!(
            format_instant(at, None, "en"),
            "10 May 2026, 06:00 UTC+00:00"
        );
    }
}
