//! Persistence: entities, migrations and the service functions over them.

pub mod entities;
pub mod migration;
pub mod service;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

/// Connects and brings the schema up to date. SQLite files are created on
/// first use; SQLite gets foreign keys on and WAL so readers never wait for a writer.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    let sqlite = url.starts_with("sqlite:");
    let in_memory = sqlite && url.contains(":memory:");
    if in_memory {
        // Each pooled connection would get its own empty in-memory database.
        options.max_connections(1);
    } else if sqlite {
        options.max_connections(8);
        #[cfg(feature = "sqlite")]
        options.map_sqlx_sqlite_pool_opts(|pool| pool.after_release(|conn, _| Box::pin(release_only_if_idle(conn))));
    }
    // sqlx turns SQLite's foreign keys on and waits 5 s on a busy database by default.
    let db = Database::connect(options).await?;
    if sqlite && !in_memory {
        use sea_orm::ConnectionTrait;
        db.execute_unprepared("PRAGMA journal_mode = WAL").await?;
    }
    migration::Migrator::up(&db, None).await?;
    Ok(db)
}

/// A pooled SQLite connection goes back to the pool only outside any
/// transaction. A COMMIT refused by a full disk can leave SQLite's
/// transaction open while the rollback sqlx queues for it fails; reused,
/// such a connection would run every later change inside that transaction
/// and none would ever be committed. It is closed instead (which rolls back).
#[cfg(feature = "sqlite")]
async fn release_only_if_idle(conn: &mut sea_orm::sqlx::SqliteConnection) -> Result<bool, sea_orm::sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the handle is locked for us alone while `handle` lives, and
    // sqlite3_get_autocommit only reads the connection's state.
    let idle = unsafe { libsqlite3_sys::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) } != 0;
    if !idle {
        tracing::warn!("closed a database connection left inside a transaction");
    }
    Ok(idle)
}
