//! Rendering one contact's message: the Markdown body is a minijinja
//! template rendered with the contact first (values escaped for Markdown,
//! so contact data stays data), then Markdown → HTML and → text, then each
//! is placed into its layout (`templates/NAME.html`, `templates/NAME.txt`)
//! and the HTML gets its CSS inlined.
//!
//! That is [`Renderer::render_reference`]. [`Renderer::render`] gets the
//! same result faster from the shape cache (`super::shape`): the expensive
//! steps (Markdown, CSS inlining) are done once per shape of the message,
//! and each contact's values are filled in. A message whose values could
//! change the shape's meaning takes the reference path.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use minijinja::value::{Enumerator, Object};
use minijinja::{AutoEscape, Environment, Template, UndefinedBehavior, Value};
use serde::Serialize;

use super::file::{Release, ReleaseFile};
use super::shape::{self, BodySlot, DocShape, Marking, MdShape, Mode, ShapeMap};
use super::{templates, text, Error};
use crate::contacts::Contact;

/// One contact's rendered message parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// The language of the release file used.
    pub language: String,
    /// The release file used (main or variant).
    pub file: PathBuf,
}

/// What a template sees of a contact. Notes are left out on purpose: they
/// are the press office's own remarks, not for the journalist's eyes.
#[derive(Debug, Clone, Serialize)]
pub struct ContactContext<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub outlet: Option<&'a str>,
    pub role: Option<&'a str>,
    pub beat: Option<&'a str>,
    pub country: Option<&'a str>,
    pub language: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub tags: &'a [String],
    pub extra: &'a std::collections::BTreeMap<String, String>,
}

impl<'a> From<&'a Contact> for ContactContext<'a> {
    fn from(c: &'a Contact) -> Self {
        ContactContext {
            email: &c.email,
            name: c.name.as_deref(),
            first_name: c.first_name.as_deref(),
            last_name: c.last_name.as_deref(),
            outlet: c.outlet.as_deref(),
            role: c.role.as_deref(),
            beat: c.beat.as_deref(),
            country: c.country.as_deref(),
            language: c.language.as_deref(),
            phone: c.phone.as_deref(),
            tags: &c.tags,
            extra: &c.extra,
        }
    }
}

/// Where layouts come from: a folder the press officer edits, falling back
/// to the templates built into presswire.
#[derive(Debug, Clone)]
pub struct TemplateSource {
    pub dir: Option<PathBuf>,
}

impl TemplateSource {
    /// `--templates DIR` when given; else `templates/` in the working
    /// directory when it exists; else the built-in templates only.
    pub fn resolve(flag: Option<&Path>) -> Result<TemplateSource, Error> {
        match flag {
            Some(dir) if !dir.is_dir() => Err(Error::Release(format!(
                "--templates {}: no such folder",
                dir.display()
            ))),
            Some(dir) => Ok(TemplateSource {
                dir: Some(dir.to_path_buf()),
            }),
            None => Ok(TemplateSource {
                dir: Some(PathBuf::from("templates")).filter(|d| d.is_dir()),
            }),
        }
    }
}

/// The per-release data shared by every contact's rendering.
#[derive(Debug, Clone, Serialize)]
struct FileContext {
    title: String,
    language: String,
    dateline: Option<DatelineContext>,
    embargo: Option<EmbargoContext>,
    links: super::file::Links,
    contact: Option<super::file::PressContact>,
    from: super::file::Sender,
}

#[derive(Debug, Clone, Serialize)]
struct DatelineContext {
    date: String,
    place: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct EmbargoContext {
    /// "Embargoed until" in the release's language.
    label: String,
    /// "10 May 2026, 09:00 EAT".
    until: String,
    /// The RFC 3339 instant.
    at: String,
}

/// The context a template renders with: `contact` and `release`, and for
/// the layouts `subject` and `body`. What `minijinja::context!` builds,
/// without passing values that are minijinja values already through serde
/// (which showed in profiles, four renders per message).
#[derive(Debug)]
struct Root {
    contact: Value,
    release: Value,
    /// A layout's `subject` and `body`.
    layout: Option<(Value, Value)>,
}

impl Root {
    /// The root as a template context.
    fn value(contact: &Value, release: &Value, layout: Option<(&Value, Value)>) -> Value {
        Value::from_object(Root {
            contact: contact.clone(),
            release: release.clone(),
            layout: layout.map(|(subject, body)| (subject.clone(), body)),
        })
    }
}

impl Object for Root {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match (key.as_str()?, &self.layout) {
            ("contact", _) => Some(self.contact.clone()),
            ("release", _) => Some(self.release.clone()),
            ("subject", Some((subject, _))) => Some(subject.clone()),
            ("body", Some((_, body))) => Some(body.clone()),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.layout {
            Some(_) => Enumerator::Str(&["contact", "release", "subject", "body"]),
            None => Enumerator::Str(&["contact", "release"]),
        }
    }
}

/// The templates of each release file, in the order of `Renderer::files`,
/// looked up once: `Environment::get_template` allocates the name and takes
/// a lock on every call, four times per message.
struct Handles<'env>(Vec<FileTemplates<'env>>);

