//! Dates as a release shows them, in the release's language and time zone:
//! month names from chrono's locales (glibc's data, through
//! `pure-rust-locales`), the order of day, month and year and the digits
//! as the language writes them in running text.

use chrono::{DateTime, FixedOffset, Locale, NaiveDate};

fn primary(lang: &str) -> &str {
    lang.split('-').next().unwrap_or(lang)
}

/// How one language writes dates.
struct Style {
    locale: Locale,
    /// A date: "10 May 2026".
    date: &'static str,
    /// A date and time, before the zone: "10 May 2026, 09:00".
    instant: &'static str,
    /// Its own digits, as the code point of its zero (Unicode puts the ten
    /// digits of a script in a row): Burmese writes dates in Myanmar digits.
    zero: Option<u32>,
}

const fn style(locale: Locale, date: &'static str, instant: &'static str) -> Style {
    Style {
        locale,
        date,
        instant,
        zero: None,
    }
}

fn style_of(lang: &str) -> Style {
    match primary(lang) {
        "de" => style(Locale::de_DE, "%-d. %B %Y", "%-d. %B %Y, %H:%M"),
        "fr" => style(Locale::fr_FR, "%-d %B %Y", "%-d %B %Y à %H:%M"),
        "es" => style(Locale::es_ES, "%-d de %B de %Y", "%-d de %B de %Y, %H:%M"),
        "pt" => style(Locale::pt_PT, "%-d de %B de %Y", "%-d de %B de %Y, %H:%M"),
        "it" => style(Locale::it_IT, "%-d %B %Y", "%-d %B %Y, %H:%M"),
        "nl" => style(Locale::nl_NL, "%-d %B %Y", "%-d %B %Y, %H:%M"),
        "sv" => style(Locale::sv_SE, "%-d %B %Y", "%-d %B %Y kl. %H.%M"),
        // glibc's Russian month names are the genitive the date needs.
        "ru" => style(Locale::ru_RU, "%-d %B %Y г.", "%-d %B %Y г., %H:%M"),
        // Numbers with 年月日: the locale's month names ("五月") are for
        // standing alone.
        "zh" => style(Locale::zh_CN, "%Y年%-m月%-d日", "%Y年%-m月%-d日 %H:%M"),
        "th" => style(Locale::th_TH, "%-d %B %Y", "%-d %B %Y เวลา %H:%M น."),
        "ar" => style(Locale::ar_EG, "%-d %B %Y", "%-d %B %Y، %H:%M"),
        "id" => style(Locale::id_ID, "%-d %B %Y", "%-d %B %Y pukul %H.%M"),
        "sw" => style(Locale::sw_KE, "%-d %B %Y", "%-d %B %Y, %H:%M"),
        // Year first, as Burmese dates are written: "၂၀၂၆ ခုနှစ်၊ ဒီဇင်ဘာ ၁ ရက်".
        "my" => Style {
            zero: Some(0x1040),
            ..style(
                Locale::my_MM,
                "%Y ခုနှစ်၊ %B %-d ရက်",
                "%Y ခုနှစ်၊ %B %-d ရက်၊ %H:%M",
            )
        },
        _ => style(Locale::en_GB, "%-d %B %Y", "%-d %B %Y, %H:%M"),
    }
}

/// `text` with ASCII digits written in the style's own.
fn digits(style: &Style, text: String) -> String {
    match style.zero {
        None => text,
        Some(zero) => text
            .chars()
            .map(|c| match c.to_digit(10) {
                Some(d) => char::from_u32(zero + d).unwrap_or(c),
                None => c,
            })
            .collect(),
    }
}

/// "10 May 2026", "10. Mai 2026", "2026年5月10日".
pub fn format_date(date: NaiveDate, lang: &str) -> String {
    let style = style_of(lang);
    let text = date.format_localized(style.date, style.locale).to_string();
    digits(&style, text)
}

/// "10 May 2026, 09:00 EAT" in `tz`, or with the UTC offset when no zone
/// is set. The zone stays as the tz database names it.
pub fn format_instant(at: DateTime<FixedOffset>, tz: Option<chrono_tz::Tz>, lang: &str) -> String {
    let style = style_of(lang);
    let (when, zone) = match tz {
        Some(tz) => {
            let local = at.with_timezone(&tz);
            (
                local
                    .format_localized(style.instant, style.locale)
                    .to_string(),
                local.format("%Z").to_string(),
            )
        }
        None => (
            at.format_localized(style.instant, style.locale).to_string(),
            format!("UTC{}", at.format("%:z")),
        ),
    };
    format!("{} {zone}", digits(&style, when))
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

    #[test]
    fn dates_in_each_language_with_built_in_wording() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        for (lang, want) in [
            ("en", "1 December 2026"),
            ("de", "1. Dezember 2026"),
            ("fr", "1 décembre 2026"),
            ("es", "1 de diciembre de 2026"),
            ("pt-BR", "1 de dezembro de 2026"),
            ("it", "1 dicembre 2026"),
            ("nl", "1 december 2026"),
            ("sv", "1 december 2026"),
            ("ru", "1 декабря 2026 г."),
            ("zh", "2026年12月1日"),
            ("th", "1 ธันวาคม 2026"),
            ("ar", "1 ديسمبر 2026"),
            ("id", "1 Desember 2026"),
            ("sw", "1 Desemba 2026"),
            ("my", "၂၀၂၆ ခုနှစ်၊ ဒီဇင်ဘာ ၁ ရက်"),
        ] {
            assert_eq!(format_date(d, lang), want, "{lang}");
        }
        let at = DateTime::parse_from_rfc3339("2026-05-10T02:30:00Z").unwrap();
        assert_eq!(
            format_instant(at, Some(chrono_tz::Asia::Yangon), "my"),
            "၂၀၂၆ ခုနှစ်၊ မေ ၁၀ ရက်၊ ၀၉:၀၀ +0630"
        );
        assert_eq!(
            format_instant(at, Some(chrono_tz::Asia::Bangkok), "th"),
            "10 พฤษภาคม 2026 เวลา 09:30 น. +07"
        );
        assert_eq!(
            format_instant(at, Some(chrono_tz::Europe::Moscow), "ru"),
            "10 мая 2026 г., 05:30 MSK"
        );
        assert_eq!(
            format_instant(at, Some(chrono_tz::Asia::Shanghai), "zh"),
            "2026年5月10日 10:30 CST"
        );
    }
}
