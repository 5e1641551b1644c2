//! Markdown → plain text that reads well in a text-only mail client:
//! underlined headings, numbered and bulleted lists with hanging indents,
//! `> ` quotes, tables as aligned columns, and links written out as
//! "text (URL)". It is made from the same Markdown as the HTML part, not
//! stripped from the HTML.
//!
//! Rendering happens in two steps so that the renderer's shape cache
//! (`super::shape`) can do the first once per release: [`Shape::build`]
//! walks the Markdown and records blocks with their prefixes, and
//! [`Shape::fill`] writes them out, wrapping paragraphs. Everything that
//! depends on the words themselves (wrapping, heading underlines, table
//! column widths, blank-line decisions that look at the output so far)
//! happens in `fill`, so a text with placeholders in it can be built once
//! and filled per contact.

use std::collections::HashMap;
use std::sync::Mutex;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// The column at which paragraphs wrap.
pub const WIDTH: usize = 72;

/// Wrapping at spaces only: URLs, e-mail addresses and hyphenated words
/// are never split (a broken URL cannot be clicked).
pub fn wrap_options() -> textwrap::Options<'static> {
    textwrap::Options::new(WIDTH)
        .break_words(false)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        // Greedy filling, as mail clients and people do; also far cheaper
        // than the optimal-fit algorithm on every message.
        .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit)
}

/// The Markdown options used for both parts.
pub fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_SMART_PUNCTUATION
}

/// Wraps one long line as a layout's lines are wrapped: each wrapped line
/// without trailing spaces and with its newline.
pub fn wrap_line(line: &str, out: &mut String) {
    for l in textwrap::wrap(line, wrap_options()) {
        out.push_str(l.trim_end());
        out.push('\n');
    }
}

/// Remembers how long lines wrap ([`wrap_line`]): a layout's long lines
/// (the headline, the footer) are the same in most messages of a send.
#[derive(Debug, Default)]
pub struct WrapMemo {
    lines: Mutex<HashMap<Box<str>, Box<str>>>,
}

impl WrapMemo {
    /// At most this many lines are remembered; then it starts over.
    const CAPACITY: usize = 1024;

    /// [`wrap_line`], remembered.
    pub fn wrap_line(&self, line: &str, out: &mut String) {
        let lock = || self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = lock().get(line) {
            out.push_str(w);
            return;
        }
        let start = out.len();
        wrap_line(line, out);
        let mut lines = lock();
        if lines.len() >= Self::CAPACITY {
            lines.clear();
        }
        lines.insert(line.into(), out[start..].into());
    }
}

#[derive(Debug)]
enum List {
    Ordered(u64),
    Bullet,
}

/// Renders Markdown as plain text.
pub fn render(markdown: &str) -> String {
    Shape::build(markdown, |_| false).fill(&mut |s: &str, out: &mut String| out.push_str(s))
}

/// Markdown laid out as text blocks, not yet wrapped: see the module
/// documentation.
#[derive(Debug, Clone)]
pub struct Shape {
    ops: Vec<Op>,
    /// About how long the filled text is.
    len_hint: usize,
}

/// One step of writing the text out.
#[derive(Debug, Clone)]
enum Op {
    /// Finished text (blocks without placeholders, decided blank lines).
    Static(String),
    /// A block: `first` is the prefix of its first line, `prefix` of the others.
    Block {
        first: String,
        prefix: String,
        text: String,
        wrap: bool,
    },
    /// A heading's text (trimmed, upper-cased for level 1, underlined for
    /// levels 1 and 2 to its width).
    Heading {
        level: HeadingLevel,
        first: String,
        prefix: String,
        text: String,
    },
    /// A table, its columns as wide as their widest cell.
    Table {
        first: String,
        prefix: String,
        rows: Vec<Vec<String>>,
        header_rows: usize,
    },
    /// An empty line unless the output already ends with one (inside
    /// quotes, a `>` line); `prefix` is the prefix of the open containers.
    BlankLine { prefix: String },
}

