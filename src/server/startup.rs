//! Start-up: settings, the command line, opening the database, and serving
//! until a stop signal.

pub mod cli;
pub mod config;
pub mod files;
pub mod start;
