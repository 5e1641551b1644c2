//! The shape cache: what the messages of one release have in common is
//! worked out once, and each contact's message is filled in from it.
//!
//! While a message is rendered for the cache, the template formatter writes
//! every value of a Markdown or HTML template as one placeholder character
//! (a private-use code point numbered by the value's position) and keeps
//! the value aside in [`Slots`]. What is left, the *shape*, depends on the
//! contact only through the template's conditionals, so a few shapes cover
//! a whole send. For each Markdown shape the HTML body and the text part's
//! blocks ([`text::Shape`]) are made once; for each HTML document shape
//! (layout + body) the CSS is inlined once and the result kept as static
//! text between slots. A message then costs its template renders, two map
//! look-ups and the filling in of escaped values.
//!
//! The cached result must be the reference result byte for byte, so a
//! shape is only used when the values cannot change how the Markdown or the
//! HTML parses; otherwise the message takes the reference path
//! (`Renderer::render_reference`). The conditions, and why they suffice:
//!
//! * Every value is non-empty (an empty one writes nothing and no slot),
//!   has no control character and no private-use character, and does not
//!   begin or end with whitespace ([`admissible`]). Markdown values have
//!   their punctuation escaped (`escape_markdown`), so inside they are
//!   inert text; only their first and last characters can touch the
//!   Markdown around them.
//! * A Markdown slot must sit in plain text: not in code, raw HTML, a link
//!   or an image (checked on the parsed shape), not after an `&` that its
//!   letters could complete into an entity, not in a block with a `<` or a
//!   backtick that its letters could complete into a tag or code span, and
//!   the shape has no link reference definitions.
//! * Next to `*`, `_`, `~`, `'`, `"` (emphasis and smart quotes, whose
//!   meaning depends on the neighbouring character's class) or after `\`,
//!   a value must begin or end with a letter or digit, like the
//!   placeholder; an all-digit value must not be followed by digits and
//!   values and then `.` or `)` (an ordered list marker). See
//!   [`MdCached::fits`].
//! * An HTML slot must be in text or in a quoted attribute value (not in a
//!   tag or attribute name, a comment, `<style>`, `<script>` or other raw
//!   text), not after an `&` or a stray `<`; attribute slots are refused in
//!   `class`, `id`, `style`, `rel`, `data-css-inline` and in attributes
//!   the CSS selects on (`[dir=rtl]`), as they decide which rules
//!   css-inline applies. After inlining, each slot must be found exactly
//!   once.
//!
//! Values are then filled in escaped exactly as css-inline's serializer
//! escapes text and attribute values.
//!
//! This module does not decide what a message looks like: the reference
//! path in `render.rs` does, and the tests in `shape/equivalence.rs` hold
//! the cache to it.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value, ValueKind};
use minijinja::{AutoEscape, Output, State};
use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::text;

/// Where the layout writes the body (see [`BodySlot`]).
const BODY: char = '\u{E000}';
/// Slot `n` is written as the character `FIRST_SLOT + n`; all of them
/// encode as three bytes starting with 0xEE.
const FIRST_SLOT: u32 = 0xE100;
const LAST_SLOT: u32 = 0xEFFF;
const MAX_SLOTS: usize = (LAST_SLOT - FIRST_SLOT + 1) as usize;

/// At most this many shapes of each kind are kept per renderer.
pub(crate) const CAPACITY: usize = 256;

/// Private-use characters: a value or template containing one cannot be
/// told apart from a placeholder, so it takes the reference path.
pub(crate) fn is_reserved(c: char) -> bool {
    ('\u{E000}'..='\u{F8FF}').contains(&c)
}

fn slot_char(n: usize) -> char {
    char::from_u32(FIRST_SLOT + n as u32).unwrap_or(BODY)
}

fn slot_index(c: char) -> Option<usize> {
    let c = c as u32;
    (FIRST_SLOT..=LAST_SLOT)
        .contains(&c)
        .then(|| (c - FIRST_SLOT) as usize)
}

/// How a slot's value was escaped by the reference formatter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Escaped for Markdown by `escape_markdown` (a `*.md` template).
    Markdown,
    /// HTML-escaped (a `*.html` template).
    Html,
}

/// The values the formatter set aside during one marked rendering.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    text: String,
    spans: Vec<(Mode, u32, u32)>,
}