struct FileTemplates<'env> {
    body: Template<'env, 'env>,
    subject: Template<'env, 'env>,
    html: Template<'env, 'env>,
    text: Template<'env, 'env>,
}

self_cell::self_cell!(
    /// The template environment and the handles of its templates.
    struct Compiled {
        owner: Environment<'static>,
        #[covariant]
        dependent: Handles,
    }
);

/// Renders the messages of one release; build once, render per contact.
pub struct Renderer {
    compiled: Compiled,
    files: Vec<Prepared>,
    inliner: css_inline::CSSInliner<'static>,
    /// The layouts folder, to name the file of a layout's error.
    layouts: Option<PathBuf>,
    /// Marked Markdown body → its HTML and text blocks.
    markdown_shapes: ShapeMap<MdShape>,
    /// (Markdown shape, marked HTML layout output) → the inlined document.
    document_shapes: ShapeMap<DocShape>,
    /// The text layouts' long lines, wrapped.
    wraps: text::WrapMemo,
}

struct Prepared {
    /// Where this file's templates are in `Renderer::compiled`.
    index: usize,
    path: PathBuf,
    language: String,
    template: String,
    body_name: String,
    subject_name: String,
    html_name: String,
    text_name: String,
    /// What the file's messages show while its embargo holds, or always
    /// when it has none.
    framing: Framing,
    /// When the file's embargo lifts, and what messages written from then
    /// on show: no banner, no subject prefix.
    lifted: Option<(DateTime<Utc>, Framing)>,
}

/// The per-file part of a message that depends on when it is written.
struct Framing {
    /// "[EMBARGOED UNTIL …] " while an embargo holds, else empty.
    subject_prefix: String,
    /// The `release` the templates see (with `embargo` only while it holds).
    context: Value,
}

impl Prepared {
    /// What a message written at `at` shows: the embargo banner and subject
    /// prefix only before the embargo lifts, so a late or resumed delivery
    /// never claims an embargo that has passed.
    fn framing(&self, at: DateTime<Utc>) -> &Framing {
        match &self.lifted {
            Some((lifts, lifted)) if at >= *lifts => lifted,
            _ => &self.framing,
        }
    }
}

