//! doorguard: the software of a touchscreen door access kiosk.
//!
//! The library holds everything the `doorguard` binary does; the binary only parses
//! the command line, calls [`cli::run`] and turns errors into exit codes.
//!
//! - [`access`]: the access rules as a pure state machine (no I/O, no clock reads).
//! - [`vault`]: the cryptography of personal data, PINs and evidence.
//! - [`store`]: the SQLite database (schema, migrations, one transaction per change).
//! - [`config`]: the TOML configuration, resolved once into typed settings.
//! - [`cli`]: the administrator's command line.

pub mod access;
pub mod alerts;
pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod hw;
pub mod ids;
pub mod kiosk;
pub mod person;
pub mod store;
pub mod ui;
pub mod vault;