impl Slots {
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    pub(crate) fn mode(&self, n: usize) -> Mode {
        self.spans[n].0
    }

    /// The value of slot `n` as the reader sees it (unescaped).
    pub(crate) fn value(&self, n: usize) -> &str {
        let (_, a, b) = self.spans[n];
        &self.text[a as usize..b as usize]
    }

    fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
    }

    /// Writes `s` with each placeholder replaced by its value.
    pub(crate) fn expand(&self, s: &str, out: &mut String) {
        let mut rest = s;
        while let Some(i) = memchr::memchr(0xEE, rest.as_bytes()) {
            let (before, at) = rest.split_at(i);
            out.push_str(before);
            let c = at.chars().next().unwrap_or(BODY);
            match slot_index(c).filter(|n| *n < self.len()) {
                Some(n) => out.push_str(self.value(n)),
                None => out.push(c),
            }
            rest = &at[c.len_utf8()..];
        }
        out.push_str(rest);
    }
}

thread_local! {
    /// Whether the formatter writes placeholders (only inside [`Marking`]).
    static MARKING: Cell<bool> = const { Cell::new(false) };
    /// Set when this rendering cannot be served from a shape.
    static SPOILED: Cell<bool> = const { Cell::new(false) };
    static SLOTS: RefCell<Slots> = RefCell::new(Slots::default());
}

/// A marked rendering on this thread: placeholders are written while it
/// lives. Slots are numbered across the renders done within it.
pub(crate) struct Marking(());

impl Marking {
    pub(crate) fn start() -> Marking {
        SLOTS.with(|s| s.borrow_mut().clear());
        SPOILED.with(|s| s.set(false));
        MARKING.with(|m| m.set(true));
        Marking(())
    }

    /// Pauses or resumes writing placeholders (the subject and the text
    /// layout are rendered as they are).
    pub(crate) fn set_active(&self, on: bool) {
        MARKING.with(|m| m.set(on));
    }

    /// Whether a value or a use of the body ruled out the shape.
    pub(crate) fn spoiled(&self) -> bool {
        SPOILED.with(Cell::get)
    }

    pub(crate) fn with_slots<R>(&self, f: impl FnOnce(&Slots) -> R) -> R {
        SLOTS.with(|s| f(&s.borrow()))
    }
}

impl Drop for Marking {
    fn drop(&mut self) {
        MARKING.with(|m| m.set(false));
    }
}

fn spoil() {
    SPOILED.with(|s| s.set(true));
}

/// The formatter's work while marking; `None` when the value is written as
/// the reference formatter writes it (it is then part of the shape).
pub(crate) fn format_marked(
    out: &mut Output,
    state: &State,
    value: &Value,
) -> Option<Result<(), minijinja::Error>> {
    if !MARKING.with(Cell::get) {
        return None;
    }
    if value.downcast_object_ref::<BodySlot>().is_some() {
        return Some(out.write_char(BODY).map_err(minijinja::Error::from));
    }
    let mode = match state.auto_escape() {
        AutoEscape::Html => Mode::Html,
        AutoEscape::Custom("markdown") => Mode::Markdown,
        _ => {
            if value.as_str().is_some_and(|s| s.chars().any(is_reserved)) {
                spoil();
            }
            return None;
        }
    };
    if value.is_safe() {
        if value.as_str().is_some_and(|s| s.chars().any(is_reserved)) {
            spoil();
        }
        return None;
    }
    if value.is_none() || value.is_undefined() {
        // The reference formatter prints nothing for these.
        return Some(Ok(()));
    }
    let raw = match mode {
        Mode::Markdown => value
            .as_str()
            .map(Cow::Borrowed)
            .unwrap_or_else(|| Cow::Owned(value.to_string())),
        Mode::Html => html_value(value),
    };
    if raw.is_empty() {
        return Some(Ok(()));
    }
    if !admissible(&raw) {
        spoil();
        return None;
    }
    let n = SLOTS.with(|s| {
        let mut s = s.borrow_mut();
        let n = s.spans.len();
        let a = s.text.len() as u32;
        s.text.push_str(&raw);
        let b = s.text.len() as u32;
        s.spans.push((mode, a, b));
        n
    });
    if n >= MAX_SLOTS {
        spoil();
        return None;
    }
    Some(out.write_char(slot_char(n)).map_err(minijinja::Error::from))
}