impl Renderer {
    /// Prepares the templates of every file of `release`.
    pub fn new(release: &Release, templates: &TemplateSource) -> Result<Renderer, Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else if name.ends_with(".md") {
                AutoEscape::Custom("markdown")
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(|out, state, value| {
            // A field the contact lacks prints nothing, in every template:
            // never "Dear none" in a subject or a layout.
            if value.is_none() {
                return Ok(());
            }
            if let Some(done) = shape::format_marked(out, state, value) {
                return done;
            }
            if state.auto_escape() == AutoEscape::Custom("markdown") && !value.is_safe() {
                if value.is_undefined() {
                    return Ok(());
                }
                let s = value.to_string();
                out.write_str(&escape_markdown(&s))?;
                Ok(())
            } else {
                minijinja::escape_formatter(out, state, value)
            }
        });
        let dir = templates.dir.clone();
        env.set_loader(move |name| templates::load(dir.as_deref(), name));
        let mut files = Vec::new();
        for file in release.files() {
            let body_name = format!("{}#body.md", file.name());
            let subject_name = format!("{}#subject", file.name());
            env.add_template_owned(body_name.clone(), file.body.clone())
                .map_err(|e| template_error(&e, None, templates.dir.as_deref()))?;
            env.add_template_owned(subject_name.clone(), file.front.subject.clone())
                .map_err(|e| {
                    Error::Template(format!(
                        "{}: front matter `subject`: {}",
                        file.name(),
                        e.detail().unwrap_or(&e.to_string())
                    ))
                })?;
            for ext in ["html", "txt"] {
                let layout = format!("{}.{ext}", file.front.template);
                env.get_template(&layout).map_err(|e| {
                    if e.kind() == minijinja::ErrorKind::TemplateNotFound {
                        Error::Template(format!(
                            "{}: front matter `template = {:?}`: there is no layout {layout} (looked in {} and the built-in templates)",
                            file.name(),
                            file.front.template,
                            templates
                                .dir
                                .as_deref()
                                .map(|d| d.display().to_string())
                                .unwrap_or_else(|| "no templates folder".into())
                        ))
                    } else {
                        template_error(&e, None, templates.dir.as_deref())
                    }
                })?;
            }
            let context = file_context(file);
            let subject_prefix = context
                .embargo
                .as_ref()
                .map(|e| format!("[{} {}] ", e.label, e.until))
                .unwrap_or_default();
            let lifted = file.embargo.map(|lifts| {
                let mut context = context.clone();
                context.embargo = None;
                let framing = Framing {
                    subject_prefix: String::new(),
                    context: Value::from_serialize(context),
                };
                (lifts.to_utc(), framing)
            });
            files.push(Prepared {
                index: files.len(),
                framing: Framing {
                    subject_prefix,
                    context: Value::from_serialize(context),
                },
                lifted,
                path: file.path.clone(),
                language: file.front.language.clone(),
                template: file.front.template.clone(),
                body_name,
                subject_name,
                html_name: format!("{}.html", file.front.template),
                text_name: format!("{}.txt", file.front.template),
            });
        }
        let inliner = css_inline::CSSInliner::options()
            .load_remote_stylesheets(false)
            .keep_at_rules(true)
            .build();
        let compiled = Compiled::try_new(env, |env| {
            let handles = files.iter().map(|p| {
                Ok(FileTemplates {
                    body: env.get_template(&p.body_name)?,
                    subject: env.get_template(&p.subject_name)?,
                    html: env.get_template(&p.html_name)?,
                    text: env.get_template(&p.text_name)?,
                })
            });
            handles
                .collect::<Result<_, minijinja::Error>>()
                .map(Handles)
        })
        .map_err(|e| template_error(&e, None, templates.dir.as_deref()))?;
        Ok(Renderer {
            compiled,
            files,
            inliner,
            layouts: templates.dir.clone(),
            markdown_shapes: ShapeMap::default(),
            document_shapes: ShapeMap::default(),
            wraps: text::WrapMemo::default(),
        })
    }

    /// Renders the message parts for `contact` as a message written now
    /// would have them ([`Renderer::render_at`]).
    pub fn render(&self, release: &Release, contact: &Contact) -> Result<Rendered, Error> {
        self.render_at(release, contact, Utc::now())
    }

    /// Renders the message parts for `contact`, choosing the variant by the
    /// contact's language, as a message written at `at` has them: with the
    /// embargo banner and subject prefix only if the file's embargo has not
    /// lifted by then.
    pub fn render_at(
        &self,
        release: &Release,
        contact: &Contact,
        at: DateTime<Utc>,
    ) -> Result<Rendered, Error> {
        let prepared = self.prepared(release, contact);
        let framing = prepared.framing(at);
        match self.render_shaped(prepared, framing, contact) {
            Some(rendered) => Ok(rendered),
            None => self.render_prepared(prepared, framing, contact),
        }
    }

    /// Renders like [`Renderer::render`] without the shape cache: the
    /// reference the cache must equal byte for byte, and its fallback.
    pub fn render_reference(
        &self,
        release: &Release,
        contact: &Contact,
    ) -> Result<Rendered, Error> {
        let prepared = self.prepared(release, contact);
        self.render_prepared(prepared, prepared.framing(Utc::now()), contact)
    }

    /// The shape cache's result alone (`None` where `render` falls back).
    #[cfg(test)]
    pub(super) fn render_cached(&self, release: &Release, contact: &Contact) -> Option<Rendered> {
        let prepared = self.prepared(release, contact);
        self.render_shaped(prepared, prepared.framing(Utc::now()), contact)
    }

    fn prepared(&self, release: &Release, contact: &Contact) -> &Prepared {
        let file = release.file_for(contact.language.as_deref());
        self.files
            .iter()
            .find(|p| p.path == file.path)
            .unwrap_or(&self.files[0])
    }

