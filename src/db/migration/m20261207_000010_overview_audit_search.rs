//! The Overview and the Audit Log's filters: each account's requests per
//! day and each key's per day (rolled up by the flush, filled here from the
//! hourly counts kept so far), and indexes for the audit log filtered by
//! admin or by action, newest first, at any depth.

use super::m20261128_000004_key_tokens::ApiKeys;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccountUsageDays::Table)
                    .col(integer(AccountUsageDays::AccountId))
                    // Days since the Unix epoch, UTC.
                    .col(big_integer(AccountUsageDays::Day))
                    .col(big_integer(AccountUsageDays::Allowed).default(0))
                    .col(big_integer(AccountUsageDays::Refused).default(0))
                    .col(big_integer(AccountUsageDays::WouldRefuse).default(0))
                    .col(big_integer(AccountUsageDays::RateLimited).default(0))
                    .primary_key(Index::create().col(AccountUsageDays::AccountId).col(AccountUsageDays::Day))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KeyUsageDays::Table)
                    .col(integer(KeyUsageDays::KeyId))
                    .col(big_integer(KeyUsageDays::Day))
                    .col(integer(KeyUsageDays::AccountId))
                    .col(big_integer(KeyUsageDays::Requests).default(0))
                    .primary_key(Index::create().col(KeyUsageDays::KeyId).col(KeyUsageDays::Day))
                    .foreign_key(
                        ForeignKey::create()
                            .from(KeyUsageDays::Table, KeyUsageDays::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Busiest keys: one account's last days, read from the index alone.
        manager
            .create_index(
                Index::create()
                    .name("key_usage_days_account")
                    .table(KeyUsageDays::Table)
                    .col(KeyUsageDays::AccountId)
                    .col(KeyUsageDays::Day)
                    .col(KeyUsageDays::KeyId)
                    .col(KeyUsageDays::Requests)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("key_usage_days_day").table(KeyUsageDays::Table).col(KeyUsageDays::Day).to_owned(),
            )
            .await?;
        // What the hours kept so far add up to (integer division: whole days).
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO account_usage_days (account_id, day, allowed, refused, would_refuse, rate_limited) \
             SELECT k.account_id, h.hour / 24, SUM(h.allowed), SUM(h.refused), SUM(h.would_refuse), SUM(h.rate_limited) \
             FROM key_usage_hours h JOIN api_keys k ON k.id = h.key_id GROUP BY k.account_id, h.hour / 24",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO key_usage_days (key_id, day, account_id, requests) \
             SELECT h.key_id, h.hour / 24, k.account_id, SUM(h.allowed + h.refused + h.rate_limited) \
             FROM key_usage_hours h JOIN api_keys k ON k.id = h.key_id GROUP BY h.key_id, h.hour / 24, k.account_id",
        )
        .await?;
        let filters: [(&str, &[AuditEntries]); 3] = [
            ("audit_entries_admin", &[AuditEntries::Admin]),
            ("audit_entries_action", &[AuditEntries::Action]),
            ("audit_entries_admin_action", &[AuditEntries::Admin, AuditEntries::Action]),
        ];
        for (name, columns) in filters {
            let mut index = Index::create();
            index.name(name).table(AuditEntries::Table).col(AuditEntries::AccountId);
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.col(AuditEntries::At).col(AuditEntries::Id).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["audit_entries_admin", "audit_entries_action", "audit_entries_admin_action"] {
            manager.drop_index(Index::drop().name(name).table(AuditEntries::Table).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(KeyUsageDays::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(AccountUsageDays::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum AccountUsageDays {
    Table,
    AccountId,
    Day,
    Allowed,
    Refused,
    WouldRefuse,
    RateLimited,
}

#[derive(DeriveIden)]
enum KeyUsageDays {
    Table,
    KeyId,
    Day,
    AccountId,
    Requests,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditEntries {
    Table,
    AccountId,
    Admin,
    Action,
    At,
    Id,
}
