//! The wording presswire puts around a release (embargo banner and subject
//! prefix, dateline, masthead, footer) in the release's language, the font
//! stack and writing direction of its script, and a release's own
//! `[strings]`: seen where the journalist sees it (the messages at
//! `smtp-sink`) and where the press officer does (`release preview`, and
//! the error for a key presswire does not know).
//!
//! The release is `tests/fixtures/releases/wording.md`: English with
//! `[strings]` of its own, a Burmese variant with the built-in wording and
//! an Arabic one that sets one key.

use std::collections::BTreeMap;

use mail_parser::MessageParser;

use crate::harness::{each_backend, fixture, SmtpSink, TestApp};

/// A Burmese, an Arabic and two English journalists (one without outlet).
const CONTACTS: &str = "Email,Name,Language,Outlet\n\
    khin@news.example,ခင်မောင်ဝင်း,my,မြန်မာ့အသံ\n\
    layla@news.example,ليلى حداد,ar,الجزيرة\n\
    jane@x.example,Jane Doe,en,River & Dam Weekly\n\
    desk@x.example,News Desk,en,\n";

const FILES: [&str; 3] = ["wording.md", "wording.my.md", "wording.ar.md"];

/// The Burmese banner: the embargo in Yangon time, year first, in Myanmar
/// digits, before "must not be published".
const MY_BANNER: &str = "၂၀၉၉ ခုနှစ်၊ မေ ၁၀ ရက်၊ ၀၉:၀၀ +0630 မတိုင်မီ သတင်းမဖော်ပြရ";
const MY_TITLE: &str = "ရပ်ရွာ ၄၀ က ရေကာတာ ခွင့်ပြုချက်များ ရပ်ဆိုင်းရန် တောင်းဆို";
const MY_DATELINE: &str = "၂၀၂၆ ခုနှစ်၊ ဒီဇင်ဘာ ၁ ရက် | ရန်ကုန်";
const MY_RECEIVE_AT: &str = "မြန်မာ့အသံ မှ သတင်းထောက်တစ်ဦးဖြစ်သောကြောင့် ဤသတင်းထုတ်ပြန်ချက်ကို ပေးပို့ခြင်း ဖြစ်ပါသည်။";
const MY_UNSUBSCRIBE: &str = "ကျွန်ုပ်တို့၏ သတင်းထုတ်ပြန်ချက်များကို ဆက်လက်မရယူလိုပါက ဤအီးမေးလ်ကို ပြန်ကြားပေးပါ။";
const MYANMAR_FONTS: &str =
    "font-family: 'Noto Sans Myanmar', Padauk, 'Myanmar Text', 'Myanmar Sangam MN', sans-serif;";

/// The English override of the banner, in Yangon time.
const EN_BANNER: &str = "HOLD: not before 10 May 2099, 09:00 +0630";

/// Copies the wording release into the working directory and imports the
/// contacts.
fn setup(app: &TestApp) {
    for f in FILES {
        std::fs::copy(fixture(&format!("releases/{f}")), app.path().join(f)).unwrap();
    }
    app.write("contacts.csv", CONTACTS);
    app.ok(["contacts", "import", "contacts.csv"]);
}

/// One message as the journalist reads it.
struct Seen {
    subject: String,
    language: String,
    text: String,
    html: String,
}

impl Seen {
    fn parse(raw: &str) -> Seen {
        let m = MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap_or_else(|| panic!("not a MIME message:\n{raw}"));
        let language = m
            .header("Content-Language")
            .and_then(|h| h.as_text_list())
            .map(|l| l.join(","))
            .unwrap_or_default();
        Seen {
            subject: m.subject().unwrap_or_default().to_string(),
            language,
            text: m.body_text(0).unwrap().into_owned(),
            html: m.body_html(0).unwrap().into_owned(),
        }
    }