/// The text minijinja's HTML formatter writes for `value`, unescaped.
pub(crate) fn html_value(value: &Value) -> Cow<'_, str> {
    if let Some(s) = value.as_str() {
        return Cow::Borrowed(s);
    }
    match value.kind() {
        // minijinja writes booleans the Python way in HTML.
        ValueKind::Bool => Cow::Borrowed(if value.is_true() { "True" } else { "False" }),
        _ => Cow::Owned(value.to_string()),
    }
}

/// A value that cannot change the structure around it (see the module
/// documentation).
fn admissible(raw: &str) -> bool {
    let (Some(first), Some(last)) = (raw.chars().next(), raw.chars().next_back()) else {
        return false;
    };
    // Bytes first, as decoding characters showed in profiles: a character
    // ruled out here is a byte below 0x20 or 0x7F, or starts with 0xC2
    // (U+0080 to U+009F) or 0xEE or 0xEF (private use), and most values
    // have none of these bytes. A fold without early exit: it vectorises.
    let suspect = |b: u8| (b < 0x20 && b != b'\t') || matches!(b, 0x7F | 0xC2 | 0xEE | 0xEF);
    !first.is_whitespace()
        && !last.is_whitespace()
        && (!raw.bytes().fold(false, |any, b| any | suspect(b))
            || !raw
                .chars()
                .any(|c| (c.is_control() && c != '\t') || is_reserved(c)))
}

/// The `body` a layout sees while marking: printing it writes [`BODY`];
/// anything else done with it (its length, a filter) would see other text
/// than the real body, so it spoils the shape.
#[derive(Debug)]
pub(crate) struct BodySlot {
    /// Whether the real body is non-empty (`{% if body %}`).
    pub(crate) non_empty: bool,
}

impl Object for BodySlot {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, _: &Value) -> Option<Value> {
        spoil();
        None
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        spoil();
        Enumerator::NonEnumerable
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        spoil();
        None
    }

    fn is_true(self: &Arc<Self>) -> bool {
        self.non_empty
    }

    fn call(self: &Arc<Self>, _: &State<'_, '_>, _: &[Value]) -> Result<Value, minijinja::Error> {
        spoil();
        Err(minijinja::Error::from(
            minijinja::ErrorKind::InvalidOperation,
        ))
    }

    fn call_method(
        self: &Arc<Self>,
        _: &State<'_, '_>,
        _: &str,
        _: &[Value],
    ) -> Result<Value, minijinja::Error> {
        spoil();
        Err(minijinja::Error::from(minijinja::ErrorKind::UnknownMethod))
    }

    fn render(self: &Arc<Self>, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        spoil();
        Ok(())
    }
}

/// A bounded map from (tag, shape text) to what was made of the shape.
pub(crate) struct ShapeMap<V> {
    seed: u64,
    map: Mutex<Entries<V>>,
}

/// The entries by hash of (tag, shape text), and how many there are.
struct Entries<V> {
    buckets: HashMap<u64, Vec<Entry<V>>>,
    len: usize,
}

/// (tag, shape text, what was made of it).
type Entry<V> = (u64, Box<str>, Arc<V>);

impl<V> Entries<V> {
    fn find(&self, h: u64, tag: u64, key: &str) -> Option<Arc<V>> {
        self.buckets.get(&h).and_then(|b| {
            b.iter()
                .find(|(t, k, _)| *t == tag && **k == *key)
                .map(|(_, _, v)| Arc::clone(v))
        })
    }
}

impl<V> Default for ShapeMap<V> {
    fn default() -> Self {
        ShapeMap {
            seed: RandomState::new().hash_one(0u64),
            map: Mutex::new(Entries {
                buckets: HashMap::new(),
                len: 0,
            }),
        }
    }
}