impl Shape {
    /// Lays out `markdown`. Texts for which `has_placeholder` is false are
    /// written out already; the others are kept for [`Shape::fill`].
    pub fn build(markdown: &str, has_placeholder: impl Fn(&str) -> bool) -> Shape {
        let mut r = TextRenderer::default();
        for event in Parser::new_ext(markdown, options()) {
            r.event(event);
        }
        r.flush_line();
        let mut shape = Shape {
            ops: Vec::with_capacity(r.ops.len()),
            len_hint: markdown.len() + markdown.len() / 8,
        };
        // Writes out every op that does not depend on the placeholders'
        // values, and the blank-line decisions that only look at such text.
        let mut pending = String::new();
        let mut dynamic_before = false;
        let mut identity = |s: &str, out: &mut String| out.push_str(s);
        for op in r.ops {
            let fixed = match &op {
                Op::Static(_) => true,
                Op::Block { text, .. } | Op::Heading { text, .. } => !has_placeholder(text),
                Op::Table { rows, .. } => !rows.iter().flatten().any(|c| has_placeholder(c)),
                // `blank_line` looks at the last `prefix.len() + 2` bytes
                // at most, and at whether anything was written at all.
                Op::BlankLine { prefix } => {
                    !dynamic_before || pending.len() >= prefix.trim_end().len() + 2
                }
            };
            if fixed {
                op.write(&mut pending, &mut identity);
            } else {
                if !pending.is_empty() {
                    shape.ops.push(Op::Static(std::mem::take(&mut pending)));
                }
                shape.ops.push(op);
                dynamic_before = true;
            }
        }
        if !pending.is_empty() {
            shape.ops.push(Op::Static(pending));
        }
        shape
    }

    /// Writes the text out; `expand` writes a text of the shape into the
    /// output with its placeholders replaced.
    pub fn fill(&self, expand: &mut dyn FnMut(&str, &mut String)) -> String {
        let mut out = String::with_capacity(self.len_hint);
        for op in &self.ops {
            op.write(&mut out, expand);
        }
        let len = out.trim_end().len();
        out.truncate(len);
        out.push('\n');
        out
    }

    /// Calls `f` with every text that [`Shape::fill`] expands.
    pub fn for_each_text(&self, mut f: impl FnMut(&str)) {
        for op in &self.ops {
            match op {
                Op::Static(_) | Op::BlankLine { .. } => {}
                Op::Block { text, .. } | Op::Heading { text, .. } => f(text),
                Op::Table { rows, .. } => rows.iter().flatten().for_each(|c| f(c)),
            }
        }
    }
}

impl Op {
    fn write(&self, out: &mut String, expand: &mut dyn FnMut(&str, &mut String)) {
        match self {
            Op::Static(s) => out.push_str(s),
            Op::Block {
                first,
                prefix,
                text,
                wrap,
            } => {
                let mut t = String::with_capacity(text.len() + 32);
                expand(text, &mut t);
                write_block(out, first, prefix, &t, *wrap);
            }
            Op::Heading {
                level,
                first,
                prefix,
                text,
            } => {
                let mut t = String::with_capacity(text.len() + 32);
                expand(text, &mut t);
                let text = t.trim();
                match level {
                    HeadingLevel::H1 => {
                        let text = text.to_uppercase();
                        let width = text.chars().count().min(WIDTH);
                        write_block(out, first, prefix, &text, true);
                        write_block(out, prefix, prefix, &"=".repeat(width), false);
                    }
                    HeadingLevel::H2 => {
                        let width = text.chars().count().min(WIDTH);
                        write_block(out, first, prefix, text, true);
                        write_block(out, prefix, prefix, &"-".repeat(width), false);
                    }
                    _ => write_block(out, first, prefix, text, true),
                }
            }
            Op::Table {
                first,
                prefix,
                rows,
                header_rows,
            } => {
                let rows: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        r.iter()
                            .map(|c| {
                                let mut t = String::with_capacity(c.len());
                                expand(c, &mut t);
                                t
                            })
                            .collect()
                    })
                    .collect();
                write_table(out, first, prefix, &rows, *header_rows);
            }
            Op::BlankLine { prefix } => blank_line(out, prefix),
        }
    }
}

