//! Persistence: entities, migrations and the service functions over them.

pub mod entities;
pub mod migration;
pub mod service;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::time::Duration;

/// Connects with the default pool size and brings the schema up to date.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with_pool(url, None).await
}

/// Starts a transaction that will write. On SQLite it takes the write lock at
/// `BEGIN` (IMMEDIATE), waiting out another writer under the busy timeout; a
/// deferred transaction that reads first and then writes fails at once with
/// "database is locked" (SQLITE_BUSY_SNAPSHOT) if another writer committed in
/// between. PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// How many connections a pool keeps when the settings do not say.
pub const DEFAULT_POOL: u32 = 8;
/// How long a request waits for a connection before it is told the database
/// is unavailable (PostgreSQL stopped or unreachable): never a hang.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);
/// Any constant will do: every instance takes the same advisory lock.
const MIGRATION_LOCK: i64 = 0x7465_7874_7065_616b; // "textpeak"

/// Connects and brings the schema up to date. SQLite files are created on
/// first use; SQLite gets foreign keys on and WAL so readers never wait for a
/// writer. On PostgreSQL, instances that start at once take turns at the
/// migrations (an advisory lock), so exactly one applies them.
pub async fn connect_with_pool(url: &str, pool: Option<u32>) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    let sqlite = url.starts_with("sqlite:");
    let in_memory = sqlite && url.contains(":memory:");
    if in_memory {
        // Each pooled connection would get its own empty in-memory database.
        options.max_connections(1);
    } else {
        options.max_connections(pool.unwrap_or(DEFAULT_POOL).max(1));
    }
    if sqlite && !in_memory {
        #[cfg(feature = "sqlite")]
        options.map_sqlx_sqlite_pool_opts(|pool| pool.after_release(|conn, _| Box::pin(release_only_if_idle(conn))));
    }
    if !sqlite {
        options.acquire_timeout(ACQUIRE_TIMEOUT).connect_timeout(ACQUIRE_TIMEOUT);
    }
    // sqlx turns SQLite's foreign keys on and waits 5 s on a busy database by default.
    let db = Database::connect(options).await?;
    if sqlite && !in_memory {
        db.execute_unprepared("PRAGMA journal_mode = WAL").await?;
    }
    if db.get_database_backend() == DbBackend::Postgres {
        migrate_one_at_a_time(url, &db).await?;
    } else {
        migration::Migrator::up(&db, None).await?;
    }
    Ok(db)
}

/// Runs the migrations while holding a session advisory lock on a connection
/// of its own; another instance starting meanwhile waits for the lock, then
/// finds nothing left to do. A process that dies releases the lock with its session.
async fn migrate_one_at_a_time(url: &str, db: &DatabaseConnection) -> Result<(), DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).max_connections(1).connect_timeout(ACQUIRE_TIMEOUT);
    let lock = Database::connect(options).await?;
    lock.execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).await?;
    let migrated = migration::Migrator::up(db, None).await;
    let unlocked = lock.execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).await;
    let _ = lock.close().await;
    migrated?;
    unlocked.map(drop)
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
