//! Releases: reading release files (TOML front matter + Markdown), the
//! minijinja environment with its layouts, rendering one contact's message
//! (HTML + text) and building the e-mail with its headers and attachments.
//!
//! It does not send anything: `send/` moves the messages built here.

pub mod check;
pub mod dates;
pub mod encode;
pub mod file;
pub mod message;
pub mod office_time;
pub mod placeholders;
pub mod render;
pub mod script;
mod shape;
pub mod strings;
pub mod templates;
pub mod text;

pub use file::Release;
pub use render::{Rendered, Renderer, TemplateSource};

/// An error of a release: every message names the file (and line), and the
/// contact when it concerns one.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The release file is unreadable or its front matter is wrong.
    #[error("{0}")]
    Release(String),
    /// A template failed to parse or render.
    #[error("{0}")]
    Template(String),
    /// A header value is unusable (a line break, a bad address).
    #[error("{0}")]
    Header(String),
}