    /// The message from the shape cache (see `super::shape`); `None` when
    /// the reference path must render it: a value that could change the
    /// shape's meaning, a shape that is not safe to fill in, or an error
    /// (which the reference path then reports).
    fn render_shaped(
        &self,
        prepared: &Prepared,
        framing: &Framing,
        contact: &Contact,
    ) -> Option<Rendered> {
        let templates = self.compiled.borrow_dependent().0.get(prepared.index)?;
        let contact_value = Value::from_serialize(ContactContext::from(contact));
        let ctx = Root::value(&contact_value, &framing.context, None);

        let marking = Marking::start();
        let markdown = templates.body.render(&ctx).ok()?;
        let md_slots = marking.with_slots(|s| s.len());
        if marking.spoiled() {
            return None;
        }
        let md = self
            .markdown_shapes
            .get_or_make(0, &markdown, || MdShape::new(&markdown, md_slots));
        let md_cached = md.cached.as_ref()?;
        if md_cached.slots != md_slots || !marking.with_slots(|s| md_cached.fits(s)) {
            return None;
        }

        marking.set_active(false);
        let subject = templates.subject.render(&ctx).ok()?;
        let subject = [framing.subject_prefix.as_str(), subject.trim()].concat();
        marking.set_active(true);

        let body = BodySlot {
            non_empty: !md_cached.html.is_empty(),
        };
        let subject_value = Value::from(subject.as_str());
        let layout_ctx = |body: Value| {
            Root::value(
                &contact_value,
                &framing.context,
                Some((&subject_value, body)),
            )
        };
        let layout = templates
            .html
            .render(layout_ctx(Value::from_object(body)))
            .ok()?;
        let all_slots = marking.with_slots(|s| s.len());
        if marking.spoiled()
            || !marking.with_slots(|s| (md_slots..all_slots).all(|n| s.mode(n) == Mode::Html))
        {
            return None;
        }
        let doc = self.document_shapes.get_or_make(md.id, &layout, || {
            DocShape::new(&layout, &md_cached.html, all_slots, &self.inliner)
        });
        let doc_cached = doc.cached.as_ref()?;
        // Fewer slots in the output than values printed: one went into a
        // capture (`{% set x %}…`) and may have steered the layout.
        if doc_cached.slots != all_slots {
            return None;
        }
        let (html, body_text) = marking.with_slots(|s| {
            let text = md_cached.text.fill(&mut |t, out| s.expand(t, out));
            (doc_cached.fill(s), text)
        });
        drop(marking);

        let text = templates
            .text
            .render(layout_ctx(Value::from(body_text)))
            .ok()?;
        Some(Rendered {
            subject,
            html,
            text: tidy_text(&text, Some(&self.wraps)),
            language: prepared.language.clone(),
            file: prepared.path.clone(),
        })
    }

    fn render_prepared(
        &self,
        prepared: &Prepared,
        framing: &Framing,
        contact: &Contact,
    ) -> Result<Rendered, Error> {
        let who = Some(contact.email.as_str());
        let ctx = Root::value(
            &Value::from_serialize(ContactContext::from(contact)),
            &framing.context,
            None,
        );
        let get = |name: &str| {
            self.compiled
                .borrow_owner()
                .get_template(name)
                .map_err(|e| template_error(&e, who, self.layouts.as_deref()))
        };
        let markdown = get(&prepared.body_name)?
            .render(&ctx)
            .map_err(|e| template_error(&e, who, self.layouts.as_deref()))?;
        let subject = get(&prepared.subject_name)?
            .render(&ctx)
            .map_err(|e| template_error(&e, who, self.layouts.as_deref()))?;
        let subject = [framing.subject_prefix.as_str(), subject.trim()].concat();

        let mut body_html = String::with_capacity(markdown.len() * 2);
        pulldown_cmark::html::push_html(
            &mut body_html,
            pulldown_cmark::Parser::new_ext(&markdown, text::options()),
        );
        let body_text = text::render(&markdown);

        let subject_value = Value::from(subject.as_str());
        let layout_ctx = |body: Value| {
            Root::value(
                &Value::from_serialize(ContactContext::from(contact)),
                &framing.context,
                Some((&subject_value, body)),
            )
        };
        let html = get(&format!("{}.html", prepared.template))?
            .render(layout_ctx(Value::from_safe_string(body_html)))
            .map_err(|e| template_error(&e, who, self.layouts.as_deref()))?;
        let html = self.inliner.inline(&html).map_err(|e| {
            Error::Template(format!("inlining the CSS of {}: {e}", prepared.template))
        })?;
        let text = get(&format!("{}.txt", prepared.template))?
            .render(layout_ctx(Value::from(body_text)))
            .map_err(|e| template_error(&e, who, self.layouts.as_deref()))?;
        Ok(Rendered {
            subject,
            html,
            text: tidy_text(&text, None),
            language: prepared.language.clone(),
            file: prepared.path.clone(),
        })
    }
}

