//! An index for "name contains", so Search keys finds one key among 100,000
//! without reading them all: trigrams of the folded name. SQLite keeps them
//! in an FTS5 table (trigram tokenizer) fed by triggers, which also keep how
//! many names hold each trigram, so a search starts from the rarest; PostgreSQL in a GIN
//! index of `pg_trgm`, which its planner uses for LIKE by itself. Without the
//! extension (a database user that may not create it), search still works,
//! by reading every name.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: [&str; 9] = [
    "CREATE VIRTUAL TABLE api_key_names USING fts5(name_folded, content='api_keys', content_rowid='id', tokenize='trigram')",
    "INSERT INTO api_key_names (rowid, name_folded) SELECT id, name_folded FROM api_keys",
    // 1..400, so triggers (which cannot use WITH) can walk a name's trigrams.
    "CREATE TABLE api_key_name_positions (i INTEGER PRIMARY KEY)",
    "INSERT INTO api_key_name_positions (i) WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 400) \
     SELECT i FROM k",
    // How many names hold each trigram: a search starts from the rarest ones.
    "CREATE TABLE api_key_trigram_counts (trigram TEXT NOT NULL PRIMARY KEY, names INTEGER NOT NULL) WITHOUT ROWID",
    "INSERT INTO api_key_trigram_counts (trigram, names) SELECT t, count(*) FROM \
     (SELECT DISTINCT k.id, substr(k.name_folded, p.i, 3) AS t FROM api_keys k \
      JOIN api_key_name_positions p ON p.i <= length(k.name_folded) - 2) GROUP BY t",
    "CREATE TRIGGER api_key_names_insert AFTER INSERT ON api_keys BEGIN \
     INSERT INTO api_key_names (rowid, name_folded) VALUES (new.id, new.name_folded); \
     INSERT INTO api_key_trigram_counts (trigram, names) \
       SELECT DISTINCT substr(new.name_folded, i, 3), 1 FROM api_key_name_positions WHERE i <= length(new.name_folded) - 2 \
       ON CONFLICT (trigram) DO UPDATE SET names = names + 1; END",
    "CREATE TRIGGER api_key_names_delete AFTER DELETE ON api_keys BEGIN \
     INSERT INTO api_key_names (api_key_names, rowid, name_folded) VALUES ('delete', old.id, old.name_folded); \
     UPDATE api_key_trigram_counts SET names = names - 1 WHERE trigram IN \
       (SELECT substr(old.name_folded, i, 3) FROM api_key_name_positions WHERE i <= length(old.name_folded) - 2); END",
    "CREATE TRIGGER api_key_names_rename AFTER UPDATE OF name_folded ON api_keys BEGIN \
     INSERT INTO api_key_names (api_key_names, rowid, name_folded) VALUES ('delete', old.id, old.name_folded); \
     INSERT INTO api_key_names (rowid, name_folded) VALUES (new.id, new.name_folded); \
     UPDATE api_key_trigram_counts SET names = names - 1 WHERE trigram IN \
       (SELECT substr(old.name_folded, i, 3) FROM api_key_name_positions WHERE i <= length(old.name_folded) - 2); \
     INSERT INTO api_key_trigram_counts (trigram, names) \
       SELECT DISTINCT substr(new.name_folded, i, 3), 1 FROM api_key_name_positions WHERE i <= length(new.name_folded) - 2 \
       ON CONFLICT (trigram) DO UPDATE SET names = names + 1; END",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                for statement in SQLITE_UP {
                    db.execute_unprepared(statement).await?;
                }
            }
            _ => {
                super::pg_trigram_index(
                    db,
                    "CREATE INDEX api_keys_name_trigrams ON api_keys USING gin (name_folded gin_trgm_ops)",
                    "Search keys",
                )
                .await?
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                for trigger in ["api_key_names_insert", "api_key_names_delete", "api_key_names_rename"] {
                    db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}")).await?;
                }
                for table in ["api_key_names", "api_key_trigram_counts", "api_key_name_positions"] {
                    db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}")).await?;
                }
            }
            _ => {
                db.execute_unprepared("DROP INDEX IF EXISTS api_keys_name_trigrams").await?;
            }
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
