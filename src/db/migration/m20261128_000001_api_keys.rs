//! Accounts, their IP ACLs and their API keys.

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
                    .table(Accounts::Table)
                    .if_not_exists()
                    .col(pk_auto(Accounts::Id))
                    .col(string_len_uniq(Accounts::Name, 100))
                    .col(big_integer(Accounts::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IpAcls::Table)
                    .if_not_exists()
                    .col(pk_auto(IpAcls::Id))
                    .col(integer(IpAcls::AccountId))
                    .col(string_len(IpAcls::Name, 100))
                    .col(string_len(IpAcls::NameFolded, 400))
                    .col(text(IpAcls::Entries))
                    .col(big_integer(IpAcls::CreatedAt))
                    .col(big_integer(IpAcls::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(IpAcls::Table, IpAcls::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ip_acls_account_name_unique")
                    .table(IpAcls::Table)
                    .col(IpAcls::AccountId)
                    .col(IpAcls::NameFolded)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .if_not_exists()
                    .col(pk_auto(ApiKeys::Id))
                    .col(integer(ApiKeys::AccountId))
                    .col(integer(ApiKeys::IpAclId))
                    .col(string_len(ApiKeys::Name, 100))
                    .col(string_len(ApiKeys::NameFolded, 400))
                    .col(blob_uniq(ApiKeys::TokenDigest))
                    .col(blob(ApiKeys::TokenSealed))
                    .col(string_len(ApiKeys::TokenSuffix, 8))
                    .col(big_integer(ApiKeys::CreatedAt))
                    .col(big_integer_null(ApiKeys::LastUsedAt))
                    .col(string_len_null(ApiKeys::LastUsedIp, 45))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKeys::Table, ApiKeys::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        // An ACL in use cannot disappear from under its keys.
                        ForeignKey::create()
                            .from(ApiKeys::Table, ApiKeys::IpAclId)
                            .to(IpAcls::Table, IpAcls::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("api_keys_account_name_unique")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::AccountId)
                    .col(ApiKeys::NameFolded)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The table pages newest first within an account.
        manager
            .create_index(
                Index::create()
                    .name("api_keys_account_created")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::AccountId)
                    .col(ApiKeys::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("api_keys_ip_acl").table(ApiKeys::Table).col(ApiKeys::IpAclId).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ApiKeys::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(IpAcls::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Accounts::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Accounts {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum IpAcls {
    Table,
    Id,
    AccountId,
    Name,
    NameFolded,
    Entries,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    AccountId,
    IpAclId,
    Name,
    NameFolded,
    TokenDigest,
    TokenSealed,
    TokenSuffix,
    CreatedAt,
    LastUsedAt,
    LastUsedIp,
}
