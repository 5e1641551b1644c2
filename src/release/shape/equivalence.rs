//! The shape cache against the reference renderer: for releases with every
//! kind of Markdown and for contacts whose values are full of Markdown and
//! HTML punctuation, line breaks, whitespace and non-Latin scripts, the
//! cached path must give the reference's message byte for byte, and
//! `render` (cache or fallback) must always do so.

use std::collections::BTreeMap;
use std::path::Path;

use crate::contacts::{Contact, Status};
use crate::release::{Release, Renderer, TemplateSource};

/// Values that try to break out of their slot.
const VALUES: &[&str] = &[
    "Ana",
    "José",
    "O'Brien",
    "Anne-Marie",
    "*Bob*",
    "_x_",
    "**bold**",
    "~strike~",
    "[link](https://evil.example)",
    "<script>alert(1)</script>",
    "A & B",
    "AT&T",
    "\"Quoted\"",
    "'single'",
    "`code`",
    "#hashtag",
    "1.",
    "2)",
    "42",
    "x|y",
    "a\\",
    "\\",
    "&amp;",
    "&#60;",
    "«Le Monde»",
    "„Zeit“",
    "Acme Inc.",
    "—dash",
    "สมชาย",
    "ศักดิ์สิทธิ์",
    "สำนักข่าวไทย",
    "အောင်ဆန်းစုကြည်",
    "မြန်မာ့အသံ",
    "محمد",
    "عبد الله",
    "الجزيرة",
    "Tab\tName",
    "NBSP\u{A0}Name",
    "ZW\u{200B}J",
    "🎉 Party",
    " lead",
    "trail ",
    "Line\nBreak",
    "CR\rX",
    "a  b",
    "Σίσυφος",
    "<b>bold</b>",
    "===",
    "> quote",
    "- item",
    "| pipe |",
    "![img](x.png)",
    "&",
    "<",
    "*",
    "_",
    "\"",
    "'",
    "`",
    "x\u{E100}y",
    "name@example.org",
    "a*b*c",
    "1990",
    "+254 20 555 0100",
    "*_[]<>&\"'`#",
    "Reporter",
    "Climate",
    "Journalist 12",
    "amp",
    "60",
    "x3C",
    "div",
    "https://x.example",
];

fn value(i: usize, stride: usize, offset: usize) -> String {
    VALUES[(i * stride + offset) % VALUES.len()].to_string()
}

/// Contact `i`: some plain, most with a tricky value somewhere; some
/// without first name or outlet; several languages.
fn contact(i: usize) -> Contact {
    let langs = [
        Some("en"),
        Some("de"),
        Some("de-AT"),
        Some("fr"),
        None,
        Some("ar"),
        Some("th"),
        Some("my"),
    ];
    let plain = i.is_multiple_of(4);
    let pick = |stride, offset, fallback: String| {
        if plain {
            fallback
        } else {
            value(i, stride, offset)
        }
    };
    Contact {
        id: i as i64,
        email: format!("journalist{i}@outlet{}.example", i % 13),
        name: Some(pick(13, 5, format!("Journalist {i}"))),
        first_name: (i % 7 != 3).then(|| pick(1, 0, format!("Name{i}"))),
        last_name: (i % 5 != 1).then(|| pick(17, 1, format!("Surname{i}"))),
        outlet: (i % 3 != 2).then(|| pick(7, 3, format!("Outlet {}", i % 11))),
        role: Some(pick(5, 2, "Reporter".into())),
        beat: i.is_multiple_of(2).then(|| pick(11, 4, "Climate".into())),
        country: Some("KE".into()),
        language: langs[i % langs.len()].map(str::to_string),
        phone: (i % 6 != 5).then(|| pick(3, 6, "+254 20 555 0100".into())),
        notes: None,
        tags: vec!["press".into(), value(i, 19, 7)],
        status: Status::Active,
        suppressed: None,
        extra: BTreeMap::from([("desk".to_string(), value(i, 23, 8))]),
        source: None,
        created_at: 0,
        updated_at: 0,
    }
}

