//! What each key's token did: requests per hour (allowed, refused, and
//! allowed only because the IP ACL reports rather than enforces), the client
//! addresses that presented it, and its last refused uses. And IP ACLs that
//! report instead of refusing.

use super::m20261128_000001_api_keys::IpAcls;
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
                    .table(KeyUsageHours::Table)
                    .col(integer(KeyUsageHours::KeyId))
                    // Hours since the Unix epoch, UTC.
                    .col(big_integer(KeyUsageHours::Hour))
                    .col(big_integer(KeyUsageHours::Allowed).default(0))
                    .col(big_integer(KeyUsageHours::Refused).default(0))
                    .col(big_integer(KeyUsageHours::WouldRefuse).default(0))
                    .primary_key(Index::create().col(KeyUsageHours::KeyId).col(KeyUsageHours::Hour))
                    .foreign_key(
                        ForeignKey::create()
                            .from(KeyUsageHours::Table, KeyUsageHours::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Old hours are pruned by time.
        manager
            .create_index(
                Index::create()
                    .name("key_usage_hours_hour")
                    .table(KeyUsageHours::Table)
                    .col(KeyUsageHours::Hour)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KeyAddresses::Table)
                    .col(integer(KeyAddresses::KeyId))
                    .col(string_len(KeyAddresses::Ip, 45))
                    .col(big_integer(KeyAddresses::Requests).default(0))
                    .col(big_integer(KeyAddresses::Refused).default(0))
                    .col(big_integer(KeyAddresses::WouldRefuse).default(0))
                    .col(big_integer(KeyAddresses::LastSeen))
                    .primary_key(Index::create().col(KeyAddresses::KeyId).col(KeyAddresses::Ip))
                    .foreign_key(
                        ForeignKey::create()
                            .from(KeyAddresses::Table, KeyAddresses::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("key_addresses_recent")
                    .table(KeyAddresses::Table)
                    .col(KeyAddresses::KeyId)
                    .col(KeyAddresses::LastSeen)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KeyRefusals::Table)
                    .col(pk_auto(KeyRefusals::Id))
                    .col(integer(KeyRefusals::KeyId))
                    .col(big_integer(KeyRefusals::At))
                    .col(string_len(KeyRefusals::Ip, 45))
                    .col(string_len(KeyRefusals::Reason, 32))
                    .col(boolean(KeyRefusals::ReportOnly).default(false))
                    .foreign_key(
                        ForeignKey::create()
                            .from(KeyRefusals::Table, KeyRefusals::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("key_refusals_recent")
                    .table(KeyRefusals::Table)
                    .col(KeyRefusals::KeyId)
                    .col(KeyRefusals::At)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .add_column(big_integer(Alias::new("addresses_dropped")).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(IpAcls::Table)
                    .add_column(boolean(Alias::new("report_only")).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["key_refusals", "key_addresses", "key_usage_hours"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum KeyUsageHours {
    Table,
    KeyId,
    Hour,
    Allowed,
    Refused,
    WouldRefuse,
}

#[derive(DeriveIden)]
enum KeyAddresses {
    Table,
    KeyId,
    Ip,
    Requests,
    Refused,
    WouldRefuse,
    LastSeen,
}

#[derive(DeriveIden)]
enum KeyRefusals {
    Table,
    Id,
    KeyId,
    At,
    Ip,
    Reason,
    ReportOnly,
}
