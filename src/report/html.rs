//! The HTML report: one self-contained file a press officer can forward —
//! inline CSS, inline SVG charts, no script, nothing fetched (a Content
//! Security Policy in the file says so to the browser) — rendered from
//! `templates/report.html`, built into the binary.
//!
//! Contact data and server replies are only ever template values, which
//! minijinja escapes for HTML; the charts' SVG is drawn here from numbers.

use minijinja::{context, AutoEscape, Environment, Value};
use serde::Serialize;

use super::{Error, GroupRow, Report, Tally};
use crate::release::office_time;

/// The template, as shipped.
pub const TEMPLATE: &str = include_str!("../../templates/report.html");

/// Rows of the action list shown; the CSV has every delivery.
pub const TO_FIX_SHOWN: usize = 1_000;
/// Rows of each breakdown shown; the JSON has them all.
const GROUPS_SHOWN: usize = 12;

/// Renders `report` as one HTML document.
pub fn render(report: &Report) -> Result<String, Error> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    add_filters(&mut env);
    env.add_function("share", share);
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| Error::Template(e.to_string()))?;
    let cards = cards(report);
    let shown = report.to_fix.len().min(TO_FIX_SHOWN);
    let reasons_max = report
        .bounce_reasons
        .iter()
        .map(|r| r.count)
        .max()
        .unwrap_or(0);
    let reasons: Vec<Value> = report
        .bounce_reasons
        .iter()
        .map(|r| {
            context! {
                kind => r.kind, reason => r.reason, count => r.count,
                width => share(r.count, reasons_max),
            }
        })
        .collect();
    let ctx = context! {
        r => report,
        cards => cards,
        sent_chart => sent_chart(report),
        bounce_chart => bounce_chart(report),
        reasons => reasons,
        outlets => stacked(&report.by_outlet),
        domains => stacked(&report.by_domain),
        countries => stacked(&report.by_country),
        languages => stacked(&report.by_language),
        to_fix => &report.to_fix[..shown],
        to_fix_more => report.to_fix.len() - shown,
    };
    env.get_template("report.html")
        .and_then(|t| t.render(ctx))
        .map_err(|e| Error::Template(format!("{e:#}")))
}

/// The filters the report's pages use: `n` (1,234), `pct` (97.3 %),
/// `when` (24 Nov 2025, 16:05 UTC) and `duration` (2 h 05 min). The
/// dashboard's send page registers them too.
pub fn add_filters(env: &mut Environment<'_>) {
    env.add_filter("n", |v: i64| thousands(v));
    env.add_filter("reason_words", |v: String| {
        crate::bounce::reason::with_words(&v)
    });
    env.add_filter("pct", |v: Option<f64>| percent(v));
    env.add_filter("when", |v: Option<String>, tz: Option<String>| {
        when(v.as_deref(), tz.as_deref())
    });
    env.add_filter("duration", |v: Option<f64>| duration(v));
}

/// The headline cards: the outcomes a press officer looks at first.
pub fn cards(report: &Report) -> Vec<Card> {
    let c = &report.counts;
    vec![
        Card::new(
            "Targeted",
            c.targeted,
            format!(
                "{} in the audience, {} skipped",
                thousands(c.audience),
                thousands(c.skipped)
            ),
            "plain",
        ),
        Card::new(
            "Delivered",
            c.delivered,
            format!("{} of targeted", percent(report.rates.delivery_rate)),
            "good",
        ),
        Card::new(
            "Bounced",
            c.bounced,
            format!(
                "{} hard, {} soft",
                thousands(c.bounced_hard),
                thousands(c.bounced_soft)
            ),
            "bad",
        ),
        Card::new(
            "Failed",
            c.failed,
            "given up without a bounce".into(),
            if c.failed > 0 { "bad" } else { "plain" },
        ),
        Card::new(
            "Complaints",
            c.complaints,
            format!("{} of sent", percent(report.rates.complaint_rate)),
            if c.complaints > 0 { "bad" } else { "plain" },
        ),
        Card::new(
            "Unsubscribed",
            c.unsubscribed,
            "since the send started".into(),
            "plain",
        ),
        Card::new(
            "Auto-replies",
            c.auto_replies,
            "out of office and the like".into(),
            "plain",
        ),
        Card::new(
            "Pending",
            c.deferred + c.pending,
            format!(
                "{} deferred (tried again later), {} queued; uncertain: {}",
                thousands(c.deferred),
                thousands(c.pending),
                thousands(c.uncertain)
            ),
            if c.uncertain > 0 { "warn" } else { "plain" },
        ),
    ]
}