/// Contact `i` with `value` in every field.
fn contact_all(i: usize, value: &str) -> Contact {
    let v = Some(value.to_string());
    Contact {
        name: v.clone(),
        first_name: v.clone(),
        last_name: v.clone(),
        outlet: v.clone(),
        role: v.clone(),
        beat: v.clone(),
        phone: v,
        tags: vec![value.to_string()],
        extra: BTreeMap::from([("desk".to_string(), value.to_string())]),
        ..contact(i)
    }
}

/// Renders `count` contacts both ways; returns how many the cache served.
fn compare(release: &Release, templates: &TemplateSource, count: usize) -> usize {
    compare_contacts(release, templates, (0..count).map(contact))
}

fn compare_contacts(
    release: &Release,
    templates: &TemplateSource,
    contacts: impl IntoIterator<Item = Contact>,
) -> usize {
    let renderer = Renderer::new(release, templates).expect("renderer");
    let (mut cached, mut count) = (0, 0);
    for c in contacts {
        count += 1;
        let reference = renderer.render_reference(release, &c);
        if let Some(fast) = renderer.render_cached(release, &c) {
            let reference = reference.as_ref().expect("the cache rendered what fails");
            assert_same(&fast.html, &reference.html, "HTML", &c);
            assert_same(&fast.text, &reference.text, "text", &c);
            assert_eq!(&fast, reference, "contact {c:?}");
            cached += 1;
        }
        match (renderer.render(release, &c), reference) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "contact {c:?}"),
            (Err(got), Err(want)) => assert_eq!(got.to_string(), want.to_string()),
            (got, want) => panic!("contact {c:?}: {got:?} vs {want:?}"),
        }
    }
    eprintln!("{}: {cached} of {count} from the cache", release.slug);
    cached
}

fn assert_same(got: &str, want: &str, what: &str, c: &Contact) {
    if got != want {
        let at = got
            .bytes()
            .zip(want.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        let from = got.floor_char_boundary(at.saturating_sub(120));
        let want_from = want.floor_char_boundary(at.saturating_sub(120));
        panic!(
            "{what} differs at byte {at} for {c:?}\n cached:    {:?}\n reference: {:?}",
            &got[from..got.ceil_char_boundary((at + 120).min(got.len()))],
            &want[want_from..want.ceil_char_boundary((at + 120).min(want.len()))],
        );
    }
}

fn built_in() -> TemplateSource {
    TemplateSource { dir: None }
}

#[test]
fn example_release_renders_the_same_from_the_cache() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let release = Release::load(&root.join("releases/example.md")).expect("example release");
    let templates = TemplateSource {
        dir: Some(root.join("templates")),
    };
    let cached = compare(&release, &templates, 320);
    // Plain contacts and most tricky ones are served from the cache.
    assert!(cached >= 160, "only {cached} of 320 from the cache");
}

const FRONT: &str = r#"+++
title = "Rivers & <dams>: a \"test\" release"
subject = "{% if contact.first_name %}{{ contact.first_name }}: {% endif %}Rivers"
language = "en"
timezone = "Africa/Nairobi"
embargo = 2099-05-10T09:00:00+03:00
VARIANTS
[from]
name = "Clearwater"
email = "press@clearwater.example"

[dateline]
date = 2026-05-01
place = "Nairobi"

[links]
website = "https://clearwater.example"
mirror = "https://mirror.example.net"
social = [{ name = "Mastodon", url = "https://social.example/@cw" }]

[contact]
organisation = "Clearwater & Co"
person = "Ana <Press>"
email = "press@clearwater.example"
phone = "+254 20 555 0100"
+++
"#;

const RICH: &str = r#"{% if contact.first_name %}Dear {{ contact.first_name }},{% else %}Dear colleague,{% endif %}

# Headline for {{ contact.outlet }}

## Section on {{ contact.beat }}

