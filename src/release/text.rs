//! Markdown → plain text that reads well in a text-only mail client:
//! underlined headings, numbered and bulleted lists with hanging indents,
//! `> ` quotes, tables as aligned columns, and links written out as
//! "text (URL)". It is made from the same Markdown as the HTML part, not
//! stripped from the HTML.

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

#[derive(Debug)]
enum List {
    Ordered(u64),
    Bullet,
}

/// Renders Markdown as plain text.
pub fn render(markdown: &str) -> String {
    let mut r = TextRenderer::default();
    for event in Parser::new_ext(markdown, options()) {
        r.event(event);
    }
    r.finish()
}

#[derive(Default)]
struct TextRenderer {
    out: String,
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
                self.push_block(&"-".repeat(WIDTH.min(40)), false);
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
                let text = text.trim();
                match level {
                    HeadingLevel::H1 => {
                        let text = text.to_uppercase();
                        let width = text.chars().count().min(WIDTH);
                        self.push_block(&text, true);
                        self.push_block(&"=".repeat(width), false);
                    }
                    HeadingLevel::H2 => {
                        let width = text.chars().count().min(WIDTH);
                        self.push_block(text, true);
                        self.push_block(&"-".repeat(width), false);
                    }
                    _ => self.push_block(text, true),
                }
            }
            TagEnd::BlockQuote(_) => {
                self.flush_line();
                self.prefixes.pop();
            }
            TagEnd::CodeBlock => {
                self.in_code = false;
                let code = std::mem::take(&mut self.line);
                for l in code.lines() {
                    self.push_block(l, false);
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
                    self.push_table(t);
                }
            }
            _ => {}
        }
    }

    /// Writes the pending inline text as a wrapped block.
    fn flush_line(&mut self) {
        let text = std::mem::take(&mut self.line);
        let text = text.trim();
        if !text.is_empty() {
            self.push_block(text, true);
        }
    }

    /// Writes `text` with the current prefixes, wrapping when asked.
    fn push_block(&mut self, text: &str, wrap: bool) {
        let prefix: String = self.prefixes.concat();
        let first = match self.marker.take() {
            Some(m) => {
                let outer: String = self.prefixes[..self.prefixes.len().saturating_sub(1)].concat();
                format!("{outer}{m}")
            }
            None => prefix.clone(),
        };
        for (n, para_line) in text.split('\n').enumerate() {
            let first_prefix = if n == 0 {
                first.as_str()
            } else {
                prefix.as_str()
            };
            if wrap {
                let opts = wrap_options()
                    .initial_indent(first_prefix)
                    .subsequent_indent(&prefix);
                for l in textwrap::wrap(para_line, opts) {
                    self.out.push_str(l.trim_end());
                    self.out.push('\n');
                }
            } else {
                self.out.push_str(first_prefix);
                self.out.push_str(para_line);
                self.out.push('\n');
            }
        }
    }

    /// Ensures the output ends with an empty line (inside quotes: a `>` line).
    fn blank_line(&mut self) {
        if self.out.is_empty() || self.out.ends_with("\n\n") {
            return;
        }
        let prefix: String = self.prefixes.concat();
        let prefix = prefix.trim_end();
        if !prefix.is_empty() && prefix.chars().all(|c| c == '>' || c == ' ') {
            let line = format!("{prefix}\n");
            if !self.out.ends_with(&format!("\n{line}")) {
                self.out.push_str(&line);
            }
        } else if !self.out.ends_with('\n') {
            self.out.push_str("\n\n");
        } else {
            self.out.push('\n');
        }
    }

    fn push_table(&mut self, t: Table) {
        let cols = t.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; cols];
        for r in &t.rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(c.trim().chars().count());
            }
        }
        for (n, r) in t.rows.iter().enumerate() {
            let cells: Vec<String> = (0..cols)
                .map(|i| {
                    let c = r.get(i).map(|c| c.trim()).unwrap_or("");
                    format!("{c:<w$}", w = widths[i])
                })
                .collect();
            self.push_block(cells.join("  ").trim_end(), false);
            if n + 1 == t.header_rows {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                self.push_block(&rule.join("  "), false);
            }
        }
        self.blank_line();
    }

    fn finish(mut self) -> String {
        self.flush_line();
        let trimmed = self.out.trim_end();
        let mut out = trimmed.to_string();
        out.push('\n');
        out
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
    fn tables_align() {
        let text = render("| Name | Role |\n|---|---|\n| Ana | Director |\n");
        assert_eq!(text, "Name  Role\n----  --------\nAna   Director\n");
    }
}