    /// The text part with its lines joined: wording that wraps is found
    /// whole.
    fn words(&self) -> String {
        self.text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The HTML part without the `style` attributes css-inline writes: the
    /// markup and the words.
    fn markup(&self) -> String {
        let mut out = String::new();
        let mut rest = self.html.as_str();
        while let Some(at) = rest.find(" style=\"") {
            out.push_str(&rest[..at]);
            let value = &rest[at + 8..];
            rest = &value[value.find('"').map_or(value.len(), |e| e + 1)..];
        }
        out.push_str(rest);
        out
    }
}

/// Sends the wording release to every contact through a fresh smtp-sink:
/// what arrived, by recipient.
fn send_to_the_sink(app: &TestApp) -> BTreeMap<String, Seen> {
    let sink = SmtpSink::start(&[]);
    let out = app.ok([
        "send",
        "wording.md",
        "--yes",
        "--smtp",
        &sink.url(),
        "--rate",
        "unlimited",
    ]);
    assert!(out.contains("4 sent"), "[{}] {out}", app.backend);
    let arrived: BTreeMap<String, Seen> = sink
        .messages()
        .iter()
        .map(|m| (m.rcpt_to.join(","), Seen::parse(&m.raw)))
        .collect();
    assert_eq!(arrived.len(), 4, "[{}]", app.backend);
    arrived
}

#[test]
fn a_burmese_journalist_gets_the_banner_dateline_footer_and_fonts_in_burmese() {
    each_backend(|app| {
        setup(app);
        let arrived = send_to_the_sink(app);
        let m = &arrived["khin@news.example"];
        assert_eq!(m.language, "my");
        assert_eq!(m.subject, format!("[{MY_BANNER}] {MY_TITLE}"));

        // The text part: banner, dateline with the date as Burmese writes
        // it, and the footer in Burmese.
        let mut lines = m.text.lines();
        assert_eq!(lines.next(), Some(format!("*** {MY_BANNER} ***").as_str()));
        assert!(m.text.lines().any(|l| l == MY_DATELINE), "{}", m.text);
        for line in [
            "မီဒီယာ ဆက်သွယ်ရန်: Clearwater Rights Network, Achieng Mwangi",
            "အီးမေးလ်: press@clearwater-rights.example",
            "ဖုန်း: +95 1 555 0100",
            "ဝဘ်ဆိုက်: https://clearwater-rights.example",
            "အရန်ဝဘ်ဆိုက် (ဝဘ်ဆိုက် ပိတ်ဆို့ခံရပါက): https://mirror.clearwater-net.example",
        ] {
            assert!(m.text.lines().any(|l| l == line), "{line}\n{}", m.text);
        }
        assert!(
            m.words()
                .ends_with(&format!("{MY_RECEIVE_AT} {MY_UNSUBSCRIBE}")),
            "{}",
            m.text
        );

        // The HTML part: the same words, left to right, in Myanmar fonts.
        let html = m.markup();
        assert!(html.contains("<html lang=\"my\">"), "{html}");
        assert!(!html.contains("dir=\"rtl\""), "{html}");
        for part in [
            format!("<div class=\"embargo\">{MY_BANNER}</div>"),
            format!("<div class=\"dateline\">{MY_DATELINE}</div>"),
            "<span class=\"kind\"><span class=\"dot\">· </span>သတင်းထုတ်ပြန်ချက်</span>".into(),
            "<strong>မီဒီယာ ဆက်သွယ်ရန်:</strong> Clearwater Rights Network, Achieng Mwangi".into(),
            "<br>သင့်ထံတွင် ကျွန်ုပ်တို့၏ ဝဘ်ဆိုက်ကို ဝင်ရောက်၍ မရပါက အရန်ဝဘ်ဆိုက်ကို အသုံးပြုနိုင်ပါသည်: <a href=\"https://mirror.clearwater-net.example\">".into(),
            format!("<p class=\"fine\">{MY_RECEIVE_AT} {MY_UNSUBSCRIBE}</p>"),
        ] {
            assert!(html.contains(&part), "{part}\n{html}");
        }
        for element in [
            "<body style=\"",
            "<div class=\"embargo\" style=\"",
            "<div class=\"footer\" style=\"",
        ] {
            let at = m.html.find(element).unwrap_or_else(|| panic!("{element}"));
            let style = &m.html[at..at + m.html[at..].find('>').unwrap()];
            assert!(style.contains(MYANMAR_FONTS), "{style}");
        }
        // The English release's own wording is not the variant's.
        assert!(!m.html.contains("HOLD") && !m.text.contains("enquiries"));
    });
}

#[test]
fn an_arabic_release_is_right_to_left_in_arabic_fonts_with_its_own_wording() {
    each_backend(|app| {
        setup(app);
        let arrived = send_to_the_sink(app);
        let m = &arrived["layla@news.example"];
        assert_eq!(m.language, "ar");
        let banner = "يُحظر النشر قبل 10 مايو 2099، 06:30 +04";
        assert_eq!(
            m.subject,
            format!("[{banner}] أربعون مجتمعاً محلياً تطالب بتجميد تصاريح السد")
        );
        let html = m.markup();
        for part in [
            "<html lang=\"ar\" dir=\"rtl\">".to_string(),
            "<div class=\"card\" dir=\"rtl\">".into(),
            format!("<div class=\"embargo\">{banner}</div>"),
            "<div class=\"dateline\">1 ديسمبر 2026 | دبي</div>".into(),
            // `kind` from the variant's own `[strings]`.
            "<span class=\"dot\">· </span>بيان إعلامي</span>".into(),
            "<strong>للتواصل الإعلامي:</strong>".into(),
            "<p class=\"fine\">يصلكم هذا البيان بحكم عملكم الصحفي في الجزيرة. إذا كنتم لا ترغبون في تلقي بياناتنا، يُرجى الرد على هذه الرسالة.</p>".into(),
        ] {
            assert!(html.contains(&part), "{part}\n{html}");
        }
        assert!(
            m.html.contains(
                "font-family: 'Noto Naskh Arabic', 'Geeza Pro', 'Segoe UI', Tahoma, 'Arabic Typesetting', sans-serif;"
            ),
            "{}",
            m.html
        );
        assert_eq!(
            m.text.lines().next(),
            Some(format!("*** {banner} ***").as_str())
        );
        assert!(
            m.text.contains("للتواصل الإعلامي: Clearwater Rights Network"),
            "{}",
            m.text
        );

        // English stays left to right in the layout's own fonts.
        let en = &arrived["jane@x.example"];
        assert!(en.html.contains("<html lang=\"en\">"), "{}", en.html);
        assert!(!en.html.contains("dir=\"rtl\"") && !en.html.contains("Noto"));
        assert!(en
            .html
            .contains("font-family: Georgia, 'Times New Roman', serif;"));
    });
}

#[test]
fn strings_in_the_front_matter_arrive_escaped_in_html_and_as_written_in_text() {
    each_backend(|app| {
        setup(app);
        let arrived = send_to_the_sink(app);
        let jane = &arrived["jane@x.example"];
        assert_eq!(jane.language, "en");
        assert_eq!(
            jane.subject,
            format!("[{EN_BANNER}] Forty communities ask for a freeze of the dam permits")
        );
        // Text: the wording as written, the keys not set as built in.
        assert_eq!(
            jane.text.lines().next(),
            Some(format!("*** {EN_BANNER} ***").as_str())
        );
        for line in [
            "Media & <enquiries>: Clearwater Rights Network, Achieng Mwangi",
            "Phone: +95 1 555 0100",
        ] {
            assert!(
                jane.text.lines().any(|l| l == line),
                "{line}\n{}",
                jane.text
            );
        }
        let unsubscribe = "Write \"stop\" to us and we'll take you off the list.";
        assert!(
            jane.words().ends_with(&format!(
                "Sent to you at River & Dam Weekly because you cover rivers & dams. {unsubscribe}"
            )),
            "{}",
            jane.text
        );
        // HTML: the same wording, escaped where HTML needs it.
        let html = jane.markup();
        for part in [
            format!("<div class=\"embargo\">{EN_BANNER}</div>"),
            "<strong>Media &amp; &lt;enquiries&gt;:</strong> Clearwater Rights Network".into(),
            format!("<p class=\"fine\">Sent to you at River &amp; Dam Weekly because you cover rivers &amp; dams. {unsubscribe}</p>"),
            "<span class=\"dot\">· </span>Media statement</span>".into(),
        ] {
            assert!(html.contains(&part), "{part}\n{html}");
        }
        assert!(!jane.html.contains("<enquiries>"), "{}", jane.html);

        // Without an outlet: the built-in `receive`, then the override.
        let desk = &arrived["desk@x.example"];
        assert!(
            desk.words().ends_with(&format!(
                "You receive this release as a journalist. {unsubscribe}"
            )),
            "{}",
            desk.text
        );
    });
}

#[test]
fn an_unknown_key_under_strings_stops_with_the_file_line_key_and_the_keys() {
    each_backend(|app| {
        setup(app);
        let text = std::fs::read_to_string(app.path().join("wording.md")).unwrap();
        let bad = text.replace("press_contact = ", "press_contakt = ");
        let line = bad
            .lines()
            .position(|l| l.starts_with("press_contakt"))
            .unwrap()
            + 1;
        app.write("bad.md", &bad);
        let keys = "the keys are embargo, kind, press_contact, email, phone, website, mirror, \
                    mirror_label, receive, receive_at, unsubscribe (take it out, or correct its name)";
        let want =
            format!("bad.md:{line}: front matter: `[strings]` has no key `press_contakt`; {keys}");

        let sink = SmtpSink::start(&[]);
        let (out, err) = app.fails(2, ["send", "bad.md", "--yes", "--smtp", &sink.url()]);
        assert!(err.contains(&want), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(out, "");
        // Nothing half-done: no send recorded, nothing at the sink.
        assert_eq!(app.count("SELECT count(*) FROM sends"), 0);
        assert!(sink.messages().is_empty());

        let (_, err) = app.fails(2, ["release", "check", "bad.md"]);
        assert!(err.contains(&want), "{err}");
        let (_, err) = app.fails(2, ["release", "preview", "bad.md"]);
        assert!(err.contains(&want), "{err}");

        // In a variant, the variant's file and line.
        let ar = std::fs::read_to_string(app.path().join("wording.ar.md")).unwrap();
        app.write("wording.ar.md", ar.replace("kind = ", "kinds = "));
        let (_, err) = app.fails(2, ["release", "check", "wording.md"]);
        assert!(
            err.contains(&format!(
                "wording.ar.md:12: front matter: `[strings]` has no key `kinds`; {keys}"
            )),
            "{err}"
        );
    });
}

#[test]
fn release_preview_shows_the_wording_of_the_contacts_language() {
    each_backend(|app| {
        setup(app);
        let text = app.ok([
            "release",
            "preview",
            "wording.md",
            "--contact",
            "khin@news.example",
        ]);
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(format!("Subject: [{MY_BANNER}] {MY_TITLE}").as_str())
        );
        assert!(text.contains(&format!("*** {MY_BANNER} ***\n")), "{text}");
        assert!(text.contains(&format!("\n{MY_DATELINE}\n")), "{text}");
        assert!(
            text.contains("\nမီဒီယာ ဆက်သွယ်ရန်: Clearwater Rights Network, Achieng Mwangi\n"),
            "{text}"
        );
        let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words.contains(&format!("{MY_RECEIVE_AT} {MY_UNSUBSCRIBE}")),
            "{text}"
        );

        let html = app.ok([
            "release",
            "preview",
            "wording.md",
            "--contact",
            "khin@news.example",
            "--format",
            "html",
        ]);
        assert!(html.contains("<html lang=\"my\">"), "{html}");
        assert!(html.contains(MYANMAR_FONTS), "{html}");
        assert!(html.contains(&format!(">{MY_BANNER}</div>")), "{html}");

        let en = app.ok([
            "release",
            "preview",
            "wording.md",
            "--contact",
            "jane@x.example",
        ]);
        assert!(
            en.contains("\nMedia & <enquiries>: Clearwater Rights Network"),
            "{en}"
        );
    });
}