A paragraph for *{{ contact.name }}* and **{{ contact.outlet }}** and _{{ contact.role }}_ and "{{ contact.name }}" and '{{ contact.last_name }}' and ~~{{ contact.beat }}~~, with a [link](https://x.example/a) and a long tail of words that must wrap around the column limit of the text part, {{ contact.name }}, again and again until it does.

{{ contact.phone }}. Starts a line; Q&A with {{ contact.name }} at <https://x.example/qa>.

> "We cannot wait," said {{ contact.name }} of {{ contact.outlet }}, in a quote long enough to be wrapped in the text part of the message.
>
> > A nested quote for {{ contact.first_name }}.

1. First for {{ contact.first_name }}
   - nested {{ contact.outlet }}
   - nested two
     1. deeper {{ contact.role }}
2. Second item with enough words to wrap at the column limit, for {{ contact.name }} of {{ contact.outlet }}.

- Bullet {{ contact.country }} and {{ contact.extra.desk }}

| Name | Outlet | Role |
|---|:-:|--:|
| {{ contact.name }} | {{ contact.outlet }} | {{ contact.role }} |
| plain | cell | here |

### Small heading {{ contact.last_name }}

Code: `inline code` and a hard break  
after {{ contact.first_name }}.

---

    indented code block

Final line {{ contact.email }}, tags {{ contact.tags | join(", ") }}, {{ contact.name | upper }}.
"#;

/// Writes a release (and its variants) into `dir`.
fn write_release(dir: &Path, name: &str, body: &str, variants: &[(&str, &str)]) -> Release {
    let list: Vec<String> = variants
        .iter()
        .map(|(lang, _)| format!("\"{name}.{lang}.md\""))
        .collect();
    let front = FRONT.replace(
        "VARIANTS",
        &if list.is_empty() {
            String::new()
        } else {
            format!("variants = [{}]", list.join(", "))
        },
    );
    std::fs::write(dir.join(format!("{name}.md")), format!("{front}{body}")).expect("write");
    for (lang, title) in variants {
        std::fs::write(
            dir.join(format!("{name}.{lang}.md")),
            format!("+++\ntitle = \"{title}\"\nlanguage = \"{lang}\"\n+++\n{body}"),
        )
        .expect("write");
    }
    Release::load(&dir.join(format!("{name}.md"))).expect("release")
}

#[test]
fn rich_release_renders_the_same_from_the_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let release = write_release(
        dir.path(),
        "rich",
        RICH,
        &[
            ("ar", "أنهار وسدود"),
            ("th", "แม่น้ำและเขื่อน"),
            ("de", "Flüsse & Dämme"),
        ],
    );
    let cached = compare(&release, &built_in(), 320);
    assert!(cached >= 60, "only {cached} of 320 from the cache");
}

/// `[strings]` of a release file: wording with characters HTML escapes
/// (which stays a slot), wording that needs none (part of the shape), and
/// a placeholder at the start and at the end of its wording.
const STRINGS: &str = r#"
[strings]
press_contact = "Media & <enquiries>"
kind = "Statement \"A\""
receive_at = "{outlet}"
embargo = "{until} — hold"
unsubscribe = "Reply 'stop' to stop."
"#;

#[test]
fn localised_wording_renders_the_same_from_the_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let langs = [
        "de", "fr", "es", "pt-BR", "it", "nl", "sv", "ar", "ru", "zh", "my", "th", "id", "sw",
    ];
    let release = write_release(
        dir.path(),
        "wording",
        RICH,
        &langs.map(|l| (l, "Rivers & dams")),
    );
    // Built-in wording in every language; then each variant with
    // `[strings]` of its own.
    let every_language = |i: usize| Contact {
        language: Some(langs[i % langs.len()].to_string()),
        ..contact(i)
    };
    let cached = compare_contacts(&release, &built_in(), (0..280).map(every_language));
    assert!(cached >= 60, "only {cached} of 280 from the cache");
    for lang in langs {
        let path = dir.path().join(format!("wording.{lang}.md"));
        let text = std::fs::read_to_string(&path).expect("read");
        let (front, body) = text.split_once("\n+++\n").expect("front matter");
        std::fs::write(&path, format!("{front}{STRINGS}+++\n{body}")).expect("write");
    }
    let release = Release::load(&dir.path().join("wording.md")).expect("release");
    let ar = release
        .variants
        .iter()
        .find(|v| v.front.language == "ar")
        .expect("ar");
    assert_eq!(ar.strings.get("press_contact"), "Media & <enquiries>");
    compare_contacts(&release, &built_in(), (0..280).map(every_language));
}

