//! The writing system of a release's language, as its HTML needs it: a
//! font stack that has the script's letters (a mail client without them
//! shows boxes), and the writing direction (`dir="rtl"` for Arabic, Hebrew
//! and Thaana).
//!
//! Latin, Cyrillic and Greek need nothing: the layout's own fonts (Georgia,
//! Helvetica, Arial) have them, and those releases keep their CSS as it is.

use serde::Serialize;

/// What the layouts see as `release.script`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Script {
    /// ISO 15924 code: "Mymr", "Thai", "Arab", "Latn", …
    pub code: &'static str,
    /// A CSS `font-family` list for text in this script, with single-quoted
    /// names; `None` when the layout's fonts cover it.
    pub fonts: Option<&'static str>,
    /// Written right to left.
    pub rtl: bool,
}

/// Font stacks by script: a free Noto face first (installed with many
/// Linux and Android systems, and by readers of the script), then the
/// faces Windows and macOS/iOS ship for it, then the generic family.
const FONTS: &[(&str, &str)] = &[
    (
        "Arab",
        "'Noto Naskh Arabic', 'Geeza Pro', 'Segoe UI', Tahoma, 'Arabic Typesetting', sans-serif",
    ),
    (
        "Hebr",
        "'Noto Sans Hebrew', 'Arial Hebrew', 'Segoe UI', Arial, sans-serif",
    ),
    ("Thaa", "'Noto Sans Thaana', 'MV Boli', sans-serif"),
    (
        "Mymr",
        "'Noto Sans Myanmar', Padauk, 'Myanmar Text', 'Myanmar Sangam MN', sans-serif",
    ),
    (
        "Thai",
        "'Noto Sans Thai', 'Leelawadee UI', Leelawadee, Thonburi, Tahoma, sans-serif",
    ),
    (
        "Hans",
        "'Noto Sans SC', 'PingFang SC', 'Microsoft YaHei', 'Hiragino Sans GB', sans-serif",
    ),
    (
        "Hant",
        "'Noto Sans TC', 'PingFang TC', 'Microsoft JhengHei', sans-serif",
    ),
    (
        "Jpan",
        "'Noto Sans JP', 'Hiragino Sans', 'Yu Gothic', Meiryo, sans-serif",
    ),
    (
        "Kore",
        "'Noto Sans KR', 'Apple SD Gothic Neo', 'Malgun Gothic', sans-serif",
    ),
    (
        "Deva",
        "'Noto Sans Devanagari', 'Nirmala UI', 'Kohinoor Devanagari', Mangal, sans-serif",
    ),
    (
        "Beng",
        "'Noto Sans Bengali', 'Nirmala UI', 'Bangla Sangam MN', Vrinda, sans-serif",
    ),
    (
        "Taml",
        "'Noto Sans Tamil', 'Nirmala UI', 'Tamil Sangam MN', Latha, sans-serif",
    ),
    (
        "Sinh",
        "'Noto Sans Sinhala', 'Nirmala UI', 'Sinhala Sangam MN', 'Iskoola Pota', sans-serif",
    ),
    (
        "Khmr",
        "'Noto Sans Khmer', 'Khmer UI', 'Khmer Sangam MN', sans-serif",
    ),
    (
        "Laoo",
        "'Noto Sans Lao', 'Lao UI', 'Lao Sangam MN', sans-serif",
    ),
    (
        "Ethi",
        "'Noto Sans Ethiopic', Nyala, Ebrima, Kefa, sans-serif",
    ),
    (
        "Geor",
        "'Noto Sans Georgian', Sylfaen, 'Helvetica Neue', sans-serif",
    ),
    (
        "Armn",
        "'Noto Sans Armenian', Sylfaen, Mshtakan, sans-serif",
    ),
];

/// Urdu is written in Nastaliq, not the Naskh of Arabic and Persian.
const URDU: &str = "'Noto Nastaliq Urdu', 'Jameel Noori Nastaleeq', 'Urdu Typesetting', 'Noto Naskh Arabic', 'Geeza Pro', Tahoma, sans-serif";

