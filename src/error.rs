//! What kind of error an error is, whatever domain it comes from: the
//! user's input to fix ([`ErrorKind::BadInput`], exit 2), a failure
//! (exit 1), or a database too busy to answer in time (exit 1; the HTTP
//! server answers 503). Each domain's error enum says its own kind through
//! [`HasKind`]; [`kind_of`] asks an error chain for the first error that
//! has one. The wording a user reads at an edge (a CLI hint naming a
//! command, a web page) is added there, not here.

use std::error::Error as StdError;

/// The kind of an error, which decides the exit code and the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// What the user gave presswire (a flag, a value, a file, a setting)
    /// is wrong; the message says what to do.
    BadInput,
    /// Something failed that the user's input did not cause.
    Failure,
    /// The database was too busy to answer in time: asking again later
    /// may succeed.
    Busy,
}

impl ErrorKind {
    /// The process exit code: 2 for bad input, 1 for a failure.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::BadInput => 2,
            ErrorKind::Failure | ErrorKind::Busy => 1,
        }
    }

    /// `BadInput` when `bad_input`, else `Failure`.
    pub fn input_if(bad_input: bool) -> ErrorKind {
        if bad_input {
            ErrorKind::BadInput
        } else {
            ErrorKind::Failure
        }
    }
}

/// An error that knows its kind: every domain's error enum.
pub trait HasKind {
    fn kind(&self) -> ErrorKind;
}

/// The kind of a database error: busy ([`crate::db::is_busy`]) or a failure.
pub fn db_kind(e: &sqlx::Error) -> ErrorKind {
    if crate::db::is_busy(e) {
        ErrorKind::Busy
    } else {
        ErrorKind::Failure
    }
}

/// The kind of `e` when it is an `E`.
fn kind_as<E: HasKind + StdError + 'static>(e: &(dyn StdError + 'static)) -> Option<ErrorKind> {
    e.downcast_ref::<E>().map(HasKind::kind)
}

/// Every error type with a kind. A trait object cannot be asked for
/// another trait, so each type is tried by name, once, here.
const KINDED: &[fn(&(dyn StdError + 'static)) -> Option<ErrorKind>] = &[
    kind_as::<crate::BadInput>,
    kind_as::<crate::cli::hints::Hinted>,
    kind_as::<crate::config::Error>,
    kind_as::<crate::db::Error>,
    kind_as::<crate::contacts::Error>,
    kind_as::<crate::release::Error>,
    kind_as::<crate::send::Error>,
    kind_as::<crate::bounce::Error>,
    kind_as::<crate::report::Error>,
    kind_as::<crate::team::Error>,
    kind_as::<crate::web::ConfigError>,
    kind_as::<sqlx::Error>,
];

/// The kind of the first error in `err`'s chain that has one; a failure
/// when none has.
pub fn kind_of(err: &anyhow::Error) -> ErrorKind {
    err.chain()
        .find_map(|e| KINDED.iter().find_map(|kind| kind(e)))
        .unwrap_or(ErrorKind::Failure)
}

impl HasKind for sqlx::Error {
    fn kind(&self) -> ErrorKind {
        db_kind(self)
    }
}

impl HasKind for crate::BadInput {
    fn kind(&self) -> ErrorKind {
        ErrorKind::BadInput
    }
}

/// A setting in presswire.toml is wrong.
impl HasKind for crate::config::Error {
    fn kind(&self) -> ErrorKind {
        ErrorKind::BadInput
    }
}

/// A `[serve]` or `[webhooks]` setting is wrong.
impl HasKind for crate::web::ConfigError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::BadInput
    }
}

impl HasKind for crate::db::Error {
    fn kind(&self) -> ErrorKind {
        match self {
            crate::db::Error::UnknownScheme(_) => ErrorKind::BadInput,
            crate::db::Error::Open { .. } | crate::db::Error::Migrate { .. } => ErrorKind::Failure,
        }
    }
}

// The three domains below keep their own `is_bad_input`; their kinds are
// given here so that their modules need not change.

impl HasKind for crate::contacts::Error {
    fn kind(&self) -> ErrorKind {
        match self {
            crate::contacts::Error::Db(e) => db_kind(e),
            e => ErrorKind::input_if(e.is_bad_input()),
        }
    }
}

impl HasKind for crate::bounce::Error {
    fn kind(&self) -> ErrorKind {
        match self {
            crate::bounce::Error::Db(e) => db_kind(e),
            e => ErrorKind::input_if(e.is_bad_input()),
        }
    }
}

/// A release file, template or header the press officer can fix.
impl HasKind for crate::release::Error {
    fn kind(&self) -> ErrorKind {
        ErrorKind::BadInput
    }
}
