//! presswire: a press-release mailing system.
//!
//! The library holds every stage of the flow, one module each (see
//! ARCHITECTURE.md): `contacts` (the contact database), `db` (storage),
//! `config` (settings), `web` (the HTTP server), `login` (its dashboard
//! sessions) and `cli` (the command line). `main.rs` only parses
//! arguments, runs [`cli::run`] and maps errors to exit codes with
//! [`exit_code`].

pub mod bounce;
pub mod cli;
pub mod config;
pub mod contacts;
pub mod db;
pub mod login;
pub mod mailurl;
pub mod release;
pub mod report;
pub mod send;
pub mod spreadsheet;
pub mod web;

/// An error in what the user gave presswire (a flag, a value, a file) rather
/// than a failure: exit code 2. The message says what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// The process exit code for an error: 2 for bad usage or bad input, 1 for
/// any other failure.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    let bad_input = err.chain().any(|e| {
        e.downcast_ref::<BadInput>().is_some()
            || e.downcast_ref::<contacts::Error>()
                .is_some_and(contacts::Error::is_bad_input)
            || e.downcast_ref::<config::Error>().is_some()
            || e.downcast_ref::<web::ConfigError>().is_some()
            || e.downcast_ref::<release::Error>().is_some()
            || e.downcast_ref::<send::Error>()
                .is_some_and(send::Error::is_bad_input)
            || e.downcast_ref::<bounce::Error>()
                .is_some_and(bounce::Error::is_bad_input)
            || e.downcast_ref::<report::Error>()
                .is_some_and(report::Error::is_bad_input)
            || matches!(
                e.downcast_ref::<db::Error>(),
                Some(db::Error::UnknownScheme(_))
            )
    });
    if bad_input {
        2
    } else {
        1
    }
}