impl<V> ShapeMap<V> {
    /// A word-at-a-time hash (FxHash's multiply-rotate), seeded per map:
    /// keys are whole documents, and SipHash over them showed in profiles.
    /// A collision costs only a string comparison.
    fn hash(&self, tag: u64, key: &str) -> u64 {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let mix = |h: u64, w: u64| (h ^ w).wrapping_mul(K).rotate_left(26);
        let mut h = mix(self.seed, tag);
        let mut words = key.as_bytes().chunks_exact(8);
        for w in &mut words {
            h = mix(
                h,
                u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]),
            );
        }
        let mut last = [0u8; 8];
        last[..words.remainder().len()].copy_from_slice(words.remainder());
        mix(mix(h, u64::from_le_bytes(last)), key.len() as u64)
    }

    /// The entry of `key`, made by `make` (outside the lock) when missing.
    pub(crate) fn get_or_make(&self, tag: u64, key: &str, make: impl FnOnce() -> V) -> Arc<V> {
        let h = self.hash(tag, key);
        if let Some(v) = self.lock().find(h, tag, key) {
            return v;
        }
        let v = Arc::new(make());
        let mut map = self.lock();
        if let Some(v) = map.find(h, tag, key) {
            return v;
        }
        if map.len >= CAPACITY {
            // Any entry will do: a send rarely has more than a handful of
            // shapes, and a lost one is only made again.
            let victim = map.buckets.keys().next().copied();
            if let Some(b) = victim.and_then(|k| map.buckets.remove(&k)) {
                map.len -= b.len();
            }
        }
        map.buckets
            .entry(h)
            .or_default()
            .push((tag, key.into(), Arc::clone(&v)));
        map.len += 1;
        v
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<V>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What is made once per Markdown shape.
pub(crate) struct MdShape {
    /// Tells this shape's document shapes apart from other shapes'.
    pub(crate) id: u64,
    /// `None` when the shape is not safe to fill in.
    pub(crate) cached: Option<MdCached>,
}

pub(crate) struct MdCached {
    pub(crate) slots: usize,
    /// The HTML of the body, with the placeholders in it.
    pub(crate) html: String,
    pub(crate) text: text::Shape,
    edges: Vec<Edge>,
}

/// What is next to a Markdown slot in the shape.
#[derive(Debug, Clone, Copy, Default)]
struct Edge {
    /// The character before is a delimiter, a quote or a backslash.
    left: bool,
    /// The character after is a delimiter or a quote.
    right: bool,
    /// Digits and placeholders and then `.` or `)` follow.
    list_marker: bool,
}

impl MdShape {
    /// Works out the shape of the marked Markdown `md` with `slots` values.
    pub(crate) fn new(md: &str, slots: usize) -> MdShape {
        MdShape {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            cached: analyse_markdown(md, slots),
        }
    }
}

impl MdCached {
    /// Whether these values parse as the placeholders did.
    pub(crate) fn fits(&self, slots: &Slots) -> bool {
        (0..self.slots).all(|n| {
            let v = slots.value(n);
            let e = self.edges[n];
            let plain = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
            slots.mode(n) == Mode::Markdown
                && (!e.left || plain(v.chars().next()))
                && (!e.right || plain(v.chars().next_back()))
                && !(e.list_marker && v.bytes().all(|b| b.is_ascii_digit()))
        })
    }
}

fn analyse_markdown(md: &str, slots: usize) -> Option<MdCached> {
    // A link reference definition could match a label only with the real
    // value in it.
    if md.contains("]:") {
        return None;
    }
    let mut edges = vec![Edge::default(); slots];
    let mut seen = vec![false; slots];
    for (at, c) in md.char_indices() {
        if !is_reserved(c) {
            continue;
        }
        let n = slot_index(c).filter(|n| *n < slots && !seen[*n])?;
        seen[n] = true;
        let before = &md[..at];
        let prev = before.chars().next_back();
        let next = md[at + c.len_utf8()..].chars().next();
        edges[n] = Edge {
            left: matches!(prev, Some('*' | '_' | '~' | '\'' | '"' | '\\')),
            right: matches!(next, Some('*' | '_' | '~' | '\'' | '"')),
            // Digits, placeholders and then `.` or `)`: all-digit values
            // could make an ordered list marker with the digits around.
            list_marker: matches!(
                md[at..]
                    .chars()
                    .find(|c| !c.is_ascii_digit() && !is_reserved(*c)),
                Some('.' | ')')
            ),
        };
        if completes_entity(before) {
            return None;
        }
    }
    if seen.contains(&false) {
        return None;
    }

    let mut parser = Parser::new_ext(md, text::options());
    let (mut in_code, mut in_link) = (0usize, 0usize);
    // Within one run of inline content: whether it has a slot, and a `<`
    // or a backtick a value could complete into a tag or a code span.
    let (mut run_slot, mut run_risky) = (false, false);
    let reserved = |s: &str| s.chars().any(is_reserved);
    for event in parser.by_ref() {
        let boundary = match &event {
            Event::Text(t) => {
                let slot = reserved(t);
                if slot && (in_code > 0 || in_link > 0) {
                    return None;
                }
                run_slot |= slot;
                run_risky |= t.contains(['<', '`']);
                false
            }
            Event::Code(t)
            | Event::Html(t)
            | Event::InlineHtml(t)
            | Event::InlineMath(t)
            | Event::DisplayMath(t)
            | Event::FootnoteReference(t) => {
                if reserved(t) {
                    return None;
                }
                false
            }
            Event::SoftBreak | Event::HardBreak => false,
            Event::Rule | Event::TaskListMarker(_) => true,
            Event::Start(tag) => match tag {
                Tag::Link {
                    dest_url,
                    title,
                    id,
                    ..
                }
                | Tag::Image {
                    dest_url,
                    title,
                    id,
                    ..
                } => {
                    if reserved(dest_url) || reserved(title) || reserved(id) {
                        return None;
                    }
                    in_link += 1;
                    false
                }
                Tag::Emphasis
                | Tag::Strong
                | Tag::Strikethrough
                | Tag::Superscript
                | Tag::Subscript => false,
                Tag::CodeBlock(kind) => {
                    if let pulldown_cmark::CodeBlockKind::Fenced(info) = kind {
                        if reserved(info) {
                            return None;
                        }
                    }
                    in_code += 1;
                    true
                }
                _ => true,
            },
            Event::End(tag) => match tag {
                TagEnd::Link | TagEnd::Image => {
                    in_link = in_link.saturating_sub(1);
                    false
                }
                TagEnd::Emphasis
                | TagEnd::Strong
                | TagEnd::Strikethrough
                | TagEnd::Superscript
                | TagEnd::Subscript => false,
                TagEnd::CodeBlock => {
                    in_code = in_code.saturating_sub(1);
                    true
                }
                _ => true,
            },
        };
        if boundary {
            if run_slot && run_risky {
                return None;
            }
            run_slot = false;
            run_risky = false;
        }
    }
    if (run_slot && run_risky) || parser.reference_definitions().iter().next().is_some() {
        return None;
    }

    let text = text::Shape::build(md, reserved);
    let mut in_text = vec![0usize; slots];
    text.for_each_text(|t| {
        for n in t.chars().filter_map(slot_index) {
            if let Some(c) = in_text.get_mut(n) {
                *c += 1;
            }
        }
    });
    if in_text.iter().any(|c| *c != 1) {
        return None;
    }
    let mut html = String::with_capacity(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, Parser::new_ext(md, text::options()));
    Some(MdCached {
        slots,
        html,
        text,
        edges,
    })
}

/// Whether `before` ends with `&`, `&#` or `&name` that a value's letters
/// could turn into a character reference.
fn completes_entity(before: &str) -> bool {
    let trimmed = before.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '#');
    trimmed.ends_with('&')
}

