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