/// The script a language is written in when its tag names none (the
/// common one; CLDR's likely subtags agree for these).
fn default_script(primary: &str, region: Option<&str>) -> &'static str {
    match primary {
        "ar" | "fa" | "ur" | "ps" | "sd" | "ug" | "ckb" => "Arab",
        "he" | "yi" => "Hebr",
        "dv" => "Thaa",
        "my" => "Mymr",
        "th" => "Thai",
        "zh" => match region {
            Some("tw" | "hk" | "mo") => "Hant",
            _ => "Hans",
        },
        "ja" => "Jpan",
        "ko" => "Kore",
        "hi" | "mr" | "ne" => "Deva",
        "bn" | "as" => "Beng",
        "ta" => "Taml",
        "si" => "Sinh",
        "km" => "Khmr",
        "lo" => "Laoo",
        "am" | "ti" => "Ethi",
        "ka" => "Geor",
        "hy" => "Armn",
        "ru" | "uk" | "bg" | "be" | "sr" | "mk" | "kk" | "ky" | "mn" | "tg" => "Cyrl",
        "el" => "Grek",
        _ => "Latn",
    }
}

/// The script of a BCP 47 tag: its script subtag when it has one
/// (`sr-Latn`, `zh-Hant`), else the language's usual one.
pub fn for_language(lang: &str) -> Script {
    let mut parts = lang.split('-');
    let primary = parts.next().unwrap_or_default().to_ascii_lowercase();
    let mut script = None;
    let mut region = None;
    for p in parts {
        if p.len() == 4 && p.chars().all(|c| c.is_ascii_alphabetic()) && script.is_none() {
            script = Some(p.to_ascii_lowercase());
        } else if (p.len() == 2 || p.len() == 3) && region.is_none() {
            region = Some(p.to_ascii_lowercase());
        }
    }
    let code = script
        .and_then(|s| {
            FONTS
                .iter()
                .map(|(c, _)| *c)
                .chain(["Latn", "Cyrl", "Grek"])
                .find(|c| c.eq_ignore_ascii_case(&s))
        })
        .unwrap_or_else(|| default_script(&primary, region.as_deref()));
    let fonts = if primary == "ur" && code == "Arab" {
        Some(URDU)
    } else {
        FONTS.iter().find(|(c, _)| *c == code).map(|(_, f)| *f)
    };
    Script {
        code,
        fonts,
        rtl: matches!(code, "Arab" | "Hebr" | "Thaa"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_fonts_and_direction_by_language() {
        let my = for_language("my");
        assert_eq!((my.code, my.rtl), ("Mymr", false));
        assert!(my
            .fonts
            .unwrap()
            .starts_with("'Noto Sans Myanmar', Padauk, 'Myanmar Text'"));
        assert!(for_language("th").fonts.unwrap().contains("Leelawadee"));
        let ar = for_language("ar-EG");
        assert_eq!((ar.code, ar.rtl), ("Arab", true));
        assert!(ar
            .fonts
            .unwrap()
            .starts_with("'Noto Naskh Arabic', 'Geeza Pro'"));
        assert!(for_language("fa").rtl);
        assert!(for_language("he").rtl);
        assert!(for_language("ur")
            .fonts
            .unwrap()
            .starts_with("'Noto Nastaliq Urdu'"));
        assert_eq!(for_language("zh").code, "Hans");
        assert_eq!(for_language("zh-TW").code, "Hant");
        assert_eq!(for_language("zh-Hant-HK").code, "Hant");
        // Latin, Cyrillic, Greek: the layout's fonts, left to right.
        for lang in ["en", "de-AT", "sw", "id", "ru", "el", "sr-Latn", "xx"] {
            let s = for_language(lang);
            assert_eq!((s.fonts, s.rtl), (None, false), "{lang}");
        }
        assert_eq!(for_language("sr-Latn").code, "Latn");
        assert_eq!(for_language("sr").code, "Cyrl");
        // A script subtag wins over the language's usual script.
        assert_eq!(for_language("az-Arab").code, "Arab");
        // Every stack names faces, then a generic family.
        for (code, fonts) in FONTS {
            assert!(fonts.ends_with("sans-serif"), "{code}");
            assert!(
                !fonts.contains(['"', '<', '>', '&', ';', '{', '}']),
                "{code}"
            );
        }
    }
}