/// One headline card: a label, the number, a note under it, and its tone
/// (`good`, `bad`, `warn` or `plain`).
#[derive(Debug, Serialize)]
pub struct Card {
    pub label: &'static str,
    pub value: String,
    pub note: String,
    pub tone: &'static str,
}

impl Card {
    fn new(label: &'static str, value: i64, note: String, tone: &'static str) -> Card {
        Card {
            label,
            value: thousands(value),
            note,
            tone,
        }
    }
}

/// 1234567 → "1,234,567".
pub fn thousands(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if v < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// 0.97314 → "97.3 %"; none → "–".
pub fn percent(v: Option<f64>) -> String {
    match v {
        Some(f) => format!("{:.1} %", f * 100.0),
        None => "–".into(),
    }
}

/// RFC 3339 → "24 Nov 2025, 16:05 UTC", or in the time zone `tz` names:
/// "24 Nov 2025, 19:05 Africa/Nairobi (16:05 UTC)".
pub fn when(v: Option<&str>, tz: Option<&str>) -> String {
    v.and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| office_time::format(t.to_utc(), office_time::zone(tz)))
        .unwrap_or_else(|| "–".into())
}

/// Seconds → "2 h 05 min", "4 min 10 s", "12 s"; none → "–".
pub fn duration(v: Option<f64>) -> String {
    let Some(secs) = v else {
        return "–".into();
    };
    let s = secs.round() as i64;
    match s {
        _ if s < 60 => format!("{s} s"),
        _ if s < 3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ if s < 86_400 => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// `n` as a share of `of` in percent, for a bar's width.
fn share(n: i64, of: i64) -> f64 {
    if of <= 0 {
        0.0
    } else {
        (n as f64 / of as f64 * 1000.0).round() / 10.0
    }
}

/// A breakdown's first rows as stacked bars (each segment's share of the
/// row's targeted deliveries), plus one row for the rest.
fn stacked(rows: &[GroupRow]) -> Vec<Value> {
    let mut out: Vec<Value> = rows.iter().take(GROUPS_SHOWN).map(bar_row).collect();
    if rows.len() > GROUPS_SHOWN {
        let mut rest = Tally::default();
        for r in &rows[GROUPS_SHOWN..] {
            let t = &r.tally;
            rest.targeted += t.targeted;
            rest.delivered += t.delivered;
            rest.bounced += t.bounced;
            rest.failed += t.failed;
            rest.deferred += t.deferred;
            rest.pending += t.pending;
            rest.uncertain += t.uncertain;
            rest.cancelled += t.cancelled;
            rest.skipped += t.skipped;
            rest.complaints += t.complaints;
        }
        let label = format!("{} others", thousands((rows.len() - GROUPS_SHOWN) as i64));
        out.push(bar_row(&GroupRow {
            value: Some(label.clone()),
            label,
            delivery_rate: rest.delivery_rate(),
            tally: rest,
        }));
    }
    out
}

fn bar_row(r: &GroupRow) -> Value {
    let t = &r.tally;
    let other = t.targeted - t.delivered - t.bounced - t.failed;
    context! {
        value => r.value,
        label => r.label,
        t => t,
        rate => r.delivery_rate,
        other => other,
        w_delivered => share(t.delivered, t.targeted),
        w_bounced => share(t.bounced, t.targeted),
        w_failed => share(t.failed, t.targeted),
        w_other => share(other, t.targeted),
    }
}

/// An SVG bar chart drawn from numbers: every coordinate is computed here.
#[derive(Debug, Serialize)]
struct Chart {
    width: f64,
    height: f64,
    /// The plot area's left, top, right and bottom edges.
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
    bars: Vec<Bar>,
    x_labels: Vec<Label>,
    y_labels: Vec<Label>,
    /// What one column stands for ("1 minute", "10 minutes").
    column: String,
    empty: bool,
}

impl Chart {
    /// A chart of the one size every chart of the report has.
    fn of(bars: Vec<Bar>, x_labels: Vec<Label>, y_labels: Vec<Label>, column: String) -> Chart {
        Chart {
            width: W,
            height: H,
            left: LEFT,
            top: TOP,
            right: RIGHT,
            bottom: BOTTOM,
            bars,
            x_labels,
            y_labels,
            column,
            empty: false,
        }
    }
}

#[derive(Debug, Serialize)]
struct Bar {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    class: &'static str,
    title: String,
}

#[derive(Debug, Serialize)]
struct Label {
    x: f64,
    y: f64,
    text: String,
}

const W: f64 = 960.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 948.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 190.0;

/// The y scale: a round maximum and three gridline labels.
fn y_axis(max: f64) -> (f64, Vec<Label>) {
    let max = if max <= 0.0 { 1.0 } else { max };
    let magnitude = 10f64.powf(max.log10().floor());
    let top = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|t| *t >= max)
        .unwrap_or(max);
    let labels = (0..=4)
        .map(|i| {
            let v = top * f64::from(i) / 4.0;
            Label {
                x: LEFT - 8.0,
                y: BOTTOM - (BOTTOM - TOP) * f64::from(i) / 4.0,
                text: if v.fract() == 0.0 {
                    thousands(v as i64)
                } else {
                    format!("{v:.1}")
                },
            }
        })
        .collect();
    (top, labels)
}

/// A time label: "14:05", with the day when the chart spans more than one.
fn time_label(ms: i64, with_day: bool) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            if with_day {
                t.format("%-d %b %H:%M").to_string()
            } else {
                t.format("%H:%M").to_string()
            }
        })
        .unwrap_or_default()
}

