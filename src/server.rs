//! Everything that runs only on the server: configuration, the HTTP router,
//! the public TextPeak API and the work behind the console's server functions.

pub mod api_keys;
pub mod audit_log;
pub mod auth;
pub mod cli;
pub mod client_ip;
pub mod config;
pub mod guard;
pub mod headers;
pub mod ip_acls;
pub mod public_api;
pub mod routes;
pub mod rpc;
pub mod start;
pub mod state;
pub mod throttle;
pub mod verifier;
