//! The contacts stage's storage: every SQL text of `contacts/` but the
//! import's (which lives in `import/store.rs` and `import/store/`), one file
//! per concern. The domain files call these named functions; they decide
//! what to ask, this module how to ask it. Where the two backends differ,
//! the difference is a function of [`crate::db::Db`].
//!
//! - `contact_rows.rs`: reading contacts (lists, pages, by id, search, one);
//! - `audience.rs`: an audience as a SQL condition, and the audience query
//!   a send plans from;
//! - `suppressions.rs`: adding, lifting and listing suppressions;
//! - `unsubscribe.rs`: recording an unsubscribe;
//! - `forget.rs`: erasing a contact everywhere;
//! - `history.rs`: a contact's deliveries and bounces.

pub(crate) mod audience;
pub(crate) mod contact_rows;
pub(crate) mod forget;
pub(crate) mod history;
pub(crate) mod suppressions;
pub(crate) mod unsubscribe;

#[cfg(test)]
pub(crate) mod inspect;
