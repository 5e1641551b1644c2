//! presswire: a press-release mailing system.
//!
//! The library holds every stage of the flow, one module each (see
//! ARCHITECTURE.md): `contacts` (the contact database), `db` (storage),
//! `config` (settings), `web` (the HTTP server) and `cli` (the command
//! line). A stage's SQL is in its `store` (`send/store/`, `report/store.rs`,
//! `web/store.rs`, …); where SQLite and PostgreSQL differ, `db/` says so. `main.rs` only parses
//! arguments, runs [`cli::run`] and maps errors to exit codes with
//! [`exit_code`].

pub mod bounce;
pub mod cli;
pub mod config;
pub mod contacts;
pub mod db;
pub mod error;
pub mod mailurl;
pub mod release;
pub mod report;
pub mod send;
pub mod spreadsheet;
pub mod team;
pub mod web;

/// An error in what the user gave presswire (a flag, a value, a file) rather
/// than a failure: exit code 2. The message says what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// The process exit code for an error: 2 for bad usage or bad input, 1 for
/// any other failure, from the kind of the first error in the chain that
/// has one ([`error::kind_of`]).
pub fn exit_code(err: &anyhow::Error) -> i32 {
    error::kind_of(err).exit_code()
}