/// Constructs where a value could change the parse, one per release:
/// whatever path a message takes, it must equal the reference.
const HOSTILE: &[&str] = &[
    "Tag <{{ contact.role }}> here",
    "Close </{{ contact.role }}> here",
    "Code `{{ contact.outlet }} here and `there`",
    "Entity &{{ contact.role }}; here",
    "Numeric &#{{ contact.role }}; there",
    "[{{ contact.name }}](https://x.example/a) and [{{ contact.role }}](https://x.example)",
    "[x](https://x.example/{{ contact.outlet }}) and [y]({{ contact.email }})",
    "<https://x.example/{{ contact.name }}> and <{{ contact.email }}>",
    "[ref]: https://x.example\n\n[{{ contact.name }}][ref] and [ref]",
    "[{{ contact.role }}] here\n\n[Reporter]: https://x.example",
    "![{{ contact.name }}](x.png)",
    "`{{ contact.name }}`",
    "<div>{{ contact.name }}</div>\n\nafter",
    "Inline <b>{{ contact.name }}</b> html",
    "Slash \\{{ contact.name }} here",
    "{{ contact.first_name }}. line start",
    "{{ contact.phone }}) paren",
    "a*{{ contact.name }}*b and *{{ contact.outlet }}*",
    "a_{{ contact.name }}_b and _{{ contact.outlet }}_",
    "**{{ contact.name }}** and __{{ contact.outlet }}__",
    "x\"{{ contact.name }}\"y and \"{{ contact.outlet }}\"",
    "'{{ contact.name }}' and {{ contact.outlet }}'s",
    "~{{ contact.name }}~ and ~~{{ contact.outlet }}~~",
    "# {{ contact.name }}\n\n## {{ contact.outlet }} ##",
    "{{ contact.name }}\n===\n\n{{ contact.outlet }}\n---",
    "| {{ contact.name }} | {{ contact.outlet }} |\n|---|---|\n| {{ contact.role }} | x |",
    "{{ contact.name }}{{ contact.outlet }}{{ contact.role }}",
    "{{ contact.name | safe }} unsafe",
    "```\n{{ contact.name }}\n```",
    "    {{ contact.outlet }} indented",
    "* {{ contact.name }}\n* {{ contact.first_name }}*{{ contact.last_name }}*",
    "{{ contact.first_name }}\n{{ contact.outlet }}",
    "Line {{ contact.name }}  \nhard break {{ contact.outlet }}\\\nand more",
    "> {{ contact.name }}\n> > {{ contact.outlet }}\n>\n> end",
    "{% autoescape false %}{{ contact.name }}{% endautoescape %} raw",
    "{{ contact.name }}&amp; and &amp;{{ contact.outlet }}",
    "{{ contact.role }}: {{ contact.phone }}\n\n{{ contact.role }}\n: x",
];

#[test]
fn hostile_constructs_render_the_same_either_way() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (n, body) in HOSTILE.iter().enumerate() {
        let release = write_release(
            dir.path(),
            &format!("hostile{n}"),
            &format!("{body}\n"),
            &[],
        );
        // Every value in every field, then mixed.
        let contacts = VALUES.iter().enumerate().map(|(i, v)| contact_all(i, v));
        compare_contacts(&release, &built_in(), contacts.chain((0..24).map(contact)));
    }
}

