//! presswire's integration tests: one binary, one module per area.
//!
//! Every database test runs on a fresh SQLite file and, when
//! `PRESSWIRE_TEST_POSTGRES` holds a PostgreSQL URL (CI sets it), again on a
//! fresh PostgreSQL database created for that test alone: see [`each_backend`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
mod import_safety;
mod known_send;

mod audience_tags;
mod bounce_generalisation;
mod bounces;
mod bounces_db;
mod contacts_export;
mod contacts_import;
mod contacts_misc;
mod embargo;
mod migrations;
mod quiet;
mod release;
mod release_check;
mod report;
mod send;
mod send_durability;
mod send_faults;
mod team;
mod test_sends;
mod web;
mod wording;
