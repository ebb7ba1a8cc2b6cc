//! The Overview at 100,000 keys and the audit log at 1,000,000 entries.
//! Each key's requests over its last seven days kept as one row (ranked by
//! an index, so **Busiest keys** reads a handful of rows instead of summing
//! 700,000), filled here from the daily rollups; indexes that count keys by
//! status from index ranges; and a trigram index of the audit entries'
//! subjects, so **Key or ACL** finds a rare name without reading every
//! entry: on SQLite an FTS5 table and counts per trigram kept by triggers,
//! as for key names (migration 5); on PostgreSQL a `pg_trgm` GIN index,
//! when the extension can be had.

use super::m20261128_000004_key_tokens::ApiKeys;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Migration 5's table of positions 1..400 walks a subject's trigrams.
const SQLITE_AUDIT_UP: [&str; 6] = [
    "CREATE VIRTUAL TABLE audit_subjects USING fts5(subject, content='audit_entries', content_rowid='id', tokenize='trigram')",
    "INSERT INTO audit_subjects (rowid, subject) SELECT id, subject FROM audit_entries",
    "CREATE TABLE audit_trigram_counts (trigram TEXT NOT NULL PRIMARY KEY, entries INTEGER NOT NULL) WITHOUT ROWID",
    "INSERT INTO audit_trigram_counts (trigram, entries) SELECT t, count(*) FROM \
     (SELECT DISTINCT a.id, substr(lower(a.subject), p.i, 3) AS t FROM audit_entries a \
      JOIN api_key_name_positions p ON p.i <= length(a.subject) - 2) GROUP BY t",
    "CREATE TRIGGER audit_subjects_insert AFTER INSERT ON audit_entries BEGIN \
     INSERT INTO audit_subjects (rowid, subject) VALUES (new.id, new.subject); \
     INSERT INTO audit_trigram_counts (trigram, entries) \
       SELECT DISTINCT substr(lower(new.subject), i, 3), 1 FROM api_key_name_positions WHERE i <= length(new.subject) - 2 \
       ON CONFLICT (trigram) DO UPDATE SET entries = entries + 1; END",
    "CREATE TRIGGER audit_subjects_delete AFTER DELETE ON audit_entries BEGIN \
     INSERT INTO audit_subjects (audit_subjects, rowid, subject) VALUES ('delete', old.id, old.subject); \
     UPDATE audit_trigram_counts SET entries = entries - 1 WHERE trigram IN \
       (SELECT substr(lower(old.subject), i, 3) FROM api_key_name_positions WHERE i <= length(old.subject) - 2); END",
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KeyUsageWeeks::Table)
                    .col(integer(KeyUsageWeeks::KeyId).primary_key())
                    .col(integer(KeyUsageWeeks::AccountId))
                    // Days since the Unix epoch, UTC: the window is the seven days ending here.
                    .col(big_integer(KeyUsageWeeks::ThroughDay))
                    .col(big_integer(KeyUsageWeeks::Requests).default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from(KeyUsageWeeks::Table, KeyUsageWeeks::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let index = |name: &str| Index::create().name(name).table(KeyUsageWeeks::Table).to_owned();
        // Busiest first, per account.
        manager
            .create_index(
                index("key_usage_weeks_account_requests")
                    .col(KeyUsageWeeks::AccountId)
                    .col(KeyUsageWeeks::Requests)
                    .col(KeyUsageWeeks::KeyId)
                    .to_owned(),
            )
            .await?;
        // Rows written by an instance whose clock runs ahead (read apart), and rows to roll.
        manager
            .create_index(
                index("key_usage_weeks_account_through")
                    .col(KeyUsageWeeks::AccountId)
                    .col(KeyUsageWeeks::ThroughDay)
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("key_usage_weeks_through").col(KeyUsageWeeks::ThroughDay).to_owned()).await?;
        // Keys by status, counted from index ranges: disabled, and expired or expiring while enabled.
        let keys = |name: &str| Index::create().name(name).table(ApiKeys::Table).to_owned();
        manager
            .create_index(keys("api_keys_account_disabled").col(ApiKeys::AccountId).col(ApiKeys::DisabledAt).to_owned())
            .await?;
        manager
            .create_index(
                keys("api_keys_account_expires_disabled")
                    .col(ApiKeys::AccountId)
                    .col(ApiKeys::ExpiresAt)
                    .col(ApiKeys::DisabledAt)
                    .to_owned(),
            )
            .await?;
        // Keys per account, kept by the key service from here on.
        manager
            .alter_table(
                Table::alter().table(Accounts::Table).add_column(big_integer(Accounts::KeyCount).default(0)).to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE accounts SET key_count = (SELECT COUNT(*) FROM api_keys k WHERE k.account_id = accounts.id)",
        )
        .await?;
        // Keys not used (nor made) for a long time, least recently first: one
        // range of the key's last activity, however many keys were never used.
        db.execute_unprepared(&format!(
            "CREATE INDEX api_keys_account_idle ON api_keys (account_id, ({IDLE_SINCE}), id)"
        ))
        .await?;
        db.execute_unprepared(FILL).await?;
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                for statement in SQLITE_AUDIT_UP {
                    db.execute_unprepared(statement).await?;
                }
            }
            _ => super::pg_trigram_index(
                db,
                "CREATE INDEX audit_entries_subject_trigrams ON audit_entries USING gin (lower(subject) gin_trgm_ops)",
                "the audit log's Key or ACL filter",
            )
            .await?,
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Sqlite {
            for statement in [
                "DROP TRIGGER audit_subjects_insert",
                "DROP TRIGGER audit_subjects_delete",
                "DROP TABLE audit_trigram_counts",
                "DROP TABLE audit_subjects",
            ] {
                db.execute_unprepared(statement).await?;
            }
        } else {
            db.execute_unprepared("DROP INDEX IF EXISTS audit_entries_subject_trigrams").await?;
        }
        manager.alter_table(Table::alter().table(Accounts::Table).drop_column(Accounts::KeyCount).to_owned()).await?;
        for name in ["api_keys_account_disabled", "api_keys_account_expires_disabled", "api_keys_account_idle"] {
            manager.drop_index(Index::drop().name(name).table(ApiKeys::Table).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(KeyUsageWeeks::Table).to_owned()).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// Each key's week, ending on the last day it has requests on (so no day
/// row is later than `through_day`); the flush and the daily roll keep it.
pub const FILL: &str = "INSERT INTO key_usage_weeks (key_id, account_id, through_day, requests) \
     SELECT d.key_id, d.account_id, m.last_day, SUM(d.requests) \
     FROM key_usage_days d JOIN (SELECT key_id, MAX(day) AS last_day FROM key_usage_days GROUP BY key_id) m \
     ON m.key_id = d.key_id WHERE d.day > m.last_day - 7 GROUP BY d.key_id, d.account_id, m.last_day";

/// When a key was last used, or made if never used since: the expression
/// the index holds and `api_keys::attention` asks by (written the same way).
pub const IDLE_SINCE: &str = "CASE WHEN last_used_at > created_at THEN last_used_at ELSE created_at END";

#[derive(DeriveIden)]
enum Accounts {
    Table,
    KeyCount,
}

#[derive(DeriveIden)]
enum KeyUsageWeeks {
    Table,
    KeyId,
    AccountId,
    ThroughDay,
    Requests,
}