fn same_day(a: i64, b: i64) -> bool {
    let day = |ms| chrono::DateTime::from_timestamp_millis(ms).map(|t| t.date_naive());
    day(a) == day(b)
}

/// Messages per minute, in at most 240 columns (a column of several
/// minutes shows their average per minute).
fn sent_chart(report: &Report) -> Chart {
    let points = &report.timeline.sent_per_minute;
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return empty_chart();
    };
    let minutes = (last.ms - first.ms) / 60_000 + 1;
    let per_column = (minutes + 239) / 240;
    let columns = (minutes + per_column - 1) / per_column;
    let mut sums = vec![0i64; columns as usize];
    for p in points {
        let c = ((p.ms - first.ms) / 60_000 / per_column) as usize;
        if let Some(s) = sums.get_mut(c) {
            *s += p.sent;
        }
    }
    let values: Vec<f64> = sums.iter().map(|s| *s as f64 / per_column as f64).collect();
    let (top, y_labels) = y_axis(values.iter().copied().fold(0.0, f64::max));
    let step = (RIGHT - LEFT) / columns as f64;
    let with_day = !same_day(first.ms, last.ms);
    let bars = values
        .iter()
        .enumerate()
        .filter(|(_, v)| **v > 0.0)
        .map(|(i, v)| {
            let h = (BOTTOM - TOP) * v / top;
            let at = first.ms + i as i64 * per_column * 60_000;
            Bar {
                x: LEFT + step * i as f64 + step * 0.1,
                y: BOTTOM - h,
                w: (step * 0.8).max(0.5),
                h,
                class: "sent",
                title: format!(
                    "{}: {} a minute",
                    time_label(at, true),
                    if per_column == 1 {
                        thousands(*v as i64)
                    } else {
                        format!("{v:.1}")
                    }
                ),
            }
        })
        .collect();
    let x_labels = ticks(columns)
        .into_iter()
        .map(|i| Label {
            x: LEFT + step * (i as f64 + 0.5),
            y: BOTTOM + 18.0,
            text: time_label(first.ms + i * per_column * 60_000, with_day),
        })
        .collect();
    let column = if per_column == 1 {
        "1 minute".into()
    } else {
        format!("{per_column} minutes")
    };
    Chart::of(bars, x_labels, y_labels, column)
}