/// What is made once per HTML document shape.
pub(crate) struct DocShape {
    /// `None` when the document is not safe to fill in.
    pub(crate) cached: Option<DocCached>,
}

pub(crate) struct DocCached {
    /// How many values the document has (every one is in it once).
    pub(crate) slots: usize,
    /// The inlined document without its placeholders.
    statics: String,
    /// Where each slot goes: its offset in `statics`, its number, and
    /// whether it is in an attribute value.
    parts: Vec<(usize, usize, bool)>,
}

impl DocShape {
    /// Inlines the CSS of the layout output `layout` (with [`BODY`] where
    /// the body goes) around `body` (the Markdown shape's HTML).
    pub(crate) fn new(
        layout: &str,
        body: &str,
        slots: usize,
        inliner: &css_inline::CSSInliner<'_>,
    ) -> DocShape {
        DocShape {
            cached: analyse_document(layout, body, slots, inliner),
        }
    }
}

impl DocCached {
    /// The document for these values.
    pub(crate) fn fill(&self, slots: &Slots) -> String {
        let extra: usize = (0..slots.len()).map(|n| slots.value(n).len() + 8).sum();
        let mut out = String::with_capacity(self.statics.len() + extra);
        let mut from = 0;
        for &(at, n, attr) in &self.parts {
            out.push_str(&self.statics[from..at]);
            from = at;
            let v = slots.value(n);
            if attr {
                escape_attribute(v, &mut out);
            } else {
                escape_text(v, &mut out);
            }
        }
        out.push_str(&self.statics[from..]);
        out
    }
}