const LAYOUT_HTML: &str = r#"<!DOCTYPE html>
<html lang="{{ release.language }}"{% if release.language == "ar" %} dir="rtl"{% endif %}>
<head>
<meta charset="utf-8">
<title>{{ release.title }} for {{ contact.name }}</title>
<style>
  p { margin: 0 0 16px 0; }
  .card[dir=rtl] p { text-align: right; }
  a[title] { color: #0a5c9e; }
  @media (max-width: 480px) { p { margin: 0 !important; } }
</style>
</head>
<body>
<div class="card"{% if release.language == "ar" %} dir="rtl"{% endif %}>
<p>To <a href="mailto:{{ contact.email }}" data-who='{{ contact.name }}'>{{ contact.name }}</a>{% if contact.outlet %} at {{ contact.outlet }}{% endif %}</p>
<table><tr><td>{{ contact.role }}</td><td>{{ contact.phone }}</td></tr></table>
<pre>{{ contact.beat }}</pre>
{% if body %}{{ body }}{% endif %}
<p class="fine">{{ subject }} · {{ contact.tags | join(", ") }}</p>
</div>
</body>
</html>
"#;

const LAYOUT_TEXT: &str = "{{ release.title | upper }}\n\n{{ body }}\n\n-- \n{{ contact.name }}{% if contact.outlet %} at {{ contact.outlet }}{% endif %} {{ subject }} and a long layout line that tidy_text wraps because it is longer than seventy-two columns.\n";

#[test]
fn custom_layouts_render_the_same_from_the_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layouts = dir.path().join("templates");
    std::fs::create_dir(&layouts).expect("mkdir");
    std::fs::write(layouts.join("release.html"), LAYOUT_HTML).expect("write");
    std::fs::write(layouts.join("release.txt"), LAYOUT_TEXT).expect("write");
    let release = write_release(dir.path(), "custom", RICH, &[("ar", "أنهار وسدود")]);
    let templates = TemplateSource {
        dir: Some(layouts.clone()),
    };
    let cached = compare(&release, &templates, 200);
    assert!(cached >= 30, "only {cached} of 200 from the cache");

    // A value in an attribute the CSS selects on cannot be filled in.
    let selecting = LAYOUT_HTML.replace("a[title]", "a[data-who]");
    std::fs::write(layouts.join("release.html"), selecting).expect("write");
    let cached = compare(&release, &templates, 40);
    assert_eq!(cached, 0);
}

#[test]
fn renderer_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Renderer>();
}

#[test]
fn values_captured_for_logic_are_not_filled_in() {
    // Printed into `{% set %}` and then measured, a value steers the
    // template by its placeholder; with the capture last, contacts with
    // and without it give the same marked output. Contact 3 has no first
    // name: the shape without the capture is made first.
    let dir = tempfile::tempdir().expect("tempdir");
    let capture = "{% if contact.first_name %}{% set x %}{{ contact.outlet }}{% endset %}{% if x|length > 8 %}Long outlet.{% endif %}{% endif %}";
    let order = || std::iter::once(3).chain(0..60).map(contact);
    let layouts = dir.path().join("templates");
    std::fs::create_dir(&layouts).expect("mkdir");
    let templates = TemplateSource {
        dir: Some(layouts.clone()),
    };

    // In the body, with a layout without values.
    std::fs::write(
        layouts.join("release.html"),
        "<html><body>{{ body }}</body></html>",
    )
    .expect("write");
    std::fs::write(layouts.join("release.txt"), "{{ body }}").expect("write");
    let body = format!("Dear {{{{ contact.name }}}}.\n\n{capture}\n");
    let release = write_release(dir.path(), "capture", &body, &[]);
    assert!(compare_contacts(&release, &templates, order()) > 0);

    // In the layout.
    let html =
        format!("<html><body><p>{{{{ contact.name }}}}</p>{{{{ body }}}}{capture}</body></html>");
    std::fs::write(layouts.join("release.html"), html).expect("write");
    let release = write_release(dir.path(), "capture2", "Dear colleague.\n", &[]);
    assert!(compare_contacts(&release, &templates, order()) > 0);
}

/// Layout constructs where a value could change the HTML parse or the CSS
/// inlining, one per layout.
const HOSTILE_LAYOUT: &[&str] = &[
    "<p>{{ contact.name }}</p>",
    "<p><{{ contact.role }}> and more</p>",
    "<p>x</{{ contact.role }}> and more</p>",
    "<p>&{{ contact.role }}; and &#{{ contact.role }};</p>",
    "<p title={{ contact.name }}>x</p>",
    "<p {{ contact.role }}>x</p>",
    "<p class=\"{{ contact.role }}\">x</p>",
    "<p id=\"{{ contact.role }}\">x</p>",
    "<p style=\"color: {{ contact.role }}\">x</p>",
    "<!-- {{ contact.name }} -->",
    "<style>p { color: {{ contact.role }} }</style>",
    "<script>var x = \"{{ contact.name }}\";</script>",
    "<textarea>{{ contact.name }}</textarea><title>{{ contact.outlet }}</title>",
    "<pre>{{ contact.name }}</pre>",
    "<table>{{ contact.name }}<tr><td>{{ contact.outlet }}</td></tr></table>",
    "<a href=\"mailto:{{ contact.email }}\" data-x=\"{{ contact.name }}\" title='{{ contact.outlet }}'>x</a>",
    "<p>{{ contact.name | safe }}</p>",
    "<select><option>{{ contact.name }}</option></select>",
    "<svg><text>{{ contact.name }}</text></svg>",
    "<p>{% autoescape false %}{{ contact.name }}{% endautoescape %}</p>",
    "<p data-css-inline=\"{{ contact.role }}\">x</p>",
    "<p>{% if body %}{{ contact.name }}{% endif %}{{ body | length }}</p>",
];