/// Writes `text` with its prefixes, wrapping when asked.
fn write_block(out: &mut String, first: &str, prefix: &str, text: &str, wrap: bool) {
    for (n, para_line) in text.split('\n').enumerate() {
        let first_prefix = if n == 0 { first } else { prefix };
        if wrap && first_prefix.is_empty() && para_line.len() < WIDTH {
            // What textwrap does for a short line without indent (its own
            // fast path), without building its options and lines.
            out.push_str(para_line.trim_end());
            out.push('\n');
        } else if wrap {
            let opts = wrap_options()
                .initial_indent(first_prefix)
                .subsequent_indent(prefix);
            for l in textwrap::wrap(para_line, opts) {
                out.push_str(l.trim_end());
                out.push('\n');
            }
        } else {
            out.push_str(first_prefix);
            out.push_str(para_line);
            out.push('\n');
        }
    }
}

/// Ensures the output ends with an empty line (inside quotes: a `>` line).
fn blank_line(out: &mut String, prefix: &str) {
    if out.is_empty() || out.ends_with("\n\n") {
        return;
    }
    let prefix = prefix.trim_end();
    if !prefix.is_empty() && prefix.chars().all(|c| c == '>' || c == ' ') {
        // Is the last line exactly `prefix`?
        let last_is_prefix = out
            .strip_suffix('\n')
            .and_then(|o| o.strip_suffix(prefix))
            .is_some_and(|o| o.ends_with('\n'));
        if !last_is_prefix {
            out.push_str(prefix);
            out.push('\n');
        }
    } else if !out.ends_with('\n') {
        out.push_str("\n\n");
    } else {
        out.push('\n');
    }
}

fn write_table(out: &mut String, first: &str, prefix: &str, rows: &[Vec<String>], header: usize) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.trim().chars().count());
        }
    }
    for (n, r) in rows.iter().enumerate() {
        let cells: Vec<String> = (0..cols)
            .map(|i| {
                let c = r.get(i).map(|c| c.trim()).unwrap_or("");
                format!("{c:<w$}", w = widths[i])
            })
            .collect();
        let line_first = if n == 0 { first } else { prefix };
        write_block(out, line_first, prefix, cells.join("  ").trim_end(), false);
        if n + 1 == header {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            write_block(out, prefix, prefix, &rule.join("  "), false);
        }
    }
}

#[derive(Default)]
struct TextRenderer {
    ops: Vec<Op>,
    /// The inline text of the block being built.
    line: String,
    /// Prefixes of the open containers (quotes, list items).
    prefixes: Vec<String>,
    /// The first line of a list item gets its marker instead of the indent.
    marker: Option<String>,
    lists: Vec<List>,
    links: Vec<String>,
    heading: Option<HeadingLevel>,
    table: Option<Table>,
    in_code: bool,
    /// Where the text of the innermost open link starts in `line`.
    line_start_link: usize,
}

#[derive(Default)]
struct Table {
    rows: Vec<Vec<String>>,
    header_rows: usize,
}