fn analyse_document(
    layout: &str,
    body: &str,
    slots: usize,
    inliner: &css_inline::CSSInliner<'_>,
) -> Option<DocCached> {
    let (before, after) = layout.split_once(BODY)?;
    if after.contains(BODY) {
        return None;
    }
    let doc = [before, body, after].concat();
    let found = scan_html(&doc)?;
    if !each_once(&found.slots, slots) {
        return None;
    }
    if found.slots.iter().any(|s| match &s.attr_name {
        Some(name) => found.selects_on(name),
        None => false,
    }) {
        return None;
    }
    let inlined = inliner.inline(&doc).ok()?;
    let found = scan_html(&inlined)?;
    if !each_once(&found.slots, slots) {
        return None;
    }
    let mut statics = String::with_capacity(inlined.len());
    let mut parts = Vec::with_capacity(slots);
    let mut from = 0;
    for s in &found.slots {
        statics.push_str(&inlined[from..s.at]);
        parts.push((statics.len(), s.n, s.attr));
        from = s.at + slot_char(s.n).len_utf8();
    }
    statics.push_str(&inlined[from..]);
    Some(DocCached {
        slots,
        statics,
        parts,
    })
}

fn each_once(found: &[Found], slots: usize) -> bool {
    let mut seen = vec![false; slots];
    for f in found {
        match seen.get_mut(f.n) {
            Some(s) if !*s => *s = true,
            _ => return false,
        }
    }
    !seen.contains(&false)
}

/// css-inline's escaping of text (`write_escaped` in its serializer).
fn escape_text(s: &str, out: &mut String) {
    escape(s, out, false);
}

/// css-inline's escaping of attribute values (`write_attributes`).
fn escape_attribute(s: &str, out: &mut String) {
    escape(s, out, true);
}

/// The bytes [`escape`] looks at: bit 1 in text, bit 2 in attribute
/// values. 0xC2 starts U+00A0 and some other characters.
const ESCAPED: [u8; 256] = {
    let mut t = [0; 256];
    t[b'&' as usize] = 3;
    t[0xC2] = 3;
    t[b'<' as usize] = 1;
    t[b'>' as usize] = 1;
    t[b'"' as usize] = 2;
    t
};

