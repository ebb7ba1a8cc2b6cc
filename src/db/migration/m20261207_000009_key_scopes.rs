//! What a key may do and how fast: its permissions (none stored: full
//! access, as every key had before), its rate limit, requests refused by the
//! limit counted as their own kind, which permissions each key's checks
//! asked for (per hour, for "Restrict to what it uses"), and each instance's
//! count of requests it let through per limited key, which the instances
//! read from one another to share a key's limit.

use super::m20261128_000004_key_tokens::ApiKeys;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            text_null(Alias::new("permissions")),
            big_integer_null(Alias::new("rate_limit")),
            string_len_null(Alias::new("rate_per"), 16),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(ApiKeys::Table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("key_usage_hours"))
                    .add_column(big_integer(Alias::new("rate_limited")).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KeyPermissionHours::Table)
                    .col(integer(KeyPermissionHours::KeyId))
                    .col(big_integer(KeyPermissionHours::Hour))
                    .col(string_len(KeyPermissionHours::Permission, 32))
                    .col(big_integer(KeyPermissionHours::Asked).default(0))
                    .col(big_integer(KeyPermissionHours::Denied).default(0))
                    .col(big_integer(KeyPermissionHours::LastAsked).default(0))
                    .primary_key(
                        Index::create()
                            .col(KeyPermissionHours::KeyId)
                            .col(KeyPermissionHours::Hour)
                            .col(KeyPermissionHours::Permission),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(KeyPermissionHours::Table, KeyPermissionHours::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("key_permission_hours_hour")
                    .table(KeyPermissionHours::Table)
                    .col(KeyPermissionHours::Hour)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RateLimitCounts::Table)
                    .col(integer(RateLimitCounts::KeyId))
                    .col(string_len(RateLimitCounts::Instance, 32))
                    .col(big_integer(RateLimitCounts::Admitted).default(0))
                    .col(big_integer(RateLimitCounts::AheadUntil).default(0))
                    .col(big_integer(RateLimitCounts::UpdatedAt))
                    .primary_key(Index::create().col(RateLimitCounts::KeyId).col(RateLimitCounts::Instance))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RateLimitCounts::Table, RateLimitCounts::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("rate_limit_counts_updated")
                    .table(RateLimitCounts::Table)
                    .col(RateLimitCounts::UpdatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RateLimitCounts::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(KeyPermissionHours::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum KeyPermissionHours {
    Table,
    KeyId,
    Hour,
    Permission,
    Asked,
    Denied,
    LastAsked,
}

#[derive(DeriveIden)]
enum RateLimitCounts {
    Table,
    KeyId,
    Instance,
    Admitted,
    AheadUntil,
    UpdatedAt,
}
