//! Start-up: settings, the command line, opening the database, serving
//! until a stop signal, and the backup command.

pub mod backup;
pub mod cli;
pub mod config;
pub mod files;
pub mod start;