/// Writes `s` escaped: `&` and U+00A0 always, then `"` in an attribute
/// value, `<` and `>` in text. Scans bytes, not characters (every escaped
/// character is ASCII but U+00A0, the only character encoded with 0xC2
/// 0xA0): decoding characters was most of filling in a document.
fn escape(s: &str, out: &mut String, attribute: bool) {
    let b = s.as_bytes();
    // Most values have nothing to escape: told by vectorised searches.
    let plain = s.is_ascii()
        && if attribute {
            memchr::memchr2(b'&', b'"', b).is_none()
        } else {
            memchr::memchr3(b'&', b'<', b'>', b).is_none()
        };
    if plain {
        out.push_str(s);
        return;
    }
    let mask = if attribute { 2 } else { 1 };
    let mut from = 0;
    let mut i = 0;
    while let Some(at) = b[i..]
        .iter()
        .position(|c| ESCAPED[usize::from(*c)] & mask != 0)
    {
        i += at;
        let (with, len) = match b[i] {
            b'&' => ("&amp;", 1),
            b'"' => ("&quot;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            _ if b.get(i + 1) == Some(&0xA0) => ("&nbsp;", 2),
            // Another character starting with 0xC2, written as it is.
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[from..i]);
        out.push_str(with);
        i += len;
        from = i;
    }
    out.push_str(&s[from..]);
}

/// A placeholder found in an HTML document.
#[derive(Debug)]
struct Found {
    /// Its byte offset.
    at: usize,
    n: usize,
    attr: bool,
    /// The attribute it is in, lower-cased.
    attr_name: Option<String>,
}

#[derive(Debug, Default)]
struct Scanned {
    slots: Vec<Found>,
    /// Attributes named in CSS attribute selectors (`[dir=rtl]`), lower-cased.
    selected_attributes: Vec<String>,
    /// A `[` whose attribute could not be read: any attribute may be selected on.
    selects_any_attribute: bool,
}

impl Scanned {
    fn selects_on(&self, attribute: &str) -> bool {
        self.selects_any_attribute || self.selected_attributes.iter().any(|a| a == attribute)
    }

    /// Notes the attributes that the CSS `css` selects on.
    fn read_css(&mut self, css: &str) {
        for (i, _) in css.match_indices('[') {
            let rest = css[i + 1..].trim_start();
            // `[ns|name…]`, `[*|name…]`, `[|name…]`: the name is after the bar.
            let rest = match rest.find(|c: char| !(c.is_ascii_alphanumeric() || "-_*".contains(c)))
            {
                Some(end) if rest[end..].starts_with('|') && !rest[end..].starts_with("|=") => {
                    &rest[end + 1..]
                }
                _ => rest,
            };
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(rest.len());
            let name = &rest[..end];
            let next = rest[end..].trim_start().chars().next();
            if name.is_empty() || !matches!(next, Some(']' | '=' | '~' | '|' | '^' | '$' | '*')) {
                self.selects_any_attribute = true;
            } else {
                self.selected_attributes.push(name.to_ascii_lowercase());
            }
        }
    }
}

/// Elements whose content is not parsed as markup (or, for `noscript`,
/// may not be) and which css-inline writes out unescaped.
const RAW_TEXT: &[&str] = &[
    "style",
    "script",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
];
/// Elements whose content is text with character references.
const RCDATA: &[&str] = &["title", "textarea"];
/// Attributes whose values decide how css-inline treats an element.
const STYLING_ATTRIBUTES: &[&str] = &["class", "id", "style", "rel", "data-css-inline"];

fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// Finds the placeholders of an HTML document and the context of each,
/// following the HTML tokenizer (WHATWG HTML §13.2.5) as far as it matters
/// here; `None` when one is somewhere a value could change the parse or
/// is not escaped as text or attribute value.
fn scan_html(doc: &str) -> Option<Scanned> {
    let b = doc.as_bytes();
    let mut out = Scanned::default();
    let mut i = 0;
    // A `<` that is text since the last tag: a value right after it could
    // have made it a tag.
    let mut stray_lt = false;
    let has_reserved = |s: &str| s.chars().any(is_reserved);
    while i < b.len() {
        match b[i] {
            b'<' => {
                let next = b.get(i + 1).copied();
                match next {
                    Some(c) if c.is_ascii_alphabetic() => {
                        let (end, name) = scan_tag(doc, i + 1, &mut out.slots)?;
                        i = end;
                        stray_lt = false;
                        let name = name.to_ascii_lowercase();
                        if name == "svg" || name == "math" {
                            // Foreign content is tokenized differently.
                            return None;
                        }
                        let raw = RAW_TEXT.contains(&name.as_str());
                        if raw || RCDATA.contains(&name.as_str()) {
                            let close = if name == "plaintext" {
                                b.len()
                            } else {
                                find_end_tag(doc, i, &name)
                            };
                            let content = &doc[i..close];
                            if raw {
                                if has_reserved(content) {
                                    return None;
                                }
                                if name == "style" {
                                    out.read_css(content);
                                }
                            } else {
                                for (at, c) in content.char_indices() {
                                    if is_reserved(c) {
                                        let n = slot_index(c)?;
                                        let before = &doc[..i + at];
                                        if completes_entity(before) || content[..at].contains('<') {
                                            return None;
                                        }
                                        out.slots.push(Found {
                                            at: i + at,
                                            n,
                                            attr: false,
                                            attr_name: None,
                                        });
                                    }
                                }
                            }
                            i = close;
                        }
                    }
                    Some(b'/') => {
                        let end = match b.get(i + 2) {
                            Some(c) if c.is_ascii_alphabetic() => {
                                let mut ignored = Vec::new();
                                let (end, _) = scan_tag(doc, i + 2, &mut ignored)?;
                                if !ignored.is_empty() {
                                    return None;
                                }
                                end
                            }
                            _ => doc[i..].find('>').map(|e| i + e + 1).unwrap_or(b.len()),
                        };
                        if has_reserved(&doc[i..end]) {
                            return None;
                        }
                        i = end;
                        stray_lt = false;
                    }
                    Some(b'!') | Some(b'?') => {
                        let end = if doc[i..].starts_with("<!--") {
                            if doc[i..].starts_with("<!-->") {
                                i + 5
                            } else if doc[i..].starts_with("<!--->") {
                                i + 6
                            } else {
                                doc[i + 4..].find("-->").map(|e| i + 4 + e + 3)?
                            }
                        } else {
                            doc[i..].find('>').map(|e| i + e + 1).unwrap_or(b.len())
                        };
                        if has_reserved(&doc[i..end]) {
                            return None;
                        }
                        i = end;
                        stray_lt = false;
                    }
                    _ => {
                        stray_lt = true;
                        i += 1;
                    }
                }
            }
            0xEE | 0xEF => {
                let c = doc[i..].chars().next()?;
                if is_reserved(c) {
                    let n = slot_index(c)?;
                    if stray_lt || completes_entity(&doc[..i]) {
                        return None;
                    }
                    out.slots.push(Found {
                        at: i,
                        n,
                        attr: false,
                        attr_name: None,
                    });
                }
                i += c.len_utf8();
            }
            _ => i += 1,
        }
    }
    Some(out)
}

/// Scans a start or end tag from its name at `i`; returns where it ends
/// and its name. Slots may only be in quoted attribute values.
fn scan_tag<'a>(doc: &'a str, mut i: usize, slots: &mut Vec<Found>) -> Option<(usize, &'a str)> {
    let b = doc.as_bytes();
    let start = i;
    while i < b.len() && !is_space(b[i]) && b[i] != b'/' && b[i] != b'>' {
        i += 1;
    }
    let name = &doc[start..i];
    if name.chars().any(is_reserved) {
        return None;
    }
    loop {
        while i < b.len() && (is_space(b[i]) || b[i] == b'/') {
            i += 1;
        }
        match b.get(i) {
            None => return None,
            Some(b'>') => return Some((i + 1, name)),
            Some(_) => {}
        }
        // An attribute name: its first character may be `=`.
        let attr_start = i;
        i += 1;
        while i < b.len() && !is_space(b[i]) && !matches!(b[i], b'/' | b'>' | b'=') {
            i += 1;
        }
        let attr = &doc[attr_start..i];
        if attr.chars().any(is_reserved) {
            return None;
        }
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        match b.get(i).copied() {
            Some(q @ (b'"' | b'\'')) => {
                let value_start = i + 1;
                let end = value_start + doc[value_start..].find(q as char)?;
                let value = &doc[value_start..end];
                for (at, c) in value.char_indices() {
                    if is_reserved(c) {
                        let n = slot_index(c)?;
                        if STYLING_ATTRIBUTES
                            .iter()
                            .any(|s| s.eq_ignore_ascii_case(attr))
                            || completes_entity(&doc[..value_start + at])
                        {
                            return None;
                        }
                        slots.push(Found {
                            at: value_start + at,
                            n,
                            attr: true,
                            attr_name: Some(attr.to_ascii_lowercase()),
                        });
                    }
                }
                i = end + 1;
                // Attributes are separated by whitespace (or `/`, `>`); a
                // quote in a value written unescaped (css-inline writes
                // `class` as it is) would leave us lost.
                match b.get(i) {
                    Some(c) if is_space(*c) || *c == b'/' || *c == b'>' => {}
                    _ => return None,
                }
            }
            _ => {
                let value_start = i;
                while i < b.len() && !is_space(b[i]) && b[i] != b'>' {
                    i += 1;
                }
                if doc[value_start..i].chars().any(is_reserved) {
                    return None;
                }
            }
        }
    }
}

/// Where the content of raw text or RCDATA element `name` ends (the `<` of
/// its end tag, or the end of the document).
fn find_end_tag(doc: &str, from: usize, name: &str) -> usize {
    let b = doc.as_bytes();
    let mut i = from;
    while let Some(p) = doc[i..].find("</") {
        let at = i + p;
        let after = at + 2 + name.len();
        if doc
            .get(at + 2..after)
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
            && b.get(after)
                .is_none_or(|c| is_space(*c) || *c == b'/' || *c == b'>')
        {
            return at;
        }
        i = at + 2;
    }
    b.len()
}

#[cfg(test)]
mod equivalence;

#[cfg(test)]
mod tests;
