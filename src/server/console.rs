//! The console's use cases: what each server function does once the request
//! has been let in. Each checks its input, calls `db::service`, sends what it
//! changed through `changes`, and says what failed in the admin's words.

pub mod api_keys;
pub mod audit_log;
pub mod auth;
pub mod ip_acls;
pub mod key_insight;
pub mod throttle;
