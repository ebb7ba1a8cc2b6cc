//! Admins who sign in, their sessions, and the audit log of each account.

use super::m20261128_000001_api_keys::Accounts;
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
                    .table(Admins::Table)
                    .if_not_exists()
                    .col(pk_auto(Admins::Id))
                    .col(integer(Admins::AccountId))
                    // Lower-case; sign-in asks only for the username, so it is unique everywhere.
                    .col(string_len_uniq(Admins::Username, 64))
                    .col(string_len(Admins::PasswordHash, 255))
                    .col(big_integer(Admins::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Admins::Table, Admins::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .if_not_exists()
                    .col(pk_auto(Sessions::Id))
                    .col(blob_uniq(Sessions::IdDigest))
                    .col(integer(Sessions::AdminId))
                    .col(integer(Sessions::AccountId))
                    .col(big_integer(Sessions::CreatedAt))
                    .col(big_integer(Sessions::LastSeenAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::AdminId)
                            .to(Admins::Table, Admins::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEntries::Table)
                    .if_not_exists()
                    .col(pk_auto(AuditEntries::Id))
                    .col(integer(AuditEntries::AccountId))
                    .col(big_integer(AuditEntries::At))
                    .col(string_len(AuditEntries::Admin, 64))
                    .col(string_len(AuditEntries::ClientIp, 45))
                    .col(string_len(AuditEntries::Action, 32))
                    .col(string_len_null(AuditEntries::Subject, 100))
                    .col(text_null(AuditEntries::Detail))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AuditEntries::Table, AuditEntries::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_entries_account_at")
                    .table(AuditEntries::Table)
                    .col(AuditEntries::AccountId)
                    .col(AuditEntries::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditEntries::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Sessions::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Admins::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Admins {
    Table,
    Id,
    AccountId,
    Username,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    IdDigest,
    AdminId,
    AccountId,
    CreatedAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum AuditEntries {
    Table,
    Id,
    AccountId,
    At,
    Admin,
    ClientIp,
    Action,
    Subject,
    Detail,
}
