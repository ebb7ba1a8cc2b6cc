//! The persistence layer: stateless functions over a sea-orm connection, with
//! no HTTP or Leptos in them, so they are tested on an in-memory database.

pub mod accounts;
pub mod admins;
pub mod api_keys;
pub mod audit;
pub mod ip_acls;
pub mod sessions;

use sea_orm::{DbErr, SqlErr};

/// Milliseconds since the Unix epoch: portable across SQLite and PostgreSQL and
/// cheap to order and page by.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// A concurrent insert or rename won the race for a unique name.
fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
