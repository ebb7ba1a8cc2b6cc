//! The second security review: a token ended by a roll is marked so (its
//! end then holds whatever the instances' clocks say); a key has at most
//! one current token (a unique index, so two rolls at once cannot leave two);
//! new tokens are found by time (each instance's token index catches up on
//! tokens made by other processes); each address remembers the token it was
//! last let through with; known browsers are listed per admin so they can
//! be revoked; and the audit log can be pruned by age.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKeyTokens::Table)
                    .add_column(boolean(ApiKeyTokens::Ended).default(false))
                    .to_owned(),
            )
            .await?;
        // Should a key ever have had two current tokens, the older ones end where they began.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE api_key_tokens SET expires_at = created_at, ended = TRUE WHERE expires_at IS NULL \
                 AND id NOT IN (SELECT max(id) FROM api_key_tokens WHERE expires_at IS NULL GROUP BY key_id)",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("api_key_tokens_one_current")
                    .table(ApiKeyTokens::Table)
                    .col(ApiKeyTokens::KeyId)
                    .unique()
                    .and_where(Expr::col(ApiKeyTokens::ExpiresAt).is_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("api_key_tokens_created")
                    .table(ApiKeyTokens::Table)
                    .col(ApiKeyTokens::CreatedAt)
                    .to_owned(),
            )
            .await?;
        for column in [KeyAddresses::LastTokenId, KeyAddresses::LastAllowed] {
            manager
                .alter_table(
                    Table::alter().table(KeyAddresses::Table).add_column(big_integer(column).default(0)).to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(KnownBrowsers::Table)
                    .col(pk_auto(KnownBrowsers::Id))
                    .col(integer(KnownBrowsers::AdminId))
                    .col(blob_uniq(KnownBrowsers::NonceDigest))
                    .col(big_integer(KnownBrowsers::IssuedAt))
                    .col(big_integer(KnownBrowsers::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(KnownBrowsers::Table, KnownBrowsers::AdminId)
                            .to(Admins::Table, Admins::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("known_browsers_admin")
                    .table(KnownBrowsers::Table)
                    .col(KnownBrowsers::AdminId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("audit_entries_at").table(AuditEntries::Table).col(AuditEntries::At).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(KnownBrowsers::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("api_key_tokens_one_current").table(ApiKeyTokens::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum ApiKeyTokens {
    Table,
    KeyId,
    CreatedAt,
    ExpiresAt,
    Ended,
}

#[derive(DeriveIden)]
enum KeyAddresses {
    Table,
    LastTokenId,
    LastAllowed,
}

#[derive(DeriveIden)]
enum Admins {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum KnownBrowsers {
    Table,
    Id,
    AdminId,
    NonceDigest,
    IssuedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum AuditEntries {
    Table,
    At,
}