/// Bounces, complaints and auto-replies per interval, stacked.
fn bounce_chart(report: &Report) -> Chart {
    let points = &report.timeline.bounces;
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return empty_chart();
    };
    let interval = report.timeline.bounce_interval_minutes.max(1) * 60_000;
    let columns = (last.ms - first.ms) / interval + 1;
    let max = points
        .iter()
        .map(|p| p.hard + p.soft + p.complaints + p.auto_replies)
        .max()
        .unwrap_or(0);
    let (top, y_labels) = y_axis(max as f64);
    let step = (RIGHT - LEFT) / columns as f64;
    let with_day = !same_day(first.ms, last.ms) || interval >= 3_600_000;
    let mut bars = Vec::new();
    for p in points {
        let i = ((p.ms - first.ms) / interval) as f64;
        let mut base = BOTTOM;
        for (n, class, what) in [
            (p.hard, "hard", "hard bounces"),
            (p.soft, "soft", "soft bounces"),
            (p.complaints, "complaint", "complaints"),
            (p.auto_replies, "auto", "auto-replies"),
        ] {
            if n == 0 {
                continue;
            }
            let h = (BOTTOM - TOP) * n as f64 / top;
            bars.push(Bar {
                x: LEFT + step * i + step * 0.1,
                y: base - h,
                w: (step * 0.8).max(0.5),
                h,
                class,
                title: format!("{}: {} {what}", time_label(p.ms, true), thousands(n)),
            });
            base -= h;
        }
    }
    let x_labels = ticks(columns)
        .into_iter()
        .map(|i| Label {
            x: LEFT + step * (i as f64 + 0.5),
            y: BOTTOM + 18.0,
            text: time_label(first.ms + i * interval, with_day),
        })
        .collect();
    let minutes = report.timeline.bounce_interval_minutes;
    let column = match minutes {
        1 => "1 minute".into(),
        m if m % 1440 == 0 => format!("{} day{}", m / 1440, if m == 1440 { "" } else { "s" }),
        m if m % 60 == 0 => format!("{} hour{}", m / 60, if m == 60 { "" } else { "s" }),
        m => format!("{m} minutes"),
    };
    Chart::of(bars, x_labels, y_labels, column)
}

/// Up to six evenly spaced columns to label.
fn ticks(columns: i64) -> Vec<i64> {
    if columns <= 6 {
        return (0..columns).collect();
    }
    (0..6).map(|i| i * (columns - 1) / 5).collect()
}

fn empty_chart() -> Chart {
    Chart {
        empty: true,
        ..Chart::of(Vec::new(), Vec::new(), Vec::new(), String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(-12_345), "-12,345");
        assert_eq!(percent(Some(0.97314)), "97.3 %");
        assert_eq!(percent(None), "–");
        assert_eq!(
            when(Some("2025-11-24T16:05:00Z"), None),
            "24 Nov 2025, 16:05 UTC"
        );
        assert_eq!(
            when(Some("2025-11-24T16:05:00Z"), Some("Africa/Nairobi")),
            "24 Nov 2025, 19:05 Africa/Nairobi (16:05 UTC)"
        );
        assert_eq!(duration(Some(12.4)), "12 s");
        assert_eq!(duration(Some(250.0)), "4 min 10 s");
        assert_eq!(duration(Some(7_500.0)), "2 h 05 min");
        assert_eq!(duration(None), "–");
    }

    #[test]
    fn the_y_axis_ends_on_a_round_number() {
        assert_eq!(y_axis(7.0).0, 10.0);
        assert_eq!(y_axis(1_150.0).0, 2_000.0);
        assert_eq!(y_axis(240.0).0, 250.0);
        assert_eq!(y_axis(0.0).0, 1.0);
    }
}
