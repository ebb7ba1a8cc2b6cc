//! The persistence layer: stateless functions over a sea-orm connection, with
//! no HTTP or Leptos in them, so they are tested on an in-memory database.

pub mod accounts;
pub mod admins;
pub mod api_keys;
pub mod audit;
pub mod invitations;
pub mod ip_acls;
pub mod known_browsers;
pub mod sessions;
pub mod throttle;
pub mod trigrams;
pub mod usage;

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

/// What a failed database call means to whoever is waiting on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The database cannot be reached (stopped, restarting, pool exhausted):
    /// worth trying again shortly.
    Unavailable,
    /// The disk under the database is full: nothing was written.
    StorageFull,
    /// Anything else: a bug or a damaged database, for the operator's log.
    Other,
}

/// Classifies a database error the same way on SQLite and PostgreSQL, so
/// both give the admin the same answer.
pub fn classify(err: &DbErr) -> Failure {
    use sea_orm::{ConnAcquireErr, RuntimeErr, sqlx};
    let sqlx_err = match err {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout | ConnAcquireErr::ConnectionClosed) => {
            return Failure::Unavailable;
        }
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        DbErr::Conn(_) => return Failure::Unavailable,
        _ => return Failure::Other,
    };
    match &**sqlx_err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => Failure::Unavailable,
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // SQLite: SQLITE_FULL (13) and its extended codes; PostgreSQL: class 53 (insufficient resources).
            Some("13" | "53100") => Failure::StorageFull,
            // SQLite busy/locked past the busy timeout; PostgreSQL: shutting down, starting up, connection lost.
            Some(code) if code == "5" || code == "6" || code.starts_with("57P") || code.starts_with("08") => {
                Failure::Unavailable
            }
            _ => Failure::Other,
        },
        _ => Failure::Other,
    }
}