#[test]
fn hostile_layouts_render_the_same_either_way() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layouts = dir.path().join("templates");
    std::fs::create_dir(&layouts).expect("mkdir");
    std::fs::write(layouts.join("release.txt"), "{{ body }}").expect("write");
    let templates = TemplateSource {
        dir: Some(layouts.clone()),
    };
    let release = write_release(dir.path(), "layout", "Dear {{ contact.name }}.\n", &[]);
    for snippet in HOSTILE_LAYOUT {
        let html = format!(
            "<!DOCTYPE html><html><head><title>{{{{ contact.name }}}}</title><style>p {{ margin: 0 }} .Reporter {{ color: red }} #Reporter {{ color: blue }} a[data-x=\"Ana\"] {{ color: green }}</style></head><body>{snippet}{{{{ body }}}}</body></html>"
        );
        std::fs::write(layouts.join("release.html"), html).expect("write");
        let contacts = VALUES.iter().enumerate().map(|(i, v)| contact_all(i, v));
        compare_contacts(&release, &templates, contacts.chain((0..24).map(contact)));
    }
}

/// Bits of Markdown, HTML and template that meet values at their edges.
const PIECES: &[&str] = &[
    "word",
    "*",
    "**",
    "_",
    "~",
    "~~",
    "'",
    "\"",
    "`",
    "<",
    ">",
    "&",
    "#",
    "\\",
    "[",
    "]",
    "(",
    ")",
    "!",
    ".",
    "1",
    "12",
    ":",
    "|",
    " ",
    "  ",
    "-",
    "+",
    "=",
    "&amp;",
    "<b>",
    "</b>",
    "\n",
    "\n\n",
    "> ",
    "- ",
    "1. ",
    "    ",
    "# ",
    "```",
    "\n|---|---|\n",
    "[r]: /u\n",
    "[r]",
    "https://x.example",
    "{{ contact.name }}",
    "{{ contact.outlet }}",
    "{{ contact.first_name }}",
    "{{ contact.role }}",
    "{{ contact.phone }}",
];

/// Random bodies made of [`PIECES`]: a fixed seed, the same every run
/// (`PRESSWIRE_RANDOM_SEED` and `PRESSWIRE_RANDOM_BODIES` for a longer hunt).
#[test]
fn random_bodies_render_the_same_either_way() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layouts = dir.path().join("templates");
    std::fs::create_dir(&layouts).expect("mkdir");
    std::fs::write(
        layouts.join("release.html"),
        "<html><head><style>p { margin: 0 }</style></head><body>{{ body }}</body></html>",
    )
    .expect("write");
    std::fs::write(layouts.join("release.txt"), "{{ body }}").expect("write");
    let templates = TemplateSource { dir: Some(layouts) };
    let (bodies, mut next) = random_source();
    for b in 0..bodies {
        let mut body = String::new();
        for _ in 0..5 + next(25) {
            body.push_str(PIECES[next(PIECES.len())]);
        }
        body.push('\n');
        let release = write_release(dir.path(), &format!("random{b}"), &body, &[]);
        let contacts: Vec<Contact> = (0..16)
            .map(|i| match i {
                0..4 => contact(i * 4),
                _ => {
                    let v = next(VALUES.len());
                    contact_all(v, VALUES[v])
                }
            })
            .collect();
        compare_contacts(&release, &templates, contacts);
    }
}

