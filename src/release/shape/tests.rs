//! Unit tests of the shape cache: its maps stay bounded, its escaping is
//! css-inline's and minijinja's, and its scanner refuses slots and values
//! that could change the parse.

use super::*;

#[test]
fn shape_maps_stay_bounded() {
    let map = ShapeMap::<usize>::default();
    for n in 0..CAPACITY * 2 {
        let key = format!("shape {n}");
        assert_eq!(*map.get_or_make(7, &key, || n), n);
        assert_eq!(*map.get_or_make(7, &key, || usize::MAX), n);
        assert!(map.len() <= CAPACITY);
    }
    assert_eq!(*map.get_or_make(8, "shape 0", || 1), 1);
}

#[test]
fn escaping_matches_css_inline() {
    let inliner = css_inline::CSSInliner::options()
        .load_remote_stylesheets(false)
        .build();
    // U+00A9 and U+0100 share U+00A0's first byte or its second.
    for value in [
        "a & b < c > d \" e ' f \u{A0} g",
        "\u{A0}&&<<>>\"\"\u{A0}",
        "\u{A9} \u{100}\u{A0}\u{A9}é\u{A0}",
        "plain",
    ] {
        let html = format!(
            "<html><head></head><body><p title=\"{}\">{}</p></body></html>",
            minijinja::HtmlEscape(value),
            minijinja::HtmlEscape(value)
        );
        let inlined = inliner.inline(&html).expect("inline");
        let mut text = String::new();
        escape_text(value, &mut text);
        let mut attr = String::new();
        escape_attribute(value, &mut attr);
        assert_eq!(
            inlined,
            format!("<html><head></head><body><p title=\"{attr}\">{text}</p></body></html>")
        );
    }
}

#[test]
fn scanner_refuses_slots_that_could_change_the_parse() {
    let s = |n: usize| slot_char(n);
    let ok = |doc: &str| scan_html(doc).map(|f| f.slots.len());
    assert_eq!(ok(&format!("<p a=\"x{}\">y {}</p>", s(0), s(1))), Some(2));
    assert_eq!(ok(&format!("<p a={}>", s(0))), None);
    assert_eq!(ok(&format!("<p {}>", s(0))), None);
    assert_eq!(ok(&format!("<{}>", s(0))), None);
    assert_eq!(ok(&format!("a < {}", s(0))), None);
    assert_eq!(ok(&format!("a &{};", s(0))), None);
    assert_eq!(ok(&format!("a &#{};", s(0))), None);
    assert_eq!(ok(&format!("<!-- {} -->", s(0))), None);
    assert_eq!(ok(&format!("<style>{}</style>", s(0))), None);
    assert_eq!(ok(&format!("<p class=\"{}\">", s(0))), None);
    assert_eq!(ok(&format!("<title>a {}</title>", s(0))), Some(1));
    assert_eq!(ok(&format!("<p>&amp; {}</p>", s(0))), Some(1));
}

#[test]
fn values_that_could_touch_the_markup_are_refused() {
    assert!(admissible("Ana"));
    assert!(admissible("*_[]<>&\"'`#"));
    assert!(admissible("a\tb"));
    assert!(!admissible(" Ana"));
    assert!(!admissible("Ana\u{A0}"));
    assert!(!admissible("a\nb"));
    assert!(!admissible("a\rb"));
    assert!(!admissible("a\u{E105}b"));
    assert!(!admissible(""));
}

#[test]
fn html_value_is_what_minijinja_writes() {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_template("t", "{{ v }}").expect("template");
    let t = env.get_template("t").expect("template");
    for v in [
        Value::from("a<b>&\"'/"),
        Value::from(true),
        Value::from(false),
        Value::from(12),
        Value::from(-3),
        Value::from(1.5),
        Value::from(()),
        Value::from(vec!["a", "b"]),
    ] {
        let written = t
            .render(minijinja::context! { v => v.clone() })
            .expect("render");
        let unescaped = written
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#x2f;", "/")
            .replace("&amp;", "&");
        assert_eq!(html_value(&v), unescaped, "{v:?}");
    }
}
