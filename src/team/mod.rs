//! The press office's team: accounts with roles ([`users`], [`roles`]),
//! API tokens ([`tokens`]) and the audit log of every write ([`audit`]).
//! All of the module's SQL is in [`store`].
//!
//! It owns who may do what and the record of what was done; it does not
//! know about HTTP or the terminal: `web/` checks a request's role with
//! [`Role::allows`] and `cli/` prints what these functions return. Other
//! domains (contacts) append to the audit log through [`audit::record`]
//! inside their own write transactions, so a write and its entry commit
//! together or not at all.

pub mod audit;
pub mod roles;
pub mod store;
pub mod tokens;
pub mod users;

pub use audit::Action;
pub use roles::Role;
pub use users::User;

use crate::error::{db_kind, ErrorKind, HasKind};

/// An error of the team's accounts, tokens or audit log.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// What was given is wrong (an address, a role, a password, a date):
    /// the message says what to do.
    #[error("{0}")]
    BadInput(String),
    /// No account has this address.
    #[error("no user has the address {0}")]
    NoSuchUser(String),
    /// An account with this address exists already.
    #[error("a user with the address {0} exists already")]
    UserExists(String),
    /// The change would leave the team without an active admin.
    #[error("{0} is the last active admin: make another user admin first")]
    LastAdmin(String),
    /// No API token has this id.
    #[error("no API token has the id {0}")]
    NoSuchToken(i64),
}

impl HasKind for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Db(e) => db_kind(e),
            _ => ErrorKind::BadInput,
        }
    }
}

/// The audit log's name for a command run from the terminal:
/// `cli:UNIX_USER` (from `$USER`, else `$LOGNAME`).
pub fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    format!("cli:{user}")
}

/// `n` random bytes from the system's generator (session and API tokens,
/// password salts).
pub fn random_bytes(n: usize) -> Vec<u8> {
    use ring::rand::SecureRandom;
    let mut buf = vec![0u8; n];
    // The system's randomness failing is not something to go on without.
    ring::rand::SystemRandom::new()
        .fill(&mut buf)
        .expect("the system's random number generator failed");
    buf
}