/// Bits of HTML that meet values in a layout.
const HTML_PIECES: &[&str] = &[
    "word",
    "<",
    ">",
    "</",
    "&",
    "#",
    ";",
    "\"",
    "'",
    "=",
    " ",
    "\n",
    "<p>",
    "</p>",
    "<p title=\"",
    "<a href='",
    "\">",
    "'>",
    "<title>",
    "</title>",
    "<!--",
    "-->",
    "<style>",
    "</style>",
    "<table>",
    "<tr><td>",
    "</td></tr>",
    "</table>",
    "<pre>",
    "</pre>",
    "<textarea>",
    "<br>",
    "&amp;",
    "&lt",
    "<b class=\"",
    "<i id=",
    "<select><option>",
    "</select>",
    "<![CDATA[",
    "]]>",
    "{{ body }}",
    "{{ contact.name }}",
    "{{ contact.outlet }}",
    "{{ contact.role }}",
    "{{ contact.phone }}",
    "{{ subject }}",
];

/// Random layouts made of [`HTML_PIECES`], seeded like the bodies.
#[test]
fn random_layouts_render_the_same_either_way() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layouts = dir.path().join("templates");
    std::fs::create_dir(&layouts).expect("mkdir");
    std::fs::write(layouts.join("release.txt"), "{{ body }}").expect("write");
    let templates = TemplateSource {
        dir: Some(layouts.clone()),
    };
    let release = write_release(dir.path(), "layout", "Dear {{ contact.name }}.\n", &[]);
    let (count, mut next) = random_source();
    for _ in 0..count {
        let mut html = String::from("<html><head><style>p { margin: 0 } .Reporter { color: red } #Reporter { color: blue }</style></head><body>");
        for _ in 0..3 + next(20) {
            html.push_str(HTML_PIECES[next(HTML_PIECES.len())]);
        }
        html.push_str("{{ body }}</body></html>");
        std::fs::write(layouts.join("release.html"), &html).expect("write");
        let contacts: Vec<Contact> = (0..12)
            .map(|i| match i {
                0..3 => contact(i * 4),
                _ => {
                    let v = next(VALUES.len());
                    contact_all(v, VALUES[v])
                }
            })
            .collect();
        compare_contacts(&release, &templates, contacts);
    }
}

/// The integration tests' release corpus (`tests/fixtures/releases`), as
/// far as it loads: each file with its variants.
#[test]
fn fixture_releases_render_the_same_either_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/releases");
    let Ok(dir) = std::fs::read_dir(&root) else {
        return;
    };
    let mut paths: Vec<_> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        // Variants (`NAME.de.md`) come with their main file.
        .filter(|p| {
            p.file_stem()
                .is_some_and(|s| !s.to_string_lossy().contains('.'))
        })
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    paths.sort();
    for path in paths {
        let Ok(release) = Release::load(&path) else {
            continue;
        };
        if Renderer::new(&release, &built_in()).is_err() {
            continue;
        }
        let contacts = VALUES.iter().enumerate().map(|(i, v)| contact_all(i, v));
        compare_contacts(&release, &built_in(), contacts.chain((0..64).map(contact)));
    }
}

/// Threads share a renderer's shapes; each thread marks its own values.
#[test]
fn threads_share_the_cache() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let release = Release::load(&root.join("releases/example.md")).expect("example release");
    let renderer = Renderer::new(&release, &built_in()).expect("renderer");
    std::thread::scope(|s| {
        for t in 0..4 {
            let (release, renderer) = (&release, &renderer);
            s.spawn(move || {
                for i in (t..160).step_by(4) {
                    let c = contact(i);
                    let got = renderer.render(release, &c).expect("render");
                    let want = renderer.render_reference(release, &c).expect("render");
                    assert_eq!(got, want, "contact {c:?}");
                }
            });
        }
    });
}

/// How many random documents to try (`PRESSWIRE_RANDOM_BODIES`, default
/// 120) and a seeded generator of numbers below `n`
/// (`PRESSWIRE_RANDOM_SEED`), so a failing run can be repeated.
fn random_source() -> (usize, impl FnMut(usize) -> usize) {
    let count = std::env::var("PRESSWIRE_RANDOM_BODIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let mut seed: u64 = std::env::var("PRESSWIRE_RANDOM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed);
    let next = move |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    (count, next)
}