impl TextRenderer {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                if let Some(table) = &mut self.table {
                    if let Some(cell) = table.rows.last_mut().and_then(|r| r.last_mut()) {
                        cell.push_str(&t);
                    }
                } else if self.in_code {
                    for l in t.lines() {
                        self.line.push_str("    ");
                        self.line.push_str(l);
                        self.line.push('\n');
                    }
                } else {
                    self.line.push_str(&t);
                }
            }
            Event::Code(t) => self.line.push_str(&t),
            Event::SoftBreak => self.line.push(' '),
            Event::HardBreak => self.line.push('\n'),
            Event::Rule => {
                self.blank_line();
                self.push_block("-".repeat(WIDTH.min(40)), false);
            }
            Event::Html(_) | Event::InlineHtml(_) => {}
            Event::FootnoteReference(_) | Event::TaskListMarker(_) => {}
            Event::InlineMath(t) | Event::DisplayMath(t) => self.line.push_str(&t),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => {}
            Tag::Heading { level, .. } => {
                self.blank_line();
                self.heading = Some(level);
            }
            Tag::BlockQuote(_) => {
                self.flush_line();
                self.blank_line();
                self.prefixes.push("> ".into());
            }
            Tag::CodeBlock(_) => {
                self.blank_line();
                self.in_code = true;
            }
            Tag::List(first) => {
                self.flush_line();
                if self.lists.is_empty() {
                    self.blank_line();
                }
                self.lists.push(match first {
                    Some(n) => List::Ordered(n),
                    None => List::Bullet,
                });
            }
            Tag::Item => {
                self.flush_line();
                let marker = match self.lists.last_mut() {
                    Some(List::Ordered(n)) => {
                        let m = format!("{n}. ");
                        *n += 1;
                        m
                    }
                    _ => "- ".into(),
                };
                let indent = " ".repeat(marker.chars().count());
                self.marker = Some(format!("{marker:<width$}", width = indent.len()));
                self.prefixes.push(indent);
            }
            Tag::Emphasis | Tag::Strong | Tag::Strikethrough => {}
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                self.links.push(dest_url.to_string());
                self.line_start_link = self.line.len();
            }
            Tag::Table(_) => {
                self.blank_line();
                self.table = Some(Table::default());
            }
            Tag::TableHead | Tag::TableRow => {
                if let Some(t) = &mut self.table {
                    t.rows.push(Vec::new());
                }
            }
            Tag::TableCell => {
                if let Some(t) = &mut self.table {
                    if let Some(r) = t.rows.last_mut() {
                        r.push(String::new());
                    }
                }
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                if self.marker.is_none() {
                    self.blank_line();
                }
                self.flush_line();
            }
            TagEnd::Heading(level) => {
                self.heading = None;
                let text = std::mem::take(&mut self.line);
                let (first, prefix) = self.prefixes_for_block();
                self.ops.push(Op::Heading {
                    level,
                    first,
                    prefix,
                    text,
                });
            }
            TagEnd::BlockQuote(_) => {
                self.flush_line();
                self.prefixes.pop();
            }
            TagEnd::CodeBlock => {
                self.in_code = false;
                let code = std::mem::take(&mut self.line);
                for l in code.lines() {
                    self.push_block(l.to_string(), false);
                }
            }
            TagEnd::List(_) => {
                self.flush_line();
                self.lists.pop();
            }
            TagEnd::Item => {
                self.flush_line();
                self.prefixes.pop();
                self.marker = None;
            }
            TagEnd::Link | TagEnd::Image => {
                if let Some(url) = self.links.pop() {
                    let text = &self.line[self.line_start_link..];
                    let bare = url.strip_prefix("mailto:").unwrap_or(&url);
                    if text.trim() != bare && text.trim() != url {
                        let shown = if text.trim().is_empty() { "" } else { " " };
                        self.line.push_str(&format!("{shown}({bare})"));
                    }
                }
            }
            TagEnd::TableCell | TagEnd::TableRow => {}
            TagEnd::TableHead => {
                if let Some(t) = &mut self.table {
                    t.header_rows = t.rows.len();
                }
            }
            TagEnd::Table => {
                if let Some(t) = self.table.take() {
                    if !t.rows.is_empty() {
                        let (first, prefix) = self.prefixes_for_block();
                        self.ops.push(Op::Table {
                            first,
                            prefix,
                            rows: t.rows,
                            header_rows: t.header_rows,
                        });
                    }
                    self.blank_line();
                }
            }
            _ => {}
        }
    }

    /// Writes the pending inline text as a wrapped block.
    fn flush_line(&mut self) {
        let text = std::mem::take(&mut self.line);
        let trimmed = text.trim();
        if !trimmed.is_empty() {
            let text = if trimmed.len() == text.len() {
                text
            } else {
                trimmed.to_string()
            };
            self.push_block(text, true);
        }
    }

    /// The prefix of a block's first line (a list item's marker, once) and
    /// of its other lines.
    fn prefixes_for_block(&mut self) -> (String, String) {
        let prefix: String = self.prefixes.concat();
        let first = match self.marker.take() {
            Some(m) => {
                let outer: String = self.prefixes[..self.prefixes.len().saturating_sub(1)].concat();
                format!("{outer}{m}")
            }
            None => prefix.clone(),
        };
        (first, prefix)
    }

    /// Writes `text` with the current prefixes, wrapping when asked.
    fn push_block(&mut self, text: String, wrap: bool) {
        let (first, prefix) = self.prefixes_for_block();
        self.ops.push(Op::Block {
            first,
            prefix,
            text,
            wrap,
        });
    }

    /// Ensures the output ends with an empty line (inside quotes: a `>` line).
    fn blank_line(&mut self) {
        self.ops.push(Op::BlankLine {
            prefix: self.prefixes.concat(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn headings_lists_quotes_and_links_read_as_text() {
        let md = "# Rivers need protection\n\nThe lede, with a [report](https://x.example/r).\n\n\
                  ## To the ministry\n\n1. Stop the permits.\n2. Publish the data.\n\n\
                  > \"We cannot wait\", said Ana.\n\n- one\n- two\n";
        let text = render(md);
        assert_eq!(
            text,
            "RIVERS NEED PROTECTION\n======================\n\n\
             The lede, with a report (https://x.example/r).\n\n\
             To the ministry\n---------------\n\n\
             1. Stop the permits.\n2. Publish the data.\n\n\
             > \u{201c}We cannot wait\u{201d}, said Ana.\n\n\
             - one\n- two\n"
        );
    }

    #[test]
    fn long_paragraphs_wrap_and_list_items_hang() {
        let md = format!("1. {}\n", "word ".repeat(30));
        let text = render(&md);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() > 1);
        assert!(lines[0].starts_with("1. word"));
        assert!(lines[1].starts_with("   word"), "{text}");
        assert!(lines.iter().all(|l| l.chars().count() <= super::WIDTH));
    }

    #[test]
    fn bare_urls_are_not_doubled() {
        assert_eq!(render("<https://x.example>\n"), "https://x.example\n");
        assert_eq!(
            render("[press@x.example](mailto:press@x.example)\n"),
            "press@x.example\n"
        );
    }

    #[test]
    fn short_lines_are_written_as_textwrap_writes_them() {
        let long = "x".repeat(super::WIDTH - 1);
        for line in [
            "",
            " ",
            "a",
            "a  b ",
            "  lead",
            "tab\t",
            "CR\r",
            &long,
            "é".repeat(40).as_str(),
        ] {
            for (first, prefix) in [("", ""), ("", "   "), ("1. ", "   "), ("> ", "> ")] {
                let mut got = String::new();
                super::write_block(&mut got, first, prefix, line, true);
                let mut want = String::new();
                let opts = super::wrap_options()
                    .initial_indent(first)
                    .subsequent_indent(prefix);
                for l in textwrap::wrap(line, opts) {
                    want.push_str(l.trim_end());
                    want.push('\n');
                }
                assert_eq!(got, want, "{line:?} {first:?}");
            }
        }
    }

    #[test]
    fn tables_align() {
        let text = render("| Name | Role |\n|---|---|\n| Ana | Director |\n");
        assert_eq!(text, "Name  Role\n----  --------\nAna   Director\n");
    }
}