/// Shared template data of one release file.
fn file_context(file: &ReleaseFile) -> FileContext {
    let lang = file.front.language.as_str();
    FileContext {
        title: file.front.title.clone(),
        language: file.front.language.clone(),
        dateline: file.dateline_date.map(|d| DatelineContext {
            date: super::dates::format_date(d, lang),
            place: file.front.dateline.as_ref().and_then(|d| d.place.clone()),
        }),
        embargo: file.embargo.map(|at| EmbargoContext {
            label: super::dates::embargo_label(lang).to_string(),
            until: super::dates::format_instant(at, file.timezone, lang),
            at: at.to_rfc3339(),
        }),
        links: file.front.links.clone(),
        contact: file.front.contact.clone(),
        from: file.front.from.clone(),
    }
}

/// Writes Markdown's ASCII punctuation as numeric character references
/// (CommonMark §6.2, `&#60;` for `<`) so a contact value is shown as
/// written: `*Bob*` stays `*Bob*`, `<script>` becomes text, never HTML.
/// Not backslash escapes (§2.4): inside an HTML block of the release
/// (`<div>…</div>`) Markdown passes text through untouched, and `\<script>`
/// would be a real tag; a character reference is text to Markdown and to
/// the browser alike.
pub fn escape_markdown(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b.is_ascii_punctuation()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if c.is_ascii_punctuation() {
            // Writing to a String cannot fail.
            let _ = write!(out, "&#{};", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Collapses runs of blank lines a layout leaves, wraps the layout's long
/// lines (the body is wrapped already) and ends with one newline; `memo`
/// remembers the wrapped lines across messages.
///
/// Lines are taken as [`str::lines`] gives them but found with `memchr`,
/// and the lines that stay as they are (most of them) are copied a run at
/// a time (fast path, measured: line by line it cost far more).
fn tidy_text(text: &str, memo: Option<&text::WrapMemo>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    // `text[run..start]` is lines that stay as they are, with their `\n`,
    // not yet written to `out`.
    let mut run = 0;
    let mut start = 0;
    while start < text.len() {
        let (raw, end) = match memchr::memchr(b'\n', &text.as_bytes()[start..]) {
            Some(i) => (&text[start..start + i], start + i + 1),
            None => (&text[start..], text.len()),
        };
        // Also drops the `\r` of a `\r\n`.
        let line = raw.trim_end();
        let line_start = std::mem::replace(&mut start, end);
        if line.is_empty() {
            blank += 1;
            if blank > 1 || (out.is_empty() && run == line_start) {
                out.push_str(&text[run..line_start]);
                run = end;
                continue;
            }
        } else {
            blank = 0;
        }
        // Bytes first: counting characters is slower, and never more.
        let wrap = line.len() > text::WIDTH
            && line.chars().count() > text::WIDTH
            && !line.starts_with('>');
        if !wrap && line.len() == raw.len() && end > line_start + raw.len() {
            // Written as it stands, `\n` and all: the run goes on.
            continue;
        }
        out.push_str(&text[run..line_start]);
        run = end;
        if wrap {
            match memo {
                Some(memo) => memo.wrap_line(line, &mut out),
                None => text::wrap_line(line, &mut out),
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&text[run..]);
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// A template error as "FILE:LINE: what (for contact X)". The body
/// template's lines are the release file's lines; a layout is named by its
/// path in the layouts folder, or as built in when it comes from presswire.
fn template_error(e: &minijinja::Error, contact: Option<&str>, layouts: Option<&Path>) -> Error {
    let name = e.name().unwrap_or("template");
    let (file, part) = match name.split_once('#') {
        Some((f, "subject")) => (f.to_string(), " front matter `subject`"),
        Some((f, _)) => (f.to_string(), ""),
        None => match layouts.map(|d| d.join(name)).filter(|p| p.is_file()) {
            Some(path) => (path.display().to_string(), ""),
            None => (format!("{name} (built into presswire)"), ""),
        },
    };
    let place = match e.line() {
        Some(l) if part.is_empty() => format!("{file}:{l}"),
        _ => format!("{file}:{part}"),
    };
    let what = match e.kind() {
        minijinja::ErrorKind::UndefinedError => {
            let mut m = "undefined value".to_string();
            if let Some(d) = e.detail() {
                m = format!("{m} ({d})");
            }
            if let Some(src) = e.template_source().zip(e.line()) {
                if let Some(line) = src.0.lines().nth(src.1.saturating_sub(1)) {
                    m = format!("{m} in `{}`", line.trim());
                }
            }
            m + "; contact fields are email, name, first_name, last_name, outlet, role, beat, country, language, phone, tags, extra"
        }
        _ => e
            .detail()
            .map(str::to_string)
            .unwrap_or_else(|| e.kind().to_string()),
    };
    let who = contact
        .map(|c| format!(" (rendering for {c})"))
        .unwrap_or_default();
    Error::Template(format!("{place}: {what}{who}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// `tidy_text` as first written, line by line: the specification.
    fn tidy_text_by_lines(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut blank = 0;
        for line in text.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                blank += 1;
                if blank > 1 || out.is_empty() {
                    continue;
                }
            } else {
                blank = 0;
            }
            if line.chars().count() > text::WIDTH && !line.starts_with('>') {
                text::wrap_line(line, &mut out);
                continue;
            }
            out.push_str(line);
            out.push('\n');
        }
        while out.ends_with("\n\n") {
            out.pop();
        }
        out
    }

    #[test]
    fn tidy_text_is_tidy_text_by_lines() {
        let long = "word ".repeat(20);
        let wide = "é".repeat(60);
        let pieces = [
            "", " ", "\t", "\r", "\n", "\n", "\n", "\r\n", "\n\n\n", "a", "Title", "word ", "> ",
            "·", &long, &wide, "x\u{A0}",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let memo = text::WrapMemo::default();
        for n in 0..5000 {
            let mut text = String::new();
            for _ in 0..n % 24 {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                text.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            let want = tidy_text_by_lines(&text);
            assert_eq!(tidy_text(&text, None), want, "{text:?}");
            assert_eq!(tidy_text(&text, Some(&memo)), want, "{text:?}");
        }
    }

    #[test]
    fn root_context_is_what_the_context_macro_builds() {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let contact = Value::from_serialize(BTreeMap::from([("name", "Ana")]));
        let release = Value::from_serialize(BTreeMap::from([("title", "T")]));
        let subject = Value::from("S");
        for (source, layout) in [
            ("{{ contact.name }} {{ release.title }}", false),
            ("{{ subject }}", false),
            ("{{ body }}", false),
            ("{{ other }}", false),
            (
                "{{ contact.name }} {{ release.title }} {{ subject }} {{ body }}",
                true,
            ),
            ("{{ other }}", true),
            (
                "{% if body is defined %}{{ body | length }}{% endif %}",
                true,
            ),
        ] {
            let t = env.template_from_str(source).expect("template");
            let (got, want) = if layout {
                (
                    t.render(Root::value(
                        &contact,
                        &release,
                        Some((&subject, Value::from("B"))),
                    )),
                    t.render(minijinja::context! {
                        contact => contact.clone(),
                        release => release.clone(),
                        subject => subject.clone(),
                        body => Value::from("B"),
                    }),
                )
            } else {
                (
                    t.render(Root::value(&contact, &release, None)),
                    t.render(minijinja::context! {
                        contact => contact.clone(),
                        release => release.clone(),
                    }),
                )
            };
            assert_eq!(
                got.map_err(|e| e.kind()),
                want.map_err(|e| e.kind()),
                "{source}"
            );
        }
    }

    #[test]
    fn tidy_text_collapses_blank_lines_and_wraps_long_ones() {
        let long = "word ".repeat(20);
        let text = format!("\n\nTitle  \r\n\r\n\r\n{long}\n\n\n> {long}\n\n");
        let want = format!(
            "Title\n\n{}\n\n> {}\n",
            "word ".repeat(14).trim_end().to_string() + "\n" + "word ".repeat(6).trim_end(),
            long.trim_end()
        );
        assert_eq!(tidy_text(&text, None), want);
        let memo = text::WrapMemo::default();
        assert_eq!(tidy_text(&text, Some(&memo)), want);
        assert_eq!(tidy_text(&text, Some(&memo)), want);
    }
}
