//! The console's server functions and the types they exchange with the browser.
//!
//! Every server function is a public HTTP endpoint (under `/rpc`): the
//! session guard lets a call through only as `domain::roles` says, each one
//! resolves who is asking itself, validates its input on the server and maps
//! failures to [`ConsoleError`], which the dialogs show next to the right field.

pub mod api_keys;
pub mod audit;
pub mod auth;
mod error;
pub mod ip_acls;
pub mod overview;
pub mod security;
pub mod team;

pub use error::{ConsoleError, Field};
