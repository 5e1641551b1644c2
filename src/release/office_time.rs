//! Times as the press office reads them in presswire's own output (the
//! send's confirmation, `sends`, `sends status`, the report): in the
//! release's time zone, named, with UTC beside it, e.g. "8 Dec 2026, 09:00
//! Asia/Bangkok (02:00 UTC)". Always in English: this is the office's
//! view. The dates inside a message, in the journalist's language, are
//! `dates`' business.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// "8 Dec 2026, 09:00 Asia/Bangkok (02:00 UTC)"; the UTC side names its day
/// when it differs ("8 Dec 2026, 03:00 Asia/Bangkok (7 Dec, 20:00 UTC)");
/// "8 Dec 2026, 02:00 UTC" with no zone, or one that is UTC.
pub fn format(at: DateTime<Utc>, tz: Option<Tz>) -> String {
    const DAY_TIME: &str = "%-d %b %Y, %H:%M";
    match tz.filter(|tz| !is_utc(*tz)) {
        None => format!("{} UTC", at.format(DAY_TIME)),
        Some(tz) => {
            let local = at.with_timezone(&tz);
            let utc = if local.date_naive() == at.date_naive() {
                at.format("%H:%M")
            } else {
                at.format("%-d %b, %H:%M")
            };
            format!("{} {} ({utc} UTC)", local.format(DAY_TIME), tz.name())
        }
    }
}

/// [`format`] of a time in milliseconds since the epoch (as the database
/// keeps them); empty for one out of range.
pub fn format_ms(ms: i64, tz: Option<Tz>) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|at| format(at, tz))
        .unwrap_or_default()
}

/// A stored zone name, parsed; `None` when absent or unknown (shown as UTC).
pub fn zone(name: Option<&str>) -> Option<Tz> {
    name.and_then(|n| n.parse().ok())
}

/// Whether `tz` is UTC under one of its names (its offset is always zero).
fn is_utc(tz: Tz) -> bool {
    matches!(
        tz.name(),
        "UTC"
            | "UCT"
            | "Universal"
            | "Zulu"
            | "GMT"
            | "Etc/UTC"
            | "Etc/UCT"
            | "Etc/Universal"
            | "Etc/Zulu"
            | "Etc/GMT"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_the_release_zone_with_utc_beside() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        assert_eq!(
            format(at("2026-12-08T02:00:00Z"), Some(chrono_tz::Asia::Bangkok)),
            "8 Dec 2026, 09:00 Asia/Bangkok (02:00 UTC)"
        );
        // The UTC day differs: named.
        assert_eq!(
            format(at("2026-12-07T20:00:00Z"), Some(chrono_tz::Asia::Bangkok)),
            "8 Dec 2026, 03:00 Asia/Bangkok (7 Dec, 20:00 UTC)"
        );
        assert_eq!(
            format(at("2026-12-08T02:00:00Z"), None),
            "8 Dec 2026, 02:00 UTC"
        );
        assert_eq!(
            format(at("2026-12-08T02:00:00Z"), Some(chrono_tz::UTC)),
            "8 Dec 2026, 02:00 UTC"
        );
        assert_eq!(
            format_ms(1_796_695_200_000, zone(Some("Europe/Berlin"))),
            "8 Dec 2026, 03:00 Europe/Berlin (02:00 UTC)"
        );
        assert_eq!(zone(Some("Mars/Olympus")), None);
    }
}
